/**
 * The labs' cleanup guarantees (lab/lib/session.ts), with real namespaces and processes: whatever a
 * run created (namespace, daemon inside it, temp dir, lock) is gone after a normal exit, an
 * uncaught error and Ctrl-C; a SIGKILLed run's leftovers are removed by the next run's start; and a
 * second run of the same lab refuses to start while the first one is alive. Each case runs a small
 * lab (test/fixtures/lab/session-child.ts) in its own process, under its own prefix.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { netnsUnavailableReason, ROOT } from "./harness";

const CHILD = path.join(ROOT, "test", "fixtures", "lab", "session-child.ts");
const PREFIX = "dpst-";
const TEMP_PREFIX = "dpst-tmp-";
const skip = netnsUnavailableReason();

interface Started {
    ns: string;
    pid: number;
    temp: string;
    lock: string;
    removed: string[];
}

function namespaces(): string[] {
    return spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.split("\n").map((l) => l.split(/\s+/)[0] ?? "").filter((n) => n.startsWith(PREFIX));
}

/** Alive and not a zombie (a reaped-later child of an exited parent is not running). */
function running(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

/** Starts the child; resolves with its JSON line once it has set everything up. */
function startChild(mode: "exit" | "throw" | "wait") {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, PREFIX, TEMP_PREFIX, mode], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += String(b)));
    child.stderr.on("data", (b: Buffer) => (err += String(b)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    const started = new Promise<Started>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not start: ${out} ${err}`)), 30_000);
        child.stdout.on("data", () => {
            const line = out.split("\n").find((l) => l.startsWith("{"));
            if (line) {
                clearTimeout(timer);
                resolve(JSON.parse(line) as Started);
            }
        });
        void exited.then(() => reject(new Error(`child exited before starting: ${out} ${err}`)));
    });
    return { child, started, exited, output: () => out + err };
}

function expectAllGone(s: Started): void {
    expect(namespaces()).not.toContain(s.ns);
    expect(running(s.pid)).toBe(false);
    expect(fs.existsSync(s.temp)).toBe(false);
    expect(fs.existsSync(s.lock)).toBe(false);
}

afterAll(() => {
    // Should there be a failure above, leave nothing behind either.
    for (const ns of namespaces()) {
        for (const pid of spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split(/\s+/).filter(Boolean)) {
            try {
                process.kill(Number(pid), "SIGKILL");
            } catch {
                /* gone */
            }
        }
        spawnSync("ip", ["netns", "del", ns]);
    }
});

describe.skipIf(skip)(`LabSession cleanup (${skip ?? "root, real namespaces"})`, () => {
    it("removes the namespace, its daemon, the temp dir and the lock on a normal exit", async () => {
        const c = startChild("exit");
        const s = await c.started;
        expect(s.ns).toBe(`${PREFIX}a`);
        expect((await c.exited).code).toBe(0);
        expectAllGone(s);
    }, 60_000);

    it("removes everything when the run dies of an uncaught error", async () => {
        const c = startChild("throw");
        const s = await c.started;
        const how = await c.exited;
        expect(how.code).not.toBe(0);
        expect(c.output()).toContain("a failing lab step");
        expectAllGone(s);
    }, 60_000);

    it("removes everything on Ctrl-C (SIGINT), reports the interruption and exits 130", async () => {
        const c = startChild("wait");
        const s = await c.started;
        expect(namespaces()).toContain(s.ns);
        expect(running(s.pid)).toBe(true);
        c.child.kill("SIGINT");
        const how = await c.exited;
        expect(how.code).toBe(130);
        expect(c.output()).toContain("interrupted by SIGINT");
        expectAllGone(s);
    }, 60_000);

    it("refuses a second run while the first is alive, and the next run removes what a SIGKILLed run left", async () => {
        const first = startChild("wait");
        const s1 = await first.started;
        const second = startChild("exit");
        await expect(second.started).rejects.toThrow(/another run of this lab \(pid \d+\) is running/);
        // The refused run touched nothing of the first one's.
        expect(namespaces()).toContain(s1.ns);
        expect(running(s1.pid)).toBe(true);

        first.child.kill("SIGKILL");
        await first.exited;
        // A killed run can't clean up: its namespace, daemon, temp dir and lock stay...
        expect(namespaces()).toContain(s1.ns);
        expect(running(s1.pid)).toBe(true);
        expect(fs.existsSync(s1.temp)).toBe(true);
        // ...until the next run starts.
        const third = startChild("exit");
        const s3 = await third.started;
        expect(s3.removed).toEqual(expect.arrayContaining([`netns ${s1.ns}`, s1.temp]));
        expect(running(s1.pid)).toBe(false);
        expect(fs.existsSync(s1.temp)).toBe(false);
        expect((await third.exited).code).toBe(0);
        expectAllGone(s3);
    }, 90_000);
});
