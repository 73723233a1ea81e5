/**
 * The labs' one firewall-to-iptables translator. Pure. Two inputs, one matcher ({@link protocolMatch})
 * and one reading of peers:
 * - {@link generateFirewall}: the security-group rules of a rendered plan (plan.json's
 *   security-group table) become the iptables rule set of the network lab's "cloud firewall"
 *   namespace, which routes between the nodes;
 * - {@link iptablesFromFirewallRules}: the `firewallRules` contract (plan.json's output, what a
 *   component asks a firewall to open) becomes ACCEPT rules of a host firewall chain (the Tailscale
 *   lab's node firewalls).
 *
 * Security groups:
 * Semantics kept from AWS security groups: stateful (replies pass), default deny inbound, a packet
 * from node A to node B needs an egress rule of A's group AND an ingress rule of B's group. A peer
 * that is a security group means "any member of that group" (a self-referencing rule on the node
 * group becomes "from the other node's address"); a CIDR peer stays a CIDR. Rules the lab can't
 * express (IPv6 peers in an IPv4 lab, peers that are groups with no member in the lab) are listed
 * as skipped, with the reason, never silently dropped.
 */

import type { FirewallRule } from "../../components/common/firewall";
import type { FirewallRow } from "../../plan/render";

/** One row of plan.json's security-group table (the same rows `npm run plan` prints). */
export type SgRow = FirewallRow;

export interface LabNode {
    name: string;
    address: string;
    /** The firewall's interface toward this node. */
    fwInterface: string;
    /** Security groups this node is a member of (`sg:<name>`). */
    groups: string[];
}

export interface GeneratedFirewall {
    /** iptables-restore input for the filter table. */
    restore: string;
    /** The rows turned into rules, with the rule text. */
    applied: Array<{ row: SgRow; node: string; rule: string }>;
    skipped: Array<{ row: SgRow; reason: string }>;
}

/** A rule the translator can't read (an unknown protocol, a port text that isn't N, N-M or "type T code C"). */
export class FirewallRuleError extends Error {}

function isIPv6Cidr(peer: string): boolean {
    return peer.includes(":");
}

function isIPv4Cidr(peer: string): boolean {
    return /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(peer);
}

/** Whether a peer is a CIDR (or address) of the given IP family. */
export function isCidrOfFamily(peer: string, family: 4 | 6): boolean {
    return family === 4 ? isIPv4Cidr(peer) : isIPv6Cidr(peer);
}

/**
 * iptables (`family` 4, the default) or ip6tables (6) match for a rule's protocol and ports in the
 * plan's text form, e.g. `-p udp --dport 8472`. `ports` is `all`, `N`, `N-M`, or `type T code C`
 * for ICMP (-1: any).
 */
export function protocolMatch(row: Pick<SgRow, "protocol" | "ports">, family: 4 | 6 = 4): string[] {
    const proto = row.protocol.toLowerCase();
    if (proto === "all" || proto === "-1") return [];
    if (proto === "tcp" || proto === "udp") {
        if (row.ports === "all") return ["-p", proto];
        const m = /^(\d+)(?:-(\d+))?$/.exec(row.ports);
        if (!m) throw new FirewallRuleError(`ports ${JSON.stringify(row.ports)} of a ${proto} rule is not N or N-M`);
        return ["-p", proto, "--dport", m[2] && m[2] !== m[1] ? `${m[1]}:${m[2]}` : m[1]!];
    }
    if (proto === "icmp" || proto === "icmpv6") {
        const want = proto === "icmp" ? 4 : 6;
        if (want !== family) throw new FirewallRuleError(`${proto} is not an IPv${family} protocol`);
        const [p, typeFlag] = family === 4 ? ["icmp", "--icmp-type"] : ["ipv6-icmp", "--icmpv6-type"];
        if (row.ports === "all") return ["-p", p];
        const m = /^type (-?\d+) code (-?\d+)$/.exec(row.ports);
        if (!m) throw new FirewallRuleError(`ports ${JSON.stringify(row.ports)} of an ${proto} rule is not "type T code C"`);
        if (m[1] === "-1") return ["-p", p];
        return ["-p", p, typeFlag, m[2] === "-1" ? m[1]! : `${m[1]}/${m[2]}`];
    }
    throw new FirewallRuleError(`protocol ${JSON.stringify(row.protocol)} is not tcp, udp, icmp${family === 6 ? ", icmpv6" : ""} or all`);
}

/** Addresses a peer stands for, seen from `self` (a group peer: every other member node). */
function peerSources(peer: string, self: LabNode, nodes: readonly LabNode[]): string[] | string {
    if (peer.startsWith("sg:")) {
        const members = nodes.filter((n) => n !== self && n.groups.includes(peer)).map((n) => `${n.address}/32`);
        return members.length > 0 ? members : `peer ${peer}: no such host in the lab (it models the nodes only)`;
    }
    if (isIPv6Cidr(peer)) return "IPv6 peer (the lab's underlay is IPv4)";
    if (isIPv4Cidr(peer)) return [peer.includes("/") ? peer : `${peer}/32`];
    return `peer ${JSON.stringify(peer)} is neither a CIDR nor a security group`;
}

const chainName = (dir: "IN" | "OUT", i: number) => `DPL-SG-${dir}-${i}`;

