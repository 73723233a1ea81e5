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
 * check.ts + check-model.ts (`directpath check`'s own Tailscale probe and verdict on the laptop and
 * the nodes, judged against the plans and the measured paths), report.ts (bench/results). This file
 * runs the phases in order and prints the checks.
 *
 * Every step has a time limit and so does the whole run. The run's session (lab/lib/session.ts)
 * owns every namespace and process: they are removed on exit, on failure and on Ctrl-C, and
 * leftovers of a killed run (prefix `dpt-`) before the start. Prints one line per check and ends
 * with `N passed, N failed`; exits 1 on any failure.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LabError, stopDaemon, waitUntil, withTimeout, type Daemon } from "../lib/proc";
import { CheckLog } from "../lib/report";
import { LabSession } from "../lib/session";
import { installTools, prerequisites } from "./build";
import { DERP_PORT, HEADSCALE_URL, LIMITS, NET, PATHS, PREFIX, STUN_PORT, TEMP_PREFIX } from "./config";
import {
    derpRegions, devicesOf, reloadPolicy, selectConfig, startDerpers, startFromConfig, startHeadscale, startTailscaled, statusOf, tailscaledUdpPorts, tunMode, up,
    type Device, type Devices, type Headscale,
} from "./daemons";
import { measureBaseline, measurePair, netcheck, pingVia, type Baseline, type PairMeasurement } from "./measure";
import {
    checkPairs, checkRelay, expectedRelayRttMs, labPolicy, median, peerFromStatus, peerRelayAddr, percentile, round1, viaKind, withinLinkFactor,
    type Expectation, type PairResult, type RelayResult, type Setup,
} from "./model";
import { readPlan, readPodPlan, readRelayPlan, type PlanFacts, type PodPlanFacts, type RelayPlanFacts } from "./plan";
import { writeResults, type LabResults } from "./report";
import { checkAfterRelay, checkPhase, type CheckPhase } from "./check";
import { applyFirewalls, applyNodePort, buildTopology, edgeReport, startWan, type Topology } from "./topology";

interface Args {
    planDir?: string;
    keep: boolean;
    /** Build (or find) the pinned tools and exit: CI builds them in the background beside other work. */
    buildOnly: boolean;
}

function parseArgs(argv: string[]): Args {
    const out: Args = { keep: false, buildOnly: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--plan-dir") out.planDir = path.resolve(argv[++i] ?? "");
        else if (argv[i] === "--keep") out.keep = true;
        else if (argv[i] === "--build-only") out.buildOnly = true;
        else throw new Error(`unknown argument ${argv[i]} (usage: npm run lab:tailscale [-- --plan-dir <dir>] [--keep] [--build-only])`);
    }
    return out;
}

/** The three rendered plans: the local stack (node C, and node A's fixed port), pod mode (node P), host mode + relay (node A). */
interface Plans {
    base: PlanFacts;
    pod: PodPlanFacts;
    relay?: RelayPlanFacts;
}

/** What the phases after the setup share. */
interface Run {
    session: LabSession;
    checks: CheckLog;
    plan: PlanFacts;
    plans: Plans;
    topo: Topology;
    devices: Devices;
    hs: Headscale;
    /** Node P's tailscaled (restarted between the control run and the rendered run). */
    nodep?: Daemon;
    tun?: "tailscale0" | "userspace-networking";
}

/** The directpath nodes (for the results' `setup`). */
const DIRECTPATH_NODES = ["node-a", "node-p"];

/** Runs `fn` as a named step with its own time limit. */
function step<T>(name: string, ms: number, fn: () => Promise<T>): Promise<T> {
    return withTimeout(`step "${name}"`, ms, fn);
}

