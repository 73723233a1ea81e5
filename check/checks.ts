/**
 * The probes' check lists (what each vantage point runs) and the mapping of their output back to
 * observations. Pure: the cluster runner and the network lab both build their probes here, so the
 * same lines run in a pod and in a lab namespace.
 */
import { parseFrame, type Section } from "./frame";
import { parseHosts, parseNslookup, parseResolve, parseResolvConf, parseTcp, type TcpStatus } from "./parse";
import type { CheckTargets } from "./targets";

export type Vantage = "pod" | "hostnet";

/** One check line of probe.sh and what it means. */
export interface PlannedCheck {
    id: string;
    line: string;
    what: HairpinCheckMeaning | OverlayCheckMeaning;
}

export interface HairpinCheckMeaning {
    fault: "hairpin";
    endpoint: string;
    /** ip: an external IP; name: a hostname (resolved by the vantage's system resolver); internal: the baseline. */
    via: "ip" | "name" | "internal" | "dns" | "system" | "hosts" | "resolv";
    target: string;
    port?: number;
    /** For dns checks: which resolver ("default", "nodelocal <ip>"). */
    resolver?: string;
}

export interface OverlayCheckMeaning {
    fault: "overlay";
    kind: "pod" | "dns";
    /** Node of the target pod. */
    toNode: string;
    target: string;
    port?: number;
    /** Expected identity of the answering pod (pod checks). */
    expect?: string;
}

/** The hairpin checks for one vantage point. UDP ports are not probed (no reliable UDP connect). */
export function hairpinChecks(t: CheckTargets, vantage: Vantage): PlannedCheck[] {
    const out: PlannedCheck[] = [];
    let n = 0;
    const add = (kind: string, args: string[], what: HairpinCheckMeaning) => out.push({ id: `h${n++}`, line: `${kind} h${n - 1} ${args.join(" ")}`, what });
    add("file", ["/etc/resolv.conf"], { fault: "hairpin", endpoint: "*", via: "resolv", target: "/etc/resolv.conf" });
    for (const e of t.hairpin?.endpoints ?? []) {
        for (const p of e.ports.filter((x) => x.protocol === "TCP")) {
            for (const ip of e.externalIps) add("tcp", [ip, String(p.port)], { fault: "hairpin", endpoint: e.name, via: "ip", target: ip, port: p.port });
            for (const h of e.hostnames) add("tcp", [h, String(p.port)], { fault: "hairpin", endpoint: e.name, via: "name", target: h, port: p.port });
        }
        for (const i of e.internal) add("tcp", [i.address, String(i.port)], { fault: "hairpin", endpoint: e.name, via: "internal", target: i.address, port: i.port });
        for (const h of e.hostnames) {
            add("dns", [h], { fault: "hairpin", endpoint: e.name, via: "dns", target: h, resolver: vantage === "pod" ? "cluster DNS" : "node resolver" });
            for (const nl of t.hairpin?.nodeLocalDns ?? []) add("dns", [h, nl], { fault: "hairpin", endpoint: e.name, via: "dns", target: h, resolver: `NodeLocal DNSCache ${nl}` });
            add("resolve", [h], { fault: "hairpin", endpoint: e.name, via: "system", target: h });
            add("hosts", [h], { fault: "hairpin", endpoint: e.name, via: "hosts", target: h });
        }
    }
    return out;
}

/** A server pod of the overlay probe (listen.sh) and a CoreDNS pod, as the client sees them. */
export interface OverlayPeer {
    node: string;
    ip: string;
    id?: string;
}

export const OVERLAY_PORT = 8080;

/** The overlay checks of a client pod: every server pod (same node included) and every CoreDNS pod. */
export function overlayChecks(servers: readonly OverlayPeer[], dnsPods: readonly OverlayPeer[], dnsName: string, port = OVERLAY_PORT): PlannedCheck[] {
    const out: PlannedCheck[] = [];
    servers.forEach((s, i) => out.push({ id: `o${i}`, line: `tcpread o${i} ${s.ip} ${port}`, what: { fault: "overlay", kind: "pod", toNode: s.node, target: s.ip, port, ...(s.id ? { expect: s.id } : {}) } }));
    dnsPods.forEach((d, i) => out.push({ id: `d${i}`, line: `dns d${i} ${dnsName} ${d.ip}`, what: { fault: "overlay", kind: "dns", toNode: d.node, target: d.ip } }));
    return out;
}

