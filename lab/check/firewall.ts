/**
 * The "cloud firewall" of the overlay topology, from the security-group table `npm run plan` puts in
 * plan.json (`securityGroupRules`). Pure. AWS semantics kept: stateful (replies pass), a packet from
 * node A to node B needs an egress rule of A's group and an ingress rule of B's; a group peer means
 * "the other node"; IPv6 peers and peers that are other groups (load balancer, control plane) have no
 * host in this two-node lab and are left out (listed in `skipped`).
 */
export interface SgRow {
    target: string;
    direction: "ingress" | "egress";
    protocol: string;
    ports: string;
    peer: string;
    description: string;
}

export interface LabNode {
    address: string;
    fwIf: string;
}

function match(r: SgRow): string[] | undefined {
    const p = r.protocol.toLowerCase();
    if (p === "all" || p === "-1") return [];
    if (p === "icmp") return ["-p", "icmp"];
    if (p !== "tcp" && p !== "udp") return undefined;
    if (r.ports === "all") return ["-p", p];
    const m = /^(\d+)(?:-(\d+))?$/.exec(r.ports);
    if (!m) return undefined;
    return ["-p", p, "--dport", m[2] && m[2] !== m[1] ? `${m[1]}:${m[2]}` : m[1]!];
}

/** The node security group: named like a node group and referencing itself. */
export function nodeGroupOf(rows: readonly SgRow[]): string {
    const self = [...new Set(rows.filter((r) => r.direction === "ingress" && r.peer === r.target).map((r) => r.target))];
    const named = self.filter((g) => /node/i.test(g));
    const pick = named.length === 1 ? named : self;
    if (pick.length !== 1) throw new Error(`can't tell the node security group among ${[...new Set(rows.map((r) => r.target))].join(", ")}`);
    return pick[0]!;
}

/** Whether `row` is the node-to-node rule that carries the overlay's UDP `port`. */
export function isTunnelRule(row: SgRow, nodeGroup: string, port: number): boolean {
    if (row.direction !== "ingress" || row.target !== nodeGroup || row.peer !== nodeGroup) return false;
    if (row.protocol !== "udp" && row.protocol !== "all") return false;
    if (row.ports === "all") return true;
    const m = /^(\d+)(?:-(\d+))?$/.exec(row.ports);
    return !!m && Number(m[1]) <= port && port <= Number(m[2] ?? m[1]);
}

/** iptables-restore text (filter table) for the firewall namespace. */
export function firewallFromRows(rows: readonly SgRow[], nodeGroup: string, nodes: readonly LabNode[]): { restore: string; applied: number; skipped: string[] } {
    const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]"];
    nodes.forEach((_, i) => lines.push(`:DPC-OUT-${i} - [0:0]`, `:DPC-IN-${i} - [0:0]`));
    lines.push("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
    nodes.forEach((n, i) => lines.push(`-A FORWARD -i ${n.fwIf} -j DPC-OUT-${i}`));
    nodes.forEach((n, i) => lines.push(`-A FORWARD -o ${n.fwIf} -j DPC-IN-${i}`));
    const skipped: string[] = [];
    let applied = 0;
    nodes.forEach((self, i) => {
        for (const r of rows.filter((x) => x.target === nodeGroup)) {
            const m = match(r);
            const peers = r.peer === nodeGroup ? nodes.filter((n) => n !== self).map((n) => `${n.address}/32`)
                : /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(r.peer) ? [r.peer] : undefined;
            if (!m || !peers) {
                if (i === 0) skipped.push(`${r.direction} ${r.protocol} ${r.ports} ${r.peer}: ${r.description}`);
                continue;
            }
            for (const p of peers) {
                lines.push(r.direction === "ingress"
                    ? `-A DPC-IN-${i} -s ${p} ${m.join(" ")} -j ACCEPT`.replace(/\s+/g, " ")
                    : `-A DPC-OUT-${i} -d ${p} ${m.join(" ")} -j RETURN`.replace(/\s+/g, " "));
                applied++;
            }
        }
        lines.push(`-A DPC-OUT-${i} -j DROP`);
    });
    lines.push("COMMIT", "");
    return { restore: lines.join("\n"), applied, skipped };
}
