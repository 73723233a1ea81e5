/**
 * Namespace plumbing of the check's lab. Every namespace and /etc/netns entry it creates starts
 * with `dpc-` (the other labs use dpl-/dpt- and must not be touched); cleanup runs on exit, on an
 * error and on SIGINT/SIGTERM, and a later run removes what a killed run left.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";

export const PREFIX = "dpc-";

export class LabError extends Error {}

export interface Res {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs argv (in `ns` when given) with a hard timeout; throws on failure unless allowFail. */
export function run(argv: readonly string[], o: { ns?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; allowFail?: boolean } = {}): Res {
    const full = o.ns ? ["ip", "netns", "exec", o.ns, ...argv] : [...argv];
    const r = spawnSync(full[0]!, full.slice(1), { encoding: "utf8", input: o.input, env: o.env ?? process.env, timeout: o.timeoutMs ?? 30_000, killSignal: "SIGKILL", maxBuffer: 32 << 20 });
    const res = { code: r.status ?? 124, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error.message) : "") };
    if (res.code !== 0 && !o.allowFail) throw new LabError(`command failed (exit ${res.code}): ${full.join(" ")}\n${res.stderr.trim()}`);
    return res;
}

/** Like {@link run} but asynchronous, so Ctrl-C is handled while a long probe runs. Never throws. */
export function runAsync(argv: readonly string[], o: { ns?: string; timeoutMs?: number } = {}): Promise<Res> {
    const full = o.ns ? ["ip", "netns", "exec", o.ns, ...argv] : [...argv];
    return new Promise((resolve) => {
        const c = spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        daemons.add(c);
        let stdout = "";
        let stderr = "";
        const t = setTimeout(() => c.kill("SIGKILL"), o.timeoutMs ?? 30_000);
        c.stdout!.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        c.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        c.on("close", (code, sig) => {
            clearTimeout(t);
            daemons.delete(c);
            resolve({ code: code ?? (sig ? 124 : 1), stdout, stderr });
        });
    });
}

const daemons = new Set<ChildProcess>();

/** A long-running process in a namespace, killed at cleanup. */
export function daemon(ns: string, argv: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): ChildProcess {
    const fd = fs.openSync(logFile, "a");
    const c = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", fd, fd], env: env ?? process.env });
    fs.closeSync(fd);
    daemons.add(c);
    c.once("exit", () => daemons.delete(c));
    return c;
}

export function nsExists(name: string): boolean {
    return run(["ip", "netns", "list"], { allowFail: true }).stdout.split("\n").some((l) => l.split(/\s+/)[0] === name);
}

function destroy(name: string): void {
    for (const pid of run(["ip", "netns", "pids", name], { allowFail: true }).stdout.split(/\s+/).filter(Boolean)) {
        try {
            process.kill(Number(pid), "SIGKILL");
        } catch {
            /* gone */
        }
    }
    run(["ip", "netns", "del", name], { allowFail: true });
    fs.rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
}

/** Removes every dpc- namespace and /etc/netns/dpc-* entry (leftovers of a killed run). */
export function removeLeftovers(): string[] {
    const names = run(["ip", "netns", "list"], { allowFail: true }).stdout.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter((n) => n.startsWith(PREFIX));
    for (const n of names) destroy(n);
    const etc = fs.existsSync("/etc/netns") ? fs.readdirSync("/etc/netns").filter((d) => d.startsWith(PREFIX)) : [];
    for (const d of etc) fs.rmSync(`/etc/netns/${d}`, { recursive: true, force: true });
    return [...names, ...etc.map((d) => `/etc/netns/${d}`)];
}

const created: string[] = [];
let createdEtcNetns = false;
const cleanups: Array<() => void> = [];
let hooked = false;

export function onCleanup(fn: () => void): void {
    cleanups.push(fn);
    if (hooked) return;
    hooked = true;
    process.on("exit", cleanupAll);
    for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
        process.on(sig, () => {
            process.stderr.write(`\n${sig}: cleaning up\n`);
            cleanupAll();
            process.exit(code);
        });
    }
}

export function cleanupAll(): void {
    for (const d of daemons) d.kill("SIGKILL");
    daemons.clear();
    while (cleanups.length > 0) {
        try {
            cleanups.pop()!();
        } catch (e) {
            process.stderr.write(`cleanup step failed: ${String(e)}\n`);
        }
    }
    for (const n of created.splice(0).reverse()) destroy(n);
    // Created by this run: removed again when nothing else (another lab's namespace) is in it.
    if (createdEtcNetns && fs.existsSync("/etc/netns") && fs.readdirSync("/etc/netns").length === 0) fs.rmdirSync("/etc/netns");
    createdEtcNetns = false;
}

/** Creates `dpc-<short>` with loopback up. */
export function addNs(short: string): string {
    const name = `${PREFIX}${short}`;
    if (nsExists(name)) destroy(name);
    run(["ip", "netns", "add", name]);
    created.push(name);
    onCleanup(() => undefined);
    run(["ip", "-n", name, "link", "set", "lo", "up"]);
    return name;
}

export function ip(ns: string, ...cmds: string[]): void {
    run(["ip", "-n", ns, "-batch", "-"], { input: cmds.join("\n") + "\n" });
}

export function veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
    run(["ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
}

export function sysctl(ns: string, key: string, value: string | number): void {
    run(["sysctl", "-q", "-w", `${key}=${value}`], { ns });
}

/** A file that `ip netns exec <ns>` bind-mounts over /etc/<name> (resolv.conf, hosts). */
export function etcFile(ns: string, name: string, content: string): string {
    if (!fs.existsSync("/etc/netns")) {
        fs.mkdirSync("/etc/netns");
        createdEtcNetns = true;
    }
    const dir = `/etc/netns/${ns}`;
    fs.mkdirSync(dir, { recursive: true });
    const f = `${dir}/${name}`;
    fs.writeFileSync(f, content);
    return f;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
