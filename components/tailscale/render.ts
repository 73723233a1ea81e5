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
import type { FirewallRule } from "../common/firewall";
import type { TailscaleSettings } from "./args";

/** The key inside the auth Secret, and the env var containerboot reads it from (TS_AUTHKEY). */
export const AUTH_SECRET_KEY = "TS_AUTHKEY";
/** Where the node's hostPath state dir is mounted in the container (TS_STATE_DIR). */
export const STATE_MOUNT_PATH = "/var/lib/tailscale";
/** Where the port check script is mounted. */
export const CHECKS_MOUNT_PATH = "/etc/directpath";
export const CHECK_PORT_SCRIPT = "check-port.sh";
export const CONTAINER_NAME = "tailscale";

export interface TailscaleNames {
    namespace: string;
    /** The DaemonSet or Deployment, and its ServiceAccount. */
    workload: string;
    authSecret: string;
    checksConfigMap: string;
}

/** Kubernetes object names, derived from the component's name. */
export function tailscaleNames(name: string, settings: Pick<TailscaleSettings, "namespace">): TailscaleNames {
    return {
        namespace: settings.namespace,
        workload: name,
        authSecret: `${name}-auth`,
        checksConfigMap: `${name}-checks`,
    };
}

export function selectorLabels(name: string): Record<string, string> {
    return { "app.kubernetes.io/name": "tailscale-direct", "app.kubernetes.io/instance": name };
}

function commonLabels(name: string): Record<string, string> {
    return { ...selectorLabels(name), "app.kubernetes.io/part-of": "directpath", "app.kubernetes.io/managed-by": "pulumi" };
}

/**
 * What must be opened for direct connections: inbound UDP on the fixed port from anywhere, over
 * IPv4 and IPv6. (Peers' own ports are random, so the peer can't be narrowed.)
 */
export function tailscaleFirewallRules(port: number): FirewallRule[] {
    const description = `Tailscale direct connections: WireGuard and disco to tailscaled on its fixed UDP port ${port}`;
    return [
        { direction: "ingress", protocol: "udp", fromPort: port, toPort: port, peer: "0.0.0.0/0", description: `${description} (IPv4)` },
        { direction: "ingress", protocol: "udp", fromPort: port, toPort: port, peer: "::/0", description: `${description} (IPv6)` },
    ];
}

/**
 * The namespace. Pod Security Admission `privileged` is confined to it: the pods need hostNetwork,
 * hostPort and hostPath, which the `baseline` level forbids.
 */
export function renderNamespace(name: string, settings: TailscaleSettings) {
    return {
        apiVersion: "v1" as const,
        kind: "Namespace" as const,
        metadata: {
            name: settings.namespace,
            labels: {
                ...commonLabels(name),
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "privileged",
                "pod-security.kubernetes.io/warn": "privileged",
            },
        },
    };
}

/**
 * The ServiceAccount. Its token is not mounted: with hostPath state (TS_KUBE_SECRET="") nothing in
 * the container talks to the Kubernetes API (containerboot only creates a kube client when
 * TS_KUBE_SECRET is non-empty), so least privilege is no API access at all: no Role, no binding.
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

/** The ConfigMap that carries the port check script. */
export function renderChecksConfigMap(name: string, settings: TailscaleSettings, script: string) {
    const names = tailscaleNames(name, settings);
    return {
        apiVersion: "v1" as const,
        kind: "ConfigMap" as const,
        metadata: { name: names.checksConfigMap, namespace: names.namespace, labels: commonLabels(name) },
        data: { [CHECK_PORT_SCRIPT]: script },
    };
}

