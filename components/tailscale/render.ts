/**
 * Pure renderers for TailscaleDirect: plain Kubernetes objects (no Pulumi), unit-tested directly.
 * The component (./index.ts) only adds the secret and registers these.
 *
 * containerboot (the entrypoint of the `tailscale/tailscale` image) is configured through env vars.
 * The names and semantics below were checked against github.com/tailscale/tailscale at tag v1.102.3:
 * `cmd/containerboot/settings.go` (configFromEnv), `cmd/containerboot/tailscaled.go`
 * (tailscaledArgs, tailscaleUp/tailscaleSet), `cmd/containerboot/main.go`, and
 * `cmd/tailscaled/tailscaled.go` (defaultPort reads the `PORT` env var).
 */
import { createHash } from "node:crypto";
import type { FirewallRule } from "../common/firewall";
import { isIPv6 } from "../common/net";
import { recommendedLabels } from "../common/labels";
import { privilegeAnnotations, privilegeKey, restrictedContext, rootContext, RUNTIME_DEFAULT_SECCOMP } from "../common/privileges";
import { stateSecretName, tailscaleImage, TAILSCALE_DEFAULT_HEALTH, type TailscaleSettings } from "./args";

export { stateSecretName } from "./args";

/** The key inside the auth Secret, and the env var containerboot reads it from (TS_AUTHKEY). */
export const AUTH_SECRET_KEY = "TS_AUTHKEY";
/**
 * tailscaled's state directory in the container (TS_STATE_DIR). Host mode: the node's hostPath,
 * holding the state itself. Pod mode: an emptyDir for tailscaled's other files only; the state
 * (node key, login) is in the node's Secret (TS_KUBE_SECRET, `--state=kube:<secret>`).
 */
export const STATE_MOUNT_PATH = "/var/lib/tailscale";
/**
 * What containerboot and tailscaled's Secret store need on the node's state Secret, read from
 * tailscale v1.102.3: `kube/kubeclient/client.go` CheckSecretPermissions fails start-up without
 * `get` and `update` on the named Secret, and only probes `patch` and `create` (through
 * SelfSubjectAccessReviews, which every authenticated user may make); `ipn/store/kubestore/store_kube.go`
 * reads the Secret with `get` and, without `patch`, writes with `update` (get, then PUT); `create` is
 * used only when the Secret is missing (directpath pre-creates it). `patch` is left out on purpose:
 * with it, containerboot (`cmd/containerboot/main.go`, hasKubeStateStore) also runs the operator's
 * protocol in the config-file flow: a failed login asks the operator for a new auth key and waits
 * 10 minutes for it, instead of failing at once. No `list`/`watch` (only the operator's cert-share
 * mode lists Secrets), no Events (written only with POD_NAME and POD_UID set, which directpath doesn't set).
 */
export const STATE_SECRET_VERBS = ["get", "update"] as const;
/** Where the pod-mode container gets its ServiceAccount token (the path containerboot's kube client reads). */
export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Where the port check script is mounted. */
export const CHECKS_MOUNT_PATH = "/etc/directpath";
export const CHECK_PORT_SCRIPT = "check-port.sh";
export const CONTAINER_NAME = "tailscale";
/** The init container that puts this node's tailscaled config file in place (config-file flow). */
export const CONFIG_INIT_CONTAINER_NAME = "tailscaled-config";
export const SELECT_CONFIG_SCRIPT = "select-config.sh";
/** Where the auth key Secret is mounted in the config-file flow (the config file names the key file). */
export const AUTH_MOUNT_PATH = "/etc/directpath/auth";
/** Where the ConfigMap with every node's tailscaled config file is mounted (the init container reads it). */
export const CONFIG_SOURCE_MOUNT_PATH = "/etc/directpath/tailscaled";
/** The emptyDir that holds this node's config file: containerboot's TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR. */
export const CONFIG_DIR_MOUNT_PATH = "/etc/tailscaled";
/**
 * The capability version in the config file's name (`cap-<N>.hujson`). containerboot loads the
 * file with the highest N not above its own tailcfg.CurrentCapabilityVersion
 * (cmd/containerboot/main.go tailscaledConfigFilePath, v1.102.3). 142 is the capability version of
 * v1.102.0, the first release whose config file has RelayServerPort, so every image from v1.102.0
 * on reads it and older ones refuse to start instead of misreading it.
 */
export const TAILSCALED_CONFIG_CAP = 142;
export const TAILSCALED_CONFIG_FILE = `cap-${TAILSCALED_CONFIG_CAP}.hujson`;
/** The ConfigMap key of the config file for nodes that aren't listed by name (host mode). */
export const ANY_NODE_CONFIG_KEY = "any-node.hujson";
/** Replaced with the node's name by select-config.sh in {@link ANY_NODE_CONFIG_KEY}. */
export const NODE_NAME_PLACEHOLDER = "@NODE_NAME@";
/** The Tailscale app capability that lets the grant's sources allocate relay endpoints on its destinations. */
export const RELAY_CAPABILITY = "tailscale.com/cap/relay";

