/**
 * Tailscale: parsers for `tailscale status --json`, `tailscale ping` and the TailscaleDirect pod's
 * own port check (components/tailscale/check-port.sh), and the verdict. Pure.
 */
import { parseFrame } from "./frame";
import type { Verdict } from "./model";
import { parseUdpListeners } from "./parse";

export type PathKind = "direct" | "peer-relay" | "derp" | "none";

export interface StatusPeer {
    hostName: string;
    dnsName: string;
    ips: string[];
    online: boolean;
    /** Direct endpoint in use ("ip:port"), "" when none. */
    curAddr: string;
    /** DERP region code of the peer's home relay. */
    relay: string;
    /** Peer relay in use, "" when none (Tailscale 1.86+). */
    peerRelay: string;
    /** What the status says the path is, from CurAddr / PeerRelay / Relay. */
    path: PathKind;
}

export interface TailscaleStatus {
    backendState: string;
    version: string;
    self: { hostName: string; ips: string[]; addrs: string[] };
    peers: StatusPeer[];
    health: string[];
}

export type StatusResult = { ok: true; status: TailscaleStatus } | { ok: false; reason: string };

const str = (v: unknown) => (typeof v === "string" ? v : "");
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** `tailscale status --json`. Anything that is not its JSON shape is a failure with the reason. */
export function parseTailscaleStatus(text: string): StatusResult {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        return { ok: false, reason: `not JSON (${(e as Error).message.split("\n")[0]}): ${text.trim().slice(0, 80) || "(empty)"}` };
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { ok: false, reason: "not a JSON object" };
    const d = doc as Record<string, unknown>;
    if (typeof d.BackendState !== "string") return { ok: false, reason: "no BackendState: not `tailscale status --json` output" };
    const self = (typeof d.Self === "object" && d.Self !== null ? d.Self : {}) as Record<string, unknown>;
    const peerMap = (typeof d.Peer === "object" && d.Peer !== null ? d.Peer : {}) as Record<string, Record<string, unknown>>;
    const peers: StatusPeer[] = Object.values(peerMap).map((p) => {
        const curAddr = str(p.CurAddr);
        const peerRelay = str(p.PeerRelay);
        const relay = str(p.Relay);
        return {
            hostName: str(p.HostName), dnsName: str(p.DNSName), ips: strs(p.TailscaleIPs), online: p.Online === true,
            curAddr, relay, peerRelay,
            path: curAddr ? "direct" : peerRelay ? "peer-relay" : relay ? "derp" : "none",
        };
    });
    return {
        ok: true,
        status: {
            backendState: d.BackendState, version: str(d.Version),
            self: { hostName: str(self.HostName), ips: strs(self.TailscaleIPs), addrs: strs(self.Addrs) },
            peers, health: strs(d.Health),
        },
    };
}

/**
 * The peers the check pings, from `tailscale status`: online, with an IPv4 tailnet address, by
 * hostname, at most `max` (the cluster runner and the direct-connection lab pick them the same way).
 */
export function pingTargets(status: TailscaleStatus, max = 5): string[] {
    return status.peers.filter((x) => x.online && x.ips.some((i) => i.includes(".")))
        .sort((a, b) => a.hostName.localeCompare(b.hostName)).slice(0, max)
        .map((x) => x.ips.find((i) => i.includes("."))!);
}

/** A Go `time.Duration` string ("850µs", "12ms", "1.5s", "1m2.5s") in milliseconds. */
export function goDurationMs(s: string): number | undefined {
    const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, "µs": 0.001, "μs": 0.001, us: 0.001, ns: 1e-6 };
    if (s === "0s" || s === "0") return 0;
    let total = 0;
    let rest = s;
    while (rest.length > 0) {
        const m = /^(\d+(?:\.\d+)?)(ms|µs|μs|us|ns|h|m|s)/.exec(rest);
        if (!m) return undefined;
        total += Number(m[1]) * unit[m[2]!]!;
        rest = rest.slice(m[0].length);
    }
    return total;
}