/** Namespaces, WAN emulator, the plain-UDP baseline, the firewalls and NodePort, the derpers and headscale. */
async function buildNetwork(session: LabSession, checks: CheckLog, plans: Plans): Promise<{ run: Run; base: Baseline }> {
    const topo = await step("topology", LIMITS.stepMs, () => buildTopology(session));
    const devices = devicesOf(topo);
    await step("WAN emulator", 20_000, () => startWan(session, topo));
    checks.info(`one-way delays: DERP/control site ${NET.svc.delayMs} ms, laptop's home ${NET.home.delayMs} ms, node A ${NET.nodea.delayMs} ms, node B ${NET.nodeb.delayMs} ms, node C ${NET.nodec.delayMs} ms, node P ${NET.nodep.delayMs} ms`);
    const base = await step("underlay baseline", 180_000, () => measureBaseline(session, topo, devices));
    checks.check("the WAN emulator delays traffic between sites", (base.link.get("node-a|node-b") ?? 0) >= 4 * NET.nodea.delayMs,
        `plain UDP RTT ${[...base.link].map(([k, v]) => `${k} ${v} ms`).join(", ")}; to DERP: ${[...base.derp].map(([k, v]) => `${k} ${v} ms`).join(", ")}`);

    // Node A: the relay plan's rules when the relay is on (tailscaled's port and the relay port), node C: the local stack's.
    await step("firewalls", 20_000, () => applyFirewalls(topo, plans.relay?.iptables ?? plans.base.iptables, plans.base.iptables));
    const dnat = await step("NodePort", 20_000, () => applyNodePort(topo, plans.pod));
    checks.info(`node P: NodePort ${dnat.map((r) => `${r[r.indexOf("--dport") + 1]} -> ${r[r.length - 1]}`).join(", ")} (DNAT, no SNAT), pod traffic out with MASQUERADE --random-fully, inbound only the pod-mode plan's firewallRules`);
    const certNames = await step("derpers", 60_000, () => startDerpers(session, topo));
    checks.info(`two derpers (DERP + STUN): regions 900 and 901: ${NET.svc.derp1} and ${NET.svc.derp2}, DERP on :${DERP_PORT} (self-signed, pinned by CertName), STUN on :${STUN_PORT}`);
    const hs = await step("headscale", 60_000, () => startHeadscale(session, topo, certNames, plans.relay?.tags ?? []));
    checks.info(`headscale on ${HEADSCALE_URL}: DERP map from a file, embedded DERP off, no DERP URLs, update checks off; policy file (access grant for all${plans.relay ? `, ${plans.relay.tags.join(",")} owned by the lab user; no relay grant yet` : ""}); reusable preauth keys (one tagged ${plans.relay?.tags.join(",") ?? "-"})`);
    return { run: { session, checks, plan: plans.base, plans, topo, devices, hs }, base };
}

