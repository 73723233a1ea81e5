/** Calls the in-namespace agent (lab/lib/agent.ts): HTTP and DNS clients with timeouts, servers as daemons. */
import * as path from "node:path";
import { LabError, ROOT, run, waitFor, type Daemon, type Daemons } from "./proc";

const AGENT = path.join(ROOT, "lab", "lib", "agent.ts");

export function agentArgv(...args: Array<string | number>): string[] {
    return [process.execPath, "--import", "tsx", AGENT, ...args.map(String)];
}

export interface HttpResult {
    ok: boolean;
    status?: number;
    body?: string;
    error?: string;
    ms?: number;
}

/** One HTTP GET from inside `ns`, bounded by `timeoutMs` (and a hard outer limit). */
export function httpGet(ns: string, url: string, timeoutMs: number, hostHeader?: string): HttpResult {
    const res = run(agentArgv("http-get", url, timeoutMs, ...(hostHeader ? [hostHeader] : [])), { ns, timeoutMs: timeoutMs + 15_000 });
    return JSON.parse(res.stdout.trim().split("\n").pop() ?? "{}") as HttpResult;
}

/** What the lab's HTTP server said about the connection (server name, local and remote address). */
export function served(r: HttpResult): { server: string; local: string; remote: string; host: string } | undefined {
    if (!r.ok || !r.body) return undefined;
    try {
        return JSON.parse(r.body) as { server: string; local: string; remote: string; host: string };
    } catch {
        return undefined;
    }
}

/** Short text for a result line: `200 from node1 (192.168.10.100:443)` or `timeout after 2500 ms`. */
export function describe(r: HttpResult): string {
    const s = served(r);
    if (s) return `HTTP ${r.status} from ${s.server} (${s.local}, saw client ${s.remote})`;
    return r.error ?? `HTTP ${r.status ?? "?"}`;
}

export interface DnsResult {
    ok: boolean;
    rcode?: string;
    answers?: string[];
    error?: string;
}

export function dnsQuery(ns: string, server: string, port: number, name: string, timeoutMs: number): DnsResult {
    const res = run(agentArgv("dns-query", server, port, name, timeoutMs), { ns, timeoutMs: timeoutMs + 15_000 });
    return JSON.parse(res.stdout.trim().split("\n").pop() ?? "{}") as DnsResult;
}

/** Starts a daemon (tracked by `daemons`) and waits until its log contains `ready` (or fails with its log). */
export async function startAndWait(daemons: Daemons, name: string, argv: string[], opts: { ns: string; logFile: string; ready: RegExp; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<Daemon> {
    const d = daemons.start(name, argv, { ns: opts.ns, logFile: opts.logFile, env: opts.env });
    const ok = await waitFor(() => opts.ready.test(d.log()) || d.child.exitCode !== null, opts.timeoutMs ?? 20_000);
    if (!ok || d.child.exitCode !== null || !opts.ready.test(d.log())) {
        d.child.kill("SIGKILL");
        throw new LabError(`${name} did not start (in ${opts.ns}):\n${d.log().slice(-2000)}`);
    }
    return d;
}

export function startHttpServer(daemons: Daemons, ns: string, name: string, ports: number[], logFile: string): Promise<Daemon> {
    const expected = new RegExp(ports.map((p) => `(?=[\\s\\S]*listening ${p}\\b)`).join(""));
    return startAndWait(daemons, `http ${name}`, agentArgv("http-serve", name, ...ports), { ns, logFile, ready: expected });
}

export function startDnsStub(daemons: Daemons, ns: string, ip: string, port: number, entries: Record<string, string>, logFile: string): Promise<Daemon> {
    return startAndWait(daemons, "stub DNS", agentArgv("dns-stub", ip, port, ...Object.entries(entries).map(([k, v]) => `${k}=${v}`)), { ns, logFile, ready: /listening/ });
}