/** `host:port` for TS_LOCAL_ADDR_PORT (IPv6 in brackets, as netip.ParseAddrPort wants). */
export function localAddrPort(settings: Pick<TailscaleSettings, "healthAddress" | "healthPort">): string {
    const host = settings.healthAddress.includes(":") ? `[${settings.healthAddress}]` : settings.healthAddress;
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
    const env: EnvVar[] = [
        // Must come first: TS_HOSTNAME expands $(NODE_NAME).
        { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
        // tailscaled's default --port (cmd/tailscaled defaultPort); --port below says the same.
        { name: "PORT", value: String(settings.port) },
        { name: "TS_AUTHKEY", valueFrom: { secretKeyRef: { name: names.authSecret, key: AUTH_SECRET_KEY } } },
        { name: "TS_HOSTNAME", value: `${settings.hostnamePrefix}-$(NODE_NAME)` },
        // State on the node (hostPath), not in a Kubernetes Secret. An empty TS_KUBE_SECRET turns
        // off containerboot's default, a Secret named "tailscale" that every pod would share.
        { name: "TS_KUBE_SECRET", value: "" },
        { name: "TS_STATE_DIR", value: STATE_MOUNT_PATH },
        // The state survives restarts, so log in only when it has no login yet (the key may be
        // single-use or expired by the next restart).
        { name: "TS_AUTH_ONCE", value: "true" },
        { name: "TS_USERSPACE", value: String(settings.userspace) },
        // Under hostNetwork, accepting tailnet DNS would rewrite the node's own resolv.conf.
        { name: "TS_ACCEPT_DNS", value: "false" },
        // Always set: an empty value withdraws routes advertised earlier.
        { name: "TS_ROUTES", value: settings.routes.join(",") },
        { name: "TS_TAILSCALED_EXTRA_ARGS", value: `--port=${settings.port}` },
        { name: "TS_ENABLE_HEALTH_CHECK", value: "true" },
        { name: "TS_LOCAL_ADDR_PORT", value: localAddrPort(settings) },
    ];
    // Flags for `tailscale up` (containerboot passes TS_EXTRA_ARGS through).
    if (settings.tags.length > 0) env.push({ name: "TS_EXTRA_ARGS", value: `--advertise-tags=${settings.tags.join(",")}` });
    if (!settings.userspace) {
        // Kernel mode edits the node's firewall (hostNetwork): let tailscaled pick iptables or
        // nftables to match what the node (kube-proxy, Cilium) uses, as Tailscale's k8s examples do.
        env.push({ name: "TS_DEBUG_FIREWALL_MODE", value: "auto" });
    }
    return env;
}

function probeHttp(settings: TailscaleSettings) {
    return { host: settings.healthAddress, path: "/healthz", port: settings.healthPort, scheme: "HTTP" };
}

/** The pod template of the DaemonSet or Deployment. */
export function renderPodTemplate(name: string, settings: TailscaleSettings) {
    const names = tailscaleNames(name, settings);
    const kernel = !settings.userspace;
    const volumeMounts: Array<Record<string, unknown>> = [
        { name: "state", mountPath: STATE_MOUNT_PATH },
        { name: "checks", mountPath: CHECKS_MOUNT_PATH, readOnly: true },
    ];
    const volumes: Array<Record<string, unknown>> = [
        { name: "state", hostPath: { path: settings.stateHostPath, type: "DirectoryOrCreate" } },
        { name: "checks", configMap: { name: names.checksConfigMap, defaultMode: 0o555 } },
    ];
    if (kernel) {
        volumeMounts.push({ name: "dev-net-tun", mountPath: "/dev/net/tun" });
        // The node's iptables lock, shared with kube-proxy and the CNI so that rule edits don't race.
        volumeMounts.push({ name: "xtables-lock", mountPath: "/run/xtables.lock" });
        volumes.push({ name: "dev-net-tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } });
        volumes.push({ name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } });
    }
    const container = {
        name: CONTAINER_NAME,
        image: `${settings.image.repository}:${settings.image.tag}`,
        imagePullPolicy: settings.image.pullPolicy,
        env: containerEnv(name, settings),
        ports: [
            { name: "tailscale", containerPort: settings.port, hostPort: settings.port, protocol: "UDP" },
            { name: "health", containerPort: settings.healthPort, hostPort: settings.healthPort, protocol: "TCP" },
        ],
        resources: {
            requests: { ...settings.resources.requests },
            limits: { ...settings.resources.limits },
        },
        securityContext: kernel
            ? { privileged: false, capabilities: { add: ["NET_ADMIN"] } }
            : {
                privileged: false,
                allowPrivilegeEscalation: false,
                // Userspace mode needs no capability, except to bind a privileged port.
                capabilities: settings.port < 1024 || settings.healthPort < 1024 ? { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } : { drop: ["ALL"] },
            },
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
        hostNetwork: true,
        dnsPolicy: "ClusterFirstWithHostNet",
        terminationGracePeriodSeconds: 30,
        containers: [container],
        volumes,
    };
    if (settings.nodeSelector) spec.nodeSelector = { ...settings.nodeSelector };
    if (settings.tolerations.length > 0) spec.tolerations = settings.tolerations.map((t) => ({ ...t }));
    if (settings.priorityClassName) spec.priorityClassName = settings.priorityClassName;
    return { metadata: { labels: commonLabels(name) }, spec };
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
