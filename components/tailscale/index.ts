/**
 * TailscaleDirect: tailscaled on the nodes' own network (`hostNetwork: true`) with a fixed UDP
 * port, so peers connect directly instead of being relayed through DERP.
 *
 * Pods behind CNI masquerade, the AWS VPC CNI's `--random-fully` SNAT or a NAT gateway get a new
 * random source port per destination ("hard NAT"); NAT traversal then fails and Tailscale falls
 * back to DERP relays. On nodes with public IPs, tailscaled on the host network with a fixed port
 * (the `PORT` env var and `--port`), that port declared on the pod and opened for inbound UDP
 * ({@link TailscaleDirect.firewallRules}) gives every peer a stable `ip:port` to reach.
 *
 * Where hostNetwork is forbidden, `network: "pod"` keeps tailscaled in the pod network and makes
 * it reachable through a UDP NodePort instead, advertising `<node public IP>:<nodePort>` as a
 * static endpoint in tailscaled's config file, and keeping each listed node's state in its own
 * pre-created Secret (a Role allows exactly those); `relay` adds a Tailscale Peer Relay.
 *
 * The pure parts live in ./args.ts (validation) and ./render.ts (the Kubernetes objects); the
 * scripts that run in the pod are ./check-port.sh (readiness) and ./select-config.sh (picks the
 * node's config file); ./pod-security.ts is the baseline check; ./proxyclass.ts the operator's
 * ProxyClass. `@pulumi/tailscale` is an optional peer dependency: it is loaded only when the
 * component mints its own auth key from an `apiKey`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
// Types only: the provider SDK is an optional peer, loaded at run time in API-key mode alone.
import type * as tailscaleSdk from "@pulumi/tailscale";
import { parseOrThrow, type Problem } from "../common/errors";
import { readAsset } from "../common/assets";
import type { FirewallRule } from "../common/firewall";
import { isDnsLabel } from "../common/net";
import { podStateSecretProblems, tailscaleArgsSchema, tailscaleCrossChecks, type TailscaleSettings, type TailscaleSettingsInput } from "./args";
import {
    AUTH_SECRET_KEY,
    CHECK_PORT_SCRIPT,
    podStaticEndpoints,
    relayGrant,
    renderAuthSecretMeta,
    renderChecksConfigMap,
    renderNamespace,
    renderNodePortService,
    renderServiceAccount,
    renderStateRole,
    renderStateRoleBinding,
    renderStateSecrets,
    renderTailscaledConfigMap,
    renderWorkload,
    SELECT_CONFIG_SCRIPT,
    tailscaleModeFirewallRules,
    usesConfigFile,
} from "./render";

export {
    TAILSCALE_DEFAULT_HEALTH,
    TAILSCALE_DEFAULT_IMAGE,
    TAILSCALE_DEFAULT_PORT,
    TAILSCALE_DEFAULT_STATE_HOST_PATH,
    tailscaleArgsSchema,
    tailscaleCrossChecks,
    type TailscaleSettings,
    type TailscaleSettingsInput,
} from "./args";
export {
    NETWORK_MODES,
    TAILSCALE_DEFAULT_RELAY_PORT,
    type NetworkMode,
} from "./args";
export { podStaticEndpoints, relayGrant, renderTailscaledConfig, tailscaleFirewallRules, tailscaleModeFirewallRules } from "./render";
export { checkPodSecurityBaseline, type PodSecurityViolation } from "./pod-security";
export { TailscaleProxyClass, validateProxyClassArgs, type TailscaleProxyClassArgs } from "./proxyclass";

/**
 * Arguments of {@link TailscaleDirect}: the plain settings of {@link tailscaleArgsSchema} (every
 * field optional, with the defaults documented there and in the README), plus exactly one key.
 *
 * @example
 * ```ts
 * const ts = new TailscaleDirect("tailscale", {
 *     authKey: config.requireSecret("tailscaleAuthKey"),
 *     port: 41641,
 *     routes: ["10.233.64.0/18", "10.233.0.0/18"],
 *     tolerations: [{ operator: "Exists" }],
 * }, { provider: k8sProvider });
 * // ts.firewallRules -> inbound UDP 41641 from 0.0.0.0/0 and ::/0
 *
 * // Pod Security baseline, no hostNetwork: a UDP NodePort and each node's public IP.
 * const pod = new TailscaleDirect("tailscale-pod", {
 *     authKey: config.requireSecret("tailscaleAuthKey"),   // a key tagged tag:k8s
 *     network: "pod",
 *     nodePort: 30641,
 *     nodes: [{ name: "node-a", publicIps: ["203.0.113.10"] }],
 *     tags: ["tag:k8s"],
 *     relay: { port: 40000, nodePort: 30640 },               // and a peer relay
 * }, { provider: k8sProvider });
 * // pod.firewallRules -> inbound UDP 30641 and 30640; pod.relayGrant -> the policy grant (JSON)
 * ```
 */