export interface TailscaleNames {
    namespace: string;
    /** The DaemonSet or Deployment, and its ServiceAccount. */
    workload: string;
    authSecret: string;
    checksConfigMap: string;
    /** The ConfigMap with the tailscaled config files (config-file flow). */
    configMap: string;
    /** The UDP NodePort Service (pod mode). */
    service: string;
    /** The Role (and RoleBinding) that lets the pods read and write their state Secrets (pod mode). */
    stateRole: string;
}

/** Kubernetes object names, derived from the component's name. */
export function tailscaleNames(name: string, settings: Pick<TailscaleSettings, "namespace">): TailscaleNames {
    return {
        namespace: settings.namespace,
        workload: name,
        authSecret: `${name}-auth`,
        checksConfigMap: `${name}-checks`,
        configMap: `${name}-tailscaled`,
        service: `${name}-udp`,
        stateRole: `${name}-state`,
    };
}

/**
 * Whether tailscaled is configured through its config file (containerboot's one-step flow,
 * `TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR`) instead of env vars and `tailscale up`. Static endpoints
 * and the relay server port can only be set at start-up that way: `StaticEndpoints` exists only in
 * the config file (ipn/conf.go), and `--relay-server-port` is a `tailscale set` flag that
 * containerboot never passes (it runs `tailscale set` with only --accept-dns, --advertise-routes
 * and --hostname; cmd/containerboot/tailscaled.go, v1.102.3).
 */
export function usesConfigFile(settings: Pick<TailscaleSettings, "network" | "relay">): boolean {
    return settings.network === "pod" || settings.relay !== undefined;
}

/** Userspace networking: as given, else on in pod mode (Pod Security baseline allows no TUN) and off in host mode. */
export function effectiveUserspace(settings: Pick<TailscaleSettings, "network" | "userspace">): boolean {
    return settings.userspace ?? settings.network === "pod";
}

/**
 * The health endpoint's address: host mode loopback unless given; pod mode the pod's own IP
 * (`$(POD_IP)` from the downward API, where the kubelet probes; containerboot brackets an IPv6
 * POD_IP itself when POD_IPS is set, cmd/containerboot/settings.go v1.102.3, as the operator does).
 */
export function effectiveHealthAddress(settings: Pick<TailscaleSettings, "network" | "healthAddress">): string {
    if (settings.network === "pod") return "$(POD_IP)";
    return settings.healthAddress ?? TAILSCALE_DEFAULT_HEALTH.address;
}

