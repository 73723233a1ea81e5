/**
 * Mode `iptables`: the node DaemonSet, its ConfigMap and the rules file. Pure.
 *
 * The script (scripts/hairpin-redirect.sh) is generic: everything specific to a cluster is in the
 * rules file next to it in the ConfigMap, and in the container's env. See the script's header for
 * the contract (env vars, file format, signals); the network lab runs the very same pieces from the
 * plan's manifests.
 */
import { scriptProbes } from "../common/probes";
import { privilegeAnnotations, privilegeKey, rootContext, RUNTIME_DEFAULT_SECCOMP } from "../common/privileges";
import type { Endpoint, ResolvedEndpoint } from "./model";
import { targetPortOf } from "./model";
import type { IptablesOptions } from "./redirect-args";

export const IPTABLES_SCRIPT_KEY = "hairpin-redirect.sh";
export const IPTABLES_RULES_KEY = "rules.conf";
export const IPTABLES_MOUNT_DIR = "/etc/directpath";
/** The chain the script owns in the nat table (jumped to from PREROUTING and OUTPUT). */
export const IPTABLES_CHAIN = "DIRECTPATH-HAIRPIN";
/** Where the script records each round for its probes (an emptyDir: the root filesystem is read-only). */
export const IPTABLES_STATE_DIR = "/run/directpath-hairpin";

/** One line of the rules file. */
export interface IptablesRule {
    /** `<endpoint>-<port name or number>-<ip index>`: letters, digits, '.', '_' and '-'. */
    name: string;
    protocol: "tcp" | "udp";
    externalIp: string;
    externalPort: number;
    /** An IPv4 address, or a Service's DNS name that the script resolves at run time. */
    target: string;
    targetPort: number;
}

/** The script's target for an endpoint's backend: the fixed address, or the Service's cluster DNS name. */
export function iptablesTarget(e: Pick<Endpoint, "name" | "backend">, clusterDomain: string): string {
    if ("address" in e.backend) return e.backend.address.ip;
    if ("service" in e.backend) return `${e.backend.service.name}.${e.backend.service.namespace}.svc.${clusterDomain}`;
    throw new Error(`directpath: endpoint '${e.name}': mode iptables needs an address or service backend`);
}

/** The rules of one endpoint whose external IPs are known: one per external IP and port. */
export function iptablesRules(e: ResolvedEndpoint, clusterDomain: string): IptablesRule[] {
    const target = iptablesTarget(e, clusterDomain);
    return e.externalIps.flatMap((ip, i) =>
        e.ports.map((p) => ({
            name: `${e.name}-${p.name ?? p.port}-${i}`,
            protocol: p.protocol === "UDP" ? ("udp" as const) : ("tcp" as const),
            externalIp: ip,
            externalPort: p.port,
            target,
            targetPort: targetPortOf(p),
        })));
}

/** The rules file the script reads. */
export function renderRulesConf(rules: readonly IptablesRule[]): string {
    const lines = [
        "# directpath hairpin bypass, mode iptables: one DNAT rule per line (see hairpin-redirect.sh)",
        "# name protocol external-ip external-port target target-port",
        ...rules.map((r) => [r.name, r.protocol, r.externalIp, r.externalPort, r.target, r.targetPort].join(" ")),
    ];
    return `${lines.join("\n")}\n`;
}

/** The container's environment: the script's whole configuration besides the rules file. */
export function iptablesEnv(opts: Pick<IptablesOptions, "reconcileSeconds" | "backend">): Array<{ name: string; value: string }> {
    return [
        { name: "DIRECTPATH_CONFIG", value: `${IPTABLES_MOUNT_DIR}/${IPTABLES_RULES_KEY}` },
        { name: "DIRECTPATH_INTERVAL", value: String(opts.reconcileSeconds) },
        { name: "DIRECTPATH_IPTABLES", value: opts.backend },
        { name: "DIRECTPATH_STATE_DIR", value: IPTABLES_STATE_DIR },
    ];
}

export interface IptablesNames {
    configMap: string;
    daemonSet: string;
}

export function iptablesNames(prefix: string): IptablesNames {
    return { configMap: `${prefix}-iptables`, daemonSet: `${prefix}-iptables` };
}