export type PathStatus = TcpStatus | "wrong-backend" | "unknown";

export interface PathObservation<W extends HairpinCheckMeaning | OverlayCheckMeaning = HairpinCheckMeaning | OverlayCheckMeaning> {
    node: string;
    vantage: Vantage;
    what: W;
    status: PathStatus | "answer" | "no-answer";
    /** Addresses (dns / system / hosts). */
    addresses: string[];
    detail: string;
}

/** One probe run: where it ran, its check plan and its raw output. */
export interface ProbeRun {
    node: string;
    vantage: Vantage;
    checks: PlannedCheck[];
    output: string;
    /** Set when the probe could not even run (pod failed, timed out). */
    error?: string;
}

/** Observations of one probe run; a bad frame or a missing section makes those checks "unknown". */
export function observe(run: ProbeRun): PathObservation[] {
    const base = { node: run.node, vantage: run.vantage };
    const fr = run.error ? ({ ok: false, reason: run.error } as const) : parseFrame(run.output);
    if (!fr.ok) return run.checks.map((c) => ({ ...base, what: c.what, status: "unknown", addresses: [], detail: `probe output unusable: ${fr.reason}` }));
    const byId = new Map<string, Section>(fr.frame.sections.map((s) => [s.id, s]));
    return run.checks.map((c): PathObservation => {
        const s = byId.get(c.id);
        if (!s) return { ...base, what: c.what, status: "unknown", addresses: [], detail: `check ${c.id} missing from the probe output` };
        const w = c.what;
        if (w.fault === "overlay" && w.kind === "dns" || w.fault === "hairpin" && w.via === "dns") {
            const d = parseNslookup(s.lines, s.rc);
            if (d.status === "unparsed") return { ...base, what: w, status: "unknown", addresses: [], detail: d.detail };
            return { ...base, what: w, status: d.status === "answer" ? "answer" : "no-answer", addresses: d.addresses, detail: d.status === "answer" ? d.detail : `${d.status}: ${d.detail}` };
        }
        if (w.fault === "hairpin" && w.via === "system") {
            const r = parseResolve(s.lines, s.rc);
            if (r.status === "unparsed") return { ...base, what: w, status: "unknown", addresses: [], detail: r.detail };
            return { ...base, what: w, status: r.status === "resolved" ? "answer" : "no-answer", addresses: r.address ? [r.address] : [], detail: r.detail };
        }
        if (w.fault === "hairpin" && w.via === "hosts") {
            // grep exits 1 on no match (data), 2 on an error (unknown).
            if (s.rc > 1) return { ...base, what: w, status: "unknown", addresses: [], detail: s.lines.join(" ").slice(0, 160) };
            const a = parseHosts(s.lines, w.target);
            return { ...base, what: w, status: a.length > 0 ? "answer" : "no-answer", addresses: a, detail: a.length > 0 ? a.join(", ") : "no entry" };
        }
        if (w.fault === "hairpin" && w.via === "resolv") {
            const ns = parseResolvConf(s.lines);
            return { ...base, what: w, status: s.rc === 0 ? "answer" : "unknown", addresses: ns, detail: ns.join(", ") || "no nameserver" };
        }
        const t = parseTcp(s.lines, s.rc);
        if (t.status === "unparsed") return { ...base, what: w, status: "unknown", addresses: [], detail: t.detail };
        if (w.fault === "overlay" && t.status === "connected" && w.expect !== undefined) {
            const id = /^dpc-ok (\S+)/.exec(t.banner ?? "")?.[1];
            if (id !== w.expect) return { ...base, what: w, status: id ? "wrong-backend" : "unknown", addresses: [], detail: id ? `answered by ${id}, expected ${w.expect}` : `connected, but the answer ${JSON.stringify(t.banner ?? "")} is not the listener's` };
        }
        return { ...base, what: w, status: t.status, addresses: [], detail: t.detail };
    });
}
