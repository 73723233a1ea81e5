/**
 * The direct-connection lab's recorded results: bench/results/direct-connection.json (the pairs,
 * plus how the lab was set up) and direct-connection.md (the same as a table).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckLog } from "../lib/report";
import { NET, PATHS, PINGS, VERSIONS } from "./config";
import { markdownTable, type PairResult } from "./model";
import type { PlanFacts } from "./plan";

export interface LabResults {
    pairs: PairResult[];
    plan: PlanFacts;
    tun: "tailscale0" | "userspace-networking";
    /** Per device: what netcheck reported. */
    netcheck: Record<string, { mappingVariesByDestIP: boolean | null; globalV4: string | null; preferredDERP: number | null }>;
    checks: CheckLog;
}

const NODES = {
    laptop: "behind a home router: MASQUERADE --random-fully",
    "node-a": "directpath: public address on the node, tailscaled in the node namespace on the rendered fixed port, firewall from firewallRules",
    "node-b": "default: tailscaled in a pod behind the node's SNAT --random-fully, no inbound rule",
    "node-c": "directpath's tailscaled settings and firewall, private address + 1:1 Elastic-IP NAT, and the VPC CNI's SNAT --random-fully on host traffic still in place",
};

/** The JSON document (the shape test/tailscale-lab.test.ts reads back). */
export function resultsDoc(r: LabResults): { pairs: PairResult[]; lab: Record<string, unknown> } {
    return {
        pairs: r.pairs,
        lab: {
            generatedBy: "npm run lab:tailscale",
            versions: { tailscale: VERSIONS.tailscale, headscale: VERSIONS.headscale },
            tailscaledNetworking: r.tun === "tailscale0" ? "kernel TUN" : "userspace-networking",
            fixedPort: { port: r.plan.port.port, from: `manifests/${r.plan.manifest}` },
            firewallRules: r.plan.iptables.map((rule) => rule.slice(2).join(" ")),
            oneWayDelayMs: { derpSite: NET.svc.delayMs, home: NET.home.delayMs, nodeA: NET.nodea.delayMs, nodeB: NET.nodeb.delayMs, nodeC: NET.nodec.delayMs },
            nodes: NODES,
            delayMethod: "userspace WAN emulator on a TUN device in the router namespace (lab/tailscale/wanem); this kernel has no sch_netem",
            pingsPerPair: PINGS,
            netcheck: r.netcheck,
            checks: { passed: r.checks.passed, failed: r.checks.failed },
        },
    };
}

/** The Markdown page. */
export function resultsMarkdown(r: LabResults): string {
    const networking = r.tun === "tailscale0" ? "kernel TUN" : "userspace-networking";
    return [
        "# Direct connections: measured with real Tailscale (`npm run lab:tailscale`)",
        "",
        `tailscaled/tailscale/derper ${VERSIONS.tailscale}, headscale ${VERSIONS.headscale}, ${networking}. ` +
        `Fixed port ${r.plan.port.port} from \`manifests/${r.plan.manifest}\`. One-way delays: DERP site ${NET.svc.delayMs} ms, every other site ${NET.home.delayMs} ms. ` +
        `RTT from ${PINGS} \`tailscale ping\`s per pair; link and DERP-path RTT from plain UDP between the sites.`,
        "",
        markdownTable(r.pairs),
        "",
        ...Object.entries(NODES).map(([n, d]) => `- ${n}: ${d}`),
        "",
        "`setup` follows the results schema: `directpath` when one end is node A, else `default`.",
        "",
        `Checks: ${r.checks.passed} passed, ${r.checks.failed} failed.`,
        "",
    ].join("\n");
}

/** Writes both files into bench/results/. */
export function writeResults(r: LabResults): void {
    fs.mkdirSync(PATHS.results, { recursive: true });
    fs.writeFileSync(path.join(PATHS.results, "direct-connection.json"), JSON.stringify(resultsDoc(r), null, 2) + "\n");
    fs.writeFileSync(path.join(PATHS.results, "direct-connection.md"), resultsMarkdown(r));
}