/** `ip:port` as Go's netip.AddrPort writes it (IPv6 in brackets). */
export function addrPort(ip: string, port: number): string {
    return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function selectorLabels(name: string): Record<string, string> {
    return { "app.kubernetes.io/name": "tailscale-direct", "app.kubernetes.io/instance": name };
}

function commonLabels(name: string): Record<string, string> {
    return { ...recommendedLabels("tailscale-direct", name), ...selectorLabels(name) };
}

function udpFromAnywhere(port: number, description: string): FirewallRule[] {
    return [
        { direction: "ingress", protocol: "udp", fromPort: port, toPort: port, peer: "0.0.0.0/0", description: `${description} (IPv4)` },
        { direction: "ingress", protocol: "udp", fromPort: port, toPort: port, peer: "::/0", description: `${description} (IPv6)` },
    ];
}

/**
 * What must be opened for direct connections: inbound UDP on the fixed port from anywhere, over
 * IPv4 and IPv6. (Peers' own ports are random, so the peer can't be narrowed.) Host mode only;
 * {@link tailscaleModeFirewallRules} covers every mode.
 */
export function tailscaleFirewallRules(port: number): FirewallRule[] {
    return udpFromAnywhere(port, `Tailscale direct connections: WireGuard and disco to tailscaled on its fixed UDP port ${port}`);
}

/**
 * Exactly the ports the nodes must accept, for the settings' mode: host mode the fixed port (and
 * the relay port) on the node; pod mode the UDP NodePort(s), which kube-proxy or Cilium forward to
 * the pod. Nothing else (the pod ports aren't reachable from outside the cluster).
 */
export function tailscaleModeFirewallRules(settings: TailscaleSettings): FirewallRule[] {
    if (settings.network === "pod") {
        const rules = udpFromAnywhere(settings.nodePort!, `Tailscale direct connections: UDP NodePort ${settings.nodePort} to tailscaled's port ${settings.port} in the pod (its static endpoint)`);
        if (settings.relay) {
            rules.push(...udpFromAnywhere(settings.relay.nodePort!, `Tailscale peer relay: UDP NodePort ${settings.relay.nodePort} to the relay server's port ${settings.relay.port} in the pod`));
        }
        return rules;
    }
    const rules = tailscaleFirewallRules(settings.port);
    if (settings.relay) rules.push(...udpFromAnywhere(settings.relay.port, `Tailscale peer relay: the relay server's fixed UDP port ${settings.relay.port}`));
    return rules;
}

/**
 * Each listed node's static endpoints (pod mode): `<public IP>:<nodePort>` for tailscaled, and
 * `<public IP>:<relay.nodePort>` for the relay server. Empty in host mode (the node's own
 * addresses are tailscaled's, nothing to advertise by hand).
 */
export function podStaticEndpoints(settings: TailscaleSettings): Record<string, { tailscale: string[]; relay: string[] }> {
    const out: Record<string, { tailscale: string[]; relay: string[] }> = {};
    if (settings.network !== "pod") return out;
    for (const node of settings.nodes ?? []) {
        out[node.name] = {
            tailscale: node.publicIps.map((ip) => addrPort(ip, settings.nodePort!)),
            relay: settings.relay ? node.publicIps.map((ip) => addrPort(ip, settings.relay!.nodePort!)) : [],
        };
    }
    return out;
}

/** The grant that lets `relay.sources` use the relay nodes (named by `tags`), as a tailnet policy fragment. */
export function relayGrant(settings: TailscaleSettings): { grants: Array<{ src: string[]; dst: string[]; app: Record<string, unknown[]> }> } | undefined {
    if (!settings.relay) return undefined;
    return { grants: [{ src: [...settings.relay.sources], dst: [...settings.tags], app: { [RELAY_CAPABILITY]: [] } }] };
}

/**
 * tailscaled's config file (ipn.ConfigVAlpha, version "alpha0") for one node, or for any node when
 * `node` is undefined (the hostname then carries {@link NODE_NAME_PLACEHOLDER}). Field names are
 * the JSON names of ipn.ConfigVAlpha at v1.102.3; tailscaled rejects unknown fields.
 */
export function renderTailscaledConfig(settings: TailscaleSettings, node?: { name: string; publicIps: string[] }): Record<string, unknown> {
    const conf: Record<string, unknown> = {
        Version: "alpha0",
        ...(settings.loginServer ? { ServerURL: settings.loginServer } : {}),
        // Unlocked, as the operator writes it: containerboot edits prefs at shutdown (it
        // unadvertises services), which a locked config refuses.
        Locked: false,
        // The key's file, not the key: the config file is no secret.
        AuthKey: `file:${AUTH_MOUNT_PATH}/${AUTH_SECRET_KEY}`,
        Hostname: `${settings.hostnamePrefix}-${node ? node.name : NODE_NAME_PLACEHOLDER}`,
        // Host mode: tailnet DNS would rewrite the node's resolv.conf; pod mode: keep cluster DNS.
        acceptDNS: false,
        // As `tailscale up` defaults on Linux (the config file's own default is true).
        acceptRoutes: false,
        // Always written: an empty list withdraws routes advertised earlier.
        AdvertiseRoutes: [...settings.routes],
    };
    if (settings.network === "pod" && node) conf.StaticEndpoints = node.publicIps.map((ip) => addrPort(ip, settings.nodePort!));
    if (settings.relay) {
        conf.RelayServerPort = settings.relay.port;
        if (settings.network === "pod" && node) conf.RelayServerStaticEndpoints = node.publicIps.map((ip) => addrPort(ip, settings.relay!.nodePort!));
    }
    return conf;
}

/** The pod template annotation that carries {@link tailscaledConfigChecksum}. */
export const CONFIG_CHECKSUM_ANNOTATION = "directpath.io/tailscaled-config-sha256";

/** sha256 of the config ConfigMap's data (keys sorted), so a changed file rolls the pods. */
export function tailscaledConfigChecksum(name: string, settings: TailscaleSettings): string {
    const data = renderTailscaledConfigMap(name, settings).data;
    const h = createHash("sha256");
    for (const key of Object.keys(data).sort()) h.update(`${key}\u0000${data[key]}\u0000`);
    return h.digest("hex");
}

/** The ConfigMap with the config files: `<node>.hujson` per listed node (pod mode), else `any-node.hujson`. */
export function renderTailscaledConfigMap(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    const data: Record<string, string> = {};
    if (settings.network === "pod") {
        for (const node of settings.nodes ?? []) data[`${node.name}.hujson`] = `${JSON.stringify(renderTailscaledConfig(settings, node), null, 2)}\n`;
    } else {
        data[ANY_NODE_CONFIG_KEY] = `${JSON.stringify(renderTailscaledConfig(settings), null, 2)}\n`;
    }
    return {
        apiVersion: "v1" as const,
        kind: "ConfigMap" as const,
        metadata: { name: names.configMap, namespace: names.namespace, labels: commonLabels(name) },
        data,
    };
}

/**
 * Pod mode's UDP NodePort Service: one Service for the whole DaemonSet, because
 * `externalTrafficPolicy: Local` makes each node's NodePort lead to the pod on that node only (and
 * keeps the peer's source address, no SNAT), which is exactly what `<node IP>:<nodePort>` as that
 * node's static endpoint needs. (The operator creates one Service per replica instead, because its
 * StatefulSet replicas may share a node.)
 */
export function renderNodePortService(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    const ports: Array<Record<string, unknown>> = [
        { name: "tailscale", protocol: "UDP", port: settings.port, targetPort: settings.port, nodePort: settings.nodePort },
    ];
    if (settings.relay) ports.push({ name: "relay", protocol: "UDP", port: settings.relay.port, targetPort: settings.relay.port, nodePort: settings.relay.nodePort });
    const anyV6 = (settings.nodes ?? []).some((n) => n.publicIps.some(isIPv6));
    const spec: Record<string, unknown> = {
        type: "NodePort",
        externalTrafficPolicy: "Local",
        selector: selectorLabels(name),
        ports,
    };
    if (anyV6) spec.ipFamilyPolicy = "PreferDualStack";
    return {
        apiVersion: "v1" as const,
        kind: "Service" as const,
        metadata: { name: names.service, namespace: names.namespace, labels: commonLabels(name) },
        spec,
    };
}

/**
 * The namespace. Host mode: Pod Security Admission `privileged` is confined to it (the pods need
 * hostNetwork, hostPort and hostPath, which `baseline` forbids). Pod mode: `baseline`, enforced.
 */
export function renderNamespace(name: string, settings: TailscaleSettings) {
    const level = settings.network === "pod" ? "baseline" : "privileged";
    return {
        apiVersion: "v1" as const,
        kind: "Namespace" as const,
        metadata: {
            name: settings.namespace,
            labels: {
                ...commonLabels(name),
                "pod-security.kubernetes.io/enforce": level,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": level,
                "pod-security.kubernetes.io/warn": level,
            },
        },
    };
}

/**
 * The ServiceAccount, with no token mounted by default. Host mode: with hostPath state
 * (TS_KUBE_SECRET="") nothing in the container talks to the Kubernetes API (containerboot only
 * creates a kube client when TS_KUBE_SECRET is non-empty), so least privilege is no API access at
 * all: no Role, no binding, no token. Pod mode: the pod template mounts a token into the tailscaled
 * container only, and {@link renderStateRole} allows exactly the state Secrets.
 */
export function renderServiceAccount(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    return {
        apiVersion: "v1" as const,
        kind: "ServiceAccount" as const,
        metadata: { name: names.workload, namespace: names.namespace, labels: commonLabels(name) },
        automountServiceAccountToken: false,
    };
}

/** The auth key Secret without its data (the component adds the key as a secret `stringData`). */
export function renderAuthSecretMeta(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    return {
        apiVersion: "v1" as const,
        kind: "Secret" as const,
        metadata: { name: names.authSecret, namespace: names.namespace, labels: commonLabels(name) },
        type: "Opaque",
    };
}

/**
 * Pod mode: one empty Secret per listed node for its tailscaled state (containerboot's
 * TS_KUBE_SECRET). Pre-created, so the pods never need `create` on Secrets (which RBAC can't
 * restrict by name); tailscaled fills in the data. Host mode: none (the state is on the node).
 */
export function renderStateSecrets(name: string, settings: TailscaleSettings) {
    if (settings.network !== "pod") return [];
    const names = tailscaleNames(name, settings);
    return (settings.nodes ?? []).map((node) => ({
        apiVersion: "v1" as const,
        kind: "Secret" as const,
        metadata: {
            name: stateSecretName(name, node.name),
            namespace: names.namespace,
            labels: commonLabels(name),
            annotations: { "directpath.io/tailscale-node": node.name },
        },
        type: "Opaque",
    }));
}

/**
 * Pod mode: what the pods may do through the API: {@link STATE_SECRET_VERBS} on exactly the listed
 * nodes' state Secrets (`resourceNames`), nothing else. Every pod of the DaemonSet shares the
 * ServiceAccount, so each can read every listed node's state Secret (not the auth key Secret).
 */
export function renderStateRole(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    return {
        apiVersion: "rbac.authorization.k8s.io/v1" as const,
        kind: "Role" as const,
        metadata: { name: names.stateRole, namespace: names.namespace, labels: commonLabels(name) },
        rules: [{
            apiGroups: [""],
            resources: ["secrets"],
            resourceNames: (settings.nodes ?? []).map((n) => stateSecretName(name, n.name)),
            verbs: [...STATE_SECRET_VERBS],
        }],
    };
}

/** Pod mode: binds {@link renderStateRole} to the workload's ServiceAccount. */
export function renderStateRoleBinding(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    return {
        apiVersion: "rbac.authorization.k8s.io/v1" as const,
        kind: "RoleBinding" as const,
        metadata: { name: names.stateRole, namespace: names.namespace, labels: commonLabels(name) },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.stateRole },
        subjects: [{ kind: "ServiceAccount", name: names.workload, namespace: names.namespace }],
    };
}

