/**
 * The endpoint model shared by both halves of HairpinBypass: the redirect half (Cilium LRP,
 * Service externalIPs, iptables) and the DNS half (CoreDNS, NodeLocal DNSCache, node /etc/hosts).
 *
 * An endpoint is something the cluster serves to the outside world through its own external IPs
 * (a registry at registry.example.com on 169.233.100.10:443, say). Clients inside the cluster that
 * use those external addresses hit hairpin NAT; directpath keeps their traffic inside the cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { joinPath, type Problem } from "../common/errors";
import { resolvedAddressProblem } from "./addresses";
import { dnsLabelSchema, ipSchema, isDnsName, isIP, k8sNameSchema, labelsSchema, portSchema } from "../common/net";

/** The cluster DNS domain when nobody says otherwise (Kubernetes' default). Written once, here. */
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** How the traffic to an endpoint's external IPs is kept inside the cluster. */
export const HAIRPIN_MODES = ["cilium-lrp", "service-external-ips", "iptables"] as const;
export type HairpinMode = (typeof HAIRPIN_MODES)[number];

export const BACKEND_KINDS = ["pods", "service", "address"] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/**
 * Which backend kinds each mode can serve.
 * - `cilium-lrp` redirects to local pods picked by labels (Cilium's `localEndpointSelector`).
 * - `service-external-ips` puts the external IPs on a Service: one directpath creates for the pods,
 *   or an existing Service that it patches.
 * - `iptables` DNATs on the node to an address: a fixed internal address, or a Service's ClusterIP
 *   resolved at run time.
 */
export const BACKENDS_BY_MODE: Readonly<Record<HairpinMode, readonly BackendKind[]>> = {
    "cilium-lrp": ["pods"],
    "service-external-ips": ["pods", "service"],
    iptables: ["address", "service"],
};

// ---- values that may arrive as pulumi.Inputs (Elastic IPs, names from other stacks) ----

/** True for a value whose content is only known at deploy time: a pulumi.Output or a Promise. */
export function isUnresolved(v: unknown): boolean {
    return pulumi.Output.isInstance(v) || v instanceof Promise;
}

const IP_RULE = "must be an IPv4 (e.g. 192.168.10.100) or IPv6 (e.g. fd00::1) address";
const DNS_NAME_RULE = "must be a lowercase fully qualified DNS name such as registry.example.com (RFC 1123 labels of 1-63 letters, digits or '-', no trailing dot)";

/**
 * An IP address as plain text (checked now) or as a `pulumi.Input<string>` whose value is only known
 * at deploy time (an Elastic IP's `publicIp`), checked when it resolves: see {@link resolveEndpoint}.
 */
export const ipInputSchema = z.custom<pulumi.Input<string>>((v) => (typeof v === "string" ? isIP(v) : isUnresolved(v)), {
    error: (iss) => (typeof iss.input === "string" ? IP_RULE : "must be an IP address: a string, or a pulumi.Output<string> (e.g. an Elastic IP's publicIp)"),
});

/** A DNS name as plain text (checked now) or as a `pulumi.Input<string>` (checked when it resolves). */
export const dnsNameInputSchema = z.custom<pulumi.Input<string>>((v) => (typeof v === "string" ? isDnsName(v) : isUnresolved(v)), {
    error: (iss) => (typeof iss.input === "string" ? DNS_NAME_RULE : "must be a DNS name: a string, or a pulumi.Output<string>"),
});

/** Kubernetes port names are IANA service names: at most 15 characters, with at least one letter. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export const portNameSchema = z
    .string({ error: "must be a port name as a string" })
    .regex(PORT_NAME, {
        error: "must be a Kubernetes port name: 1-15 lowercase letters, digits or '-', with at least one letter, no '--', and no leading or trailing '-'",
    });

export const protocolSchema = z.enum(["TCP", "UDP"], { error: "must be TCP or UDP" });

export const endpointPortSchema = z.strictObject({
    /** The external port clients connect to. */
    port: portSchema,
    protocol: protocolSchema.default("TCP"),
    /** Required when the endpoint has several ports; it must match the backend pods' container port name. */
    name: portNameSchema.optional(),
    /**
     * The backend-side port: the pods' container port, the Service's port, or the port at the fixed
     * address. Defaults to `port`.
     */
    targetPort: portSchema.optional(),
    /**
     * The port at `internalAddress` that the router DNATs this external port to. Defaults to
     * `port` (routers that DNAT the address only), or to `targetPort` for an `address` backend.
     */
    internalPort: portSchema.optional(),
});

