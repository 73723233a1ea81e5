/**
 * The direct-connection lab's measurements: the plain-UDP baseline between the sites (before the
 * firewalls go up), `tailscale netcheck` per device, and per pair of devices the time to a direct
 * path and the RTT of `tailscale ping`.
 */
import * as path from "node:path";
import { exec, LabError, ROOT, sleep, stopDaemon, waitUntil } from "../lib/proc";
import type { LabSession } from "../lib/session";
import { NET, PINGS } from "./config";
import { startLogged, statusOf, ts, type Device, type Devices } from "./daemons";
import { classifyPeer, median, parsePingOutput, peerFromStatus, percentile, round1, setupOf, viaKind, type PairResult, type PathKind, type Pong, type Setup } from "./model";
import type { Topology } from "./topology";

const PROBE = path.join(ROOT, "lab", "tailscale", "udp-probe.ts");
const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const ECHO_PORT = "7";

/** Median plain-UDP round trip from a namespace to an echo server (12 of 13 probes, the first one warms up). */
async function udpRtt(fromNs: string, toAddr: string): Promise<number> {
    const r = await exec([process.execPath, TSX, PROBE, "probe", toAddr, ECHO_PORT, "13", "1000"], { ns: fromNs, timeoutMs: 30_000 });
    const { rttsMs } = JSON.parse(r.stdout.trim().split("\n").pop()!) as { rttsMs: number[] };
    if (rttsMs.length < 6) throw new LabError(`UDP probe ${fromNs} -> ${toAddr}: only ${rttsMs.length} of 13 answers`);
    return round1(median(rttsMs.slice(1)));
}

export interface Baseline {
    /** Plain UDP RTT between the sites of two devices, keyed `a|b` (names sorted). */
    link: Map<string, number>;
    /** Plain UDP RTT from each device's site to the DERP site. */
    derp: Map<string, number>;
}

/** Plain UDP RTTs between the sites and to the DERP site, from where each device's traffic really starts. */
export async function measureBaseline(session: LabSession, topo: Topology, devices: Devices): Promise<Baseline> {
    const servers: Array<[string, string, string]> = [
        ["echo-nodec", topo.ns.nodec, NET.nodec.node], ["echo-nodea", topo.ns.nodea, NET.nodea.wan],
        ["echo-nodeb", topo.ns.nodeb, NET.nodeb.wan], ["echo-svc", topo.ns.svc, NET.svc.derp1],
        ["echo-nodep", topo.ns.nodep, NET.nodep.wan],
    ];
    const echo = servers.map(([name, ns, ip]) => startLogged(session, name, ns, [process.execPath, TSX, PROBE, "echo", ip, ECHO_PORT]));
    await waitUntil("the UDP echo servers", 20_000, () => echo.every((d) => d.log().includes("listening")));
    const b: Baseline = { link: new Map(), derp: new Map() };
    // Measured through the home NAT and the pod SNAT, as the devices' own traffic goes.
    b.link.set("laptop|node-a", await udpRtt(topo.ns.laptop, NET.nodea.wan));
    b.link.set("laptop|node-b", await udpRtt(topo.ns.laptop, NET.nodeb.wan));
    b.link.set("node-a|node-b", await udpRtt(topo.ns.podb, NET.nodea.wan));
    b.link.set("laptop|node-c", await udpRtt(topo.ns.laptop, NET.nodec.eip));
    b.link.set("node-b|node-c", await udpRtt(topo.ns.podb, NET.nodec.eip));
    b.link.set("node-a|node-c", await udpRtt(topo.ns.nodea, NET.nodec.eip));
    // Node P: from each peer's site to the node's public address (the pod's own traffic leaves through the node's SNAT).
    b.link.set("laptop|node-p", await udpRtt(topo.ns.laptop, NET.nodep.wan));
    b.link.set("node-a|node-p", await udpRtt(topo.ns.nodea, NET.nodep.wan));
    b.link.set("node-b|node-p", await udpRtt(topo.ns.podb, NET.nodep.wan));
    b.link.set("node-c|node-p", await udpRtt(topo.ns.nodec, NET.nodep.wan));
    for (const d of Object.values(devices)) b.derp.set(d.name, await udpRtt(d.ns, NET.svc.derp1));
    for (const d of echo) await stopDaemon(d, "SIGKILL", 2000);
    return b;
}

export interface NetcheckResult {
    udp?: boolean;
    globalV4?: string;
    mappingVariesByDestIP?: boolean;
    preferredDERP?: number;
}

