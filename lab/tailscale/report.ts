/**
 * The direct-connection lab's recorded results: bench/results/direct-connection.json (the pairs,
 * plus how the lab was set up) and direct-connection.md (the same as a table).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CheckLog } from "../lib/report";
import type { CheckRecord } from "./check";
import { NET, PATHS, PINGS, VERSIONS } from "./config";
import { markdownTable, relayMarkdownTable, type PairResult, type RelayResult } from "./model";
import type { PodPlanFacts, RelayPlanFacts, PlanFacts } from "./plan";

export interface LabResults {
    pairs: PairResult[];
    /** The peer-relay pair (undefined when that part did not run). */
    relay?: RelayResult;
    plans: { base: PlanFacts; pod: PodPlanFacts; relay?: RelayPlanFacts };
    tun: "tailscale0" | "userspace-networking";
    /** Per device: what netcheck reported. */
    netcheck: Record<string, { mappingVariesByDestIP: boolean | null; globalV4: string | null; preferredDERP: number | null }>;
    checks: CheckLog;
    /** directpath check's Tailscale verdict per probed device (lab/tailscale/check.ts). */
    check: CheckRecord[];
}

const NODES = {
    laptop: "behind a home router: MASQUERADE --random-fully",
    "node-a": "directpath host mode + peer relay: public address on the node, tailscaled in the node namespace started from the relay plan's config file (select-config script, --config, rendered --port), fixed port and RelayServerPort, firewall from that plan's firewallRules; tagged with the plan's tags",
    "node-b": "default: tailscaled in a pod behind the node's SNAT --random-fully, no inbound rule",
    "node-c": "directpath's tailscaled settings and firewall (local stack), private address + 1:1 Elastic-IP NAT, and the VPC CNI's SNAT --random-fully on host traffic still in place",
    "node-p": "directpath pod mode: tailscaled in a pod namespace behind the node's MASQUERADE --random-fully, started from the pod-mode plan's config file for its node (select-config script, --config, userspace networking, rendered --port); the rendered UDP NodePort emulated as DNAT from the node's public address (no SNAT, externalTrafficPolicy Local); firewall from that plan's firewallRules. `control`: the same node with the file minus StaticEndpoints",
};

/** The JSON document (the shape test/tailscale-lab.test.ts reads back). */
export function resultsDoc(r: LabResults): { pairs: PairResult[]; relay: RelayResult | null; check: CheckRecord[]; lab: Record<string, unknown> } {
    return {
        pairs: r.pairs,
        relay: r.relay ?? null,
        check: r.check,
        lab: {
            generatedBy: "npm run lab:tailscale",
            versions: { tailscale: VERSIONS.tailscale, headscale: VERSIONS.headscale },
            tailscaledNetworking: r.tun === "tailscale0" ? "kernel TUN" : "userspace-networking",
            fixedPort: { port: r.plans.base.port.port, from: `manifests/${r.plans.base.manifest}` },
            firewallRules: r.plans.base.iptables.map((rule) => rule.slice(2).join(" ")),
            podMode: {
                configFile: `ConfigMap ${r.plans.pod.facts.configMap} key ${r.plans.pod.facts.key}`,
                staticEndpoints: r.plans.pod.facts.config.StaticEndpoints ?? [],
                nodePorts: r.plans.pod.facts.nodePorts,
                userspace: r.plans.pod.facts.userspace,
                firewallRules: r.plans.pod.iptables.map((rule) => rule.slice(2).join(" ")),
            },
            relay: r.plans.relay ? {
                relayServerPort: r.plans.relay.facts.config.RelayServerPort,
                firewallRules: r.plans.relay.iptables.map((rule) => rule.slice(2).join(" ")),
                grants: r.plans.relay.grants,
            } : null,
            oneWayDelayMs: { derpSite: NET.svc.delayMs, home: NET.home.delayMs, nodeA: NET.nodea.delayMs, nodeB: NET.nodeb.delayMs, nodeC: NET.nodec.delayMs, nodeP: NET.nodep.delayMs },
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
        `Fixed port ${r.plans.base.port.port} from \`manifests/${r.plans.base.manifest}\`; node P's NodePort(s) ${Object.values(r.plans.pod.facts.nodePorts).map((x) => x.nodePort).join(", ")} and static endpoint ${(r.plans.pod.facts.config.StaticEndpoints ?? []).join(", ")} from the pod-mode plan; node A's RelayServerPort ${r.plans.relay?.facts.config.RelayServerPort ?? "-"} from the relay plan. One-way delays: DERP site ${NET.svc.delayMs} ms, every other site ${NET.home.delayMs} ms. ` +
        `RTT from ${PINGS} \`tailscale ping\`s per pair; link and DERP-path RTT from plain UDP between the sites.`,
        "",
        markdownTable(r.pairs),
        "",
        ...(r.relay ? ["Peer relay (node A, host mode + `relay`, headscale policy with the rendered `relayGrant`): expected = laptop<->A + A<->B plain-UDP RTT, stated before measuring.", "", relayMarkdownTable([r.relay]), ""] : ["Peer relay: not measured.", ""]),
        ...checkMarkdown(r.check),
        ...Object.entries(NODES).map(([n, d]) => `- ${n}: ${d}`),
        "",
        "`setup` follows the results schema: `directpath` when one end is node A or node P, `control` for node P without its static endpoint, else `default`.",
        "",
        `Checks: ${r.checks.passed} passed, ${r.checks.failed} failed.`,
        "",
    ].join("\n");
}

/** directpath check's verdicts in the lab, one row per probed device. */
export function checkMarkdown(records: readonly CheckRecord[]): string[] {
    if (records.length === 0) return ["directpath check: not run.", ""];
    const cell = (x: string) => x.replace(/\|/g, "\\|");
    return [
        "`directpath check`'s Tailscale part in the lab: the cluster runner's command (check/probes/tailscale.sh under busybox sh, in the device's namespace, against its tailscaled socket; pods with the plan's check-port.sh and container env) and its verdict (`checkTailscaleProbes`):",
        "",
        "| device | checked as | when | verdict | peers (path via) |",
        "|---|---|---|---|---|",
        ...records.map((c) => `| ${c.device} | ${cell(c.plan)} | ${c.when} | ${c.verdict}: ${cell(c.summary)} | ${c.peers.map((p) => `${p.peer} ${p.path ?? "?"}${p.via ? ` ${p.via}` : ""}`).join(", ")} |`),
        "",
    ];
}

/** Writes both files into bench/results/. */
export function writeResults(r: LabResults): void {
    fs.mkdirSync(PATHS.results, { recursive: true });
    fs.writeFileSync(path.join(PATHS.results, "direct-connection.json"), JSON.stringify(resultsDoc(r), null, 2) + "\n");
    fs.writeFileSync(path.join(PATHS.results, "direct-connection.md"), resultsMarkdown(r));
}
