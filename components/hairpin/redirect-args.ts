/**
 * Options of HairpinBypass's redirect half (`redirect:` in the args, `directpath:hairpin.redirect`
 * in a stack), its cross-field rules, and which clients each mode covers.
 */
import { z } from "zod";
import { joinPath, type Problem } from "../common/errors";
import { imageReferenceSchema } from "../common/image";
import { k8sNameSchema, labelsSchema } from "../common/net";
import { BACKEND_KINDS, HAIRPIN_MODES, type BackendKind, type Endpoint, type HairpinMode } from "./model";

/**
 * The image the iptables DaemonSet runs: k3s's service load balancer image, `rancher/klipper-lb`.
 * v0.4.17 (k3s-io/klipper-lb tag, April 2026) is Alpine 3.23 with the `iptables`, `ip6tables`,
 * `nftables` and `iptables-legacy` packages: `/bin/sh` and `getent`/`nslookup`/`sleep` from
 * busybox and musl-utils, both `xtables-nft-multi` and `xtables-legacy-multi` (so iptables-nft AND
 * iptables-legacy). It exists to run exactly this kind of DNAT DaemonSet on every k3s node, and is
 * small (no Debian userland). The kube-proxy base image (registry.k8s.io distroless-iptables) has
 * both iptables flavours and dash too, but no resolver tool, so it can't look up a Service's
 * ClusterIP. Override `redirect.iptables.image` to use a mirror, ideally pinned by digest.
 */
export const DEFAULT_IPTABLES_IMAGE = "docker.io/rancher/klipper-lb:v0.4.17";

export const IPTABLES_BACKENDS = ["auto", "nft", "legacy"] as const;

export const lrpOptionsSchema = z.strictObject({
    /**
     * Set `skipRedirectFromBackend: true` on every policy, so the backend pods' own traffic to the
     * external IP is NOT redirected back to themselves. Off by default: for hairpin, an ingress pod
     * reaching its own external IP should land on itself. The flag needs Linux 5.8+ (socket
     * cookies in the cgroup hooks) and has open bugs upstream; turn it on only if you must.
     */
    skipRedirectFromBackend: z.boolean({ error: "must be true or false" }).default(false),
    /**
     * Whether the cluster's Cilium runs socket LB (directpath's Cilium values do: kube-proxy
     * replacement with `socketLB.hostNamespaceOnly: false`). Set false for a Cilium without socket
     * LB: an LRP then redirects only pods' traffic, not the kubelet's or host-network pods'.
     */
    socketLb: z.boolean({ error: "must be true or false" }).default(true),
});

export const serviceExternalIpsOptionsSchema = z.strictObject({
    /**
     * Set true when the API server runs the `DenyServiceExternalIPs` admission plugin: it refuses
     * every Service with `spec.externalIPs`, so mode `service-external-ips` can't work there.
     */
    clusterDeniesExternalIps: z.boolean({ error: "must be true or false" }).default(false),
});

export const iptablesOptionsSchema = z.strictObject({
    /** Namespace of the DaemonSet and its ConfigMap. */
    namespace: k8sNameSchema.default("kube-system"),
    /** The container image: needs `/bin/sh`, iptables-nft and iptables-legacy, and `getent` or `nslookup`. */
    image: imageReferenceSchema.default(DEFAULT_IPTABLES_IMAGE),
    /** Seconds between reconciles: a flushed nat table heals, Service ClusterIPs are re-resolved. */
    reconcileSeconds: z.number({ error: "must be a number of seconds" }).int({ error: "must be an integer" }).min(5, { error: "must be 5-3600" }).max(3600, { error: "must be 5-3600" }).default(30),
    /** Which iptables to use. `auto` picks the one the host uses (iptables-wrapper's heuristic). */
    backend: z.enum(IPTABLES_BACKENDS, { error: `must be one of ${IPTABLES_BACKENDS.join(", ")}` }).default("auto"),
    /** The cluster DNS domain, for Service backends (`<name>.<namespace>.svc.<domain>`). Default cluster.local. */
    clusterDomain: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, { error: "must be a DNS domain such as cluster.local" }).optional(),
    /** Restrict the DaemonSet to some nodes (`nodeSelector`). Default: every Linux node. */
    nodeSelector: labelsSchema.optional(),
});

