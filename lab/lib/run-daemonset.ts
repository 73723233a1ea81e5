/**
 * Starts a rendered DaemonSet's container as a process in a lab namespace (see k8s-local.ts for
 * what is substituted), and tells when its script has finished a reconcile pass.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { localizeDaemonSet, type LocalizeOptions } from "./k8s-local";
import { stopDaemon, waitFor, type Daemon, type Daemons } from "./proc";
import type { K8sObject } from "./rendered";

export interface LocalDaemonSet {
    daemon: Daemon;
    /** Every substitution made to run it outside Kubernetes (printed by the lab). */
    substitutions: string[];
}

/** Writes the DaemonSet's volumes under `opts.root` and starts its container in `ns` (tracked by `daemons`). */
export function startDaemonSet(daemons: Daemons, ds: K8sObject, ns: string, logFile: string, opts: LocalizeOptions): LocalDaemonSet {
    const p = localizeDaemonSet(ds, opts);
    for (const d of p.dirs) fs.mkdirSync(d, { recursive: true });
    for (const f of p.files) {
        fs.mkdirSync(path.dirname(f.path), { recursive: true });
        fs.writeFileSync(f.path, f.content);
        fs.chmodSync(f.path, f.mode);
    }
    const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...p.env };
    const substitutions = [...p.substitutions];
    if (p.env.PATH === undefined) substitutions.push("PATH from the lab host (the image's PATH)");
    const daemon = daemons.start(`DaemonSet ${ds.metadata?.name ?? "?"}`, p.argv, { ns, env, logFile });
    return { daemon, substitutions };
}

/** Child pids of a process (Linux /proc). */
function children(pid: number): number[] {
    try {
        return fs.readdirSync(`/proc/${pid}/task`).flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number));
    } catch {
        return [];
    }
}

function comm(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return "";
    }
}

/**
 * Waits until the script is between reconcile passes: alive, with a `sleep` child (both node
 * scripts sleep between passes). Returns false when it exited or did not get there in time.
 */
export async function waitUntilSleeping(d: Daemon, timeoutMs: number): Promise<boolean> {
    const pid = d.child.pid;
    if (!pid) return false;
    const ok = await waitFor(() => d.child.exitCode !== null || children(pid).some((c) => comm(c) === "sleep"), timeoutMs, 50);
    return Boolean(ok) && d.child.exitCode === null;
}

/** SIGKILL (a crash): the script gets no chance to clean up. Its sleeping child is ended too. */
export async function crash(d: Daemon): Promise<void> {
    const kids = d.child.pid ? children(d.child.pid) : [];
    await stopDaemon(d, "SIGKILL", 5000);
    for (const k of kids) {
        try {
            process.kill(k, "SIGKILL");
        } catch {
            /* gone */
        }
    }
}