export const podsBackendSchema = z.strictObject({
    namespace: k8sNameSchema,
    /** Labels that select the backend pods (their `matchLabels`). */
    selector: labelsSchema.refine((m) => Object.keys(m).length > 0, { error: "must select with at least one label" }),
    /**
     * The kind of workload that runs the backend pods, when known. Cilium LRP only redirects to a
     * backend on the client's own node, so a `Deployment` backend draws a deploy-time warning.
     */
    workload: z.enum(["DaemonSet", "Deployment", "StatefulSet", "unknown"]).default("unknown"),
});

export const serviceBackendSchema = z.strictObject({
    namespace: k8sNameSchema,
    name: k8sNameSchema,
});

export const addressBackendSchema = z.strictObject({
    /** The internal address the router itself DNATs to, e.g. 192.168.10.100. */
    ip: ipSchema,
});

export const backendSchema = z.union(
    [
        z.strictObject({ pods: podsBackendSchema }),
        z.strictObject({ service: serviceBackendSchema }),
        z.strictObject({ address: addressBackendSchema }),
    ],
    { error: "must be exactly one of { pods: {namespace, selector} }, { service: {namespace, name} } or { address: {ip} }" },
);

export const endpointSchema = z.strictObject({
    /** Unique DNS label; names every object rendered for this endpoint. */
    name: dnsLabelSchema.refine((v) => v.length <= 40, { error: "must be at most 40 characters (it prefixes generated object names)" }),
    /**
     * Names that resolve to the external IPs from outside (registry.example.com). Used by the DNS
     * half. Entries may be `pulumi.Input<string>`s; those are checked when they resolve.
     */
    hostnames: z.array(dnsNameInputSchema).default([]),
    /**
     * The cluster's own external IPs for this endpoint. Entries may be `pulumi.Input<string>`s (AWS
     * Elastic IPs arrive as Outputs): the count is always known, so one object per IP still renders;
     * their values are checked when they resolve, and skipped by the uniqueness rules.
     */
    externalIps: z.array(ipInputSchema).min(1, { error: "must list at least one external IP" }),
    ports: z.array(endpointPortSchema).min(1, { error: "must list at least one port" }),
    backend: backendSchema,
    /** Overrides the component's default mode for this endpoint. */
    mode: z.enum(HAIRPIN_MODES, { error: `must be one of ${HAIRPIN_MODES.join(", ")}` }).optional(),
    /**
     * The internal address the router DNATs the external IPs to (node1's 192.168.10.100). DNS and
     * /etc/hosts overrides answer with it. Defaults to the address backend's IP.
     */
    internalAddress: ipSchema.optional(),
});

export type EndpointInput = z.input<typeof endpointSchema>;
export type Endpoint = z.output<typeof endpointSchema>;
export type EndpointPort = z.output<typeof endpointPortSchema>;
export type Backend = z.output<typeof backendSchema>;

/** An endpoint whose `externalIps` and `hostnames` are all known strings (after {@link resolveEndpoint}). */
export type ResolvedEndpoint = Omit<Endpoint, "externalIps" | "hostnames"> & { externalIps: string[]; hostnames: string[] };

/** The endpoint itself when every `externalIps` and `hostnames` entry is a plain string, else undefined. Pure. */
export function plainEndpoint(e: Endpoint): ResolvedEndpoint | undefined {
    const plain = (xs: readonly pulumi.Input<string>[]): xs is string[] => xs.every((x) => typeof x === "string");
    return plain(e.externalIps) && plain(e.hostnames) ? (e as ResolvedEndpoint) : undefined;
}

/**
 * Checks one deploy-time value when it resolves: the error names the field, the value and the rule,
 * like a construction-time ValidationError. `path` is e.g. `endpoints[0].externalIps[1]`.
 */
export function checkResolved(value: string, path: string, kind: "ip" | "dnsName", subject = "HairpinBypass"): string {
    const ok = kind === "ip" ? isIP(value) : isDnsName(value);
    // An external IP's class too (loopback, link-local, ...): the cluster's own ranges are not known here.
    const rule = !ok ? (kind === "ip" ? IP_RULE : DNS_NAME_RULE) : kind === "ip" ? resolvedAddressProblem(value, {}) : undefined;
    if (rule !== undefined) {
        throw new Error(`${subject}: ${path}: ${JSON.stringify(value)} (a pulumi.Output resolved at deploy time) is invalid: ${rule}`);
    }
    return value;
}

