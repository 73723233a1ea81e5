/**
 * Running commands for the lab: short commands with a hard timeout (optionally inside a network
 * namespace), and long-running daemons that are tracked so that cleanup can always end them.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

export class LabError extends Error {}

export interface RunOptions {
    /** Network namespace to run in (`ip netns exec`). */
    ns?: string;
    /** Hard limit; the command is killed after it. Default 20 s. */
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    input?: string;
    cwd?: string;
    /** Return a non-zero exit instead of throwing. */
    allowFail?: boolean;
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    timedOut: boolean;
}

/** argv prefixed with `ip netns exec <ns>` when a namespace is given. */
export function inNs(ns: string | undefined, argv: readonly string[]): string[] {
    return ns ? ["ip", "netns", "exec", ns, ...argv] : [...argv];
}

/** Runs a command to completion (bounded by a timeout). Throws on failure unless `allowFail`. */
export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
    const full = inNs(opts.ns, argv);
    const res = spawnSync(full[0]!, full.slice(1), {
        encoding: "utf8",
        timeout: opts.timeoutMs ?? 20_000,
        killSignal: "SIGKILL",
        env: opts.env ?? process.env,
        input: opts.input,
        cwd: opts.cwd ?? ROOT,
        maxBuffer: 64 * 1024 * 1024,
    });
    const timedOut = (res.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    const result: RunResult = {
        code: res.status ?? (timedOut ? 124 : 127),
        stdout: res.stdout ?? "",
        stderr: (res.stderr ?? "") + (res.error && !timedOut ? String(res.error.message) : ""),
        timedOut,
    };
    if (result.code !== 0 && !opts.allowFail) {
        throw new LabError(`command failed (${timedOut ? "timed out" : `exit ${result.code}`}): ${full.join(" ")}\n${result.stderr.trim()}`);
    }
    return result;
}

/** `sh -c script`, optionally in a namespace. */
export function sh(script: string, opts: RunOptions = {}): RunResult {
    return run(["sh", "-c", script], opts);
}

/** Whether a program is on PATH. */
export function hasCommand(name: string): boolean {
    return run(["sh", "-c", `command -v ${name}`], { allowFail: true, timeoutMs: 5000 }).code === 0;
}

export interface Daemon {
    name: string;
    child: ChildProcess;
    logFile: string;
    /** Resolves with the exit code (or signal name) once the process has ended. */
    exited: Promise<number | string>;
    log(): string;
}

const daemons = new Set<Daemon>();

/**
 * Starts a long-running process (in a namespace when given), logging to `logFile`. Every daemon
 * is remembered, so {@link killAllDaemons} can end it on any exit path. `ip netns exec` execs the
 * command in place, so the child's pid is the daemon's own pid and signals reach it directly.
 */
export function startDaemon(name: string, argv: readonly string[], opts: { ns?: string; env?: NodeJS.ProcessEnv; logFile: string; cwd?: string }): Daemon {
    const full = inNs(opts.ns, argv);
    const fd = fs.openSync(opts.logFile, "a");
    const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", fd, fd], env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT });
    fs.closeSync(fd);
    const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
    const d: Daemon = { name, child, logFile: opts.logFile, exited, log: () => (fs.existsSync(opts.logFile) ? fs.readFileSync(opts.logFile, "utf8") : "") };
    daemons.add(d);
    void exited.then(() => daemons.delete(d));
    return d;
}

/** Sends a signal and waits (bounded) for the process to exit. Returns how it ended, or "timeout". */
export async function stopDaemon(d: Daemon, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<number | string> {
    if (d.child.exitCode !== null || d.child.signalCode !== null) return d.child.exitCode ?? d.child.signalCode ?? -1;
    d.child.kill(signal);
    const result = await Promise.race([d.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
    if (result === "timeout") {
        d.child.kill("SIGKILL");
        await Promise.race([d.exited, sleep(2000)]);
    }
    return result;
}

/** Synchronous last-resort kill of every daemon still running (safe inside exit handlers). */
export function killAllDaemons(): void {
    for (const d of daemons) {
        try {
            d.child.kill("SIGKILL");
        } catch {
            /* already gone */
        }
    }
    daemons.clear();
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a truthy value or the time is up; returns the last value. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, intervalMs = 100): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value || Date.now() >= deadline) return value;
        await sleep(intervalMs);
    }
}

/** Runs `fn` but gives up after `ms`, rejecting with a LabError that names `what`. */
export async function withTimeout<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            fn(),
            new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new LabError(`${what} timed out after ${ms / 1000}s`)), ms);
            }),
        ]);
    } finally {
        if (timer) clearTimeout(timer);
    }
}