export const redirectOptionsSchema = z.strictObject({
    /** Mode `cilium-lrp`. */
    lrp: lrpOptionsSchema.default(lrpOptionsSchema.parse({})),
    /** Mode `service-external-ips`. */
    serviceExternalIps: serviceExternalIpsOptionsSchema.default(serviceExternalIpsOptionsSchema.parse({})),
    /** Mode `iptables`. */
    iptables: iptablesOptionsSchema.default(iptablesOptionsSchema.parse({})),
});

export type RedirectOptions = z.output<typeof redirectOptionsSchema>;
export type IptablesOptions = z.output<typeof iptablesOptionsSchema>;

// ---- coverage: which clients the redirect half serves, per endpoint ----

/** Which clients of an endpoint the redirect half redirects (external IP AND port), and where. */
export interface RedirectCoverage {
    mode: HairpinMode;
    /** Ordinary pods. */
    pods: boolean;
    /** Pods with `hostNetwork: true`. */
    hostNetwork: boolean;
    /** The kubelet and containerd (image pulls), and every other host process. */
    kubelet: boolean;
    /** Whether the external port is mapped to the backend's port (true in every mode). */
    mapsPort: boolean;
    /** Whether it works on every node (false for LRP unless the backend is a DaemonSet). */
    everyNode: boolean;
    /** One sentence on why. */
    note: string;
}

/**
 * What the redirect half covers for one endpoint. `lrpSocketLb` is `redirect.lrp.socketLb` (see
 * {@link lrpCoversHost}).
 */
export function redirectCoverage(
    e: Pick<Endpoint, "mode" | "backend">,
    defaultMode: HairpinMode,
    opts: { lrpSocketLb: boolean },
): RedirectCoverage {
    const mode = e.mode ?? defaultMode;
    switch (mode) {
        case "iptables":
            return { mode, pods: true, hostNetwork: true, kubelet: true, mapsPort: true, everyNode: true, note: "node iptables DNAT in nat OUTPUT (host processes) and PREROUTING (pods) on every node" };
        case "service-external-ips":
            return { mode, pods: true, hostNetwork: true, kubelet: true, mapsPort: true, everyNode: true, note: "kube-proxy (or Cilium with bpf.disableExternalIPMitigation) serves the Service's externalIPs to pods and host processes on every node" };
        case "cilium-lrp": {
            const workload = "pods" in e.backend ? e.backend.pods.workload : "unknown";
            const host = opts.lrpSocketLb;
            return {
                mode, pods: true, hostNetwork: host, kubelet: host, mapsPort: true, everyNode: workload === "DaemonSet",
                note: (host ? "Cilium LRP with socket LB redirects pods and host processes" : "Cilium LRP without socket LB redirects pods only") +
                    (workload === "DaemonSet" ? "" : "; only on nodes that run a backend pod (LRP is node-local and fails open elsewhere)"),
            };
        }
    }
}

