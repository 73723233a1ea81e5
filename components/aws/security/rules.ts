/**
 * The security-group rule sets, as pure data. `ClusterSecurity` and `SecurityGroupRules` turn each
 * {@link SgRuleSpec} into exactly one `aws.vpc.SecurityGroupIngressRule` or `EgressRule`.
 *
 * The node group opens exactly what the CNI (Cilium in VXLAN tunnel mode) needs between nodes,
 * what the control plane needs to reach the kubelet and webhooks, and whatever in-cluster
 * components publish as `FirewallRule`s (TailscaleDirect's UDP port). Nothing else is open to the
 * internet: no SSH, no NodePort range.
 */
import { z } from "zod";
import { parseOrThrow, ValidationError, type Problem } from "../../common/errors";
import { NODE_PORT_RANGE, RESERVED_NODE_PORTS, type FirewallRule } from "../../common/firewall";
import { dnsLabelSchema, parseCidr, portSchema } from "../../common/net";
import { CILIUM_VXLAN_PORT } from "../../cilium/values";

/** Cilium's default VXLAN port: the one constant from the Cilium values, shared by the security group. */
export const DEFAULT_TUNNEL_PORT = CILIUM_VXLAN_PORT;
export const CILIUM_HEALTH_PORT = 4240;
export const HUBBLE_PORT = 4244;
export const KUBELET_PORT = 10250;
export const DNS_PORT = 53;
/** ICMP echo request (type 8, code 0): Cilium's node-to-node health probes. */
export const ICMP_ECHO = { type: 8, code: 0 } as const;

export type GroupRole = "node" | "cluster" | "loadBalancer";

/** One security-group rule: one protocol/port range and one peer. */
export interface SgRuleSpec {
    /** Stable, unique suffix of the rule's resource name. */
    key: string;
    /** The group the rule belongs to. */
    group: GroupRole;
    direction: "ingress" | "egress";
    /** AWS `ipProtocol`: `tcp`, `udp`, `icmp`, `icmpv6` or `-1` (all). */
    protocol: "tcp" | "udp" | "icmp" | "icmpv6" | "-1";
    /** First port (ICMP: the type); absent for protocol `-1`. */
    fromPort?: number;
    /** Last port (ICMP: the code); absent for protocol `-1`. */
    toPort?: number;
    /** A CIDR, or another of this component's groups. */
    peer: { cidr: string } | { group: GroupRole };
    description: string;
}

export const clusterSecurityArgsSchema = z.strictObject({
    /** Cilium's VXLAN port, opened between nodes. Must equal the port in the Cilium values. */
    tunnelPort: portSchema.default(DEFAULT_TUNNEL_PORT),
    /** Open Hubble's TCP 4244 between nodes (Hubble Relay reads every agent). */
    hubble: z.boolean({ error: "must be true or false" }).default(true),
    /**
     * TCP ports that admission webhooks serve on the nodes, opened from the control plane. In
     * Cilium's overlay the control plane can't reach pod IPs, so webhooks run with hostNetwork on
     * these ports (for example 9443 for cert-manager or the AWS Load Balancer Controller).
     */
    webhookPorts: z.array(portSchema).default([]),
    /** Dual stack: also allow all egress over IPv6. ClusterSecurity takes it from its VPC (`vpc.ipv6`). */
    ipv6: z.boolean({ error: "must be true or false" }).default(false),
    /** The cluster the groups belong to (tags them `kubernetes.io/cluster/<name>: owned`). */
    clusterName: dnsLabelSchema.optional(),
    /** Extra tags for the groups and rules. */
    tags: z.record(z.string(), z.string()).default({}),
});

export type ClusterSecurityOptionsInput = z.input<typeof clusterSecurityArgsSchema>;
export type ClusterSecurityOptions = z.output<typeof clusterSecurityArgsSchema>;