/** `tailscale netcheck --format=json` on a device (fields left undefined when it can't be read). */
export async function netcheck(d: Device): Promise<NetcheckResult> {
    const r = await ts(d, ["netcheck", "--format=json"], 45_000);
    try {
        const nc = JSON.parse(r.stdout) as { MappingVariesByDestIP?: boolean; GlobalV4?: string; PreferredDERP?: number; UDP?: boolean };
        return { udp: nc.UDP, globalV4: nc.GlobalV4, mappingVariesByDestIP: nc.MappingVariesByDestIP, preferredDERP: nc.PreferredDERP };
    } catch {
        return {};
    }
}

export interface PairMeasurement {
    result: PairResult;
    finalVia: string[];
    curAddr: string;
}

/** One pair: time to direct (ping until direct while polling CurAddr), then PINGS pings for the path and RTT. */
export async function measurePair(from: Device, to: Device, directpathNodes: readonly string[], base: Baseline, setup?: Setup): Promise<PairMeasurement> {
    // 1) First contact: ping until direct (at most 15 pings) while polling status for CurAddr,
    //    and for 3 s more after the ping stops (it stops at its first direct pong).
    const t0 = Date.now();
    let timeToDirectMs: number | null = null;
    let pingDoneAt: number | undefined;
    const ping = ts(from, ["ping", "-c", "15", "--timeout=2s", to.ip!], 60_000).finally(() => (pingDoneAt = Date.now()));
    while (pingDoneAt === undefined || Date.now() - pingDoneAt < 3000) {
        const st = await statusOf(from);
        const peer = st ? peerFromStatus(st, { ip: to.ip }) : undefined;
        if (peer && classifyPeer(peer) === "direct") {
            timeToDirectMs = Date.now() - t0;
            break;
        }
        await sleep(100);
    }
    await ping;
    // 2) RTT: a fixed number of pings, not stopping at the first direct pong.
    const r = await ts(from, ["ping", "--until-direct=false", "-c", String(PINGS), "--timeout=2s", to.ip!], PINGS * 4000);
    const pongs = parsePingOutput(r.stdout);
    const st = await statusOf(from);
    const peer = st ? peerFromStatus(st, { ip: to.ip }) : undefined;
    const curAddr = peer?.curAddr ?? "";
    const direct = pongs.filter((p) => p.path === "direct");
    const relayed = pongs.filter((p) => p.path === "relayed");
    const path: PathKind = direct.length >= relayed.length && direct.length > 0 ? "direct" : "relayed";
    const rtts = (path === "direct" ? direct : relayed).map((p) => p.rttMs);
    if (rtts.length === 0) throw new LabError(`${from.name} -> ${to.name}: no pongs (${r.stdout.trim().split("\n").pop() ?? ""} ${r.stderr.trim()})`);
    const key = [from.name, to.name].sort().join("|");
    return {
        result: {
            from: from.name, to: to.name, setup: setup ?? setupOf(from.name, to.name, directpathNodes), path,
            timeToDirectMs: path === "direct" ? timeToDirectMs : null,
            rttMedianMs: round1(median(rtts)), rttP95Ms: round1(percentile(rtts, 95)),
            linkRttMs: base.link.get(key) ?? NaN,
            derpPathRttMs: round1((base.derp.get(from.name) ?? NaN) + (base.derp.get(to.name) ?? NaN)),
        },
        finalVia: [...new Set(pongs.map((p) => p.via))],
        curAddr,
    };
}


/**
 * `tailscale ping` until a pong comes `via` the wanted kind (at most `ms`), then PINGS pings;
 * returns the pongs of the second run (all of them: the caller checks which way they came).
 */
export async function pingVia(from: Device, to: Device, want: "peer-relay" | "direct", ms: number): Promise<{ pongs: Pong[]; firstAfterMs: number | null }> {
    const t0 = Date.now();
    let firstAfterMs: number | null = null;
    while (Date.now() - t0 < ms) {
        const r = await ts(from, ["ping", "--until-direct=false", "-c", "3", "--timeout=2s", to.ip!], 20_000);
        if (parsePingOutput(r.stdout).some((p) => viaKind(p.via) === want)) {
            firstAfterMs = Date.now() - t0;
            break;
        }
        await sleep(500);
    }
    const r = await ts(from, ["ping", "--until-direct=false", "-c", String(PINGS), "--timeout=2s", to.ip!], PINGS * 4000);
    return { pongs: parsePingOutput(r.stdout), firstAfterMs };
}
