/**
 * `directpath check`'s Tailscale part inside the direct-connection lab: the cluster runner's own
 * probe (check/probes/tailscale.sh, the same command tailscaleProbeCommand gives `kubectl exec`,
 * the same two runs and peer choice of runTailscaleProbe) run in a device's namespace against its
 * real tailscaled socket, under busybox sh and busybox applets first on PATH as in the Tailscale
 * image. Pods get what their container has: the rendered check-port.sh (from the plan's ConfigMap)
 * and the container's env. The outputs go into the check's checkTailscaleProbes / tailscaleVerdict
 * (lab/tailscale/check-model.ts), judged against what the lab set up and measured.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_PROBE_TIMEOUT_S } from "../../check/cluster";
import { tailscaleProbeCommand } from "../../check/probes";
import { runTailscaleProbe } from "../../check/tailscale";
import { readRendered } from "../lib/rendered";
import { busyboxAppletDir } from "../lib/prereqs";
import { exec, LabError } from "../lib/proc";
import type { CheckLog } from "../lib/report";
import { toolBin } from "./build";
import { DERP_REGIONS, NET, PATHS } from "./config";
import { tailscaledUdpPorts, TS_ENV, type Device, type Devices } from "./daemons";
import { checkProbeSetup, deviceCheckLines, type CheckProbeSetup, type DeviceCheck, type PeerExpectation } from "./check-model";
import { ManifestError, type Expectation } from "./model";
import type { PlanFacts, PodPlanFacts, RelayPlanFacts } from "./plan";

/** Busybox applets the probe and check-port.sh call (the Tailscale image has them from Alpine's busybox). */
const APPLETS = ["sh", "env", "timeout", "sed", "awk", "readlink", "cat", "grep", "netstat", "wget"] as const;

/**
 * A directory with busybox applet links and the lab's `tailscale` CLI, to put first on PATH (what
 * the pod's image offers: busybox as sh, `tailscale` on PATH). Under the run's work dir.
 */
export function probeTools(): string {
    const dir = busyboxAppletDir(path.join(PATHS.work, "check-probe-bin"), APPLETS);
    fs.symlinkSync(toolBin("tailscale"), path.join(dir, "tailscale"));
    return dir;
}

/** The check's view of a rendered plan (its plan.json and manifests/). */
export function setupFromPlanDir(dir: string): CheckProbeSetup {
    const r = readRendered("local", dir);
    return checkProbeSetup(r.plan, r.objects.map((o) => o.object));
}

export interface DeviceProbe {
    device: Device;
    /** The last run's stdout (the frame the check judges). */
    output: string;
    /** The peers the probe chose from the status (pingTargets). */
    peers: string[];
    code: number;
    stderr: string;
}

/**
 * Runs the probe against `d`'s tailscaled as the cluster runner does in a pod: first the status, then
 * pings to the peers it lists. With `setup` (a TailscaleDirect pod): the rendered check-port.sh as
 * DPC_PORT_CHECK, and the container's env; without (the laptop): no port check script, plain env.
 */
