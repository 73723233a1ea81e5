/**
 * Running commands for the lab: short commands with a hard timeout (optionally inside a network
 * namespace), synchronous ({@link run}) or not ({@link exec}), and long-running daemons that a
 * {@link Daemons} registry tracks so that cleanup can always end them. No module-level state: the
 * registry belongs to the run (lib/session.ts).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");

export class LabError extends Error {}

export interface RunOptions {
    /** Network namespace to run in (`ip netns exec`). */
    ns?: string;
    /** Hard limit; the command is killed (SIGKILL) after it. Default {@link DEFAULT_TIMEOUT_MS}. */
    timeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    input?: string;
    cwd?: string;
    /** Return a non-zero exit instead of throwing. */
    allowFail?: boolean;
}

/** Time limit of a command that names none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

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

const MAX_BUFFER = 64 * 1024 * 1024;

function checked(full: readonly string[], result: RunResult, opts: RunOptions): RunResult {
    if (result.code !== 0 && !opts.allowFail) {
        throw new LabError(`command failed (${result.timedOut ? "timed out" : `exit ${result.code}`}): ${full.join(" ")}\n${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result;
}

/**
 * Runs a command to completion (bounded by a timeout), blocking the event loop meanwhile. Throws a
 * LabError naming the command on a non-zero exit unless `allowFail`.
 */
export function run(argv: readonly string[], opts: RunOptions = {}): RunResult {
    const full = inNs(opts.ns, argv);
    const res = spawnSync(full[0]!, full.slice(1), {
        encoding: "utf8",
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: "SIGKILL",
        env: opts.env ?? process.env,
        input: opts.input,
        cwd: opts.cwd ?? ROOT,
        maxBuffer: MAX_BUFFER,
    });
    const timedOut = (res.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT";
    return checked(full, {
        code: res.status ?? (timedOut ? 124 : 127),
        stdout: res.stdout ?? "",
        stderr: (res.stderr ?? "") + (res.error && !timedOut ? String(res.error.message) : ""),
        timedOut,
    }, opts);
}

/** {@link run} without blocking: for commands that run while others are polled. */
export function exec(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const full = inNs(opts.ns, argv);
    return new Promise((resolve, reject) => {
        const child = execFile(full[0]!, full.slice(1), {
            encoding: "utf8", timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, killSignal: "SIGKILL",
            env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT, maxBuffer: MAX_BUFFER,
        }, (err, stdout, stderr) => {
            const e = err as (Error & { code?: unknown; killed?: boolean }) | null;
            const timedOut = !!e?.killed;
            const code = !e ? 0 : typeof e.code === "number" ? e.code : timedOut ? 124 : 127;
            const spawnError = e && typeof e.code === "string" ? e.message : "";
            try {
                resolve(checked(full, { code, stdout: String(stdout), stderr: String(stderr) + spawnError, timedOut }, opts));
            } catch (failure) {
                reject(failure);
            }
        });
        if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
}

/** Runs commands one after another in `ns` with {@link exec}; the first failure throws. */
export async function execEach(ns: string | undefined, commands: ReadonlyArray<readonly string[]>, opts: Omit<RunOptions, "ns" | "allowFail"> = {}): Promise<void> {
    for (const argv of commands) await exec(argv, { ...opts, ns });
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

export interface DaemonOptions {
    ns?: string;
    /** The whole environment (default: the lab's own). */
    env?: NodeJS.ProcessEnv;
    logFile: string;
    cwd?: string;
}

/**
 * The daemons of one run. Every daemon started here is remembered until it exits, so
 * {@link Daemons.killAll} can end it on any exit path. `ip netns exec` execs the command in place,
 * so the child's pid is the daemon's own pid and signals reach it directly.
 */
export class Daemons {
    private readonly running = new Set<Daemon>();

    /** Starts a long-running process (in a namespace when given), logging to `opts.logFile`. */
    start(name: string, argv: readonly string[], opts: DaemonOptions): Daemon {
        const full = inNs(opts.ns, argv);
        const fd = fs.openSync(opts.logFile, "a");
        const child = spawn(full[0]!, full.slice(1), { stdio: ["ignore", fd, fd], env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT });
        fs.closeSync(fd);
        const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
        const d: Daemon = { name, child, logFile: opts.logFile, exited, log: () => (fs.existsSync(opts.logFile) ? fs.readFileSync(opts.logFile, "utf8") : "") };
        this.running.add(d);
        void exited.then(() => this.running.delete(d));
        return d;
    }

    /** The daemons still running. */
    list(): Daemon[] {
        return [...this.running];
    }

    /** Synchronous last-resort kill of every daemon still running (safe inside exit handlers). */
    killAll(): void {
        for (const d of this.running) {
            try {
                d.child.kill("SIGKILL");
            } catch {
                /* already gone */
            }
        }
        this.running.clear();
    }
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

/**
 * Polls `check` until it returns a truthy value, and returns it; after `timeoutMs` throws a LabError
 * saying what it waited for.
 */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>, intervalMs = 200): Promise<T> {
    const value = await waitFor(check, timeoutMs, intervalMs);
    if (!value) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    return value;
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