export interface PingResult {
    status: "pong" | "timeout" | "error" | "unparsed";
    /** The path of the last pong. */
    path?: PathKind;
    /** "ip:port" of a direct pong, the region of a DERP pong, the relay of a peer-relay pong. */
    via?: string;
    /** Every pong's path in order (a run can start on DERP and go direct). */
    pongs: Array<{ path: PathKind; via: string; ms: number }>;
    detail: string;
}

/**
 * `tailscale ping [-c N] <peer>`: lines `pong from <name> (<ip>) via <ip:port|DERP(region)|peer-relay(...)> in <n>ms`,
 * then possibly `direct connection not established`; or `ping "<ip>" timed out`, `no reply`, an error.
 */
export function parseTailscalePing(lines: readonly string[], rc: number): PingResult {
    const pongs: PingResult["pongs"] = [];
    for (const l of lines) {
        // `pong from NAME (IP[, PORT]) via VIA in LATENCY`; LATENCY is a Go duration (850µs, 12ms, 1.5s).
        const m = /^pong from \S+ \(([^)]*)\) via (\S+?(?:\([^)]*\))?)\s+in (\S+)$/.exec(l.trim());
        if (!m) continue;
        const via = m[2]!;
        const ms = goDurationMs(m[3]!);
        if (ms === undefined) continue;
        const derp = /^DERP\(([^)]*)\)$/.exec(via);
        const relay = /^peer-?relay\(([^)]*)\)$/i.exec(via);
        if (derp) pongs.push({ path: "derp", via: derp[1]!, ms });
        else if (relay) pongs.push({ path: "peer-relay", via: relay[1]!, ms });
        else pongs.push({ path: "direct", via, ms });
    }
    const text = lines.join("\n").trim();
    if (pongs.length > 0) {
        const last = pongs[pongs.length - 1]!;
        return { status: "pong", path: last.path, via: last.via, pongs, detail: `${last.path === "direct" ? `direct via ${last.via}` : last.path === "derp" ? `DERP(${last.via})` : `peer relay ${last.via}`} in ${last.ms}ms` };
    }
    if (/timed out|no reply/i.test(text)) return { status: "timeout", pongs, detail: text.split("\n").slice(-1)[0]! };
    if (rc !== 0 && text) return { status: "error", pongs, detail: text.split("\n")[0]!.slice(0, 160) };
    return { status: "unparsed", pongs, detail: `exit ${rc}: ${text.slice(0, 160) || "(no output)"}` };
}

export interface PortCheck {
    status: "held" | "not-held" | "unparsed";
    detail: string;
}

/** The output of components/tailscale/check-port.sh (the pod's readiness probe): `directpath check-port: OK|FAIL: ...`. */
export function parsePortCheck(lines: readonly string[]): PortCheck {
    const l = lines.map((x) => x.trim()).find((x) => x.startsWith("directpath check-port:"));
    if (!l) return { status: "unparsed", detail: lines.join(" ").trim().slice(0, 160) || "(no output)" };
    if (/^directpath check-port: OK\b/.test(l)) return { status: "held", detail: l.replace(/^directpath check-port: /, "") };
    if (/^directpath check-port: FAIL\b/.test(l)) return { status: "not-held", detail: l.replace(/^directpath check-port: /, "") };
    return { status: "unparsed", detail: l };
}

/** Port check from a UDP listener table (ss -lunp / netstat -lnup) when check-port.sh is not there: tailscaled must hold `port`. */
export function portCheckFromListeners(lines: readonly string[], port: number): PortCheck {
    const ls = parseUdpListeners(lines);
    if (!ls) return { status: "unparsed", detail: lines.join(" ").trim().slice(0, 160) || "(no output)" };
    const ts = ls.filter((l) => l.process === "tailscaled");
    if (ts.some((l) => l.port === port)) return { status: "held", detail: `tailscaled listens on UDP ${port}` };
    if (ts.length > 0) return { status: "not-held", detail: `tailscaled listens on UDP ${[...new Set(ts.map((l) => l.port))].join(", ")}, not ${port} (random fallback)` };
    return { status: "unparsed", detail: `no UDP socket named tailscaled in the table (${ls.length} listeners; the tool did not show process names)` };
}

