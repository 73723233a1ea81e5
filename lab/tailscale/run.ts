/**
 * `npm run lab:tailscale`: the direct-connection lab. Real tailscaled, tailscale, derper and
 * headscale (pinned, from the Go module proxy, built into the git-ignored `lab/.bin/`) run in
 * network namespaces on this machine, and the lab measures which pairs of peers connect directly
 * and which get relayed through DERP: a laptop behind a hard NAT, node A set up the way directpath
 * sets it up (read from `npm run plan -- --stack local`), node B set up the way a default
 * in-cluster deployment ends up (a pod behind the node's `--random-fully` SNAT), and node C with
 * directpath's tailscaled settings and firewall but the VPC CNI's SNAT rule still catching host
 * traffic, behind a 1:1 NAT like an EC2 Elastic IP. The network is drawn in topology.ts.
 *
 * Usage: npm run lab:tailscale [-- --plan-dir <dir>] [--keep]
 *   (runs under `node --import tsx`, not the tsx CLI, which SIGKILLs a busy child on Ctrl-C before
 *   its cleanup has run)
 *   --plan-dir  use an already rendered plan (its manifests/ and plan.json) instead of rendering
 *               the local stack into a temp dir
 *   --keep      leave the namespaces and daemons running after the checks (for poking around);
 *               the next run removes them
 *
 * Modules: config.ts (constants), build.ts (prerequisites, tools), plan.ts (what the rendered plan
 * says), topology.ts (namespaces, NATs, WAN emulator, firewalls), daemons.ts (derpers, headscale,
 * tailscaled), measure.ts (baseline, netcheck, pairs), model.ts (pure parsing and checks),
 * report.ts (bench/results). This file runs the phases in order and prints the checks.
 *
 * Every step has a time limit and so does the whole run. The run's session (lab/lib/session.ts)
 * owns every namespace and process: they are removed on exit, on failure and on Ctrl-C, and
 * leftovers of a killed run (prefix `dpt-`) before the start. Prints one line per check and ends
 * with `N passed, N failed`; exits 1 on any failure.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LabError, waitUntil, withTimeout } from "../lib/proc";
import { CheckLog } from "../lib/report";
import { LabSession } from "../lib/session";
import { installTools, prerequisites } from "./build";
import { DERP_PORT, HEADSCALE_URL, LIMITS, NET, PATHS, PREFIX, STUN_PORT, TEMP_PREFIX } from "./config";
import {
    derpRegions, devicesOf, startDerpers, startHeadscale, startTailscaled, statusOf, tailscaledUdpPorts, tunMode, up, type Device, type Devices,
} from "./daemons";
import { measureBaseline, measurePair, netcheck, type Baseline, type PairMeasurement } from "./measure";
import { checkPairs, peerFromStatus, type Expectation, type PairResult } from "./model";
import { readPlan, type PlanFacts } from "./plan";
import { writeResults, type LabResults } from "./report";
import { applyFirewalls, buildTopology, edgeReport, startWan, type Topology } from "./topology";

interface Args {
    planDir?: string;
    keep: boolean;
}

function parseArgs(argv: string[]): Args {
    const out: Args = { keep: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--plan-dir") out.planDir = path.resolve(argv[++i] ?? "");
        else if (argv[i] === "--keep") out.keep = true;
        else throw new Error(`unknown argument ${argv[i]} (usage: npm run lab:tailscale [-- --plan-dir <dir>] [--keep])`);
    }
    return out;
}

/** What the phases after the setup share. */
interface Run {
    session: LabSession;
    checks: CheckLog;
    plan: PlanFacts;
    topo: Topology;
    devices: Devices;
}

/** Runs `fn` as a named step with its own time limit. */
function step<T>(name: string, ms: number, fn: () => Promise<T>): Promise<T> {
    return withTimeout(`step "${name}"`, ms, fn);
}