export interface TailscaleDirectArgs extends TailscaleSettingsInput {
    /**
     * A Tailscale auth key. It stays secret end to end (wrapped in `pulumi.secret`) and reaches the
     * pods through a Kubernetes Secret. Give this or {@link apiKey}, not both.
     */
    authKey?: pulumi.Input<string>;
    /**
     * A Tailscale API key. TailscaleDirect then creates a reusable, preauthorized auth key tagged
     * with `tags` (required in this mode) through the `@pulumi/tailscale` provider.
     */
    apiKey?: pulumi.Input<string>;
}

/**
 * Loads `@pulumi/tailscale`, the optional peer API-key mode needs, or throws an error that says
 * how to install it (before anything is registered). Auth-key mode never calls this.
 */
function loadTailscaleSdk(): typeof tailscaleSdk {
    let resolved: string;
    try {
        resolved = require.resolve("@pulumi/tailscale");
    } catch {
        throw new Error("TailscaleDirect: `apiKey` mode mints the auth key through the Tailscale provider, the optional peer dependency " +
            "@pulumi/tailscale, which is not installed: run `npm install @pulumi/tailscale`, or pass `authKey` instead of `apiKey`");
    }
    return require(resolved) as typeof tailscaleSdk;
}

/** The longest component name: object names append `-checks` and must stay DNS labels. */
const MAX_NAME_LENGTH = 50;

function present(v: unknown): boolean {
    return v !== undefined && v !== null;
}

/**
 * Validates TailscaleDirect's name and args, collecting every problem; throws a ValidationError.
 * Pure: registers nothing.
 */
export function validateTailscaleArgs(name: string, args: TailscaleDirectArgs): TailscaleSettings {
    const { authKey, apiKey, ...settings } = (args ?? {}) as TailscaleDirectArgs;
    const extra: Problem[] = [];
    if (!isDnsLabel(name) || name.length > MAX_NAME_LENGTH) {
        extra.push({ path: "name", value: name, rule: `the component name names the Kubernetes objects: it must be a DNS label of at most ${MAX_NAME_LENGTH} lowercase letters, digits or '-'` });
    }
    for (const [field, value] of [["authKey", authKey], ["apiKey", apiKey]] as const) {
        if (typeof value === "string" && value.trim() === "") extra.push({ path: field, value: "(empty)", rule: "must not be empty" });
    }
    return parseOrThrow("TailscaleDirect args", tailscaleArgsSchema, settings, {
        crossChecks: (raw) => [...tailscaleCrossChecks(raw, { authKey: present(authKey), apiKey: present(apiKey) }), ...podStateSecretProblems(name, raw), ...extra],
    });
}

/**
 * Runs tailscaled with a fixed UDP port, as a DaemonSet (one tailnet device per node) or a
 * Deployment, in a dedicated namespace: on the host network (`network: "host"`, the default), or
 * in the pod network behind a UDP NodePort, advertising `<node public IP>:<nodePort>` as a static
 * endpoint (`network: "pod"`, Pod Security baseline). With `relay`, the nodes are also Tailscale
 * Peer Relays on a second fixed UDP port. See docs/tailscale.md for the modes, the args, the state
 * choice and how to confirm direct connections.
 */
export class TailscaleDirect extends pulumi.ComponentResource {
    /** The namespace the component created. */
    readonly namespace: pulumi.Output<string>;
    /** The DaemonSet's or Deployment's name. */
    readonly workloadName: pulumi.Output<string>;
    /** `DaemonSet` or `Deployment`. */
    readonly workloadKind: "DaemonSet" | "Deployment";
    /** The fixed UDP port tailscaled listens on, on every node it runs on (pod mode: in the pod). */
    readonly port: number;
    /** `host` or `pod`. */
    readonly network: "host" | "pod";
    /** Pod mode: the UDP NodePort peers reach tailscaled through; undefined in host mode. */
    readonly nodePort: number | undefined;
    /** With `relay`: the relay server's UDP port (on the node, or in the pod); else undefined. */
    readonly relayPort: number | undefined;
    /**
     * What must be opened: inbound UDP from `0.0.0.0/0` and `::/0` on {@link port} (host mode) or
     * {@link nodePort} (pod mode), plus the relay's port or NodePort. Known at construction;
     * security-group and firewall components consume it.
     */
    readonly firewallRules: FirewallRule[];
    /** Pod mode: each node's advertised static endpoints (`ip:nodePort`, and the relay's); `{}` in host mode. */
    readonly staticEndpoints: Record<string, { tailscale: string[]; relay: string[] }>;
    /**
     * With `relay`: the tailnet policy fragment (JSON text) that grants `relay.sources` the
     * `tailscale.com/cap/relay` capability on the relay nodes (their `tags`). Merge its `grants`
     * into the tailnet policy file; the relay is unused without it. Undefined without `relay`.
     */
    readonly relayGrant: string | undefined;