/** What was collected from one TailscaleDirect pod. */
export interface TailscalePodInput {
    pod: string;
    node: string;
    /** `tailscale status --json` output, or undefined when it could not be run. */
    statusJson?: string;
    /** Port check: check-port.sh output lines, or a UDP listener table. */
    portCheck?: { kind: "check-port"; lines: string[] } | { kind: "listeners"; lines: string[] };
    /** `tailscale ping` outputs by peer (hostname or IP). */
    pings: Record<string, { lines: string[]; rc: number }>;
    /** Why this pod's probe failed, when it did. */
    error?: string;
    /**
     * "pod" (default): a TailscaleDirect pod, which must hold the configured port. "client": another
     * device of the tailnet (the laptop of the direct-connection lab) whose pings are the evidence.
     */
    role?: "pod" | "client";
}

/** The input of one pod (or client) from check/probes/tailscale.sh's output. */
export function tailscaleInputFromProbe(output: string, pod: string, node: string, role: "pod" | "client" = "pod"): TailscalePodInput {
    const fr = parseFrame(output);
    if (!fr.ok) return { pod, node, pings: {}, role, error: `probe output unusable: ${fr.reason}` };
    const input: TailscalePodInput = { pod, node, pings: {}, role };
    for (const s of fr.frame.sections) {
        if (s.id === "status") {
            if (s.rc === 0) input.statusJson = s.lines.join("\n");
            else input.error = `tailscale status failed (exit ${s.rc}): ${s.lines.join(" ").slice(0, 160)}`;
        } else if (s.id === "port") input.portCheck = { kind: s.kind === "check-port" ? "check-port" : "listeners", lines: s.lines };
        else if (s.kind === "ping" && s.args[0]) input.pings[s.args[0]] = { lines: s.lines, rc: s.rc };
    }
    return input;
}

/**
 * The probe's two runs against one tailscaled, as the cluster runner and the direct-connection lab
 * make them: `run([])` for the status, then `run(peers)` with the {@link pingTargets} of that status
 * (skipped when the first run printed no probe frame or found no peer). `last` is the run to judge.
 */
export async function runTailscaleProbe<R extends { code: number; stdout: string }>(run: (peers: string[]) => Promise<R>): Promise<{ first: R; last: R; peers: string[] }> {
    const first = await run([]);
    if (!first.stdout.includes("DPC-PROBE")) return { first, last: first, peers: [] };
    const input = tailscaleInputFromProbe(first.stdout, "-", "-");
    const st = input.statusJson ? parseTailscaleStatus(input.statusJson) : undefined;
    const peers = st?.ok ? pingTargets(st.status) : [];
    if (peers.length === 0) return { first, last: first, peers };
    return { first, last: await run(peers), peers };
}

/** Each pinged peer's path, as one probe saw it (the lab asserts on these). */
export function peerPathsFromProbe(output: string): Array<{ peer: string; status: PingResult["status"]; path?: PathKind; via?: string }> {
    const i = tailscaleInputFromProbe(output, "-", "-");
    return Object.entries(i.pings).map(([peer, p]) => {
        const r = parseTailscalePing(p.lines, p.rc);
        return { peer, status: r.status, ...(r.path ? { path: r.path } : {}), ...(r.via ? { via: r.via } : {}) };
    });
}

export interface TailscaleCheckInput {
    /** The stack's TailscaleDirect settings; undefined when the stack has none. */
    configured?: { namespace: string; workloadName: string; port: number };
    pods: TailscalePodInput[];
}

const FIX = (port: number, ns: string, name: string) =>
    `directpath:tailscale (TailscaleDirect): tailscaled on the node's network with the fixed UDP port ${port} (port: ${port}), and UDP ${port} open inbound on the node firewall / security group; check ${ns}/${name} is Ready (its readiness probe is the port check)`;