/** Starts every tailscaled as its setup prescribes, brings them up, and checks what they were given. */
async function joinTailnet(r: Run): Promise<"tailscale0" | "userspace-networking"> {
    const { checks, devices, plan, plans, hs } = r;
    const all = Object.values(devices);
    // Kernel TUN when namespaces can have TUN devices (the WAN emulator already proved they can).
    const tun = await tunMode(r.topo);
    r.tun = tun;
    checks.info(`tailscaled networking: ${tun === "tailscale0" ? "kernel TUN (tailscale0 in each namespace)" : "userspace networking (no TUN in namespaces)"}; node P as rendered (TS_USERSPACE=${plans.pod.facts.userspace})`);
    const rendered = { extraArgs: plan.port.extraArgs, env: { PORT: String(plan.port.envPort) } };
    await step("tailscaled", 120_000, async () => {
        await startTailscaled(r.session, devices.laptop, { tun, extraArgs: ["--port=41641"], env: {} });
        if (plans.relay) {
            // Node A as the rendered relay DaemonSet runs it: the init container's select-config
            // script picks any-node.hujson (@NODE_NAME@ replaced), then tailscaled --config with
            // the rendered TS_TAILSCALED_EXTRA_ARGS; AuthKey points at the lab's tagged key.
            const selected = await selectConfig(devices.nodea, plans.relay.facts, "node-a");
            await startFromConfig(r.session, devices.nodea, selected, plans.relay.facts, { tun, authKeyFile: hs.taggedKeyFile, staticEndpoints: true });
        } else {
            // Node A exactly as the rendered DaemonSet runs it: PORT env and TS_TAILSCALED_EXTRA_ARGS.
            await startTailscaled(r.session, devices.nodea, { tun, ...rendered });
        }
        // Node B like the default image in a pod: no PORT, no --port (tailscaled picks a port).
        await startTailscaled(r.session, devices.nodeb, { tun, extraArgs: [], env: {} });
        // Node C: the same rendered settings as node A.
        await startTailscaled(r.session, devices.nodec, { tun, ...rendered });
        // Node P, the control first: the rendered pod-mode file of its node without StaticEndpoints.
        const selected = await selectConfig(devices.nodep, plans.pod.facts, plans.pod.node);
        r.nodep = (await startFromConfig(r.session, devices.nodep, selected, plans.pod.facts, { tun, authKeyFile: hs.authKeyFile, staticEndpoints: false, logName: "tailscaled-node-p-control" })).daemon;
    });
    await step("tailscale up", 180_000, async () => {
        for (const d of [devices.laptop, devices.nodeb, devices.nodec, ...(plans.relay ? [] : [devices.nodea])]) await up(d, hs.authKeyFile);
    });
    checks.check("every device joined the lab tailnet", all.every((d) => /^100\./.test(d.ip ?? "")), all.map((d) => `${d.name} ${d.ip}`).join(", "));

    // headscale's own DERP and Tailscale's public DERP map must be off: clients know only the lab's relays.
    const maps = await Promise.all(all.map(derpRegions));
    checks.check("every client got only the lab's DERP map from headscale", maps.every((m) => m === "900,901"), `regions per client: ${maps.join(" | ")}`);

    const portsC = await tailscaledUdpPorts(r.topo.ns.nodec);
    checks.check(`node C's tailscaled listens on the fixed port ${plan.port.port} too`, portsC.includes(plan.port.port), `tailscaled UDP ports in node C: ${portsC.join(", ") || "none"}`);
    const portsA = await tailscaledUdpPorts(r.topo.ns.nodea);
    const portA = plans.relay?.facts.port ?? plan.port.port;
    checks.check(`node A's tailscaled listens on the fixed port ${portA} from the DaemonSet`, portsA.includes(portA), `tailscaled UDP ports in node A: ${portsA.join(", ") || "none"}`);
    if (plans.relay) {
        const rp = plans.relay.facts.config.RelayServerPort!;
        checks.check(`node A's tailscaled runs the peer relay server on RelayServerPort ${rp} from its config file`, portsA.includes(rp), `tailscaled UDP ports in node A: ${portsA.join(", ") || "none"}`);
    }
    const portsP = await tailscaledUdpPorts(r.topo.ns.podp);
    checks.check(`node P's tailscaled (pod namespace, --config) listens on the rendered port ${plans.pod.facts.port}`, portsP.includes(plans.pod.facts.port), `tailscaled UDP ports in node P's pod: ${portsP.join(", ") || "none"}`);

    await waitNetmaps(r);
    return tun;
}

/** Everyone sees everyone before measuring. */
async function waitNetmaps(r: Run): Promise<void> {
    const all = Object.values(r.devices);
    await step("netmaps", LIMITS.stepMs, () => waitUntil("every device to see its peers", 60_000, async () => {
        for (const d of all) {
            const st = await statusOf(d);
            if (!st || all.some((o) => o !== d && !peerFromStatus(st, { ip: o.ip }))) return false;
        }
        return true;
    }, 500));
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
    const addrsC = await selfAddrs(devices.nodec);
    checks.check("node C advertises its public IP with the fixed port despite the SNAT", addrsC.includes(`${NET.nodec.eip}:${r.plan.port.port}`), `endpoints: ${addrsC.join(", ") || "none"}`);
    return mapping;
}

async function selfAddrs(d: Device): Promise<string[]> {
    const st = await statusOf(d) as { Self?: { Addrs?: string[] } } | undefined;
    return st?.Self?.Addrs ?? [];
}

type PairSpec = { pair: [Device, Device]; expect: Expectation; setup?: Setup };
const p = (a: Device, b: Device, path: Expectation["path"], setup?: Setup): PairSpec => ({ pair: [a, b], expect: { from: a.name, to: b.name, path }, setup });