/** One externalIps entry as an Output, checked when it resolves (plain entries were checked at construction). */
export function resolvedIp(ip: pulumi.Input<string>, path: string, subject = "HairpinBypass"): pulumi.Output<string> {
    return pulumi.output(ip).apply((v) => checkResolved(v, path, "ip", subject));
}

/**
 * The endpoint with every Input entry resolved and checked: use inside `apply` in renderers that
 * need the values as text (Corefile, /etc/hosts, iptables rules). `index` is the endpoint's
 * position, for error paths.
 */
export function resolveEndpoint(e: Endpoint, index: number, subject = "HairpinBypass"): pulumi.Output<ResolvedEndpoint> {
    const at = (field: string, k: number) => joinPath("endpoints", index, field, k);
    return pulumi
        .all([pulumi.all(e.externalIps), pulumi.all(e.hostnames)])
        .apply(([ips, names]) => ({
            ...e,
            externalIps: ips.map((v, k) => checkResolved(v, at("externalIps", k), "ip", subject)),
            hostnames: names.map((v, k) => checkResolved(v, at("hostnames", k), "dnsName", subject)),
        }));
}

/** The kind of a parsed backend. */
export function backendKind(b: Backend): BackendKind {
    if ("pods" in b) return "pods";
    if ("service" in b) return "service";
    return "address";
}

/** The mode that applies to an endpoint. */
export function effectiveMode(e: Pick<Endpoint, "mode">, defaultMode: HairpinMode): HairpinMode {
    return e.mode ?? defaultMode;
}

/** The backend-side port for an external port. */
export function targetPortOf(p: EndpointPort): number {
    return p.targetPort ?? p.port;
}

/** The internal address DNS overrides answer with, if the endpoint has one. */
export function internalAddressOf(e: Endpoint): string | undefined {
    if (e.internalAddress) return e.internalAddress;
    if ("address" in e.backend) return e.backend.address.ip;
    return undefined;
}

/** The port at the internal address that an external port lands on. */
export function internalPortOf(e: Endpoint, p: EndpointPort): number {
    if (p.internalPort !== undefined) return p.internalPort;
    if ("address" in e.backend) return targetPortOf(p);
    return p.port;
}

// ---- cross-field rules ----

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function rawBackendKind(backend: unknown): BackendKind | undefined {
    if (!isObj(backend)) return undefined;
    const keys = Object.keys(backend).filter((k) => (BACKEND_KINDS as readonly string[]).includes(k));
    return keys.length === 1 ? (keys[0] as BackendKind) : undefined;
}

/**
 * Rules that span fields or endpoints. Runs on the raw input and tolerates malformed entries (the
 * schema reports those), so that every problem is reported at once. Paths are relative to the
 * endpoint list's parent, e.g. `endpoints[1].name`.
 */
