/**
 * components/hairpin/scripts/hosts-sync.sh on scratch hosts files, outside Kubernetes: exact bytes
 * after add, a second run, a change, removal, a file without a trailing newline, the inode, and the
 * loop's signals (TERM removes the block, HUP reconciles at once, a crash and restart changes
 * nothing). Runs under the system sh (dash + mawk here) and, when busybox is installed, under
 * busybox's sh and applets, as in the DaemonSet's image.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./harness";

const SCRIPT = path.join(ROOT, "components", "hairpin", "scripts", "hosts-sync.sh");
const ORIGINAL = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost\n\n# a comment\n10.0.0.5 node1\n";
const ID = "hairpin-test";
const BEGIN = `# BEGIN directpath ${ID}`;
const END = `# END directpath ${ID}`;
const ENTRIES = "192.168.10.100 registry.example.com\n";

const scratchDirs: string[] = [];
afterAll(() => {
    for (const d of scratchDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A PATH whose awk, cmp, tail, ... are busybox applets, like the DaemonSet's image. */
function busyboxPath(): string | undefined {
    const bb = ["/bin/busybox", "/usr/bin/busybox"].find((p) => fs.existsSync(p));
    if (!bb) return undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bb-"));
    scratchDirs.push(dir);
    for (const tool of ["sh", "awk", "cat", "cmp", "cp", "date", "kill", "mktemp", "rm", "sleep", "tail"]) fs.symlinkSync(bb, path.join(dir, tool));
    return dir;
}

const BB = busyboxPath();
if (!BB) console.warn("hosts-script: busybox not installed; SKIPPING the busybox variant (the system sh variant still runs)");

const shells: Array<{ label: string; shell: string; PATH: string }> = [{ label: "system sh", shell: "/bin/sh", PATH: process.env.PATH ?? "/usr/bin:/bin" }];
if (BB) shells.push({ label: "busybox", shell: path.join(BB, "sh"), PATH: BB });

it("is valid POSIX sh (sh -n)", () => {
    const res = spawnSync("sh", ["-n", SCRIPT], { encoding: "utf8" });
    expect(res.stderr).toBe("");
    expect(res.status).toBe(0);
});