/** ClusterSecurity's cross-field rules (tolerant; paths relative to the args). */
export function clusterSecurityCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const problems: Problem[] = [];
    const tunnel = r.tunnelPort;
    if (typeof tunnel === "number") {
        const clash = RESERVED_NODE_PORTS.find((p) => p.port === tunnel && p.port !== DEFAULT_TUNNEL_PORT && p.protocol !== "tcp");
        if (clash) problems.push({ path: "tunnelPort", value: tunnel, rule: `collides with UDP ${clash.port} (${clash.use}) on every node` });
        if (tunnel >= NODE_PORT_RANGE.from && tunnel <= NODE_PORT_RANGE.to) {
            problems.push({ path: "tunnelPort", value: tunnel, rule: `must not be in the NodePort range ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}` });
        }
    }
    if (Array.isArray(r.webhookPorts)) {
        const seen = new Set<unknown>();
        r.webhookPorts.forEach((p, i) => {
            if (seen.has(p)) problems.push({ path: `webhookPorts[${i}]`, value: p, rule: "is listed twice" });
            seen.add(p);
            if (p === KUBELET_PORT || p === 443) problems.push({ path: `webhookPorts[${i}]`, value: p, rule: "is already opened from the control plane (kubelet 10250 and 443 always are)" });
            if (p === 22) problems.push({ path: `webhookPorts[${i}]`, value: p, rule: "SSH is never opened by directpath" });
            if (typeof p === "number" && p >= NODE_PORT_RANGE.from && p <= NODE_PORT_RANGE.to) {
                problems.push({ path: `webhookPorts[${i}]`, value: p, rule: `must not be in the NodePort range ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}` });
            }
        });
    }
    return problems;
}

/** Validates ClusterSecurity's plain options, every problem at once. Pure. */
export function validateClusterSecurityOptions(raw: ClusterSecurityOptionsInput, subject = "ClusterSecurity args"): ClusterSecurityOptions {
    return parseOrThrow(subject, clusterSecurityArgsSchema, raw, { crossChecks: clusterSecurityCrossChecks });
}