export function endpointCrossChecks(rawEndpoints: unknown, rawDefaultMode: unknown): Problem[] {
    const problems: Problem[] = [];
    const defaultMode = (HAIRPIN_MODES as readonly unknown[]).includes(rawDefaultMode) ? (rawDefaultMode as HairpinMode) : undefined;
    const names = new Map<string, number>();
    const claims = new Map<string, string>();
    const hostnames = new Map<string, string>();
    const frontends = new Map<string, { mode: HairpinMode; at: string }>();

    arr(rawEndpoints).forEach((e, i) => {
        if (!isObj(e)) return;
        const at = (...rest: Array<string | number>) => joinPath("endpoints", i, ...rest);

        if (typeof e.name === "string") {
            const first = names.get(e.name);
            if (first !== undefined) {
                problems.push({ path: at("name"), value: e.name, rule: `endpoint names must be unique (endpoints[${first}] already uses it)` });
            } else names.set(e.name, i);
        }

        // Several ports: every one needs a name, and names are unique within the endpoint.
        const ports = arr(e.ports).filter(isObj);
        if (ports.length > 1) {
            const portNames = new Map<string, number>();
            arr(e.ports).forEach((p, j) => {
                if (!isObj(p)) return;
                if (p.name === undefined) {
                    problems.push({ path: at("ports", j, "name"), value: undefined, rule: "required when an endpoint has several ports (Cilium matches frontend and backend ports by name)" });
                } else if (typeof p.name === "string") {
                    const first = portNames.get(p.name);
                    if (first !== undefined) problems.push({ path: at("ports", j, "name"), value: p.name, rule: `port names must be unique within an endpoint (ports[${first}] already uses it)` });
                    else portNames.set(p.name, j);
                }
            });
        }

        // No two endpoints (or ports) claim the same external IP, port and protocol.
        const ips = arr(e.externalIps).filter((ip): ip is string => typeof ip === "string" && isIP(ip));
        const seenIps = new Set<string>();
        arr(e.externalIps).forEach((ip, k) => {
            if (typeof ip !== "string") return;
            if (seenIps.has(ip)) problems.push({ path: at("externalIps", k), value: ip, rule: "listed twice in this endpoint" });
            seenIps.add(ip);
        });
        arr(e.ports).forEach((p, j) => {
            if (!isObj(p) || typeof p.port !== "number") return;
            const protocol = p.protocol === undefined ? "TCP" : p.protocol;
            for (const ip of new Set(ips)) {
                const key = `${ip}|${p.port}|${String(protocol)}`;
                const owner = claims.get(key);
                const me = `endpoints[${i}].ports[${j}]`;
                if (owner !== undefined) {
                    problems.push({ path: at("ports", j), value: `${ip}:${p.port}/${String(protocol)}`, rule: `this external IP, port and protocol is already claimed by ${owner}` });
                } else claims.set(key, me);
            }
        });

        arr(e.hostnames).forEach((h, k) => {
            if (typeof h !== "string") return;
            const owner = hostnames.get(h);
            if (owner !== undefined) problems.push({ path: at("hostnames", k), value: h, rule: `hostnames must be unique across endpoints (${owner} already overrides it)` });
            else hostnames.set(h, `endpoints[${i}]`);
        });

        // An LRP address must not also be a Service frontend this component creates or patches:
        // Cilium (1.17+) skips an addressMatcher LRP whose address is already a Service's externalIP
        // or LoadBalancer IP unless --enable-lrp-address-matcher-override is set.
        const myMode = (HAIRPIN_MODES as readonly unknown[]).includes(e.mode) ? (e.mode as HairpinMode) : e.mode === undefined ? defaultMode : undefined;
        if (myMode === "cilium-lrp" || myMode === "service-external-ips") {
            arr(e.externalIps).forEach((ip, k) => {
                if (typeof ip !== "string" || !isIP(ip)) return;
                const other = frontends.get(ip);
                if (other && other.mode !== myMode) {
                    const lrp = myMode === "cilium-lrp" ? `endpoints[${i}]` : other.at;
                    const svc = myMode === "cilium-lrp" ? other.at : `endpoints[${i}]`;
                    problems.push({
                        path: at("externalIps", k),
                        value: ip,
                        rule: `is under mode 'cilium-lrp' (${lrp}) and also a Service frontend (${svc}, mode 'service-external-ips'): Cilium skips an addressMatcher LocalRedirectPolicy for an address a Service already serves (unless the agent runs with --enable-lrp-address-matcher-override), so the LRP would silently do nothing; use one mode for the address`,
                    });
                } else if (!other) frontends.set(ip, { mode: myMode, at: `endpoints[${i}]` });
            });
        }

        // The backend kind must be one the endpoint's mode can serve.
        const kind = rawBackendKind(e.backend);
        const mode = (HAIRPIN_MODES as readonly unknown[]).includes(e.mode) ? (e.mode as HairpinMode) : e.mode === undefined ? defaultMode : undefined;
        if (kind && mode && !BACKENDS_BY_MODE[mode].includes(kind)) {
            const fits = HAIRPIN_MODES.filter((m) => BACKENDS_BY_MODE[m].includes(kind));
            problems.push({
                path: at("backend"),
                value: kind,
                rule: `a '${kind}' backend cannot be served by mode '${mode}'${e.mode === undefined ? " (the default mode)" : ""}; ` +
                    `'${mode}' takes ${BACKENDS_BY_MODE[mode].join(" or ")} backends; set mode to ${fits.map((m) => `'${m}'`).join(" or ")}`,
            });
        }
    });
    return problems;
}