    constructor(name: string, args: TailscaleDirectArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const settings = validateTailscaleArgs(name, args);
        const sdk = present(args.apiKey) ? loadTailscaleSdk() : undefined;
        super("directpath:tailscale:TailscaleDirect", name, {}, opts);
        this.port = settings.port;
        this.network = settings.network;
        this.nodePort = settings.network === "pod" ? settings.nodePort : undefined;
        this.relayPort = settings.relay?.port;
        this.workloadKind = settings.workloadKind;
        this.firewallRules = tailscaleModeFirewallRules(settings);
        this.staticEndpoints = podStaticEndpoints(settings);
        const grant = relayGrant(settings);
        this.relayGrant = grant ? JSON.stringify(grant, null, 2) : undefined;

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, renderNamespace(name, settings), { parent: this });
        const inNs = { parent: this, dependsOn: [ns] };

        const authKey = sdk !== undefined
            ? this.mintAuthKey(sdk, name, args.apiKey as pulumi.Input<string>, settings)
            : pulumi.secret(args.authKey as pulumi.Input<string>);
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            ...renderAuthSecretMeta(name, settings),
            stringData: { [AUTH_SECRET_KEY]: authKey },
        }, inNs);

        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, renderServiceAccount(name, settings), inNs);
        const configFile = usesConfigFile(settings);
        const checks = new k8s.core.v1.ConfigMap(`${name}-checks`, renderChecksConfigMap(name, settings,
            readAsset(__dirname, CHECK_PORT_SCRIPT), configFile ? readAsset(__dirname, SELECT_CONFIG_SCRIPT) : undefined), inNs);
        const dependsOn: pulumi.Resource[] = [ns, secret, sa, checks];
        if (configFile) {
            dependsOn.push(new k8s.core.v1.ConfigMap(`${name}-tailscaled`, renderTailscaledConfigMap(name, settings), inNs));
        }
        if (settings.network === "pod") {
            new k8s.core.v1.Service(`${name}-udp`, renderNodePortService(name, settings) as unknown as k8s.core.v1.ServiceArgs, inNs);
            // Each listed node's state Secret (named by the node, not by its position), and the
            // Role that allows exactly those: in place before a pod asks for them.
            for (const s of renderStateSecrets(name, settings)) {
                dependsOn.push(new k8s.core.v1.Secret(s.metadata.name, s, inNs));
            }
            const role = new k8s.rbac.v1.Role(`${name}-state`, renderStateRole(name, settings), inNs);
            dependsOn.push(role, new k8s.rbac.v1.RoleBinding(`${name}-state`, renderStateRoleBinding(name, settings), { ...inNs, dependsOn: [ns, role, sa] }));
        }

        const workloadOpts = { parent: this, dependsOn };
        const rendered = renderWorkload(name, settings);
        const workload = settings.workloadKind === "Deployment"
            ? new k8s.apps.v1.Deployment(`${name}-deployment`, rendered as unknown as k8s.apps.v1.DeploymentArgs, workloadOpts)
            : new k8s.apps.v1.DaemonSet(`${name}-daemonset`, rendered as unknown as k8s.apps.v1.DaemonSetArgs, workloadOpts);

        this.namespace = ns.metadata.name;
        this.workloadName = workload.metadata.name;
        this.registerOutputs({
            namespace: this.namespace,
            workloadName: this.workloadName,
            workloadKind: this.workloadKind,
            port: this.port,
            network: this.network,
            nodePort: this.nodePort,
            relayPort: this.relayPort,
            firewallRules: this.firewallRules,
            staticEndpoints: this.staticEndpoints,
            relayGrant: this.relayGrant,
        });
    }

    /** API-key mode: a reusable, preauthorized, tagged auth key minted by the Tailscale provider. */
    private mintAuthKey(tailscale: typeof tailscaleSdk, name: string, apiKey: pulumi.Input<string>, settings: TailscaleSettings): pulumi.Output<string> {
        const provider = new tailscale.Provider(`${name}-tailscale`, { apiKey: pulumi.secret(apiKey) }, { parent: this });
        const key = new tailscale.TailnetKey(`${name}-authkey`, {
            reusable: true,
            preauthorized: true,
            ephemeral: false,
            tags: settings.tags,
            // The API takes up to 50 characters of letters, digits and spaces.
            description: `directpath ${name.replace(/[^A-Za-z0-9]+/g, " ")}`.slice(0, 50).trim(),
        }, { parent: this, provider, additionalSecretOutputs: ["key"] });
        return pulumi.secret(key.key);
    }
}