/** The Tailscale verdict: port held (not a random fallback), and every tested peer direct. */
export function tailscaleVerdict(input: TailscaleCheckInput): Verdict {
    const c = input.configured;
    if (!c) return { fault: "tailscale", verdict: "not-applicable", summary: "the stack has no TailscaleDirect (directpath:tailscale is not enabled)", evidence: [], fix: "-" };
    const fix = FIX(c.port, c.namespace, c.workloadName);
    if (input.pods.length === 0) return { fault: "tailscale", verdict: "could-not-check", summary: `no ${c.namespace}/${c.workloadName} pod found`, evidence: [], fix: `deploy TailscaleDirect (pulumi up); then ${fix}` };
    const bad: string[] = [];
    const good: string[] = [];
    const unknown: string[] = [];
    for (const p of input.pods) {
        const who = `${p.pod}@${p.node}`;
        if (p.error) {
            unknown.push(`${who}: ${p.error}`);
            continue;
        }
        if (p.role === "client") {
            // Not a TailscaleDirect pod: no port to hold.
        } else if (p.portCheck) {
            const pc = p.portCheck.kind === "check-port" ? parsePortCheck(p.portCheck.lines) : portCheckFromListeners(p.portCheck.lines, c.port);
            if (pc.status === "held") good.push(`${who}: ${pc.detail}`);
            else if (pc.status === "not-held") bad.push(`${who}: port ${c.port} NOT held: ${pc.detail}`);
            else unknown.push(`${who}: port check unreadable: ${pc.detail}`);
        } else unknown.push(`${who}: port check not run`);
        const st = p.statusJson === undefined ? undefined : parseTailscaleStatus(p.statusJson);
        if (!st || !st.ok) {
            unknown.push(`${who}: tailscale status unreadable: ${st ? st.reason : "not run"}`);
            continue;
        }
        if (st.status.backendState !== "Running") {
            unknown.push(`${who}: tailscaled is ${st.status.backendState}, not Running${st.status.health[0] ? ` (${st.status.health[0]})` : ""}`);
            continue;
        }
        const pinged = Object.entries(p.pings);
        if (pinged.length === 0) unknown.push(`${who}: no online peer to test the path to`);
        for (const [peer, out] of pinged) {
            const r = parseTailscalePing(out.lines, out.rc);
            if (r.status !== "pong") unknown.push(`${who} -> ${peer}: ${r.status}: ${r.detail}`);
            else if (r.path === "direct") good.push(`${who} -> ${peer}: direct via ${r.via}`);
            else bad.push(`${who} -> ${peer}: ${r.path === "derp" ? `relayed via DERP(${r.via})` : `relayed via a peer relay (${r.via})`}, ${r.pongs.length} pong(s), none direct`);
        }
    }
    if (bad.length > 0) return { fault: "tailscale", verdict: "present", summary: `${bad.length} relayed path(s) or port fallback(s)`, evidence: [...bad, ...unknown, ...good], fix };
    if (unknown.length > 0) return { fault: "tailscale", verdict: "could-not-check", summary: `${unknown.length} check(s) gave no usable answer`, evidence: [...unknown, ...good], fix };
    return { fault: "tailscale", verdict: "absent", summary: `port ${c.port} held, every tested peer direct`, evidence: good, fix: "-" };
}

/**
 * For the direct-connection lab (lab/tailscale): the verdict and each peer's path from
 * check/probes/tailscale.sh outputs. `pods`: TailscaleDirect pods (must hold `configured.port`);
 * `clients`: other tailnet devices whose pings are evidence (the laptop).
 */
export function checkTailscaleProbes(o: {
    configured: { namespace: string; workloadName: string; port: number };
    pods?: Array<{ pod: string; node: string; output: string }>;
    clients?: Array<{ name: string; output: string }>;
}): { verdict: Verdict; peers: Array<{ from: string; peer: string; status: PingResult["status"]; path?: PathKind; via?: string }> } {
    const pods = [
        ...(o.pods ?? []).map((p) => tailscaleInputFromProbe(p.output, p.pod, p.node, "pod")),
        ...(o.clients ?? []).map((c) => tailscaleInputFromProbe(c.output, c.name, c.name, "client")),
    ];
    const peers = [...(o.pods ?? []).map((p) => ({ from: p.pod, output: p.output })), ...(o.clients ?? []).map((c) => ({ from: c.name, output: c.output }))]
        .flatMap((x) => peerPathsFromProbe(x.output).map((p) => ({ from: x.from, ...p })));
    return { verdict: tailscaleVerdict({ configured: o.configured, pods }), peers };
}