export async function probeDevice(d: Device, tools: string, setup: CheckProbeSetup | undefined, tag: string = d.name): Promise<DeviceProbe> {
    let checkPortScript: string | undefined;
    if (setup?.checkPort) {
        // Where the pod has it mounted (/etc/directpath/...), the lab keeps it in the device's dir.
        checkPortScript = path.join(d.dir, "directpath-checks", path.posix.basename(setup.checkPort.podPath));
        fs.mkdirSync(path.dirname(checkPortScript), { recursive: true });
        fs.writeFileSync(checkPortScript, setup.checkPort.script, { mode: 0o755 });
    }
    const env = { PATH: `${tools}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: "/root", ...(setup?.env ?? {}), ...TS_ENV };
    const { last, peers } = await runTailscaleProbe(async (peers) => {
        const c = tailscaleProbeCommand({ socket: d.socket, checkPortScript, peers, timeoutSeconds: DEFAULT_PROBE_TIMEOUT_S, pod: d.name });
        return exec(c.argv, { ns: d.ns, env, timeoutMs: c.timeoutMs, allowFail: true });
    });
    fs.writeFileSync(path.join(PATHS.logs, `check-probe-${tag}.out`), last.stdout + (last.stderr ? `\n# stderr:\n${last.stderr}` : ""));
    return { device: d, output: last.stdout, peers, code: last.code, stderr: last.stderr };
}

/** What the results record per probed device. */
export interface CheckRecord {
    device: string;
    /** The plan the device was checked against, and how (a TailscaleDirect pod, or a client). */
    plan: string;
    role: "pod" | "client";
    when: "before the relay grant" | "after the relay grant";
    verdict: string;
    summary: string;
    evidence: string[];
    peers: Array<{ peer: string; ip: string; path?: string; via?: string }>;
}

/** What the check phase hands to the relay phase. */
export interface CheckPhase {
    tools: string;
    nodeA: CheckProbeSetup;
    records: CheckRecord[];
    expect: (from: Device, to: Device) => PeerExpectation;
}

/** The lab's expectation for a pair (either order) as the check names it: relayed = DERP while no relay grant is in the policy. */
function expectationOf(expected: readonly Expectation[], nodeA: Device, portA: number) {
    return (from: Device, to: Device): PeerExpectation => {
        const e = expected.find((x) => (x.from === from.name && x.to === to.name) || (x.from === to.name && x.to === from.name));
        if (!e) throw new LabError(`the lab has no expected path for ${from.name} <-> ${to.name}`);
        if (!to.ip) throw new LabError(`${to.name} has no Tailscale IP`);
        const path = e.path === "direct" ? "direct" as const : "derp" as const;
        // Node A has one endpoint, its public address and the plan's port (no NAT in front of it).
        const via = path === "derp" ? DERP_REGIONS.map((r) => r.code) : to === nodeA ? [`${NET.nodea.wan}:${portA}`] : undefined;
        return { name: to.name, ip: to.ip, path, ...(via ? { via } : {}) };
    };
}

function judge(checks: CheckLog, d: DeviceCheck, plan: string, when: CheckRecord["when"]): CheckRecord {
    const { verdict: v, lines, peers } = deviceCheckLines(d);
    for (const l of lines) checks.check(l.name, l.ok, l.detail);
    return {
        device: d.device, plan, role: d.role, when, verdict: v.verdict, summary: v.summary, evidence: v.evidence,
        peers: peers.map((x) => ({ peer: d.peers.find((p) => p.ip === x.peer)?.name ?? "?", ip: x.peer, ...(x.path ? { path: x.path } : { path: x.status }), ...(x.via ? { via: x.via } : {}) })),
    };
}

/**
 * After the pairs are measured (node P with its static endpoint, no relay grant yet): the check's
 * probe on the laptop (a client), node A (the relay plan's TailscaleDirect, else the local plan's),
 * node P (the pod-mode plan's) and node B (the negative control: the default tailscaled, checked
 * as if it were the local plan's TailscaleDirect pod). Every expectation comes from the plans and
 * from the lab's own expected paths (`expected`, which the measurements already met).
 */
export async function checkPhase(o: { checks: CheckLog; devices: Devices; plans: { base: PlanFacts; pod: PodPlanFacts; relay?: RelayPlanFacts }; expected: readonly Expectation[] }): Promise<CheckPhase | undefined> {
    const { checks, devices, plans } = o;
    let base: CheckProbeSetup, nodeA: CheckProbeSetup, pod: CheckProbeSetup;
    const aPlan = plans.relay ? "relay plan" : "local plan";
    try {
        base = setupFromPlanDir(plans.base.dir);
        nodeA = plans.relay ? setupFromPlanDir(plans.relay.dir) : base;
        pod = setupFromPlanDir(plans.pod.dir);
    } catch (e) {
        checks.check("directpath check reads each plan's TailscaleDirect (targetsFromPlan)", false, e instanceof ManifestError ? e.problems.join("; ") : (e as Error).message);
        return undefined;
    }
    const portA = plans.relay?.facts.port ?? plans.base.port.port;
    const relayPort = plans.relay?.facts.config.RelayServerPort;
    const show = (s: CheckProbeSetup) => `${s.configured.namespace}/${s.configured.workloadName} port ${s.configured.port}${s.relayPort ? ` relay ${s.relayPort}` : ""}, readiness ${s.checkPort?.podPath ?? "none"}`;
    checks.check("directpath check reads the same ports from each plan as the lab (targetsFromPlan; the check-port.sh its readiness probe runs)",
        base.configured.port === plans.base.port.port && nodeA.configured.port === portA && nodeA.relayPort === relayPort && pod.configured.port === plans.pod.facts.port
        && [base, nodeA, pod].every((s) => s.checkPort !== undefined),
        `local: ${show(base)}; ${aPlan} (node A): ${show(nodeA)}; pod mode (node P): ${show(pod)}`);
    checks.info(`container env given to the probe in pods (kubectl exec inherits it): ${Object.keys(nodeA.env).join(" ")}; left out: ${nodeA.dropped.join("; ") || "nothing"}`);
    const tools = probeTools();
    checks.info(`probe: ${tailscaleProbeCommand({ socket: "<device's tailscaled socket>", checkPortScript: nodeA.checkPort ? "<rendered check-port.sh>" : undefined, peers: ["<peers>"], timeoutSeconds: DEFAULT_PROBE_TIMEOUT_S, pod: "<device>" }).argv.slice(0, -1).join(" ")} <check/probes/tailscale.sh>, in the device's namespace, busybox applets first on PATH (${APPLETS.join(" ")})`);

    const { laptop, nodea, nodeb, nodep } = devices;
    const all = Object.values(devices);
    const expect = expectationOf(o.expected, nodea, portA);
    const peersOf = (d: Device) => all.filter((x) => x !== d).map((x) => expect(d, x));
    // Probe node B first: its pings (B initiates, to A's open port and P's static endpoint) open
    // B's SNAT mappings, as B's own traffic would. A's and P's pings to B otherwise start on an
    // expired mapping and need B's answer through DERP (3.3 to 3.7 s for A -> B in the
    // measurements), close to the probe's 5 pings a second apart. Then the laptop, then A and P.
    const order = [nodeb, laptop, nodea, nodep];
    const setups = new Map<Device, CheckProbeSetup | undefined>([[nodeb, base], [laptop, undefined], [nodea, nodeA], [nodep, pod]]);
    const probed = new Map<Device, { output: string; actual: number[] }>();
    for (const d of order) {
        const p = await probeDevice(d, tools, setups.get(d));
        if (p.code !== 0) checks.info(`tailscale.sh on ${d.name} exited ${p.code}: ${p.stderr.trim().split("\n")[0] ?? ""}`);
        probed.set(d, { output: p.output, actual: await tailscaledUdpPorts(d.ns) });
    }
    const out = (d: Device) => probed.get(d)!;
    const records: CheckRecord[] = [];
    const when = "before the relay grant" as const;
    records.push(judge(checks, { device: laptop.name, role: "client", output: out(laptop).output, configured: nodeA.configured, peers: peersOf(laptop), own: [nodeb.name, nodea.name], label: `check from ${laptop.name}` }, `${aPlan} (client)`, when));
    records.push(judge(checks, { device: nodea.name, role: "pod", output: out(nodea).output, configured: nodeA.configured, peers: peersOf(nodea),
        port: { held: true, ...(nodeA.relayPort ? { relayPort: nodeA.relayPort } : {}), actual: out(nodea).actual }, label: `check on ${nodea.name} (${aPlan})` }, aPlan, when));
    records.push(judge(checks, { device: nodep.name, role: "pod", output: out(nodep).output, configured: pod.configured, peers: peersOf(nodep),
        port: { held: true, actual: out(nodep).actual }, label: `check on ${nodep.name} (pod-mode plan)` }, "pod-mode plan", when));
    records.push(judge(checks, { device: nodeb.name, role: "pod", output: out(nodeb).output, configured: base.configured, peers: peersOf(nodeb),
        port: { held: false, actual: out(nodeb).actual }, label: `check on ${nodeb.name} (default, as a local-plan pod)` }, "local plan, on the default node (negative control)", when));
    return { tools, nodeA, records, expect };
}

/** After the relay grant: the laptop's probe again; node B must now be relayed through node A's peer relay (still present, never absent). */
export async function checkAfterRelay(o: { checks: CheckLog; devices: Devices; phase: CheckPhase; relayAddr: string }): Promise<CheckRecord> {
    const { laptop, nodeb } = o.devices;
    const peers = Object.values(o.devices).filter((x) => x !== laptop).map((x) => (x === nodeb ? { ...o.phase.expect(laptop, x), path: "peer-relay" as const, via: [o.relayAddr] } : o.phase.expect(laptop, x)));
    const p = await probeDevice(laptop, o.phase.tools, undefined, "laptop-after-relay-grant");
    const d: DeviceCheck = { device: laptop.name, role: "client", output: p.output, configured: o.phase.nodeA.configured, peers, own: [nodeb.name], label: `check from ${laptop.name} after the relay grant` };
    const r = judge(o.checks, d, "relay plan (client)", "after the relay grant");
    o.phase.records.push(r);
    return r;
}