/** True when the redirect half maps external IP and port for pods, host-network pods and the kubelet. */
export function isCoveredByRedirect(e: Pick<Endpoint, "mode" | "backend">, defaultMode: HairpinMode, opts: { lrpSocketLb: boolean }): boolean {
    const c = redirectCoverage(e, defaultMode, opts);
    return c.pods && c.hostNetwork && c.kubelet;
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isMode = (v: unknown): v is HairpinMode => (HAIRPIN_MODES as readonly unknown[]).includes(v);

/** `redirect.lrp.socketLb` from raw or parsed redirect options (default true). */
export function lrpCoversHost(redirect: unknown): boolean {
    const lrp = isObj(redirect) && isObj(redirect.lrp) ? redirect.lrp : {};
    return typeof lrp.socketLb === "boolean" ? lrp.socketLb : true;
}

function rawBackendKind(backend: unknown): BackendKind | undefined {
    if (!isObj(backend)) return undefined;
    const keys = Object.keys(backend).filter((k) => (BACKEND_KINDS as readonly string[]).includes(k));
    return keys.length === 1 ? (keys[0] as BackendKind) : undefined;
}

/** {@link redirectCoverage} on raw input; undefined when the endpoint's mode can't be told. */
export function rawRedirectCoverage(rawEndpoint: unknown, rawDefaultMode: unknown, rawRedirect: unknown): RedirectCoverage | undefined {
    if (!isObj(rawEndpoint)) return undefined;
    const mode = rawEndpoint.mode === undefined ? (rawDefaultMode === undefined ? "cilium-lrp" : rawDefaultMode) : rawEndpoint.mode;
    if (!isMode(mode)) return undefined;
    const kind = rawBackendKind(rawEndpoint.backend);
    const pods = kind === "pods" && isObj((rawEndpoint.backend as Raw).pods) ? ((rawEndpoint.backend as Raw).pods as Raw) : undefined;
    const workload = pods && typeof pods.workload === "string" ? pods.workload : "unknown";
    const backend = (kind === "pods" ? { pods: { workload } } : kind === "service" ? { service: {} } : { address: {} }) as Endpoint["backend"];
    return redirectCoverage({ mode, backend }, mode, { lrpSocketLb: lrpCoversHost(rawRedirect) });
}

// ---- cross-field rules ----

/** Cross-field rules of the redirect half, on the raw HairpinBypass args. Paths are relative to the args. */
export function redirectCrossChecks(raw: Raw): Problem[] {
    const problems: Problem[] = [];
    const redirect = isObj(raw.redirect) ? raw.redirect : {};
    const sei = isObj(redirect.serviceExternalIps) ? redirect.serviceExternalIps : {};
    const denies = sei.clusterDeniesExternalIps === true;
    const defaultMode = raw.defaultMode === undefined ? "cilium-lrp" : raw.defaultMode;

    arr(raw.endpoints).forEach((e, i) => {
        if (!isObj(e)) return;
        const at = (...rest: Array<string | number>) => joinPath("endpoints", i, ...rest);
        const mode = e.mode === undefined ? defaultMode : e.mode;
        if (!isMode(mode)) return;
        const modePath = e.mode === undefined ? "defaultMode" : at("mode");
        const kind = rawBackendKind(e.backend);

        if (mode === "service-external-ips" && denies) {
            problems.push({
                path: modePath,
                value: mode,
                rule: `endpoint '${String(e.name)}' uses mode 'service-external-ips', but redirect.serviceExternalIps.clusterDeniesExternalIps says the API server runs DenyServiceExternalIPs, which rejects Services with spec.externalIPs; use mode 'iptables' (or 'cilium-lrp') for it`,
            });
        }

        if (mode === "service-external-ips" && kind === "service") {
            // kube-proxy and Cilium match externalIP:port against the Service's own port.
            arr(e.ports).forEach((p, j) => {
                if (isObj(p) && typeof p.port === "number" && typeof p.targetPort === "number" && p.targetPort !== p.port) {
                    problems.push({
                        path: at("ports", j, "targetPort"),
                        value: p.targetPort,
                        rule: `an existing Service serves its externalIPs on its own port, so the external port (${p.port}) must equal the Service port; remove targetPort, or use mode 'iptables' (which DNATs ${p.port} to the ClusterIP's port ${p.targetPort})`,
                    });
                }
            });
        }

        if (mode === "iptables") {
            // The node script drives iptables (IPv4) only.
            arr(e.externalIps).forEach((ip, k) => {
                if (typeof ip === "string" && ip.includes(":")) {
                    problems.push({ path: at("externalIps", k), value: ip, rule: "mode 'iptables' handles IPv4 only (the node script drives iptables, not ip6tables); use an IPv4 address or mode 'cilium-lrp'" });
                }
            });
            if (kind === "address" && isObj((e.backend as Raw).address)) {
                const ip = ((e.backend as Raw).address as Raw).ip;
                if (typeof ip === "string" && ip.includes(":")) {
                    problems.push({ path: at("backend", "address", "ip"), value: ip, rule: "mode 'iptables' handles IPv4 only; use an IPv4 backend address" });
                }
            }
        }
    });
    return problems;
}