/** Namespaces, WAN emulator, the plain-UDP baseline, the firewalls, the derpers and headscale. */
async function buildNetwork(session: LabSession, checks: CheckLog, plan: PlanFacts): Promise<{ run: Run; base: Baseline; authKeyFile: string }> {
    const topo = await step("topology", LIMITS.stepMs, () => buildTopology(session));
    const devices = devicesOf(topo);
    await step("WAN emulator", 20_000, () => startWan(session, topo));
    checks.info(`one-way delays: DERP/control site ${NET.svc.delayMs} ms, laptop's home ${NET.home.delayMs} ms, node A ${NET.nodea.delayMs} ms, node B ${NET.nodeb.delayMs} ms, node C ${NET.nodec.delayMs} ms`);
    const base = await step("underlay baseline", 120_000, () => measureBaseline(session, topo, devices));
    checks.check("the WAN emulator delays traffic between sites", (base.link.get("node-a|node-b") ?? 0) >= 4 * NET.nodea.delayMs,
        `plain UDP RTT laptop-A ${base.link.get("laptop|node-a")} ms, laptop-B ${base.link.get("laptop|node-b")} ms, A-B ${base.link.get("node-a|node-b")} ms; to DERP: ${[...base.derp].map(([k, v]) => `${k} ${v} ms`).join(", ")}`);

    await step("firewalls", 20_000, () => applyFirewalls(topo, plan));
    const certNames = await step("derpers", 60_000, () => startDerpers(session, topo));
    checks.info(`two derpers (DERP + STUN): regions 900 and 901: ${NET.svc.derp1} and ${NET.svc.derp2}, DERP on :${DERP_PORT} (self-signed, pinned by CertName), STUN on :${STUN_PORT}`);
    const { authKeyFile } = await step("headscale", 60_000, () => startHeadscale(session, topo, certNames));
    checks.info(`headscale on ${HEADSCALE_URL}: DERP map from a file, embedded DERP off, no DERP URLs, update checks off; one reusable preauth key`);
    return { run: { session, checks, plan, topo, devices }, base, authKeyFile };
}

/** Starts every tailscaled as its setup prescribes, brings them up, and checks what they were given. */
async function joinTailnet(r: Run, authKeyFile: string): Promise<"tailscale0" | "userspace-networking"> {
    const { checks, devices, plan } = r;
    const all = Object.values(devices);
    // Kernel TUN when namespaces can have TUN devices (the WAN emulator already proved they can).
    const tun = await tunMode(r.topo);
    checks.info(`tailscaled networking: ${tun === "tailscale0" ? "kernel TUN (tailscale0 in each namespace)" : "userspace networking (no TUN in namespaces)"}`);
    const rendered = { extraArgs: plan.port.extraArgs, env: { PORT: String(plan.port.envPort) } };
    await step("tailscaled", 60_000, async () => {
        await startTailscaled(r.session, devices.laptop, { tun, extraArgs: ["--port=41641"], env: {} });
        // Node A exactly as the rendered DaemonSet runs it: PORT env and TS_TAILSCALED_EXTRA_ARGS.
        await startTailscaled(r.session, devices.nodea, { tun, ...rendered });
        // Node B like the default image in a pod: no PORT, no --port (tailscaled picks a port).
        await startTailscaled(r.session, devices.nodeb, { tun, extraArgs: [], env: {} });
        // Node C: the same rendered settings as node A.
        await startTailscaled(r.session, devices.nodec, { tun, ...rendered });
    });
    await step("tailscale up", 180_000, async () => {
        for (const d of all) await up(d, authKeyFile);
    });
    checks.check("every device joined the lab tailnet", all.every((d) => /^100\./.test(d.ip ?? "")), all.map((d) => `${d.name} ${d.ip}`).join(", "));

    // headscale's own DERP and Tailscale's public DERP map must be off: clients know only the lab's relays.
    const maps = await Promise.all(all.map(derpRegions));
    checks.check("every client got only the lab's DERP map from headscale", maps.every((m) => m === "900,901"), `regions per client: ${maps.join(" | ")}`);

    const portsC = await tailscaledUdpPorts(r.topo.ns.nodec);
    checks.check(`node C's tailscaled listens on the fixed port ${plan.port.port} too`, portsC.includes(plan.port.port), `tailscaled UDP ports in node C: ${portsC.join(", ") || "none"}`);
    const portsA = await tailscaledUdpPorts(r.topo.ns.nodea);
    checks.check(`node A's tailscaled listens on the fixed port ${plan.port.port} from the DaemonSet`, portsA.includes(plan.port.port), `tailscaled UDP ports in node A: ${portsA.join(", ") || "none"}`);

    // Everyone sees everyone before measuring.
    await step("netmaps", LIMITS.stepMs, () => waitUntil("every device to see its two peers", 60_000, async () => {
        for (const d of all) {
            const st = await statusOf(d);
            if (!st || all.some((o) => o !== d && !peerFromStatus(st, { ip: o.ip }))) return false;
        }
        return true;
    }, 500));
    return tun;
}