/** The fixed rules of the node and cluster (control-plane) security groups. Pure. */
export function clusterSecurityRules(o: ClusterSecurityOptions): SgRuleSpec[] {
    const self = { group: "node" } as const;
    const controlPlane = { group: "cluster" } as const;
    const nodes = { group: "node" } as const;
    const rules: SgRuleSpec[] = [
        // node <-> node: what Cilium needs (source: the node group itself).
        { key: "node-in-vxlan", group: "node", direction: "ingress", protocol: "udp", fromPort: o.tunnelPort, toPort: o.tunnelPort, peer: self, description: `Cilium VXLAN overlay between nodes (UDP ${o.tunnelPort})` },
        { key: "node-in-health", group: "node", direction: "ingress", protocol: "tcp", fromPort: CILIUM_HEALTH_PORT, toPort: CILIUM_HEALTH_PORT, peer: self, description: `Cilium health checks between nodes (TCP ${CILIUM_HEALTH_PORT})` },
        ...(o.hubble ? [{ key: "node-in-hubble", group: "node", direction: "ingress", protocol: "tcp", fromPort: HUBBLE_PORT, toPort: HUBBLE_PORT, peer: self, description: `Hubble server, read by Hubble Relay (TCP ${HUBBLE_PORT})` } satisfies SgRuleSpec] : []),
        { key: "node-in-icmp-echo", group: "node", direction: "ingress", protocol: "icmp", fromPort: ICMP_ECHO.type, toPort: ICMP_ECHO.code, peer: self, description: "ICMP echo between nodes (Cilium health probes)" },
        { key: "node-in-dns-tcp", group: "node", direction: "ingress", protocol: "tcp", fromPort: DNS_PORT, toPort: DNS_PORT, peer: self, description: "Cluster DNS between nodes (TCP 53)" },
        { key: "node-in-dns-udp", group: "node", direction: "ingress", protocol: "udp", fromPort: DNS_PORT, toPort: DNS_PORT, peer: self, description: "Cluster DNS between nodes (UDP 53)" },
        // control plane -> nodes.
        { key: "node-in-kubelet", group: "node", direction: "ingress", protocol: "tcp", fromPort: KUBELET_PORT, toPort: KUBELET_PORT, peer: controlPlane, description: `Control plane to kubelet (TCP ${KUBELET_PORT}: logs, exec, metrics)` },
        { key: "node-in-https", group: "node", direction: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, peer: controlPlane, description: "Control plane to nodes (TCP 443: host-network API services)" },
        ...o.webhookPorts.map((p): SgRuleSpec => ({ key: `node-in-webhook-${p}`, group: "node", direction: "ingress", protocol: "tcp", fromPort: p, toPort: p, peer: controlPlane, description: `Control plane to admission webhook (TCP ${p})` })),
        // nodes -> control plane.
        { key: "cluster-in-https", group: "cluster", direction: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, peer: nodes, description: "Nodes to the Kubernetes API (TCP 443)" },
        // The control plane's side of its connections to the nodes (scoped to the node group).
        { key: "cluster-out-kubelet", group: "cluster", direction: "egress", protocol: "tcp", fromPort: KUBELET_PORT, toPort: KUBELET_PORT, peer: nodes, description: `Control plane to kubelet (TCP ${KUBELET_PORT})` },
        { key: "cluster-out-https", group: "cluster", direction: "egress", protocol: "tcp", fromPort: 443, toPort: 443, peer: nodes, description: "Control plane to nodes (TCP 443)" },
        ...o.webhookPorts.map((p): SgRuleSpec => ({ key: `cluster-out-webhook-${p}`, group: "cluster", direction: "egress", protocol: "tcp", fromPort: p, toPort: p, peer: nodes, description: `Control plane to admission webhook (TCP ${p})` })),
        // egress: nodes reach everything (image registries, AWS APIs, Tailscale peers) straight from their public IPs.
        { key: "node-out-all-v4", group: "node", direction: "egress", protocol: "-1", peer: { cidr: "0.0.0.0/0" }, description: "Nodes to anywhere over IPv4 (no NAT gateway: straight out of the node public IP)" },
        ...(o.ipv6 ? [{ key: "node-out-all-v6", group: "node", direction: "egress", protocol: "-1", peer: { cidr: "::/0" }, description: "Nodes to anywhere over IPv6" } satisfies SgRuleSpec] : []),
    ];
    return rules;
}

/** The characters AWS accepts in a security-group rule description (at most 255 of them). */
export const AWS_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;

/**
 * Makes a description AWS accepts: characters outside its set become spaces (runs collapsed),
 * and the text is cut to 255 characters. "Tailscale <direct> UDP" -> "Tailscale direct UDP".
 */
export function awsRuleDescription(text: string): string {
    return text.replace(/[^a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]+/g, " ").replace(/ {2,}/g, " ").trim().slice(0, 255);
}

// ---- consumed FirewallRule[] (TailscaleDirect.firewallRules and friends) ----

const WORLD = new Set(["0.0.0.0/0", "::/0"]);

/**
 * Turns consumed {@link FirewallRule}s into rules of one security group. `self` and
 * `controlPlane` peers become referenced groups; CIDR peers stay CIDRs; `::/0` and other IPv6
 * peers are dropped when the VPC has no IPv6. A rule that would open TCP (or every protocol) to
 * the whole internet is refused: put such services behind the ingress load balancer.
 */