/** Measures pairs, then checks status against ping and each pair against its expectation. */
async function measurePairs(r: Run, base: Baseline, pairs: PairSpec[]): Promise<PairResult[]> {
    const measured: PairMeasurement[] = [];
    for (const { pair: [a, b], setup } of pairs) {
        const m = await step(`measure ${a.name} -> ${b.name}`, 150_000, () => measurePair(a, b, DIRECTPATH_NODES, base, setup));
        r.checks.info(`${a.name} -> ${b.name}${setup ? ` (${setup})` : ""}: via ${m.finalVia.join(", ")}; CurAddr ${m.curAddr || "(none: relayed)"}`);
        measured.push(m);
    }
    for (const m of measured) {
        r.checks.check(`${m.result.from} -> ${m.result.to}${m.result.setup === "control" ? " (control)" : ""}: status CurAddr agrees with ping's via`, (m.curAddr !== "") === (m.result.path === "direct"),
            `CurAddr ${m.curAddr || "empty"}, pongs ${m.result.path}`);
    }
    const results = measured.map((m) => m.result);
    for (const l of checkPairs(results, pairs.map((x) => x.expect))) r.checks.check(l.name, l.ok, l.detail);
    return results;
}

/** The pairs before node P's static endpoint (its control pair: laptop -> node P relayed). */
function mainPairs(d: Devices): PairSpec[] {
    return [
        p(d.laptop, d.nodea, "direct"), p(d.laptop, d.nodeb, "relayed"), p(d.nodea, d.nodeb, "direct"),
        p(d.laptop, d.nodec, "direct"), p(d.nodeb, d.nodec, "direct"), p(d.nodea, d.nodec, "direct"),
        // The control: node P without its static endpoint is relayed from the laptop.
        p(d.laptop, d.nodep, "relayed", "control"),
    ];
}

/** Every pair with node P once it has its static endpoint. */
function podPairs(d: Devices): PairSpec[] {
    return [p(d.laptop, d.nodep, "direct"), p(d.nodea, d.nodep, "direct"), p(d.nodeb, d.nodep, "direct"), p(d.nodec, d.nodep, "direct")];
}

/**
 * Node P with its rendered config file (StaticEndpoints in): restart its tailscaled (same state:
 * a container restart), check it advertises <public IP>:<nodePort>, and measure every pair with it.
 */
async function podPhase(r: Run, base: Baseline): Promise<PairResult[]> {
    const { checks, devices, plans } = r;
    const want = plans.pod.facts.config.StaticEndpoints ?? [];
    await stopDaemon(r.nodep!, "SIGTERM", 10_000);
    const selected = await selectConfig(devices.nodep, plans.pod.facts, plans.pod.node);
    r.nodep = (await step("node P with its static endpoint", 90_000, () => startFromConfig(r.session, devices.nodep, selected, plans.pod.facts,
        { tun: r.tun!, authKeyFile: r.hs.authKeyFile, staticEndpoints: true, logName: "tailscaled-node-p" }))).daemon;
    let addrs: string[] = [];
    await waitUntil("node P to advertise its static endpoint", 30_000, async () => {
        addrs = await selfAddrs(devices.nodep);
        return want.every((e) => addrs.includes(e));
    }, 500).catch(() => undefined);
    checks.check(`node P advertises the rendered static endpoint ${want.join(", ")} (node's public IP + NodePort)`, want.length > 0 && want.every((e) => addrs.includes(e)), `endpoints: ${addrs.join(", ") || "none"}`);
    await waitNetmaps(r);
    const results = await measurePairs(r, base, podPairs(devices));
    for (const res of results) {
        const l = withinLinkFactor(res, 1.5);
        checks.check(l.name, l.ok, l.detail);
    }
    return results;
}

/**
 * The peer relay: put the rendered relayGrant into headscale's policy (SIGHUP), then laptop ->
 * node B (both hard NAT) must go through node A's relay server, not DERP.
 */