/** The ConfigMap that carries the port check script (and, in the config-file flow, the config selection script). */
export function renderChecksConfigMap(name: string, settings: TailscaleSettings, script: string, selectConfigScript?: string) {
    const names = tailscaleNames(name, settings);
    const data: Record<string, string> = { [CHECK_PORT_SCRIPT]: script };
    if (usesConfigFile(settings)) {
        if (selectConfigScript === undefined) throw new Error(`directpath: ${SELECT_CONFIG_SCRIPT} is required in the config-file flow`);
        data[SELECT_CONFIG_SCRIPT] = selectConfigScript;
    }
    return {
        apiVersion: "v1" as const,
        kind: "ConfigMap" as const,
        metadata: { name: names.checksConfigMap, namespace: names.namespace, labels: commonLabels(name) },
        data,
    };
}

/** `host:port` for TS_LOCAL_ADDR_PORT (IPv6 in brackets, as netip.ParseAddrPort wants). */
export function localAddrPort(settings: Pick<TailscaleSettings, "network" | "healthAddress" | "healthPort">): string {
    const address = effectiveHealthAddress(settings);
    const host = address.includes(":") && !address.startsWith("$(") ? `[${address}]` : address;
    return `${host}:${settings.healthPort}`;
}

export interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: Record<string, unknown>;
}

