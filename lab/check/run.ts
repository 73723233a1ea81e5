/**
 * `npm run lab:check` (root, Linux): proves `directpath check` against real faults in network
 * namespaces. The SAME probe scripts (check/probes/*.sh, under busybox ash with busybox applets, as
 * in the Tailscale image) and the SAME check plans, parsers and verdicts as in a cluster:
 *   1. hairpin (DNAT-only router, field report 000): present before the fix;
 *   2. absent after directpath's fix (the rendered iptables redirect script of the local-iptables
 *      stack run on the node, the rendered hosts block of the local stack written to its /etc/hosts);
 *   3. present again once the fix is removed (the scripts' own cleanup);
 *   4. a truncated probe output: could not check, never absent;
 *   5. overlay (field report 003) with the dev stack's security groups minus the tunnel rule: present;
 *   6. overlay with the generated rules: absent.
 * Ends with `N passed, N failed`; exits 1 on any failure. Namespaces: dpc-* only.
 * `--record`: also copies the probe frames into test/fixtures/check/ (the verdict tests read them).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hairpinChecks, observe, overlayChecks, type PlannedCheck, type ProbeRun, type Vantage } from "../../check/checks";
import type { Verdict } from "../../check/model";
import { runPlan, readPlanDir } from "../../check/plan";
import { probeEnv, probePath } from "../../check/probes";
import { formatTable } from "../../check/report";
import { targetsFromPlan, type CheckTargets } from "../../check/targets";
import { hairpinVerdict, overlayVerdict } from "../../check/verdict";
import { generateFirewall, isOverlayRule, type SgRow } from "../lib/firewall";
import { busyboxAppletDir } from "../lib/prereqs";
import { nodeGroupOf } from "../cases/overlay";
import { cleanupAll, LabError, onCleanup, removeLeftovers, run, runAsync } from "./ns";
import { buildHairpin, buildOverlay, DNS_NAME, OVERLAY, tunnelCounters, type HairpinLab } from "./topology";

const ROOT = path.resolve(__dirname, "..", "..");
const LOCK = path.join(os.tmpdir(), "dpc-lab.lock");
const APPLETS = ["nc", "nslookup", "ping", "timeout", "grep", "cat", "sed", "hostname", "netstat"];
const PROBE_TIMEOUT_S = 2;
const LISTEN_PORT = 8080;
const RECORD = process.argv.includes("--record");

let passed = 0;
let failed = 0;
function result(id: string, title: string, expected: string, observed: string, ok: boolean, notes: string[] = []): void {
    ok ? passed++ : failed++;
    console.log(`case ${id}  ${title} | expected: ${expected} | observed: ${observed} | ${ok ? "PASS" : "FAIL"}`);
    for (const n of notes) console.log(`      ${n}`);
}

function prerequisites(): void {
    if (process.platform !== "linux" || process.getuid?.() !== 0) throw new LabError("the check lab needs root on Linux (network namespaces, iptables): sudo npm run lab:check");
    const missing: string[] = [];
    const has = (c: string) => run(["sh", "-c", `command -v ${c}`], { allowFail: true }).code === 0;
    if (!has("ip")) missing.push("iproute2");
    if (!has("iptables-restore")) missing.push("iptables");
    if (!has("busybox")) missing.push("busybox");
    if (!has("dnsmasq")) missing.push("dnsmasq-base");
    if (missing.length === 0) return;
    if (!has("apt-get")) throw new LabError(`missing ${missing.join(", ")}: install these packages`);
    console.log(`  installing ${missing.join(" ")} with apt-get`);
    run(["apt-get", "install", "-y", "-qq", ...missing], { timeoutMs: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, allowFail: true });
    if (!has("busybox") || !has("dnsmasq")) {
        run(["apt-get", "update", "-qq"], { timeoutMs: 300_000 });
        run(["apt-get", "install", "-y", "-qq", ...missing], { timeoutMs: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    }
}

function takeLock(): void {
    if (fs.existsSync(LOCK)) {
        const pid = Number(fs.readFileSync(LOCK, "utf8").trim());
        let alive = false;
        try {
            if (pid) process.kill(pid, 0);
            alive = !!pid;
        } catch {
            alive = false;
        }
        if (alive && pid !== process.pid) throw new LabError(`another lab:check run (pid ${pid}) holds ${LOCK}`);
    }
    fs.writeFileSync(LOCK, String(process.pid));
    onCleanup(() => {
        if (fs.existsSync(LOCK) && fs.readFileSync(LOCK, "utf8").trim() === String(process.pid)) fs.rmSync(LOCK);
    });
}

interface Ctx {
    work: string;
    bb: string;
    frames: string;
}

/** probe.sh under busybox ash in `ns`, with the busybox applets first on PATH. */
async function probe(ctx: Ctx, ns: string, node: string, vantage: Vantage, checks: PlannedCheck[], tag: string, cut?: number): Promise<ProbeRun> {
    const env = { PATH: `${ctx.bb}:/usr/sbin:/usr/bin:/sbin:/bin`, ...probeEnv(checks, { node, vantage }, PROBE_TIMEOUT_S) };
    const r = await runAsync(["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "busybox", "sh", probePath("probe.sh")], { ns, timeoutMs: checks.length * (PROBE_TIMEOUT_S + 3) * 1000 + 10_000 });
    let output = r.stdout;
    if (cut !== undefined) output = output.split("\n").slice(0, cut).join("\n") + "\n";
    fs.writeFileSync(path.join(ctx.frames, `probe-${tag}.out`), output);
    if (r.code !== 0) return { node, vantage, checks, output, error: `probe.sh exit ${r.code}: ${r.stderr.trim().split("\n")[0]}` };
    return { node, vantage, checks, output };
}

async function hairpinRuns(ctx: Ctx, lab: HairpinLab, t: CheckTargets, tag: string): Promise<ProbeRun[]> {
    return Promise.all([
        probe(ctx, lab.ns.pod2, "node2", "pod", hairpinChecks(t, "pod"), `hairpin-${tag}-pod`),
        probe(ctx, lab.ns.node2, "node2", "hostnet", hairpinChecks(t, "hostnet"), `hairpin-${tag}-hostnet`),
    ]);
}

function table(v: Verdict[]): string[] {
    return formatTable(v, { width: 150, evidenceLines: 6 }).split("\n");
}

async function main(): Promise<number> {
    const started = Date.now();
    console.log("directpath check lab: the check's probes in real namespaces, against real faults");
    prerequisites();
    takeLock();
    const left = removeLeftovers();
    if (left.length > 0) console.log(`  removed leftovers of an earlier run: ${left.join(", ")}`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dpc-lab-"));
    onCleanup(() => fs.rmSync(work, { recursive: true, force: true }));
    const bb = busyboxAppletDir(path.join(work, "busybox"), APPLETS);
    const frames = path.join(work, "frames");
    fs.mkdirSync(frames);
    const logDir = path.join(work, "logs");
    fs.mkdirSync(logDir);
    const ctx: Ctx = { work, bb, frames };
    console.log(`  ${run(["busybox"], { allowFail: true }).stdout.split("\n")[0]}; probes run as: busybox sh check/probes/probe.sh (applets: ${APPLETS.join(" ")})`);

    console.log("== rendering stacks with npm run plan");
    const plans: Record<string, ReturnType<typeof readPlanDir>> = {};
    for (const s of ["local-iptables", "local", "dev"]) {
        const out = path.join(work, "out", s);
        runPlan(ROOT, s, out);
        plans[s] = readPlanDir(out);
        console.log(`  ${s}: npm run plan -- --stack ${s} --out ${out} (${plans[s]!.objects.length} objects)`);
    }
    const targets = targetsFromPlan(plans["local-iptables"]!.plan, plans["local-iptables"]!.objects, "npm run plan -- --stack local-iptables");
    const ep = targets.hairpin?.endpoints[0];
    if (!ep || !ep.hostnames[0] || !ep.externalIps[0]) throw new LabError("the local-iptables stack has no hairpin endpoint with an external IP and a hostname");
    console.log(`  hairpin targets (local-iptables): ${ep.name} ${ep.externalIps.join(",")}:${ep.ports.map((p) => p.port).join(",")} ${ep.hostnames.join(",")}, internal ${ep.internal.map((i) => `${i.address}:${i.port}`).join(",")}`);

    console.log("== hairpin");
    const lab = await buildHairpin({ busyboxDir: bb, listenSh: probePath("listen.sh"), logDir, hostname: ep.hostnames[0], port: ep.ports[0]!.port });

    // 1. Before the fix.
    const before = await hairpinRuns(ctx, lab, targets, "before");
    const v1 = hairpinVerdict(targets, before.flatMap(observe));
    const obs1 = before.flatMap(observe);
    const extFail = obs1.filter((o) => o.what.fault === "hairpin" && o.what.via === "ip" && o.status === "timeout").map((o) => o.vantage);
    const internalOk = obs1.filter((o) => o.what.fault === "hairpin" && o.what.via === "internal" && o.status === "connected").length;
    result("1", "hairpin before the fix (router DNAT without SNAT)", "PRESENT: the external IP times out from the pod and from the host network; the internal address connects",
        `${v1.verdict}: ${v1.summary}; external-IP timeouts from ${extFail.join("+") || "none"}; internal connects from ${internalOk} vantage point(s)`,
        v1.verdict === "present" && extFail.includes("pod") && extFail.includes("hostnet") && internalOk === 2, table([v1]));

    // 2. directpath's fix: the rendered scripts, run the way their DaemonSets run them.
    const ipt = plans["local-iptables"]!.objects.find((o) => o.kind === "ConfigMap" && (o.data as Record<string, string> | undefined)?.["rules.conf"]);
    const hostsCm = plans.local!.objects.find((o) => o.kind === "ConfigMap" && (o.data as Record<string, string> | undefined)?.["hosts-sync.sh"]);
    const hostsDs = plans.local!.objects.find((o) => o.kind === "DaemonSet" && /hosts/.test(String(o.metadata?.name)));
    if (!ipt || !hostsCm || !hostsDs) throw new LabError("the rendered stacks lack the iptables redirect ConfigMap (local-iptables) or the hosts ConfigMap/DaemonSet (local)");
    const d = (o: typeof ipt, k: string) => String((o.data as Record<string, string>)[k]);
    const fixDir = path.join(work, "fix");
    fs.mkdirSync(fixDir);
    for (const [f, text] of [["hairpin-redirect.sh", d(ipt, "hairpin-redirect.sh")], ["rules.conf", d(ipt, "rules.conf")], ["hosts-sync.sh", d(hostsCm, "hosts-sync.sh")], ["entries", d(hostsCm, "entries")]]) fs.writeFileSync(path.join(fixDir, f!), text!);
    const blockId = (((hostsDs.spec as any).template.spec.containers[0].env ?? []) as Array<{ name: string; value?: string }>).find((e) => e.name === "BLOCK_ID")?.value ?? "hosts";
    const redirect = (arg: string) => run(["env", `DIRECTPATH_CONFIG=${path.join(fixDir, "rules.conf")}`, "sh", path.join(fixDir, "hairpin-redirect.sh"), arg], { ns: lab.ns.node2, allowFail: true, timeoutMs: 60_000 });
    const hosts = (arg: string) => run(["env", `HOSTS_FILE=${lab.node2Hosts}`, `ENTRIES_FILE=${path.join(fixDir, "entries")}`, `BLOCK_ID=${blockId}`, "sh", path.join(fixDir, "hosts-sync.sh"), arg], { allowFail: true, timeoutMs: 30_000 });
    onCleanup(() => {
        redirect("cleanup");
    });
    const r1 = redirect("once");
    const h1 = hosts("once");
    const after = await hairpinRuns(ctx, lab, targets, "after");
    const obs2 = after.flatMap(observe);
    const v2 = hairpinVerdict(targets, obs2);
    const hostsSeen = obs2.find((o) => o.vantage === "hostnet" && o.what.fault === "hairpin" && o.what.via === "system");
    result("2", "hairpin after directpath's fix (rendered iptables redirect on node2 + rendered hosts block)", `absent: every path connects; node2's system resolver gives ${ep.internal[0]?.address}`,
        `${v2.verdict}: ${v2.summary}; redirect once exit ${r1.code}, hosts once exit ${h1.code}; node2 resolves ${ep.hostnames[0]} to ${hostsSeen?.addresses.join(",") || hostsSeen?.detail}`,
        v2.verdict === "absent" && r1.code === 0 && h1.code === 0 && hostsSeen?.addresses[0] === ep.internal[0]?.address, table([v2]));

    // 3. The fix removed by the scripts' own cleanup: the fault is back.
    const r2 = redirect("cleanup");
    const h2 = hosts("remove");
    const again = await hairpinRuns(ctx, lab, targets, "removed");
    const v3 = hairpinVerdict(targets, again.flatMap(observe));
    result("3", "hairpin with the fix removed (redirect cleanup, hosts remove)", "PRESENT again",
        `${v3.verdict}: ${v3.summary}; cleanup exit ${r2.code}, remove exit ${h2.code}`, v3.verdict === "present" && r2.code === 0 && h2.code === 0);

    // 4. A truncated probe output (the pod killed mid-run): could not check, never absent.
    const cutRuns = [await probe(ctx, lab.ns.pod2, "node2", "pod", hairpinChecks(targets, "pod"), "hairpin-truncated-pod", 9)];
    const v4 = hairpinVerdict(targets, cutRuns.flatMap(observe));
    result("4", "hairpin with the pod's probe output cut after 9 lines", "could not check (not absent)", `${v4.verdict}: ${v4.summary}; ${v4.evidence[0] ?? ""}`, v4.verdict === "could-not-check");

    console.log("== overlay");
    const dev = plans.dev!;
    const rows = (dev.plan.securityGroupRules ?? []) as SgRow[];
    const devTargets = targetsFromPlan(dev.plan, dev.objects, "npm run plan -- --stack dev");
    const tunnel = devTargets.overlay.tunnel;
    if (!tunnel || rows.length === 0) throw new LabError("the dev stack renders no tunnel port or no security-group table");
    const group = nodeGroupOf(rows);
    const nodes = [{ name: "nodea", address: OVERLAY.a.node, fwInterface: OVERLAY.a.fwIf, groups: [group] }, { name: "nodeb", address: OVERLAY.b.node, fwInterface: OVERLAY.b.fwIf, groups: [group] }];
    const servers = [{ node: "nodea", ip: OVERLAY.a.server, id: "poda" }, { node: "nodeb", ip: OVERLAY.b.server, id: "podb" }];
    const overlayCase = async (tag: string, kept: SgRow[]) => {
        const fw = generateFirewall(kept, nodes);
        fs.writeFileSync(path.join(work, `firewall-${tag}.rules`), fw.restore);
        const o = await buildOverlay({ busyboxDir: bb, listenSh: probePath("listen.sh"), logDir, tunnelPort: tunnel.port, firewall: fw.restore, tag, listenPort: LISTEN_PORT });
        const checks = overlayChecks(servers, servers, DNS_NAME, LISTEN_PORT);
        const runs = await Promise.all([probe(ctx, o.ns.ca, "nodea", "pod", checks, `overlay-${tag}-nodea`), probe(ctx, o.ns.cb, "nodeb", "pod", checks, `overlay-${tag}-nodeb`)]);
        const v = overlayVerdict({ nodes: ["nodea", "nodeb"], tunnel: { ...tunnel, source: "dev stack" }, environment: devTargets.environment }, runs.flatMap(observe));
        return { v, c: tunnelCounters(o, tunnel.port), fw };
    };
    const blockedRows = rows.filter((r) => !isOverlayRule(r, group, tunnel.port));
    const b = await overlayCase("b", blockedRows);
    result("5", `overlay, the dev stack's security groups without the node-to-node UDP ${tunnel.port} rule (the EC2 fault)`, "PRESENT: cross-node fails, same-node works; the firewall drops tunnel packets",
        `${b.v.verdict}: ${b.v.summary}; firewall dropped ${b.c.dropped} tunnel packet(s), accepted ${b.c.accepted}; ${rows.length - blockedRows.length} rule(s) removed`,
        b.v.verdict === "present" && b.c.dropped > 0 && b.c.accepted === 0, table([b.v]));
    const g = await overlayCase("g", rows);
    result("6", "overlay, the dev stack's generated security groups", "absent: every pair works (pods and CoreDNS stand-ins), tunnel packets accepted",
        `${g.v.verdict}: ${g.v.summary}; firewall accepted ${g.c.accepted} tunnel packet(s), dropped ${g.c.dropped}; ${g.fw.applied.length} iptables rules from ${rows.length} SG rows (${g.fw.skipped.length} rows name no host of this lab)`,
        g.v.verdict === "absent" && g.c.accepted > 0 && g.c.dropped === 0, table([g.v]));

    if (RECORD) {
        const dest = path.join(ROOT, "test", "fixtures", "check");
        for (const f of fs.readdirSync(frames)) fs.copyFileSync(path.join(frames, f), path.join(dest, f));
        console.log(`  recorded ${fs.readdirSync(frames).length} probe frames into ${path.relative(ROOT, dest)}/`);
    }
    console.log(`(lab took ${Math.round((Date.now() - started) / 1000)}s; dpc- namespaces and processes removed on exit)`);
    console.log(`${passed} passed, ${failed} failed`);
    return failed > 0 ? 1 : 0;
}

main().then(
    (code) => {
        cleanupAll();
        process.exit(code);
    },
    (e: unknown) => {
        console.error(`lab:check aborted: ${e instanceof Error ? e.message : String(e)}`);
        console.log(`${passed} passed, ${failed + 1} failed`);
        cleanupAll();
        process.exit(1);
    },
);