export function firewallRuleSpecs(rules: readonly FirewallRule[], opts: { ipv6: boolean; controlPlaneKnown?: boolean; keyPrefix?: string }): SgRuleSpec[] {
    const problems: Problem[] = [];
    const out: SgRuleSpec[] = [];
    const seen = new Set<string>();
    rules.forEach((r, i) => {
        const path = `rules[${i}]`;
        let peer: SgRuleSpec["peer"] | undefined;
        let family: 4 | 6 | undefined;
        if (r.peer === "self") peer = { group: "node" };
        else if (r.peer === "controlPlane") {
            if (opts.controlPlaneKnown === false) problems.push({ path: `${path}.peer`, value: r.peer, rule: "needs controlPlaneSecurityGroupId" });
            else peer = { group: "cluster" };
        }
        else {
            const c = parseCidr(r.peer);
            if (!c) problems.push({ path: `${path}.peer`, value: r.peer, rule: "must be a CIDR, `self` or `controlPlane`" });
            else {
                peer = { cidr: r.peer };
                family = c.family;
            }
        }
        const ported = r.protocol === "tcp" || r.protocol === "udp";
        if (ported) {
            for (const k of ["fromPort", "toPort"] as const) {
                const v = r[k];
                if (!Number.isInteger(v) || v < 1 || v > 65535) problems.push({ path: `${path}.${k}`, value: v, rule: "must be a port number 1-65535" });
            }
            if (r.fromPort > r.toPort) problems.push({ path: `${path}.toPort`, value: r.toPort, rule: `must be >= fromPort (${r.fromPort})` });
        }
        if (r.direction === "ingress" && WORLD.has(r.peer) && (r.protocol === "tcp" || r.protocol === "all")) {
            problems.push({ path: path, value: `${r.protocol} ${r.fromPort}-${r.toPort} from ${r.peer}`, rule: "opens TCP to the whole internet on the nodes; directpath only opens UDP (Tailscale) there: use the ingress load balancer instead" });
        }
        if (ported && r.direction === "ingress" && WORLD.has(r.peer) && r.fromPort <= 22 && r.toPort >= 22) {
            problems.push({ path, value: r.fromPort, rule: "SSH (22) is never opened to the internet" });
        }
        if (ported && r.direction === "ingress" && WORLD.has(r.peer) && r.fromPort <= NODE_PORT_RANGE.to && r.toPort >= NODE_PORT_RANGE.from) {
            problems.push({ path, value: `${r.fromPort}-${r.toPort}`, rule: `overlaps the NodePort range ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}, which is never opened to the internet` });
        }
        if (!peer) return;
        if (family === 6 && !opts.ipv6) return;
        const protocol: SgRuleSpec["protocol"] = r.protocol === "all" ? "-1" : r.protocol;
        const peerText = "cidr" in peer ? cidrSlug(peer.cidr) : peer.group;
        const ports = protocol === "-1" ? "all" : r.fromPort === r.toPort ? String(r.fromPort) : `${r.fromPort}-${r.toPort}`;
        // The key is the opening itself (direction, protocol, ports, peer), never the rule's
        // position: a second rule with the same key opens the same thing, and AWS refuses
        // duplicates, so it is kept once.
        const key = `${opts.keyPrefix ?? ""}${r.direction === "ingress" ? "in" : "out"}-${r.protocol}-${ports}-${peerText}`;
        if (seen.has(key)) return;
        seen.add(key);
        out.push({
            key,
            group: "node",
            direction: r.direction,
            protocol,
            ...(protocol === "-1" ? {} : { fromPort: r.fromPort, toPort: r.toPort }),
            peer,
            description: awsRuleDescription(r.description),
        });
    });
    if (problems.length > 0) throw new ValidationError("SecurityGroupRules args", problems);
    return out;
}

/** `0.0.0.0/0` -> `world-v4`, `::/0` -> `world-v6`, `10.1.0.0/16` -> `10-1-0-0-16`. */
function cidrSlug(cidr: string): string {
    if (cidr === "0.0.0.0/0") return "world-v4";
    if (cidr === "::/0") return "world-v6";
    return cidr.toLowerCase().replace(/[^0-9a-f]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Whether two rules open the same thing (same group, direction, protocol, ports and peer). */
export function sameOpening(a: SgRuleSpec, b: SgRuleSpec): boolean {
    const peer = (r: SgRuleSpec) => ("cidr" in r.peer ? `cidr:${r.peer.cidr}` : `group:${r.peer.group}`);
    return a.group === b.group && a.direction === b.direction && a.protocol === b.protocol &&
        a.fromPort === b.fromPort && a.toPort === b.toPort && peer(a) === peer(b);
}