/** The container's environment: everything containerboot and tailscaled read. */
export function containerEnv(name: string, settings: TailscaleSettings): EnvVar[] {
    const names = tailscaleNames(name, settings);
    const userspace = effectiveUserspace(settings);
    const configFile = usesConfigFile(settings);
    const env: EnvVar[] = [
        // Must come first: TS_HOSTNAME expands $(NODE_NAME).
        { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        // tailscaled's default --port (cmd/tailscaled defaultPort); --port below says the same.
        { name: "PORT", value: String(settings.port) },
    ];
    if (settings.network === "pod") {
        // Must come before TS_LOCAL_ADDR_PORT, which expands $(POD_IP); containerboot reads POD_IPS.
        env.push(
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
        );
    }
    // For check-port.sh: the relay server must own its port too (it has no fallback, it stays off).
    if (settings.relay) env.push({ name: "DIRECTPATH_RELAY_PORT", value: String(settings.relay.port) });
    if (!configFile) {
        env.push(
            { name: "TS_AUTHKEY", valueFrom: { secretKeyRef: { name: names.authSecret, key: AUTH_SECRET_KEY } } },
            { name: "TS_HOSTNAME", value: `${settings.hostnamePrefix}-$(NODE_NAME)` },
        );
    }
    if (settings.network === "pod") {
        // The state in this node's own pre-created Secret (tailscaled --state=kube:<secret>), so a
        // recreated pod keeps the device. $(NODE_NAME) is expanded by the kubelet from NODE_NAME,
        // defined first. TS_STATE_DIR (an emptyDir) then only holds tailscaled's other files.
        env.push({ name: "TS_KUBE_SECRET", value: stateSecretName(name, "$(NODE_NAME)") }, { name: "TS_STATE_DIR", value: STATE_MOUNT_PATH });
    } else {
        // State on the node (hostPath), not in a Kubernetes Secret. An empty TS_KUBE_SECRET turns
        // off containerboot's default, a Secret named "tailscale" that every pod would share.
        env.push({ name: "TS_KUBE_SECRET", value: "" }, { name: "TS_STATE_DIR", value: STATE_MOUNT_PATH });
    }
    if (!configFile) {
        // The state survives restarts, so log in only when it has no login yet (the key may be
        // single-use or expired by the next restart).
        env.push({ name: "TS_AUTH_ONCE", value: "true" });
    }
    env.push({ name: "TS_USERSPACE", value: String(userspace) });
    if (!configFile) {
        env.push(
            // Under hostNetwork, accepting tailnet DNS would rewrite the node's own resolv.conf.
            { name: "TS_ACCEPT_DNS", value: "false" },
            // Always set: an empty value withdraws routes advertised earlier.
            { name: "TS_ROUTES", value: settings.routes.join(",") },
        );
    }
    env.push(
        { name: "TS_TAILSCALED_EXTRA_ARGS", value: `--port=${settings.port}` },
        { name: "TS_ENABLE_HEALTH_CHECK", value: "true" },
        { name: "TS_LOCAL_ADDR_PORT", value: localAddrPort(settings) },
    );
    if (configFile) {
        // One step: containerboot runs only `tailscaled --config=<dir>/cap-N.hujson`; hostname,
        // auth key, routes, DNS, static endpoints and the relay port all come from that file
        // (which is why TS_AUTHKEY, TS_HOSTNAME, TS_ROUTES, TS_ACCEPT_DNS and TS_EXTRA_ARGS must
        // be absent: containerboot refuses them next to it).
        env.push({ name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: CONFIG_DIR_MOUNT_PATH });
    } else {
        // Flags for `tailscale up` (containerboot passes TS_EXTRA_ARGS through).
        const extra: string[] = [];
        if (settings.loginServer) extra.push(`--login-server=${settings.loginServer}`);
        if (settings.tags.length > 0) extra.push(`--advertise-tags=${settings.tags.join(",")}`);
        if (extra.length > 0) env.push({ name: "TS_EXTRA_ARGS", value: extra.join(" ") });
    }
    if (!userspace) {
        // Kernel mode edits the node's firewall (hostNetwork): let tailscaled pick iptables or
        // nftables to match what the node (kube-proxy, Cilium) uses, as Tailscale's k8s examples do.
        env.push({ name: "TS_DEBUG_FIREWALL_MODE", value: "auto" });
    }
    return env;
}

function probeHttp(settings: TailscaleSettings) {
    // Pod mode: no host, so the kubelet probes the pod IP (where the endpoint listens: $(POD_IP)).
    const probe: Record<string, unknown> = { path: "/healthz", port: settings.healthPort, scheme: "HTTP" };
    if (settings.network !== "pod") probe.host = effectiveHealthAddress(settings);
    return probe;
}

/** The uid and gid of the pod-mode container and of the init container (no image user: any non-zero id works). */
export const NON_ROOT_UID = 65532;
/** containerboot's tailscaled socket (TS_SOCKET's default) is in /tmp: an emptyDir, as the root filesystem is read-only. */
export const TMP_MOUNT_PATH = "/tmp";

/**
 * The least privilege each mode works with, and why it holds what it holds (the reasons become the
 * pod template's `privilege.directpath.io/*` annotations, which the plan prints):
 * - kernel networking (host mode's default): root with NET_ADMIN and NET_RAW only;
 * - host mode, userspace: root (the hostPath state folder is root's), no capability unless a port
 *   is below 1024;
 * - pod mode: not root, no capability; a port below 1024 is allowed through the pod's own
 *   `net.ipv4.ip_unprivileged_port_start` sysctl (namespaced, allowed by baseline), because
 *   Kubernetes gives added capabilities to uid 0 only.
 * Every mode: ALL dropped first, no privilege escalation, RuntimeDefault seccomp, read-only root
 * filesystem (tailscaled writes only its state folder, /tmp and the config folder, all volumes).
 */
export function tailscaleSecurity(settings: TailscaleSettings) {
    const pod = settings.network === "pod";
    const kernel = !effectiveUserspace(settings);
    const ports = [settings.port, settings.healthPort, ...(settings.relay ? [settings.relay.port] : [])];
    const lowest = Math.min(...ports);
    const reasons: Record<string, string> = {};
    let container;
    if (kernel) {
        container = rootContext([
            // tailscaled creates and configures its TUN device (TUNSETIFF), adds routes, policy
            // rules and its firewall chains over netlink, and marks its sockets (SO_MARK).
            "NET_ADMIN",
            // The image's iptables (legacy flavour) reads and writes the tables over a raw socket.
            "NET_RAW",
        ]);
        reasons[privilegeKey.capability("NET_ADMIN")] = "kernel networking: tailscaled creates its TUN device, adds routes, policy rules and firewall chains (netlink), and marks its sockets";
        reasons[privilegeKey.capability("NET_RAW")] = "kernel networking: the image's iptables reads and writes the node's tables over a raw socket";
        reasons[privilegeKey.root(CONTAINER_NAME)] = "added capabilities take effect for uid 0 only (Kubernetes sets no ambient capabilities), and the state folder on the node is root's";
    } else if (!pod) {
        // Userspace in host mode: only a privileged port needs a capability.
        container = rootContext(lowest < 1024 ? ["NET_BIND_SERVICE"] : []);
        if (lowest < 1024) reasons[privilegeKey.capability("NET_BIND_SERVICE")] = `binds UDP/TCP port ${lowest}, below 1024`;
        reasons[privilegeKey.root(CONTAINER_NAME)] = `the state folder on the node (hostPath ${settings.stateHostPath}) is created by the kubelet as root's, 0755`;
    } else {
        container = restrictedContext(NON_ROOT_UID);
    }
    const podContext: Record<string, unknown> = { ...RUNTIME_DEFAULT_SECCOMP };
    if (pod) {
        // The emptyDirs and the mounted Secret and ConfigMaps are group-readable for this group.
        podContext.runAsNonRoot = true;
        podContext.runAsUser = NON_ROOT_UID;
        podContext.runAsGroup = NON_ROOT_UID;
        podContext.fsGroup = NON_ROOT_UID;
        if (lowest < 1024) podContext.sysctls = [{ name: "net.ipv4.ip_unprivileged_port_start", value: String(lowest) }];
    } else {
        reasons[privilegeKey.hostNetwork] = "tailscaled must own a fixed UDP port on the node's own address, so peers connect directly instead of through DERP";
        reasons[privilegeKey.hostPort] = "declares the fixed ports on the node (the scheduler then keeps two pods off one node)";
        reasons[privilegeKey.hostPath("state")] = "tailscaled's state (node key, login) survives pod restarts on the node";
        if (kernel) {
            reasons[privilegeKey.hostPath("dev-net-tun")] = "kernel networking: the TUN device";
            reasons[privilegeKey.hostPath("xtables-lock")] = "the node's iptables lock, shared with kube-proxy and the CNI so rule edits don't race";
        }
    }
    // The init container only copies a file between two volumes: never root, whatever the mode.
    const init = restrictedContext(NON_ROOT_UID);
    return { pod: podContext, container, init, annotations: privilegeAnnotations(reasons) };
}

/** The init container of the config-file flow: copies this node's config file into place. */
export function renderConfigInitContainer(settings: TailscaleSettings) {
    return {
        name: CONFIG_INIT_CONTAINER_NAME,
        image: tailscaleImage(settings.image),
        imagePullPolicy: settings.image.pullPolicy,
        command: ["/bin/sh", `${CHECKS_MOUNT_PATH}/${SELECT_CONFIG_SCRIPT}`],
        env: [
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "DIRECTPATH_CONFIG_SOURCE", value: CONFIG_SOURCE_MOUNT_PATH },
            { name: "DIRECTPATH_CONFIG_FILE", value: TAILSCALED_CONFIG_FILE },
            { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: CONFIG_DIR_MOUNT_PATH },
        ],
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
        securityContext: tailscaleSecurity(settings).init,
        volumeMounts: [
            { name: "checks", mountPath: CHECKS_MOUNT_PATH, readOnly: true },
            { name: "tailscaled-config-source", mountPath: CONFIG_SOURCE_MOUNT_PATH, readOnly: true },
            { name: "tailscaled-config", mountPath: CONFIG_DIR_MOUNT_PATH },
        ],
    };
}