/** netcheck per device (hard NAT everywhere but node A), and node C's advertised endpoint. */
async function checkNat(r: Run): Promise<LabResults["netcheck"]> {
    const { checks, devices } = r;
    // Hard NAT shows up as MappingVariesByDestIP (two STUN addresses, two mappings).
    const mapping: LabResults["netcheck"] = {};
    for (const d of Object.values(devices)) {
        const nc = await netcheck(d);
        mapping[d.name] = { mappingVariesByDestIP: nc.mappingVariesByDestIP ?? null, globalV4: nc.globalV4 ?? null, preferredDERP: nc.preferredDERP ?? null };
        const want = d !== devices.nodea;
        checks.check(`netcheck on ${d.name}: ${want ? "hard NAT (MappingVariesByDestIP true)" : "no NAT (MappingVariesByDestIP false)"}`,
            nc.mappingVariesByDestIP === want, `UDP ${nc.udp}, GlobalV4 ${nc.globalV4 ?? "?"}, MappingVariesByDestIP ${String(nc.mappingVariesByDestIP)}`);
    }
    // Node C's random-port SNAT makes its STUN mapping vary, yet with a fixed port tailscaled also
    // advertises its public IP with that local port (magicsock: EndpointSTUN4LocalPort), which the
    // 1:1 NAT and the open port make reachable.
    const selfC = await statusOf(devices.nodec) as { Self?: { Addrs?: string[] } } | undefined;
    const addrsC = selfC?.Self?.Addrs ?? [];
    checks.check("node C advertises its public IP with the fixed port despite the SNAT", addrsC.includes(`${NET.nodec.eip}:${r.plan.port.port}`), `endpoints: ${addrsC.join(", ") || "none"}`);
    return mapping;
}

/** Which pairs are measured, and the path each must take. */
function pairsOf(devices: Devices): Array<{ pair: [Device, Device]; expect: Expectation }> {
    const { laptop, nodea, nodeb, nodec } = devices;
    const p = (a: Device, b: Device, path: Expectation["path"]) => ({ pair: [a, b] as [Device, Device], expect: { from: a.name, to: b.name, path } });
    return [
        p(laptop, nodea, "direct"), p(laptop, nodeb, "relayed"), p(nodea, nodeb, "direct"),
        p(laptop, nodec, "direct"), p(nodeb, nodec, "direct"), p(nodea, nodec, "direct"),
    ];
}

/** Measures every pair, then checks status against ping and each pair against its expectation. */
async function measurePairs(r: Run, base: Baseline): Promise<PairResult[]> {
    const pairs = pairsOf(r.devices);
    const measured: PairMeasurement[] = [];
    for (const { pair: [a, b] } of pairs) {
        const m = await step(`measure ${a.name} -> ${b.name}`, 150_000, () => measurePair(a, b, r.devices.nodea.name, base));
        r.checks.info(`${a.name} -> ${b.name}: via ${m.finalVia.join(", ")}; CurAddr ${m.curAddr || "(none: relayed)"}`);
        measured.push(m);
    }
    for (const m of measured) {
        r.checks.check(`${m.result.from} -> ${m.result.to}: status CurAddr agrees with ping's via`, (m.curAddr !== "") === (m.result.path === "direct"),
            `CurAddr ${m.curAddr || "empty"}, pongs ${m.result.path}`);
    }
    const results = measured.map((m) => m.result);
    for (const l of checkPairs(results, pairs.map((p) => p.expect))) r.checks.check(l.name, l.ok, l.detail);
    return results;
}