export interface IptablesObjectsInput {
    prefix: string;
    namespace: string;
    labels: Record<string, string>;
    image: string;
    options: Pick<IptablesOptions, "reconcileSeconds" | "backend" | "nodeSelector">;
    /** A hash of the script text: a changed script rolls the pods (a changed rules file doesn't need to). */
    scriptHash: string;
}

/** The DaemonSet that runs the script on every node (the ConfigMap is rendered by the caller). */
export function renderIptablesDaemonSet(input: IptablesObjectsInput) {
    const names = iptablesNames(input.prefix);
    const selector = { "app.kubernetes.io/name": "directpath-hairpin-iptables", "app.kubernetes.io/instance": input.prefix };
    return {
        apiVersion: "apps/v1" as const,
        kind: "DaemonSet" as const,
        metadata: { name: names.daemonSet, namespace: input.namespace, labels: { ...input.labels, ...selector } },
        spec: {
            selector: { matchLabels: selector },
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
            template: {
                metadata: {
                    labels: { ...input.labels, ...selector },
                    annotations: {
                        "directpath.io/script-sha256": input.scriptHash,
                        ...privilegeAnnotations({
                            [privilegeKey.hostNetwork]: "the DNAT rules go into the node's own nat table (PREROUTING for pods, OUTPUT for host processes and the kubelet)",
                            [privilegeKey.capability("NET_ADMIN")]: "iptables changes the node's netfilter rules",
                            [privilegeKey.capability("NET_RAW")]: "iptables-legacy talks to the kernel over a raw socket",
                            [privilegeKey.root("hairpin-redirect")]: "added capabilities take effect for uid 0 only (Kubernetes sets no ambient capabilities)",
                            [privilegeKey.hostPath("xtables-lock")]: "the node's iptables lock, shared with kube-proxy and the kubelet so rule edits don't race",
                        }),
                    },
                },
                spec: {
                    // The node's own network namespace: its nat OUTPUT and PREROUTING chains.
                    hostNetwork: true,
                    // Resolve Service names through cluster DNS even on the host network.
                    dnsPolicy: "ClusterFirstWithHostNet",
                    priorityClassName: "system-node-critical",
                    automountServiceAccountToken: false,
                    securityContext: { ...RUNTIME_DEFAULT_SECCOMP },
                    // Every node, whatever its taints: hairpin clients run everywhere.
                    tolerations: [{ operator: "Exists" }],
                    nodeSelector: { "kubernetes.io/os": "linux", ...(input.options.nodeSelector ?? {}) },
                    terminationGracePeriodSeconds: 30,
                    containers: [{
                        name: "hairpin-redirect",
                        image: input.image,
                        imagePullPolicy: "IfNotPresent",
                        command: ["/bin/sh", `${IPTABLES_MOUNT_DIR}/${IPTABLES_SCRIPT_KEY}`],
                        env: iptablesEnv(input.options),
                        // Root, because added capabilities take effect for uid 0 only.
                        securityContext: rootContext([
                            // iptables changes the node's netfilter rules.
                            "NET_ADMIN",
                            // iptables-legacy talks to the kernel over a raw socket.
                            "NET_RAW",
                        ]),
                        resources: { requests: { cpu: "5m", memory: "16Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                        // Ready: the last round installed every rule, and the rules and both jumps are
                        // in the node's nat table now; alive: the loop finished a round within 3 intervals + 10 s.
                        ...scriptProbes(`${IPTABLES_MOUNT_DIR}/${IPTABLES_SCRIPT_KEY}`),
                        volumeMounts: [
                            { name: "config", mountPath: IPTABLES_MOUNT_DIR, readOnly: true },
                            // The lock iptables-legacy shares with kube-proxy and the kubelet.
                            { name: "xtables-lock", mountPath: "/run/xtables.lock" },
                            { name: "state", mountPath: IPTABLES_STATE_DIR },
                        ],
                    }],
                    volumes: [
                        // Not subPath: the kubelet then updates an edited rules file in place, and the script re-reads it.
                        { name: "config", configMap: { name: names.configMap, defaultMode: 0o555 } },
                        { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
                        { name: "state", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
                    ],
                },
            },
        },
    };
}
