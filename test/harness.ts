/**
 * The one test helper every test uses: installs Pulumi runtime mocks that record every registered
 * resource with its inputs, runs a piece of program, waits for all registrations, and resolves
 * outputs into plain values.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, inject } from "vitest";
import { ValidationError, type Problem } from "../components/common/errors";
import { planCliCommand } from "../plan/command";
import { readStackFiles } from "../plan/stack-files";
import { SECTIONS } from "../program/resolve";
import { installMocks, plainValue, settle, type MockOptions, type RecordedResource, Recorder } from "../plan/runtime";

export { Recorder, type RecordedResource };
export const ROOT = path.resolve(__dirname, "..");
/** Read-only reference material (upstream schemas, field reports). Absent in a user's clone. */
export const SHARED = path.resolve(ROOT, "..", "shared");

export interface Captured<T> {
    /** Every resource the code registered. */
    r: Recorder;
    /** What the code returned (a component, usually). */
    value: T;
}

/**
 * Installs fresh mocks, runs `build` (which constructs components), and waits until every
 * registration has reached the mocks.
 */
export async function capture<T>(build: () => T | Promise<T>, options: MockOptions = {}): Promise<Captured<T>> {
    const r = installMocks(options);
    const value = await build();
    await settle();
    return { r, value };
}

/** Resolves Outputs (deeply) to plain values; secrets read "[secret]" unless revealed. */
export async function resolve<T = unknown>(value: unknown, opts: { revealSecrets?: boolean } = {}): Promise<T> {
    return (await plainValue(value, opts)) as T;
}

/** Whether an Output is secret. */
export async function isSecretOutput(value: unknown): Promise<boolean> {
    return (value as { isSecret: Promise<boolean> }).isSecret;
}

/**
 * Asserts that `fn` throws a ValidationError that has a problem at each expected path (and, when
 * given, whose rule matches), and returns all problems. Also asserts nothing was registered.
 */
export function expectProblems(fn: () => unknown, expected: Array<{ path: string; rule?: RegExp; value?: unknown }>, recorder?: Recorder): readonly Problem[] {
    let error: unknown;
    try {
        fn();
    } catch (e) {
        error = e;
    }
    expect(error, "expected a ValidationError").toBeInstanceOf(ValidationError);
    const problems = (error as ValidationError).problems;
    for (const want of expected) {
        const match = problems.find((p) => p.path === want.path && (!want.rule || want.rule.test(p.rule)) && (!("value" in want) || Object.is(p.value, want.value) || JSON.stringify(p.value) === JSON.stringify(want.value)));
        expect(match, `no problem at ${want.path}${want.rule ? ` matching ${want.rule}` : ""}; got:\n${problems.map((p) => `${p.path}: ${p.rule}`).join("\n")}`).toBeDefined();
        // Every message names the field and quotes the value.
        expect((error as Error).message).toContain(want.path);
    }
    if (recorder) expect(recorder.resources, "nothing may be registered when input is invalid").toEqual([]);
    return problems;
}

export interface PlanRun {
    status: number;
    stdout: string;
    stderr: string;
    outDir: string;
}

/**
 * Runs `npm run plan`'s entry point in a child process, as a user would: the same command
 * `npm run plan` runs (node + scripts/ts-hook.cjs, see plan/command.ts), into a fresh folder.
 */
export function runPlanCli(args: string[], outDir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-plan-"))): PlanRun {
    const [node, ...cli] = planCliCommand();
    const res = spawnSync(node!, [...cli, ...args, "--out", outDir], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, NO_COLOR: "1" },
    });
    return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr, outDir };
}

/** The stacks of the project folder, each rendered at most once per test run by sharedPlanRun. */
export type ProjectStack = "local" | "local-iptables" | "dev" | "prod";

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
};

/**
 * `plan --stack <stack>` (project folder, default flags) run once per test run and shared by every
 * test file that only reads what it printed and wrote: a fresh plan run of this test run, not a
 * cached one from an earlier run. The first file to ask renders it (the others wait for it) into
 * the folder test/global-setup.ts made for this run, which it removes at the end. Never write into
 * the returned outDir; a test that needs its own folder or flags uses runPlanCli. Outside a vitest
 * run with that setup (no folder provided), each call renders afresh.
 */
export function sharedPlanRun(stack: ProjectStack): PlanRun {
    const root = inject("planCacheDir") as string | undefined;
    if (!root) return runPlanCli(["--stack", stack]);
    const result = path.join(root, `${stack}.json`);
    const lock = path.join(root, `${stack}.lock`);
    const deadline = Date.now() + 300_000;
    for (;;) {
        if (fs.existsSync(result)) return JSON.parse(fs.readFileSync(result, "utf8")) as PlanRun;
        if (Date.now() > deadline) throw new Error(`sharedPlanRun(${stack}): no result in ${result} after 300 s`);
        try {
            fs.mkdirSync(lock);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
            // Another test process renders it; take over only if that process died.
            let owner = 0; // 0 while the owner has not written its pid yet
            try {
                owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
            } catch {
                // not written yet, or the lock was just released
            }
            if (owner > 0 && !alive(owner)) fs.rmSync(lock, { recursive: true, force: true });
            else sleep(100);
            continue;
        }
        fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
        const outDir = path.join(root, stack);
        fs.rmSync(outDir, { recursive: true, force: true }); // a dead renderer's leftovers
        const run = runPlanCli(["--stack", stack], outDir);
        fs.writeFileSync(`${result}.tmp`, JSON.stringify(run));
        fs.renameSync(`${result}.tmp`, result);
        return run;
    }
}

/** Why this process can't create network namespaces, or undefined when it can (root on Linux with iproute2). */
export function netnsUnavailableReason(): string | undefined {
    if (process.platform !== "linux") return "network namespaces need Linux";
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return "network namespaces need root (CI runs as root)";
    if (!["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].some((p) => fs.existsSync(p))) return "the ip command (iproute2) is not installed";
    return undefined;
}

/**
 * A stack file's `directpath:*` config as the resolver takes it: keys without the project prefix,
 * object sections decoded; and the keys Pulumi holds as secrets.
 */
export function stackConfigRaw(stack: string): { raw: Record<string, any>; secretKeys: Set<string> } {
    const files = readStackFiles(ROOT, stack);
    const raw: Record<string, any> = {};
    for (const [k, v] of Object.entries(files.config)) {
        if (!k.startsWith("directpath:")) continue;
        const name = k.slice("directpath:".length);
        raw[name] = name in SECTIONS ? JSON.parse(v) : v;
    }
    return { raw, secretKeys: new Set(files.secretKeys.map((k) => k.slice("directpath:".length))) };
}
