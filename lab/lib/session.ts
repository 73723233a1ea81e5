/**
 * One lab run: the only owner of what the run creates (namespaces, daemons, temp dirs, its lock),
 * and the guarantee that all of it is removed on exit, on failure and on Ctrl-C. Both labs open one
 * session at start and pass it down; nothing in lab/ keeps state at module level.
 *
 * {@link LabSession.open}, in order:
 * 1. takes the lab's lock (`<tmp>/<prefix>lab.lock`, holding the pid): a second run of the same lab
 *    stops with an error instead of deleting the first run's namespaces;
 * 2. removes what a killed run left: namespaces with the prefix (and every process inside them),
 *    `/etc/netns/<prefix>*`, host links with the prefix, and temp dirs `<tmp>/<tempPrefix>*`;
 * 3. installs the exit and signal handlers that call {@link LabSession.close}.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Netns, removeLeftovers } from "./netns";
import { Daemons, LabError } from "./proc";

export interface SessionOptions {
    /** Prefix of every namespace and link the lab creates (`dpl-`, `dpt-`); also names the lock. */
    prefix: string;
    /** Prefix of the lab's temp dirs under the OS temp dir; stale ones are removed at start. */
    tempPrefix: string;
    /**
     * Called on SIGINT, SIGTERM and SIGHUP before the cleanup (to report the interruption); the
     * process then exits with 128 + the signal number.
     */
    onInterrupt?: (signal: NodeJS.Signals) => void;
}

const SIGNALS: ReadonlyArray<[NodeJS.Signals, number]> = [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]];

export class LabSession {
    readonly netns: Netns;
    readonly daemons = new Daemons();
    /** What {@link open} removed from earlier runs (for the log). */
    readonly removed: string[];
    readonly lockFile: string;
    private readonly cleanups: Array<() => void> = [];
    private kept = false;
    private closed = false;

    private constructor(readonly options: SessionOptions, removed: string[]) {
        this.netns = new Netns(options.prefix);
        this.removed = removed;
        this.lockFile = lockPath(options.prefix);
    }

    /** Takes the lock, removes leftovers of killed runs, and installs the cleanup handlers. */
    static open(options: SessionOptions): LabSession {
        takeLock(lockPath(options.prefix));
        const removed = removeLeftovers(options.prefix);
        // This run holds the lock, so no temp dir with the prefix is in use.
        for (const f of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(options.tempPrefix))) {
            fs.rmSync(path.join(os.tmpdir(), f), { recursive: true, force: true });
            removed.push(path.join(os.tmpdir(), f));
        }
        const session = new LabSession(options, removed);
        process.on("exit", () => session.close());
        for (const [sig, code] of SIGNALS) {
            process.on(sig, () => {
                process.stderr.write(`\n${sig}: cleaning up\n`);
                try {
                    options.onInterrupt?.(sig);
                } finally {
                    session.close();
                    process.exit(code);
                }
            });
        }
        return session;
    }

    /** Registers a synchronous cleanup step; steps run in reverse order, after the daemons and namespaces are gone. */
    onCleanup(fn: () => void): void {
        this.cleanups.push(fn);
    }

    /** A fresh temp dir (`<tmp>/<tempPrefix>XXXXXX`), removed on close. */
    tempDir(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), this.options.tempPrefix));
        this.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
        return dir;
    }

    /** Leaves the namespaces and daemons running at close (`--keep`); the next run removes them. */
    keep(): void {
        this.kept = true;
    }

    /**
     * Ends the run's daemons, deletes its namespaces (with every process inside), runs the cleanup
     * steps and releases the lock. Synchronous (it also runs from the exit handler) and idempotent.
     */
    close(): void {
        if (this.closed) return;
        this.closed = true;
        if (!this.kept) {
            this.daemons.killAll();
            this.netns.destroy();
        }
        while (this.cleanups.length > 0) {
            const fn = this.cleanups.pop()!;
            try {
                fn();
            } catch (e) {
                process.stderr.write(`cleanup step failed: ${String(e)}\n`);
            }
        }
        releaseLock(this.lockFile);
    }
}

function lockPath(prefix: string): string {
    return path.join(os.tmpdir(), `${prefix}lab.lock`);
}

function takeLock(file: string): void {
    const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8").trim()) : 0;
    if (pid && pid !== process.pid && alive(pid)) {
        throw new LabError(`another run of this lab (pid ${pid}) is running; wait for it or kill it (its lock: ${file})`);
    }
    // No lock, or a stale one from a killed run.
    fs.writeFileSync(file, String(process.pid));
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

function releaseLock(file: string): void {
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file);
}
