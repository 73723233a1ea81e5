/**
 * Parsers for the raw tool outputs the probes collect (busybox and full-distribution variants).
 * Pure. Every parser returns a result whose `status` says plainly when the text is not what the
 * tool prints ("unparsed"): the verdicts turn that into "could not check", never into "absent".
 */

/** Exit codes of `timeout` when it killed the command: busybox (SIGTERM: 128+15) and GNU coreutils. */
const KILLED_BY_TIMEOUT = new Set([124, 143, 137]);

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*$/;

export function isIp(s: string): boolean {
    return IPV4.test(s) || IPV6.test(s);
}

export type TcpStatus = "connected" | "refused" | "timeout" | "unreachable" | "bad-name" | "unparsed";

export interface TcpResult {
    status: TcpStatus;
    /** What the server sent first (tcpread), trimmed. */
    banner?: string;
    /** The tool's message, for the evidence column. */
    detail: string;
}

/** `nc -w T host port [-e true]` output and exit code (busybox small nc and nc_bloaty). */
export function parseTcp(lines: readonly string[], rc: number): TcpResult {
    const text = lines.join("\n").trim();
    const detail = text.split("\n").find((l) => /^nc:/.test(l)) ?? text.split("\n")[0] ?? "";
    if (KILLED_BY_TIMEOUT.has(rc)) return { status: "timeout", detail: `no answer (killed by timeout, exit ${rc})` };
    if (/connection refused/i.test(text)) return { status: "refused", detail };
    if (/timed out/i.test(text)) return { status: "timeout", detail };
    if (/network is unreachable|no route to host|host is unreachable/i.test(text)) return { status: "unreachable", detail };
    if (/bad address|can't resolve|unknown host|name or service not known/i.test(text)) return { status: "bad-name", detail };
    if (rc === 0) {
        const banner = lines.map((l) => l.trim()).filter(Boolean).join(" ");
        return banner ? { status: "connected", banner, detail: banner } : { status: "connected", detail: "connected" };
    }
    return { status: "unparsed", detail: `exit ${rc}: ${text.slice(0, 200) || "(no output)"}` };
}

export type DnsStatus = "answer" | "nxdomain" | "nodata" | "servfail" | "refused" | "timeout" | "unreachable" | "unparsed";

export interface DnsResult {
    status: DnsStatus;
    /** The server that answered, as nslookup names it. */
    server?: string;
    /** IPv4/IPv6 addresses of the answer for the queried name (in the server's order). */
    addresses: string[];
    detail: string;
}

/**
 * `nslookup -type=a <name> [server]` of busybox (1.28+: `Address: 10.0.0.53:53`) and of bind9
 * (`Address: 10.0.0.53#53`, `Non-authoritative answer:`, `;; communications error`).
 */
export function parseNslookup(lines: readonly string[], rc: number): DnsResult {
    const text = lines.join("\n");
    let server: string | undefined;
    const addresses: string[] = [];
    let inAnswer = false;
    for (const raw of lines) {
        const l = raw.trim();
        const srv = /^Server:\s+(\S+)$/.exec(l);
        if (srv) {
            server = srv[1];
            continue;
        }
        if (/^Name:\s+\S+/.test(l)) {
            inAnswer = true;
            continue;
        }
        const addr = /^Address(?:\s+\d+)?:\s+(\S+)$/.exec(l);
        if (addr && inAnswer) {
            const a = addr[1]!;
            if (isIp(a)) addresses.push(a);
        }
    }
    const detail = (text.split("\n").find((l) => /^\*\*|^;;|^nslookup:/.test(l.trim())) ?? "").trim();
    if (addresses.length > 0) return { status: "answer", server, addresses, detail: `${addresses.join(", ")}${server ? ` (server ${server})` : ""}` };
    if (/NXDOMAIN/.test(text)) return { status: "nxdomain", server, addresses, detail: detail || "NXDOMAIN" };
    if (/SERVFAIL/.test(text)) return { status: "servfail", server, addresses, detail: detail || "SERVFAIL" };
    if (/\bREFUSED\b/.test(text)) return { status: "refused", server, addresses, detail: detail || "REFUSED" };
    if (/connection refused/i.test(text)) return { status: "unreachable", server, addresses, detail: detail || "connection refused" };
    if (/timed out|no servers could be reached/i.test(text) || KILLED_BY_TIMEOUT.has(rc)) return { status: "timeout", server, addresses, detail: detail || `no answer (exit ${rc})` };
    if (/network is unreachable|no route to host/i.test(text)) return { status: "unreachable", server, addresses, detail };
    if (/can't find .*: No answer|\*\*\* Can't find/i.test(text) || (server !== undefined && rc === 0)) return { status: "nodata", server, addresses, detail: detail || "no A record" };
    return { status: "unparsed", server, addresses, detail: `exit ${rc}: ${text.trim().slice(0, 200) || "(no output)"}` };
}

export interface ResolveResult {
    status: "resolved" | "unresolved" | "unparsed";
    address?: string;
    detail: string;
}

/** The system resolver's answer as `ping -c 1 <name>` prints it (`PING name (1.2.3.4): ...`). */
export function parseResolve(lines: readonly string[], rc: number): ResolveResult {
    const text = lines.join("\n");
    const m = /^PING \S+ \(([0-9A-Fa-f:.]+)\)/m.exec(text);
    if (m && isIp(m[1]!)) return { status: "resolved", address: m[1], detail: m[1]! };
    if (/bad address|unknown host|Name or service not known|Temporary failure in name resolution/i.test(text)) return { status: "unresolved", detail: text.trim().split("\n")[0]! };
    return { status: "unparsed", detail: `exit ${rc}: ${text.trim().slice(0, 200) || "(no output)"}` };
}

/** Addresses that a hosts file (the lines the probe grepped) gives `name`. */
export function parseHosts(lines: readonly string[], name: string): string[] {
    const want = name.toLowerCase();
    const out: string[] = [];
    for (const raw of lines) {
        const l = raw.replace(/#.*/, "").trim();
        if (!l) continue;
        const [addr, ...names] = l.split(/\s+/);
        if (addr && isIp(addr) && names.some((n) => n.toLowerCase() === want)) out.push(addr);
    }
    return out;
}

/** `nameserver` lines of a resolv.conf. */
export function parseResolvConf(lines: readonly string[]): string[] {
    return lines.map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x && isIp(x));
}

export interface UdpListener {
    address: string;
    port: number;
    process?: string;
}

/**
 * UDP listening sockets from `ss -lun[p]` (with or without the header) or `netstat -lnu[p]`
 * (busybox or net-tools). Lines that are neither are ignored; `undefined` when no line parsed and
 * the text does not look like either tool's (e.g. an error message).
 */
export function parseUdpListeners(lines: readonly string[]): UdpListener[] | undefined {
    const out: UdpListener[] = [];
    let recognised = false;
    for (const raw of lines) {
        const l = raw.trim();
        if (/^(State|Netid|Proto|Active Internet)/.test(l)) {
            recognised = true;
            continue;
        }
        const f = l.split(/\s+/);
        let local: string | undefined;
        let proc: string | undefined;
        if (/^udp6?$/.test(f[0] ?? "")) {
            // netstat: udp Recv-Q Send-Q Local Foreign [State] [PID/Program]
            local = f[3];
            proc = f.slice(5).find((x) => /^\d+\//.test(x))?.split("/")[1];
        } else if (/^(UNCONN|ESTAB)$/.test(f[0] ?? "") || (f[0] === "udp" && /^(UNCONN|ESTAB)$/.test(f[1] ?? ""))) {
            const o = f[0] === "udp" ? 1 : 0;
            local = f[o + 3];
            proc = /users:\(\("([^"]+)"/.exec(l)?.[1];
        }
        if (!local) continue;
        const m = /^(.*):(\d+)$/.exec(local);
        if (!m) continue;
        recognised = true;
        out.push({ address: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), ...(proc ? { process: proc } : {}) });
    }
    return recognised ? out : undefined;
}
