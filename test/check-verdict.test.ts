/**
 * Verdicts from REAL probe output: the frames probe.sh / tailscale.sh printed in `npm run lab:check
 * --record` (hairpin before/after directpath's fix, overlay blocked/open) and in
 * lab/check/record-tailscale.ts (real tailscaled + headscale + derper), plus the same frames
 * corrupted: garbage or truncation is "could not check", never "absent".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { hairpinChecks, observe, overlayChecks, type ProbeRun } from "../check/checks";
import { exitCodeOf, type Verdict } from "../check/model";
import { formatTable, jsonReport } from "../check/report";
import { checkTailscaleProbes, peerPathsFromProbe, tailscaleInputFromProbe, tailscaleVerdict, type TailscalePodInput } from "../check/tailscale";
import { targetsSchema, type CheckTargets } from "../check/targets";
import { hairpinVerdict, overlayVerdict } from "../check/verdict";

const FX = path.join(__dirname, "fixtures", "check");
const fx = (f: string) => fs.readFileSync(path.join(FX, f), "utf8");

// The local-iptables stack's targets, as targetsFromPlan reads them (test/check-targets.test.ts checks that).
const T: CheckTargets = targetsSchema.parse({
    version: 1, source: "test", environment: "local",
    hairpin: { endpoints: [{ name: "registry", mode: "iptables", externalIps: ["169.233.100.10"], ports: [{ port: 443, protocol: "TCP" }], hostnames: ["registry.example.com"], internal: [{ address: "192.168.10.100", port: 443 }], objects: ["DaemonSet kube-system/local-hairpin-iptables"] }] },
});
const hairpinRuns = (tag: string, mutate: (s: string) => string = (s) => s): ProbeRun[] => [
    { node: "node2", vantage: "pod", checks: hairpinChecks(T, "pod"), output: mutate(fx(`probe-hairpin-${tag}-pod.out`)) },
    { node: "node2", vantage: "hostnet", checks: hairpinChecks(T, "hostnet"), output: mutate(fx(`probe-hairpin-${tag}-hostnet.out`)) },
];
const hv = (runs: ProbeRun[]) => hairpinVerdict(T, runs.flatMap(observe));

describe("hairpin verdict on the lab's recorded probe output", () => {
    it("before the fix: present, the failing paths and the fix named", () => {
        const v = hv(hairpinRuns("before"));
        expect(v.verdict).toBe("present");
        expect(v.evidence).toContain("pod@node2 -> 169.233.100.10:443 (registry): timeout (nc: timed out); internal address connects");
        expect(v.evidence).toContain("hostnet@node2 -> 169.233.100.10:443 (registry): timeout (nc: timed out); internal address connects");
        expect(v.evidence).toContain("pod@node2 registry.example.com via cluster DNS: 169.233.100.10");
        expect(v.fix).toMatch(/directpath:hairpin endpoint registry: mode iptables \(DaemonSet kube-system\/local-hairpin-iptables\)/);
    });
    it("after the fix: absent; the host network resolves the name to the internal address (hosts block)", () => {
        const v = hv(hairpinRuns("after"));
        expect(v.verdict).toBe("absent");
        expect(v.evidence).toContain("hostnet@node2 registry.example.com via /etc/hosts: 192.168.10.100");
        expect(v.evidence).toContain("hostnet@node2 registry.example.com via system resolver (kubelet's view): 192.168.10.100");
        expect(hv(hairpinRuns("removed")).verdict).toBe("present");
    });
    it("truncated (recorded), cut anywhere, garbage, or a probe that did not run: could not check, never absent", () => {
        const cut = [{ node: "node2", vantage: "pod" as const, checks: hairpinChecks(T, "pod"), output: fx("probe-hairpin-truncated-pod.out") }];
        expect(hv(cut).verdict).toBe("could-not-check");
        const after = fx("probe-hairpin-after-pod.out").split("\n");
        for (let n = 0; n < after.length - 2; n++) {
            const v = hv([{ node: "node2", vantage: "pod", checks: hairpinChecks(T, "pod"), output: after.slice(0, n).join("\n") }]);
            expect(v.verdict, `cut after ${n} lines`).toBe("could-not-check");
        }
        expect(hv(hairpinRuns("after", (s) => s.replace("@rc h1 0", "@rc h1 zero"))).verdict).toBe("could-not-check");
        expect(hv(hairpinRuns("after", () => "exec /bin/sh: no such file or directory\n")).verdict).toBe("could-not-check");
        expect(hv(hairpinRuns("after", (s) => s.replace("| nameserver", "nameserver"))).verdict).toBe("could-not-check");
        expect(hv([{ node: "node2", vantage: "pod", checks: hairpinChecks(T, "pod"), output: "", error: "pod did not finish within 60s" }]).verdict).toBe("could-not-check");
        // A tool's output the parser does not know (a segfault) in an otherwise good frame.
        expect(hv(hairpinRuns("after", (s) => s.replace("@run h1 tcp 169.233.100.10 443\n@rc h1 0", "@run h1 tcp 169.233.100.10 443\n| Segmentation fault\n@rc h1 139"))).verdict).toBe("could-not-check");
    });
    it("the backend unreachable even internally is not called a hairpin", () => {
        const dead = (s: string) => s.replace("@run h3 tcp 192.168.10.100 443\n@rc h3 0", "@run h3 tcp 192.168.10.100 443\n| nc: can't connect to remote host (192.168.10.100): Connection refused\n@rc h3 1");
        const v = hv(hairpinRuns("before", dead));
        expect(v.verdict).toBe("could-not-check");
        expect(v.summary).toMatch(/backend is unreachable by its internal address/);
    });
    it("no endpoints: not applicable; computed addresses: could not check, saying why", () => {
        expect(hairpinVerdict(targetsSchema.parse({ version: 1 }), []).verdict).toBe("not-applicable");
        const computed = targetsSchema.parse({ version: 1, hairpin: { endpoints: [{ name: "ingress", externalIps: [], ports: [{ port: 443 }] }], computed: ["ingress: external IP"] } });
        const v = hairpinVerdict(computed, []);
        expect(v).toMatchObject({ verdict: "could-not-check" });
        expect(v.summary).toMatch(/ingress: external IP known only at deploy time/);
    });
});

const servers = [{ node: "nodea", ip: "10.244.1.10", id: "poda" }, { node: "nodeb", ip: "10.244.2.10", id: "podb" }];
const checks = overlayChecks(servers, servers, "kubernetes.default.svc.cluster.local");
const overlayRuns = (tag: string, mutate: (s: string) => string = (s) => s): ProbeRun[] => [
    { node: "nodea", vantage: "pod", checks, output: mutate(fx(`probe-overlay-${tag}-nodea.out`)) },
    { node: "nodeb", vantage: "pod", checks, output: mutate(fx(`probe-overlay-${tag}-nodeb.out`)) },
];
const ctx = { nodes: ["nodea", "nodeb"], tunnel: { protocol: "vxlan", port: 8472, source: "dev stack" }, environment: "aws" };
const ov = (runs: ProbeRun[], c = ctx) => overlayVerdict(c, runs.flatMap(observe));

describe("overlay verdict on the lab's recorded probe output", () => {
    it("tunnel port blocked: present, the pattern of field report 003", () => {
        const v = ov(overlayRuns("b"));
        expect(v.verdict).toBe("present");
        expect(v.summary).toBe("cross-node fails, same-node works: nodea -> nodeb, nodeb -> nodea");
        expect(v.evidence).toContain("nodea -> pod 10.244.2.10@nodeb: timeout (nc: timed out)");
        expect(v.evidence).toContain("nodea -> pod 10.244.1.10@nodea: ok");
        expect(v.fix).toMatch(/tunnelPort 8472/);
    });
    it("generated rules: absent; one node: not applicable", () => {
        expect(ov(overlayRuns("g")).verdict).toBe("absent");
        expect(ov(overlayRuns("g"), { ...ctx, nodes: ["nodea"] }).verdict).toBe("not-applicable");
    });
    it("a wrong backend answering is a failure, not success", () => {
        const v = ov(overlayRuns("g", (s) => s.replace(/dpc-ok podb/g, "dpc-ok podx")));
        expect(v.verdict).not.toBe("absent");
        expect(v.evidence.join("\n")).toMatch(/answered by podx, expected podb/);
    });
    it("truncated or garbage: could not check", () => {
        expect(ov(overlayRuns("g", (s) => s.split("\n").slice(0, 6).join("\n"))).verdict).toBe("could-not-check");
        expect(ov(overlayRuns("g", () => "\u0000\u0001binary")).verdict).toBe("could-not-check");
        // Target dead on its own node too: not an overlay answer.
        expect(ov(overlayRuns("b", (s) => s.replace(/\| dpc-ok poda\n@rc o0 0/, "| nc: can't connect to remote host (10.244.1.10): Connection refused\n@rc o0 1"))).verdict).toBe("present");
    });
});

describe("tailscale verdict on real tailscaled output", () => {
    const cfg = { namespace: "tailscale", workloadName: "tailscale", port: 41641 };
    it("from the laptop: node-a direct (fixed port 41641), node-b relayed via DERP", () => {
        expect(peerPathsFromProbe(fx("probe-tailscale-laptop.out"))).toEqual([
            { peer: "100.64.0.1", status: "pong", path: "direct", via: "10.80.0.10:41641" },
            { peer: "100.64.0.2", status: "pong", path: "derp", via: "lab" },
        ]);
        const v = tailscaleVerdict({ configured: cfg, pods: [tailscaleInputFromProbe(fx("probe-tailscale-laptop.out"), "laptop", "laptop", "client")] });
        expect(v.verdict).toBe("present");
        expect(v.evidence).toContain("laptop@laptop -> 100.64.0.2: relayed via DERP(lab), 3 pong(s), none direct");
        expect(v.evidence).toContain("laptop@laptop -> 100.64.0.1: direct via 10.80.0.10:41641");
    });
    it("node-a's pod holds its fixed port; with only direct peers the fault is absent", () => {
        const a = tailscaleInputFromProbe(fx("probe-tailscale-node-a.out"), "tailscale-a", "node-a");
        const laptop = tailscaleInputFromProbe(fx("probe-tailscale-laptop.out"), "laptop", "laptop", "client");
        const onlyA: TailscalePodInput = { ...laptop, pings: { "100.64.0.1": laptop.pings["100.64.0.1"]! } };
        const v = tailscaleVerdict({ configured: cfg, pods: [a, onlyA] });
        expect(v.verdict).toBe("absent");
        expect(v.evidence).toContain("tailscale-a@node-a: tailscaled listens on UDP 41641");
        expect(v.evidence.some((e) => /^tailscale-a@node-a -> 100\.64\.0\.3: direct via 10\.80\.0\.12:\d+$/.test(e))).toBe(true);
        // Without any ping there is no path to show.
        expect(tailscaleVerdict({ configured: cfg, pods: [{ ...a, pings: {} }] }).verdict).toBe("could-not-check");
    });
    it("a pod on a random fallback port is present; logged out or garbage is could not check", () => {
        const a = tailscaleInputFromProbe(fx("probe-tailscale-node-a.out"), "tailscale-a", "node-a");
        const moved = tailscaleInputFromProbe(fx("probe-tailscale-node-a.out").replace(/:41641\b/g, ":38625"), "tailscale-a", "node-a");
        expect(tailscaleVerdict({ configured: cfg, pods: [moved] })).toMatchObject({ verdict: "present" });
        expect(tailscaleVerdict({ configured: cfg, pods: [{ ...a, statusJson: fx("tailscale-status-needslogin.json") }] }).verdict).toBe("could-not-check");
        expect(tailscaleVerdict({ configured: cfg, pods: [tailscaleInputFromProbe(fx("probe-tailscale-laptop.out").slice(0, 400), "laptop", "laptop", "client")] }).verdict).toBe("could-not-check");
        expect(tailscaleVerdict({ configured: undefined, pods: [] }).verdict).toBe("not-applicable");
        expect(tailscaleVerdict({ configured: cfg, pods: [] }).verdict).toBe("could-not-check");
    });
});

describe("checkTailscaleProbes: the call the direct-connection lab makes", () => {
    it("laptop as client, node-a as the TailscaleDirect pod: node-b relayed, node-a direct, the fault present", () => {
        const r = checkTailscaleProbes({
            configured: { namespace: "tailscale", workloadName: "tailscale", port: 41641 },
            pods: [{ pod: "tailscale-a", node: "node-a", output: fx("probe-tailscale-node-a.out") }],
            clients: [{ name: "laptop", output: fx("probe-tailscale-laptop.out") }],
        });
        expect(r.peers.filter((p) => p.from === "laptop").map((p) => [p.peer, p.path])).toEqual([["100.64.0.1", "direct"], ["100.64.0.2", "derp"]]);
        expect(r.verdict.verdict).toBe("present");
        expect(r.verdict.evidence[0]).toBe("laptop@laptop -> 100.64.0.2: relayed via DERP(lab), 3 pong(s), none direct");
        expect(r.verdict.fix).toMatch(/fixed UDP port 41641/);
    });
});

describe("report", () => {
    const vs: Verdict[] = [hv(hairpinRuns("before")), ov(overlayRuns("g")), { fault: "tailscale", verdict: "not-applicable", summary: "the stack has no TailscaleDirect", evidence: [], fix: "-" }];
    it("a table with fault, verdict, evidence and fix; exit code 1 when a fault is present", () => {
        const t = formatTable(vs, { width: 120 });
        expect(t.split("\n")[0]).toMatch(/^FAULT\s+\| VERDICT\s+\| EVIDENCE\s+\| FIX$/);
        expect(t).toMatch(/hairpin\s+\| PRESENT/);
        expect(t).toMatch(/overlay\s+\| absent/);
        expect(t).toMatch(/tailscale\s+\| not applicable/);
        expect(t.split("\n").every((l) => l.length <= 120)).toBe(true);
        expect(t.split("\n").slice(-1)[0]).toBe("RESULT: fault present (hairpin)");
        expect(exitCodeOf(vs)).toBe(1);
        // The tailscale verdict alone is not applicable, the overlay absent: 0. A could-not-check is 2, never 0.
        expect(exitCodeOf(vs.slice(1))).toBe(0);
        expect(exitCodeOf([...vs.slice(1), { ...vs[2]!, verdict: "could-not-check" }])).toBe(2);
        const j = jsonReport({ source: "test", startedAt: "2026-01-01T00:00:00Z", durationMs: 1, verdicts: vs, notes: [] });
        expect(j).toMatchObject({ format: "directpath-check/v1", exitCode: 1 });
        expect(JSON.parse(JSON.stringify(j)).verdicts[0].verdict).toBe("present");
    });
});