describe.each(shells)("hosts-sync.sh under $label", ({ shell, PATH }) => {
    function scratch(content: string): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hosts-sync-"));
        scratchDirs.push(dir);
        const file = path.join(dir, "hosts");
        fs.writeFileSync(file, content);
        return file;
    }
    const env = (file: string, extra: Record<string, string> = {}) => ({ PATH, HOSTS_FILE: file, BLOCK_ID: ID, TMPDIR: path.dirname(file), ...extra });
    function run(file: string, mode: "once" | "remove", extra: Record<string, string> = {}) {
        const res = spawnSync(shell, [SCRIPT, mode], { env: env(file, extra), encoding: "utf8", timeout: 10_000 });
        return { status: res.status, stderr: res.stderr, text: fs.readFileSync(file, "utf8") };
    }
    const stat = (file: string) => fs.statSync(file, { bigint: true });

    it("adds the block at the end, then a second run changes no byte and doesn't write", () => {
        const file = scratch(ORIGINAL);
        const ino = stat(file).ino;
        const first = run(file, "once", { HOSTS_ENTRIES: ENTRIES });
        expect(first.status).toBe(0);
        expect(first.text).toBe(`${ORIGINAL}${BEGIN}\n192.168.10.100 registry.example.com\n${END}\n`);
        expect(stat(file).ino).toBe(ino);
        const mtime = stat(file).mtimeNs;
        const second = run(file, "once", { HOSTS_ENTRIES: ENTRIES });
        expect(second.status).toBe(0);
        expect(second.text).toBe(first.text);
        expect(stat(file).mtimeNs).toBe(mtime); // not even rewritten with the same bytes
    });

    it("replaces only its block when the entries change, and keeps lines added after it", () => {
        const file = scratch(ORIGINAL);
        run(file, "once", { HOSTS_ENTRIES: ENTRIES });
        fs.appendFileSync(file, "10.0.0.9 added-later\n");
        const ino = stat(file).ino;
        const changed = run(file, "once", { HOSTS_ENTRIES: "192.168.10.100 registry.example.com\n192.168.10.101 cache.example.com\n" });
        expect(changed.status).toBe(0);
        expect(changed.text).toBe(`${ORIGINAL}10.0.0.9 added-later\n${BEGIN}\n192.168.10.100 registry.example.com\n192.168.10.101 cache.example.com\n${END}\n`);
        expect(stat(file).ino).toBe(ino);
        const removed = run(file, "remove");
        expect(removed.text).toBe(`${ORIGINAL}10.0.0.9 added-later\n`);
    });

    it("remove restores the original byte for byte, inode unchanged", () => {
        const file = scratch(ORIGINAL);
        const ino = stat(file).ino;
        run(file, "once", { HOSTS_ENTRIES: ENTRIES });
        const removed = run(file, "remove");
        expect(removed.status).toBe(0);
        expect(removed.text).toBe(ORIGINAL);
        expect(stat(file).ino).toBe(ino);
        // Removing again is a no-op.
        expect(run(file, "remove").text).toBe(ORIGINAL);
    });

    it("a file without a trailing newline: the newline it adds is recorded and removed again", () => {
        const original = "127.0.0.1 localhost\n10.0.0.5 node1";
        const file = scratch(original);
        const added = run(file, "once", { HOSTS_ENTRIES: ENTRIES });
        expect(added.text).toBe(`${original}\n${BEGIN} +newline\n192.168.10.100 registry.example.com\n${END}\n`);
        expect(run(file, "once", { HOSTS_ENTRIES: ENTRIES }).text).toBe(added.text);
        expect(run(file, "once", { HOSTS_ENTRIES: "192.168.10.102 registry.example.com" }).text).toBe(`${original}\n${BEGIN} +newline\n192.168.10.102 registry.example.com\n${END}\n`);
        expect(run(file, "remove").text).toBe(original);
    });

    it("an empty file, and empty entries (which remove the block)", () => {
        const file = scratch("");
        expect(run(file, "once", { HOSTS_ENTRIES: ENTRIES }).text).toBe(`${BEGIN}\n192.168.10.100 registry.example.com\n${END}\n`);
        expect(run(file, "once", { HOSTS_ENTRIES: "" }).text).toBe("");
    });

    it("reads ENTRIES_FILE (CRLF, comments, extra spaces), and skips entries that aren't address + names", () => {
        const file = scratch(ORIGINAL);
        const entries = path.join(path.dirname(file), "entries");
        fs.writeFileSync(entries, "# managed\r\n192.168.10.100   registry.example.com  reg\r\n\r\n1.2.3.4 evil;rm\n# END directpath hairpin-test\nnot-an-ip name\nfd00::10 v6.example.com\n");
        const res = run(file, "once", { ENTRIES_FILE: entries });
        expect(res.status).toBe(0);
        expect(res.text).toBe(`${ORIGINAL}${BEGIN}\n192.168.10.100 registry.example.com reg\nfd00::10 v6.example.com\n${END}\n`);
        expect(res.stderr).toMatch(/skipping malformed entry: 1\.2\.3\.4 evil;rm/);
        expect(res.stderr).toMatch(/skipping malformed entry: not-an-ip name/);
    });

    it("rejects a bad BLOCK_ID or INTERVAL with exit 2, touching nothing", () => {
        const file = scratch(ORIGINAL);
        expect(run(file, "once", { HOSTS_ENTRIES: ENTRIES, BLOCK_ID: "a b" }).status).toBe(2);
        expect(run(file, "once", { HOSTS_ENTRIES: ENTRIES, INTERVAL: "0" }).status).toBe(2);
        expect(fs.readFileSync(file, "utf8")).toBe(ORIGINAL);
    });

    it("loop: reconciles, HUP applies a change at once, a crash and restart changes nothing, TERM removes the block", async () => {
        const file = scratch(ORIGINAL);
        const entries = path.join(path.dirname(file), "entries");
        fs.writeFileSync(entries, ENTRIES);
        const ino = stat(file).ino;
        const start = () => spawn(shell, [SCRIPT], { env: env(file, { ENTRIES_FILE: entries, INTERVAL: "300" }), stdio: ["ignore", "ignore", "pipe"] });
        const waitFor = async (pred: () => boolean, what: string) => {
            const deadline = Date.now() + 8000;
            while (!pred()) {
                if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; file:\n${fs.readFileSync(file, "utf8")}`);
                await new Promise((r) => setTimeout(r, 50));
            }
        };
        const exited = (p: ReturnType<typeof start>) =>
            new Promise<number | null>((resolve) => {
                if (p.exitCode !== null) return resolve(p.exitCode);
                const t = setTimeout(() => {
                    p.kill("SIGKILL");
                    resolve(-1);
                }, 8000);
                p.once("exit", (code) => {
                    clearTimeout(t);
                    resolve(code);
                });
            });
        const withBlock = (lines: string) => `${ORIGINAL}${BEGIN}\n${lines}${END}\n`;

        let proc = start();
        try {
            await waitFor(() => fs.readFileSync(file, "utf8") === withBlock(ENTRIES), "the first reconcile");
            // The interval is 300 s: only HUP can make this change show up now.
            fs.writeFileSync(entries, "192.168.10.101 registry.example.com\n");
            await new Promise((r) => setTimeout(r, 200));
            proc.kill("SIGHUP");
            await waitFor(() => fs.readFileSync(file, "utf8") === withBlock("192.168.10.101 registry.example.com\n"), "the HUP reconcile");

            // Crash: the block stays; the restarted loop leaves exactly the same bytes.
            proc.kill("SIGKILL");
            await exited(proc);
            const afterCrash = fs.readFileSync(file, "utf8");
            const mtime = stat(file).mtimeNs;
            proc = start();
            await new Promise((r) => setTimeout(r, 700));
            expect(fs.readFileSync(file, "utf8")).toBe(afterCrash);
            expect(stat(file).mtimeNs).toBe(mtime);

            proc.kill("SIGTERM");
            expect(await exited(proc)).toBe(0);
            expect(fs.readFileSync(file, "utf8")).toBe(ORIGINAL);
            expect(stat(file).ino).toBe(ino);
            // Its temporary directory (and its heartbeat) are gone too.
            expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith("hosts-sync."))).toEqual([]);
        } finally {
            if (proc.exitCode === null) proc.kill("SIGKILL");
        }
    });

    it("probes: ready only when the block matches the entries (writing nothing), alive only while the loop runs its rounds", async () => {
        const file = scratch(ORIGINAL);
        const entries = path.join(path.dirname(file), "entries");
        fs.writeFileSync(entries, ENTRIES);
        const probeEnv = env(file, { ENTRIES_FILE: entries, INTERVAL: "1", ALIVE_SECONDS: "3" });
        const probe = (what: "ready" | "alive") => {
            const res = spawnSync(shell, [SCRIPT, what], { env: probeEnv, encoding: "utf8", timeout: 10_000 });
            return { status: res.status, log: res.stderr };
        };
        const until = async (pred: () => boolean, what: string, ms = 8000) => {
            const deadline = Date.now() + ms;
            while (!pred()) {
                if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
                await new Promise((r) => setTimeout(r, 100));
            }
        };
        const mtime = stat(file).mtimeNs;
        expect(probe("ready")).toMatchObject({ status: 1, log: expect.stringContaining(`has no directpath ${ID} block`) });
        expect(probe("alive")).toMatchObject({ status: 1, log: expect.stringContaining("no heartbeat") });
        expect(stat(file).mtimeNs).toBe(mtime); // the probes write nothing
        expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith("hosts-sync."))).toEqual([]);

        const proc = spawn(shell, [SCRIPT], { env: probeEnv, stdio: ["ignore", "ignore", "ignore"] });
        try {
            await until(() => probe("ready").status === 0 && probe("alive").status === 0, "ready and alive after the first round");
            // The loop stopped (SIGSTOP: the process is there, its loop is dead) and the block removed by hand.
            proc.kill("SIGSTOP");
            fs.writeFileSync(file, ORIGINAL);
            expect(probe("ready")).toMatchObject({ status: 1, log: expect.stringContaining(`has no directpath ${ID} block`) });
            await until(() => probe("alive").status === 1, "not alive once the last round is older than 3 s");
            expect(probe("alive").log).toMatch(/not alive: the loop's last round was \d+s ago \(limit 3s\)/);
            // A block edited by hand differs from the entries: not ready either.
            fs.writeFileSync(file, `${ORIGINAL}${BEGIN}\n10.9.9.9 registry.example.com\n${END}\n`);
            expect(probe("ready")).toMatchObject({ status: 1, log: expect.stringContaining("differs from the entries") });
            // The loop resumes and heals the file: both pass again.
            proc.kill("SIGCONT");
            await until(() => probe("ready").status === 0 && probe("alive").status === 0, "ready and alive after the loop resumes");
            // No entries: ready means no block at all.
            fs.writeFileSync(entries, "");
            proc.kill("SIGHUP");
            await until(() => fs.readFileSync(file, "utf8") === ORIGINAL, "the block removed for empty entries");
            expect(probe("ready").status).toBe(0);
        } finally {
            proc.kill("SIGCONT");
            proc.kill("SIGKILL");
        }
    });
});