/** The whole filter table for the firewall namespace. */
export function generateFirewall(rows: readonly SgRow[], nodes: readonly LabNode[]): GeneratedFirewall {
    const applied: GeneratedFirewall["applied"] = [];
    const skipped: GeneratedFirewall["skipped"] = [];
    const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"];
    nodes.forEach((_, i) => lines.push(`:${chainName("IN", i)} - [0:0]`, `:${chainName("OUT", i)} - [0:0]`));
    // Security groups are stateful: the reply to an allowed flow always passes.
    lines.push("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
    nodes.forEach((n, i) => lines.push(`-A FORWARD -i ${n.fwInterface} -j ${chainName("OUT", i)}`));
    nodes.forEach((n, i) => lines.push(`-A FORWARD -o ${n.fwInterface} -j ${chainName("IN", i)}`));
    const body: string[] = [];
    const seen = new Set<SgRow>();
    nodes.forEach((node, i) => {
        for (const row of rows) {
            if (!node.groups.includes(row.target)) continue;
            seen.add(row);
            const peers = peerSources(row.peer, node, nodes);
            if (typeof peers === "string") {
                if (!skipped.some((s) => s.row === row)) skipped.push({ row, reason: peers });
                continue;
            }
            const match = protocolMatch(row);
            const comment = ["-m", "comment", "--comment", JSON.stringify(`${row.target} ${row.direction}: ${row.description}`.slice(0, 250))];
            for (const p of peers) {
                const rule = row.direction === "ingress"
                    ? ["-A", chainName("IN", i), "-s", p, ...match, ...comment, "-j", "ACCEPT"]
                    : ["-A", chainName("OUT", i), "-d", p, ...match, ...comment, "-j", "RETURN"];
                const text = rule.join(" ");
                body.push(text);
                applied.push({ row, node: node.name, rule: text });
            }
        }
        // Egress not allowed by any rule of the node's groups: dropped before ingress is looked at.
        body.push(`-A ${chainName("OUT", i)} -j DROP`);
    });
    for (const row of rows) if (!seen.has(row)) skipped.push({ row, reason: `${row.target} belongs to no host in the lab (it models the nodes only)` });
    lines.push(...body, "COMMIT", "");
    return { restore: lines.join("\n"), applied, skipped };
}

/** The node-to-node overlay rule(s): ingress UDP on `port` from the node group itself. */
export function isOverlayRule(row: SgRow, nodeGroup: string, port: number): boolean {
    if (row.direction !== "ingress" || row.target !== nodeGroup || row.peer !== nodeGroup) return false;
    if (row.protocol !== "udp" && row.protocol !== "all") return false;
    if (row.ports === "all") return true;
    const m = /^(\d+)(?:-(\d+))?$/.exec(row.ports);
    return !!m && Number(m[1]) <= port && port <= Number(m[2] ?? m[1]);
}

// ---------------------------------------------------------------------------------------------
// The firewallRules contract -> a host firewall chain
// ---------------------------------------------------------------------------------------------

/** iptables argument lists (without the `iptables` binary), plus the rules that don't apply and why. */
export interface IptablesTranslation {
    rules: string[][];
    skipped: Array<{ rule: FirewallRule; reason: string }>;
}

/** A FirewallRule's ports in the plan's text form (what plan prints and {@link protocolMatch} reads). */
function portsText(rule: FirewallRule): string {
    if (rule.protocol === "all") return "all";
    if (rule.protocol === "icmp" || rule.protocol === "icmpv6") return `type ${rule.fromPort} code ${rule.toPort}`;
    return rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`;
}

/**
 * Turns the `firewallRules` contract into iptables (`family: 4`) or ip6tables (`family: 6`) rules
 * that ACCEPT exactly what the rules describe, appended to `chain`. Ingress rules match the peer as
 * the source, egress rules as the destination (`direction` picks which ones to translate). A rule
 * whose peer is not a CIDR of that family (`self`, `controlPlane`, the other family), or that the
 * matcher can't express, is skipped with the reason; nothing is widened.
 */
export function iptablesFromFirewallRules(rules: readonly FirewallRule[], opts: { chain: string; family: 4 | 6; direction: "ingress" | "egress" }): IptablesTranslation {
    const out: IptablesTranslation = { rules: [], skipped: [] };
    for (const rule of rules) {
        if (rule.direction !== opts.direction) {
            out.skipped.push({ rule, reason: `direction ${rule.direction}, translating ${opts.direction}` });
            continue;
        }
        if (!isCidrOfFamily(rule.peer, opts.family)) {
            out.skipped.push({ rule, reason: `peer ${rule.peer} is not an IPv${opts.family} CIDR` });
            continue;
        }
        if ((rule.protocol === "tcp" || rule.protocol === "udp") &&
            !(Number.isInteger(rule.fromPort) && Number.isInteger(rule.toPort) && rule.fromPort >= 1 && rule.toPort <= 65535 && rule.fromPort <= rule.toPort)) {
            out.skipped.push({ rule, reason: `port range ${rule.fromPort}-${rule.toPort} is not valid` });
            continue;
        }
        let match: string[];
        try {
            match = protocolMatch({ protocol: rule.protocol, ports: portsText(rule) }, opts.family);
        } catch (e) {
            if (!(e instanceof FirewallRuleError)) throw e;
            out.skipped.push({ rule, reason: e.message });
            continue;
        }
        out.rules.push(["-A", opts.chain, opts.direction === "ingress" ? "-s" : "-d", rule.peer, ...match,
            "-m", "comment", "--comment", rule.description.slice(0, 200), "-j", "ACCEPT"]);
    }
    return out;
}