async function relayPhase(r: Run, base: Baseline, derpPair: PairResult | undefined, checkRun: CheckPhase | undefined): Promise<RelayResult | undefined> {
    const { checks, devices, plans, hs } = r;
    const relay = plans.relay!;
    // What the topology says before measuring: laptop -> A -> B is two WAN links, each the plain-UDP
    // RTT between the sites (5 ms + 5 ms one way each leg in the emulator: ~10 ms per leg, ~20 ms).
    const legs = [base.link.get("laptop|node-a") ?? NaN, base.link.get("node-a|node-b") ?? NaN];
    const expectedMs = expectedRelayRttMs(legs);
    checks.info(`expected peer-relay RTT laptop -> node-b: laptop<->A ${legs[0]} ms + A<->B ${legs[1]} ms = ${expectedMs} ms (vs link ${base.link.get("laptop|node-b")} ms, DERP measured ${derpPair?.rttMedianMs ?? "?"} ms)`);
    await reloadPolicy(hs, labPolicy(hs.user, relay.tags, relay.grants));
    checks.info(`headscale policy now has the rendered relayGrant: ${JSON.stringify(relay.grants)}`);
    const { pongs, firstAfterMs } = await step("peer relay laptop -> node-b", 180_000, () => pingVia(devices.laptop, devices.nodeb, "peer-relay", 90_000));
    const viaRelay = pongs.filter((x) => viaKind(x.via) === "peer-relay");
    const vias = [...new Set(pongs.map((x) => x.via))];
    checks.info(`laptop -> node-b after the grant: first peer-relay pong after ${firstAfterMs ?? "never"} ms; vias ${vias.join(", ") || "none"}`);
    const used = viaRelay.length >= pongs.length / 2 && viaRelay.length > 0 ? viaRelay : pongs;
    if (used.length === 0) {
        checks.check("laptop -> node-b: pongs through the peer relay", false, "no pongs");
        return undefined;
    }
    const rtts = used.map((x) => x.rttMs);
    const res: RelayResult = {
        from: devices.laptop.name, to: devices.nodeb.name, relay: devices.nodea.name, via: used[0]!.via,
        rttMedianMs: round1(median(rtts)), rttP95Ms: round1(percentile(rtts, 95)), expectedMs,
        linkRttMs: base.link.get("laptop|node-b") ?? NaN,
        derpPathRttMs: derpPair?.derpPathRttMs ?? NaN, derpMeasuredMs: derpPair?.rttMedianMs ?? NaN,
    };
    const relayAddr = `${NET.nodea.wan}:${relay.facts.config.RelayServerPort}`;
    for (const l of checkRelay(res, relayAddr)) checks.check(l.name, l.ok, l.detail);
    checks.info(`peer relay address in the via: ${peerRelayAddr(res.via) ?? "(none)"}`);
    if (checkRun) await step("directpath check after the relay grant", 150_000, () => checkAfterRelay({ checks, devices, phase: checkRun, relayAddr }));
    return res;
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
    const plans = await step("plan", LIMITS.planMs, async (): Promise<Plans | undefined> => {
        const base = readPlan(session, checks, args.planDir);
        const pod = readPodPlan(session, checks);
        const relay = readRelayPlan(session, checks);
        return base && pod ? { base, pod, relay } : undefined;
    });
    if (!plans) return;

    const labDeadline = setTimeout(() => {
        checks.check("the lab finished within its time limit", false, `${LIMITS.labMs} ms`);
        finish(1);
    }, LIMITS.labMs);
    labDeadline.unref();

    fs.rmSync(PATHS.work, { recursive: true, force: true });
    fs.mkdirSync(PATHS.logs, { recursive: true });
    const { run, base } = await buildNetwork(session, checks, plans);
    const tun = await joinTailnet(run);
    const netcheckByDevice = await checkNat(run);
    const pairs = await measurePairs(run, base, mainPairs(run.devices));
    pairs.push(...await podPhase(run, base));
    // directpath check's own Tailscale probe and verdict, against the paths the lab just measured.
    const expected = [...mainPairs(run.devices), ...podPairs(run.devices)].filter((x) => x.setup !== "control").map((x) => x.expect);
    const checkRun = await step("directpath check (tailscale.sh)", 420_000, () => checkPhase({ checks, devices: run.devices, plans, expected }));
    const relay = plans.relay ? await relayPhase(run, base, pairs.find((x) => x.from === "laptop" && x.to === "node-b"), checkRun) : undefined;
    if (!plans.relay) checks.check("the peer-relay part ran", false, "the relay plan was not usable (see above)");
    await checkContained(run);

    writeResults({ pairs, relay, plans, tun, netcheck: netcheckByDevice, checks, check: checkRun?.records ?? [] });
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
    if (args.buildOnly) {
        // No namespaces, no lock: only the tool cache (shared with the lab run that follows).
        await installTools(checks);
        finish(0);
    }
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
