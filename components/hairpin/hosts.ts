/**
 * The node /etc/hosts override: the entries text, and the ConfigMap and DaemonSet that run
 * scripts/hosts-sync.sh on every node. Pure: plain objects out, validated against the Kubernetes
 * schema in tests.
 *
 * Inode decision: the DaemonSet mounts only the node's hosts file (hostPath, type File) and the
 * script writes it *in place* after building the new content aside. A rename onto a single-file
 * bind mount replaces the inode and the node never sees the edit; mounting the node's whole /etc
 * read-write to rename there would work but hands the pod every file in /etc. In-place writes are
 * not atomic, but the content is a few hundred bytes written by one write(2) after a compare, and
 * only when something changed.
 *
 * Privileges: root (uid 0, to write a root-owned 0644 file), but no `privileged`, no added
 * capabilities (ALL dropped: the owner needs none to write its own file), no host network or PID,
 * read-only root filesystem, no service account token. The namespace must admit hostPath volumes
 * (Pod Security `privileged` level; kube-system usually does).
 */
import { scriptProbes } from "../common/probes";
import { createHash } from "node:crypto";
import { privilegeAnnotations, privilegeKey, rootContext, RUNTIME_DEFAULT_SECCOMP } from "../common/privileges";

export interface HostsEntry {
    hostname: string;
    addresses: string[];
}

/** The `entries` file: one `<address> <hostname>` line per address, sorted, newline-terminated. */
export function renderHostsEntries(entries: HostsEntry[]): string {
    const lines: string[] = [];
    for (const e of [...entries].sort((a, b) => a.hostname.localeCompare(b.hostname))) {
        for (const a of e.addresses) lines.push(`${a} ${e.hostname}`);
    }
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

export const HOSTS_SCRIPT_KEY = "hosts-sync.sh";
export const HOSTS_ENTRIES_KEY = "entries";
/** Where the DaemonSet mounts the node's hosts file and the ConfigMap. */
export const HOST_HOSTS_MOUNT = "/host/etc/hosts";
export const CONFIG_MOUNT = "/etc/directpath-hosts";

export interface HostsWorkloadInput {
    /** Object names: `<name>` for the ConfigMap and the DaemonSet. */
    name: string;
    namespace: string;
    /** Labels on every object; `app.kubernetes.io/instance` selects the pods. */
    labels: Record<string, string>;
    image: string;
    intervalSeconds: number;
    /** The node's hosts file. */
    hostPath: string;
    /** The marker id in the hosts file. */
    blockId: string;
    script: string;
    entries: string;
    nodeSelector?: Record<string, string>;
}

export function hostsConfigMap(input: HostsWorkloadInput) {
    return {
        apiVersion: "v1" as const,
        kind: "ConfigMap" as const,
        metadata: { name: input.name, namespace: input.namespace, labels: input.labels },
        data: { [HOSTS_SCRIPT_KEY]: input.script, [HOSTS_ENTRIES_KEY]: input.entries },
    };
}

/** sha256 of the script: a change rolls the DaemonSet. Entry changes don't: the pods re-read the mounted file. */
export function scriptChecksum(script: string): string {
    return createHash("sha256").update(script).digest("hex");
}

export function hostsDaemonSet(input: HostsWorkloadInput) {
    const selector = { "app.kubernetes.io/name": "directpath-hosts", "app.kubernetes.io/instance": input.name };
    return {
        apiVersion: "apps/v1" as const,
        kind: "DaemonSet" as const,
        metadata: { name: input.name, namespace: input.namespace, labels: { ...input.labels, ...selector } },
        spec: {
            selector: { matchLabels: selector },
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
            template: {
                metadata: {
                    labels: { ...input.labels, ...selector },
                    annotations: {
                        "directpath.io/script-sha256": scriptChecksum(input.script),
                        ...privilegeAnnotations({
                            [privilegeKey.root("hosts-sync")]: "writes the node's hosts file, which is root's (0644); with ALL capabilities dropped, the owner needs none to write its own file",
                            [privilegeKey.hostPath("hosts")]: "the kubelet and the node's own resolver read the node's hosts file: the override must be in it",
                        }),
                    },
                },
                spec: {
                    // Every node runs a kubelet that may pull from the overridden names.
                    tolerations: [{ operator: "Exists" }],
                    nodeSelector: { "kubernetes.io/os": "linux", ...(input.nodeSelector ?? {}) },
                    // The critical priority classes are admitted only in kube-system by default.
                    ...(input.namespace === "kube-system" ? { priorityClassName: "system-node-critical" } : {}),
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    securityContext: { ...RUNTIME_DEFAULT_SECCOMP },
                    // Time to remove the block on SIGTERM.
                    terminationGracePeriodSeconds: 30,
                    containers: [
                        {
                            name: "hosts-sync",
                            image: input.image,
                            command: ["/bin/sh", `${CONFIG_MOUNT}/${HOSTS_SCRIPT_KEY}`],
                            env: [
                                { name: "HOSTS_FILE", value: HOST_HOSTS_MOUNT },
                                { name: "ENTRIES_FILE", value: `${CONFIG_MOUNT}/${HOSTS_ENTRIES_KEY}` },
                                { name: "BLOCK_ID", value: input.blockId },
                                { name: "INTERVAL", value: String(input.intervalSeconds) },
                                { name: "TMPDIR", value: "/tmp" },
                            ],
                            // Root with no capability: uid 0 owns the hosts file, so it needs none to write it.
                            securityContext: { ...rootContext(), seccompProfile: { type: "RuntimeDefault" } },
                            resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
                            // Ready: the node's hosts file holds exactly the block the entries want;
                            // alive: the loop finished a round within 3 intervals + 10 s (its heartbeat in /tmp).
                            ...scriptProbes(`${CONFIG_MOUNT}/${HOSTS_SCRIPT_KEY}`),
                            volumeMounts: [
                                { name: "hosts", mountPath: HOST_HOSTS_MOUNT },
                                { name: "config", mountPath: CONFIG_MOUNT, readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        },
                    ],
                    volumes: [
                        { name: "hosts", hostPath: { path: input.hostPath, type: "File" } },
                        { name: "config", configMap: { name: input.name, defaultMode: 0o444 } },
                        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
                    ],
                },
            },
        },
    };
}