/** The pod template of the DaemonSet or Deployment. */
export function renderPodTemplate(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    const pod = settings.network === "pod";
    const kernel = !effectiveUserspace(settings);
    const configFile = usesConfigFile(settings);
    const security = tailscaleSecurity(settings);
    const volumeMounts: Array<Record<string, unknown>> = [
        { name: "state", mountPath: STATE_MOUNT_PATH },
        { name: "checks", mountPath: CHECKS_MOUNT_PATH, readOnly: true },
        { name: "tmp", mountPath: TMP_MOUNT_PATH },
    ];
    const volumes: Array<Record<string, unknown>> = [
        // Pod mode: Pod Security baseline forbids hostPath; the state itself is in the node's
        // Secret, and the emptyDir holds tailscaled's other files.
        pod ? { name: "state", emptyDir: {} } : { name: "state", hostPath: { path: settings.stateHostPath, type: "DirectoryOrCreate" } },
        { name: "checks", configMap: { name: names.checksConfigMap, defaultMode: 0o555 } },
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
    ];
    if (configFile) {
        volumeMounts.push(
            { name: "tailscaled-config", mountPath: CONFIG_DIR_MOUNT_PATH, readOnly: true },
            { name: "auth", mountPath: AUTH_MOUNT_PATH, readOnly: true },
        );
        volumes.push(
            { name: "tailscaled-config-source", configMap: { name: names.configMap } },
            { name: "tailscaled-config", emptyDir: {} },
            // Pod mode runs as NON_ROOT_UID: the kubelet makes the file group-readable for fsGroup.
            { name: "auth", secret: { secretName: names.authSecret, defaultMode: pod ? 0o440 : 0o400 } },
        );
    }
    if (pod) {
        // The ServiceAccount token for the state Secret, in the tailscaled container only (not the
        // init container): what the kubelet's automount would project, at the same path.
        volumeMounts.push({ name: "kube-api-access", mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true });
        volumes.push({
            name: "kube-api-access",
            projected: {
                defaultMode: 0o444,
                sources: [
                    { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
                    { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                    { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
                ],
            },
        });
    }
    if (kernel) {
        volumeMounts.push({ name: "dev-net-tun", mountPath: "/dev/net/tun" });
        // The node's iptables lock, shared with kube-proxy and the CNI so that rule edits don't race.
        volumeMounts.push({ name: "xtables-lock", mountPath: "/run/xtables.lock" });
        volumes.push({ name: "dev-net-tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } });
        volumes.push({ name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } });
    }
    const hostPorts = (p: number) => (pod ? {} : { hostPort: p });
    const ports: Array<Record<string, unknown>> = [
        { name: "tailscale", containerPort: settings.port, ...hostPorts(settings.port), protocol: "UDP" },
    ];
    if (settings.relay) ports.push({ name: "relay", containerPort: settings.relay.port, ...hostPorts(settings.relay.port), protocol: "UDP" });
    ports.push({ name: "health", containerPort: settings.healthPort, ...hostPorts(settings.healthPort), protocol: "TCP" });
    const container = {
        name: CONTAINER_NAME,
        image: tailscaleImage(settings.image),
        imagePullPolicy: settings.image.pullPolicy,
        env: containerEnv(name, settings),
        ports,
        resources: {
            requests: { ...settings.resources.requests },
            limits: { ...settings.resources.limits },
        },
        // See tailscaleSecurity: what each mode needs, and why.
        securityContext: security.container,
        // Up to 3 minutes to start tailscaled and log in.
        startupProbe: { httpGet: probeHttp(settings), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 36 },
        // Restart when the node has lost its tailnet addresses for a minute.
        livenessProbe: { httpGet: probeHttp(settings), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 },
        // Not ready unless tailscaled itself owns the fixed UDP port (and /healthz is OK).
        readinessProbe: {
            exec: { command: ["/bin/sh", `${CHECKS_MOUNT_PATH}/${CHECK_PORT_SCRIPT}`] },
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 2,
        },
        volumeMounts,
    };
    const spec: Record<string, unknown> = {
        serviceAccountName: names.workload,
        automountServiceAccountToken: false,
    };
    spec.securityContext = security.pod;
    if (!pod) {
        spec.hostNetwork = true;
        spec.dnsPolicy = "ClusterFirstWithHostNet";
    }
    spec.terminationGracePeriodSeconds = 30;
    if (configFile) spec.initContainers = [renderConfigInitContainer(settings)];
    spec.containers = [container];
    spec.volumes = volumes;
    if (settings.nodeSelector) spec.nodeSelector = { ...settings.nodeSelector };
    if (pod) {
        // Only the listed nodes have a config file (and a known public IP); a Deployment's replicas
        // each take their own node, since one node's NodePort reaches one local pod. One term per
        // node (terms are ORed): the API server allows a single value in a metadata.name field
        // selector ("must be only one value when `operator` is 'In'", validateNodeFieldSelectorRequirement
        // in pkg/apis/core/validation/validation.go, Kubernetes v1.33.13; found by lab:deploy).
        const affinity: Record<string, unknown> = {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: (settings.nodes ?? []).map((n) => ({ matchFields: [{ key: "metadata.name", operator: "In", values: [n.name] }] })),
                },
            },
        };
        if (settings.workloadKind === "Deployment") {
            affinity.podAntiAffinity = {
                requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: selectorLabels(name) }, topologyKey: "kubernetes.io/hostname" }],
            };
        }
        spec.affinity = affinity;
    }
    if (settings.tolerations.length > 0) spec.tolerations = settings.tolerations.map((t) => ({ ...t }));
    if (settings.priorityClassName) spec.priorityClassName = settings.priorityClassName;
    const metadata: Record<string, unknown> = { labels: commonLabels(name) };
    const annotations: Record<string, string> = { ...security.annotations };
    // containerboot reads the config file once, at start: roll the pods when it changes.
    if (configFile) annotations[CONFIG_CHECKSUM_ANNOTATION] = tailscaledConfigChecksum(name, settings);
    if (Object.keys(annotations).length) metadata.annotations = annotations;
    return { metadata, spec };
}

/**
 * The workload. Both kinds use an update strategy that never runs two pods on one node at once
 * (they would fight over the host port): a DaemonSet rolls with maxSurge 0 / maxUnavailable 1, a
 * Deployment recreates.
 */
export function renderWorkload(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    const metadata = { name: names.workload, namespace: names.namespace, labels: commonLabels(name) };
    const selector = { matchLabels: selectorLabels(name) };
    const template = renderPodTemplate(name, settings);
    if (settings.workloadKind === "Deployment") {
        return {
            apiVersion: "apps/v1" as const,
            kind: "Deployment" as const,
            metadata,
            spec: { replicas: settings.replicas ?? 1, selector, strategy: { type: "Recreate" }, template },
        };
    }
    return {
        apiVersion: "apps/v1" as const,
        kind: "DaemonSet" as const,
        metadata,
        spec: {
            selector,
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
            template,
        },
    };
}
