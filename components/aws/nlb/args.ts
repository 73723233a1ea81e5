/**
 * IngressNlb's pure half: args schema, validation, and the security-group rules of the load
 * balancer (as {@link SgRuleSpec}s, the same model as ClusterSecurity's).
 */
import { z } from "zod";
import { joinPath, parseOrThrow, type Problem } from "../../common/errors";
import { RESERVED_NODE_PORTS } from "../../common/firewall";
import { cidrSchema, parseCidr, portSchema } from "../../common/net";
import type { SgRuleSpec } from "../security/rules";
import { whoMayReachProblem } from "../reach";

export const NLB_PROTOCOLS = ["TCP", "UDP", "TCP_UDP"] as const;

export const nlbListenerSchema = z.strictObject({
    /** The port clients connect to on the Elastic IPs. */
    port: portSchema,
    /** The port on the nodes (a hostPort or host-network listener of the ingress pods). Default: `port`. */
    targetPort: portSchema.optional(),
    /** `TCP` (default), `UDP` or `TCP_UDP` (both on one port). */
    protocol: z.enum(NLB_PROTOCOLS, { error: `must be one of ${NLB_PROTOCOLS.join(", ")}` }).default("TCP"),
});

export const ingressNlbOptionsSchema = z.strictObject({
    /** One listener and target group per port, at least one; each listener's protocol and port name its resources (`tcp-443`). */
    listeners: z.array(nlbListenerSchema).min(1, { error: "must declare at least one listener" }),
    /** Who may connect to the listeners. Default anywhere (IPv4, and IPv6 with `ipv6`). */
    allowedCidrs: z.array(cidrSchema).optional(),
    /**
     * Keep the client's source IP on the way to the targets (default true). This is what makes the
     * NLB drop a connection from a target to itself through the NLB (AWS's own hairpin): the
     * target sees a packet from its own address and the reply never reaches the NLB.
     */
    preserveClientIp: z.boolean({ error: "must be true or false" }).default(true),
    /** Cross-zone load balancing (default false: each zone's EIP serves its own zone's nodes). */
    crossZone: z.boolean({ error: "must be true or false" }).default(false),
    /** Dual stack (`dualstack` address type). IngressNlb takes it from its VPC (`vpc.ipv6`); only the pure helpers read it here. */
    ipv6: z.boolean({ error: "must be true or false" }).default(false),
    /** Tags for the load balancer, its security group, target groups, listeners and Elastic IPs. */
    tags: z.record(z.string(), z.string()).default({}),
});

export type IngressNlbOptionsInput = z.input<typeof ingressNlbOptionsSchema>;
export type IngressNlbOptions = z.output<typeof ingressNlbOptionsSchema>;
export type NlbListener = z.output<typeof nlbListenerSchema>;

/** IngressNlb's cross-field rules (tolerant; paths relative to the args). */
export function ingressNlbCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const problems: Problem[] = [];
    if (Array.isArray(r.listeners)) {
        const seen = new Set<string>();
        r.listeners.forEach((l, i) => {
            if (typeof l !== "object" || l === null) return;
            const x = l as Record<string, unknown>;
            const protos = x.protocol === "TCP_UDP" ? ["TCP", "UDP"] : [String(x.protocol ?? "TCP")];
            for (const p of protos) {
                const k = `${p}/${String(x.port)}`;
                if (seen.has(k)) problems.push({ path: joinPath("listeners", i, "port"), value: x.port, rule: `another listener already takes ${p} ${String(x.port)}` });
                seen.add(k);
            }
            const target = x.targetPort ?? x.port;
            if (target === 22) problems.push({ path: joinPath("listeners", i, x.targetPort !== undefined ? "targetPort" : "port"), value: target, rule: "SSH (22) is never exposed" });
            const clash = RESERVED_NODE_PORTS.find((p) => p.port === target && (p.protocol === "both" || protos.some((q) => q.toLowerCase() === p.protocol)));
            if (clash) problems.push({ path: joinPath("listeners", i, x.targetPort !== undefined ? "targetPort" : "port"), value: target, rule: `is ${clash.use} on every node; it must not be a load balancer target` });
        });
    }
    if (Array.isArray(r.allowedCidrs)) {
        r.allowedCidrs.forEach((c, i) => {
            const p = typeof c === "string" ? parseCidr(c) : undefined;
            if (p?.family === 6 && r.ipv6 !== true) problems.push({ path: `allowedCidrs[${i}]`, value: c, rule: "is IPv6, but ipv6 is off" });
            const unreachable = p ? whoMayReachProblem(c as string) : undefined;
            if (unreachable) problems.push({ path: `allowedCidrs[${i}]`, value: c, rule: `${unreachable}; the listeners would accept nobody from it` });
        });
    }
    return problems;
}