/** The router has no route out; the lab fails if anything but a peer's private candidate endpoint was tried. */
async function checkContained(r: Run): Promise<void> {
    const edge = await edgeReport(r.topo);
    r.checks.check("nothing tried to leave the lab", edge.foreign.length === 0,
        `unroutable at the router: ${edge.dropped} packet(s), to ${edge.tried.join(", ") || "nobody"}${edge.foreign.length ? `; NOT lab addresses: ${edge.foreign.join(", ")}` : " (peers' private candidate endpoints)"}`);
}

/** The whole lab after the prerequisites; returns early (with a failed check) when a step can't go on. */
async function lab(session: LabSession, checks: CheckLog, args: Args, finish: (code: number) => never): Promise<void> {
    if (!(await step("install", LIMITS.installMs, () => installTools(checks)))) return;
    const plan = await step("plan", LIMITS.planMs, async () => readPlan(session, checks, args.planDir));
    if (!plan) return;

    const labDeadline = setTimeout(() => {
        checks.check("the lab finished within its time limit", false, `${LIMITS.labMs} ms`);
        finish(1);
    }, LIMITS.labMs);
    labDeadline.unref();

    fs.rmSync(PATHS.work, { recursive: true, force: true });
    fs.mkdirSync(PATHS.logs, { recursive: true });
    const { run, base, authKeyFile } = await buildNetwork(session, checks, plan);
    const tun = await joinTailnet(run, authKeyFile);
    const netcheckByDevice = await checkNat(run);
    const pairs = await measurePairs(run, base);
    await checkContained(run);

    writeResults({ pairs, plan, tun, netcheck: netcheckByDevice, checks });
    checks.info(`wrote bench/results/direct-connection.json and .md`);
    if (args.keep) {
        checks.info(`--keep: namespaces ${session.netns.created.join(" ")} are left running; the next run removes them`);
        session.keep();
    }
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    const checks = new CheckLog();
    const finish = (code: number): never => {
        console.log(checks.summary());
        // The session's exit handler removes the namespaces and processes (unless --keep).
        process.exit(checks.failed > 0 || code !== 0 ? 1 : 0);
    };
    const failed = (e: unknown) => {
        // A LabError says what went wrong; anything else is a bug in the lab, so with its stack.
        const lines = (e instanceof LabError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)).split("\n");
        checks.check("the lab ran to the end", false, lines[0]!);
        for (const l of lines.slice(1, 20)) checks.info(l);
    };
    const total = setTimeout(() => {
        checks.check("the lab finished within its total time limit", false, `${(LIMITS.installMs + LIMITS.labMs) / 60_000} min`);
        finish(1);
    }, LIMITS.installMs + LIMITS.labMs);
    total.unref();

    if (!prerequisites(checks)) finish(0);
    const open = (): LabSession => {
        try {
            return LabSession.open({
                prefix: PREFIX,
                tempPrefix: TEMP_PREFIX,
                onInterrupt: (sig) => {
                    checks.check("the lab ran to the end", false, `interrupted by ${sig}`);
                    console.log(checks.summary());
                },
            });
        } catch (e) {
            failed(e);
            return finish(1);
        }
    };
    const session = open();
    if (session.removed.length > 0) checks.info(`removed leftovers of an earlier run: ${session.removed.join(" ")}`);
    try {
        await lab(session, checks, args, finish);
    } catch (e) {
        failed(e);
    }
    finish(0);
}

void main();
