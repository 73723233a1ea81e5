/** Cases 7-8: the overlay across a cloud firewall generated from the dev stack's security groups. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, served } from "../lib/agent-client";
import { buildOverlay, labNodes, OVERLAY, podAToPodB, POD_PORT, vxlanCounters, VXLAN_PORT } from "../overlay";
import type { Rendered } from "../lib/rendered";
import { generateFirewall, isOverlayRule, type SgRow } from "../lib/firewall";
import { stackOrSkip, type CaseDef, type LabContext } from "./types";

const POD_TIMEOUT_MS = 3000;

/** The security-group table of a rendered plan (plan.json `securityGroupRules`). */
export function sgRowsOf(r: Rendered): SgRow[] {
    const rows = r.plan.securityGroupRules;
    if (!Array.isArray(rows) || rows.length === 0) {
        const hasSgResources = r.plan.resources.some((x) => x.type.startsWith("aws:vpc/securityGroupIngressRule"));
        throw new Error(hasSgResources ? "plan.json of the dev stack has security-group resources but no securityGroupRules table"
            : "the dev stack renders no security-group rules");
    }
    return rows as SgRow[];
}

/** The node security group: the group named like a node group, else the one that references itself. */
export function nodeGroupOf(rows: readonly SgRow[]): string {
    const groups = [...new Set(rows.map((r) => r.target))];
    const named = groups.filter((g) => /node/i.test(g));
    if (named.length === 1) return named[0]!;
    const selfRef = groups.filter((g) => rows.some((r) => r.target === g && r.peer === g && r.direction === "ingress"));
    if (selfRef.length === 1) return selfRef[0]!;
    throw new Error(`can't tell the node security group among ${groups.join(", ")}`);
}

function firewallFor(ctx: LabContext, rows: readonly SgRow[], nodeGroup: string, file: string) {
    const fw = generateFirewall(rows, labNodes(nodeGroup));
    fs.writeFileSync(path.join(ctx.work, file), fw.restore);
    return fw;
}

export const case7: CaseDef = {
    id: "7",
    title: "overlay pod -> pod across nodes, firewall generated from the dev stack's SGs",
    expected: `HTTP 200 from podb (${OVERLAY.nodeB.pod}:${POD_PORT}) via VXLAN UDP ${VXLAN_PORT} through the firewall`,
    timeoutMs: 45_000,
    run: async (ctx) => {
        const rows = sgRowsOf(stackOrSkip(ctx, "dev"));
        const nodeGroup = nodeGroupOf(rows);
        const fw = firewallFor(ctx, rows, nodeGroup, "firewall-case7.rules");
        if (!rows.some((r) => isOverlayRule(r, nodeGroup, VXLAN_PORT))) {
            return { observed: `the dev stack's SGs have no node-to-node UDP ${VXLAN_PORT} rule`, pass: false };
        }
        const t = await buildOverlay(ctx.session, ctx.logDir, fw.restore, "7");
        const r = podAToPodB(t, POD_TIMEOUT_MS);
        const c = vxlanCounters(t);
        const s = served(r);
        return {
            observed: `${describe(r)}; firewall accepted ${c.accepted} VXLAN packet(s), dropped ${c.dropped}; ${fw.applied.length} iptables rules (both nodes) from ${rows.length} SG rows, ${fw.skipped.length} rows not applicable to two nodes`,
            pass: s?.server === "podb" && s.remote === OVERLAY.nodeA.pod && c.accepted > 0 && c.dropped === 0,
            notes: [
                `node group ${nodeGroup}; generated ${path.join(ctx.work, "firewall-case7.rules")}; the rules for node b (node a's mirror them):`,
                ...fw.applied.filter((a) => a.node === "nodeb").map((a) => `  ${a.rule}`),
                ...fw.skipped.map((s2) => `  not applicable: ${s2.row.target} ${s2.row.direction} ${s2.row.protocol} ${s2.row.ports} from ${s2.row.peer} (${s2.reason})`),
            ],
        };
    },
};

export const case8: CaseDef = {
    id: "8",
    title: `overlay with the node-to-node UDP ${VXLAN_PORT} rule removed (the EC2 fault)`,
    expected: `no connection; the firewall drops VXLAN UDP ${VXLAN_PORT}`,
    timeoutMs: 45_000,
    run: async (ctx) => {
        const rows = sgRowsOf(stackOrSkip(ctx, "dev"));
        const nodeGroup = nodeGroupOf(rows);
        const kept = rows.filter((r) => !isOverlayRule(r, nodeGroup, VXLAN_PORT));
        const removed = rows.length - kept.length;
        if (removed === 0) return { observed: `no node-to-node UDP ${VXLAN_PORT} rule to remove`, pass: false };
        const fw = firewallFor(ctx, kept, nodeGroup, "firewall-case8.rules");
        const t = await buildOverlay(ctx.session, ctx.logDir, fw.restore, "8");
        const r = podAToPodB(t, POD_TIMEOUT_MS);
        const c = vxlanCounters(t);
        return {
            observed: `${describe(r)}; removed ${removed} rule(s); firewall dropped ${c.dropped} VXLAN packet(s), accepted ${c.accepted}`,
            pass: !r.ok && c.dropped > 0 && c.accepted === 0,
        };
    },
};