/** Validates IngressNlb's plain options, every problem at once. Pure. */
export function validateIngressNlbOptions(raw: IngressNlbOptionsInput, subject = "IngressNlb args", extra: { subnetCount?: number } = {}): IngressNlbOptions {
    const more: Problem[] = [];
    if (extra.subnetCount !== undefined && extra.subnetCount < 1) more.push({ path: "vpc", value: `${extra.subnetCount} subnet(s)`, rule: "must have at least one public subnet" });
    return parseOrThrow(subject, ingressNlbOptionsSchema, raw, { crossChecks: (x) => [...ingressNlbCrossChecks(x), ...more] });
}

/** A listener's name key: protocol and port (`tcp-443`, `tcp-udp-53`); the listener validation makes it unique. */
export function listenerKey(l: Pick<NlbListener, "protocol" | "port">): string {
    return `${l.protocol.toLowerCase().replace("_", "-")}-${l.port}`;
}

/** The transport protocols a listener carries (`TCP_UDP` is both). */
export function listenerTransports(l: NlbListener): Array<"tcp" | "udp"> {
    return l.protocol === "TCP_UDP" ? ["tcp", "udp"] : [l.protocol.toLowerCase() as "tcp" | "udp"];
}

/** The CIDRs allowed to reach the listeners. */
export function nlbAllowedCidrs(o: IngressNlbOptions): string[] {
    return o.allowedCidrs ?? (o.ipv6 ? ["0.0.0.0/0", "::/0"] : ["0.0.0.0/0"]);
}

/** `0.0.0.0/0` -> `world-v4`, `::/0` -> `world-v6`, others slugged. */
function cidrKey(cidr: string): string {
    if (cidr === "0.0.0.0/0") return "world-v4";
    if (cidr === "::/0") return "world-v6";
    return cidr.toLowerCase().replace(/[^0-9a-f]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * The rules of the load balancer's own security group, and the node-group rules that let it reach
 * its targets. Nothing on the nodes is opened to the internet: the nodes accept the target ports
 * only from the load balancer's group (which works with client-IP preservation on).
 */
export function ingressNlbRules(o: IngressNlbOptions): SgRuleSpec[] {
    const rules: SgRuleSpec[] = [];
    const cidrs = nlbAllowedCidrs(o);
    for (const l of o.listeners) {
        const target = l.targetPort ?? l.port;
        for (const t of listenerTransports(l)) {
            const T = t.toUpperCase();
            for (const cidr of cidrs) {
                rules.push({ key: `lb-in-${t}-${l.port}-${cidrKey(cidr)}`, group: "loadBalancer", direction: "ingress", protocol: t, fromPort: l.port, toPort: l.port, peer: { cidr }, description: `Clients to the ingress load balancer (${T} ${l.port})` });
            }
        }
        // Health checks are TCP on the target port, so the TCP side is always open to the targets.
        const toTargets = new Set<"tcp" | "udp">([...listenerTransports(l), "tcp"]);
        for (const t of toTargets) {
            const T = t.toUpperCase();
            const what = listenerTransports(l).includes(t) ? "ingress traffic" : "health checks";
            rules.push({ key: `lb-out-${t}-${target}-node`, group: "loadBalancer", direction: "egress", protocol: t, fromPort: target, toPort: target, peer: { group: "node" }, description: `Ingress load balancer to its targets on the nodes: ${what} (${T} ${target})` });
            rules.push({ key: `node-in-${t}-${target}-lb`, group: "node", direction: "ingress", protocol: t, fromPort: target, toPort: target, peer: { group: "loadBalancer" }, description: `Ingress load balancer to its targets: ${what} (${T} ${target})` });
        }
    }
    // Two listeners may share a target port: keep each rule once.
    const seen = new Set<string>();
    return rules.filter((r) => (seen.has(r.key) ? false : (seen.add(r.key), true)));
}
