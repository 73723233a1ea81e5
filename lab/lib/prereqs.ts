/**
 * The lab's prerequisites, installed from the project's own files when missing:
 * - `ip` and `iptables` (plus `iptables-save`) from Debian's packages (iproute2, iptables);
 * - CoreDNS at a pinned version, built with `go install` into the binary cache outside the repo
 *   (`${XDG_CACHE_HOME:-$HOME/.cache}/directpath/bin/coredns@<version>/`, lab/lib/gobuild.ts) and
 *   reused from there, also by a fresh clone; lab/.bin/coredns (git-ignored) links to it.
 * Root on Linux is required. Anything the lab could install but can't is a failure, not a skip.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureGoBuild, type GoBuildSpec } from "./gobuild";
import { hasCommand, LabError, ROOT, run } from "./proc";

/** CoreDNS release the lab builds (the same pin the DNS unit test uses). */
export const COREDNS_VERSION = "v1.14.7";
export const COREDNS_MODULE = "github.com/coredns/coredns";
export const LAB_BIN = path.join(ROOT, "lab", ".bin");
/** Where the CoreDNS unit test looks: a link to the cached binary. */
export const COREDNS_BIN = path.join(LAB_BIN, "coredns");

export function checkRootLinux(): void {
    if (process.platform !== "linux") throw new LabError(`the lab needs Linux network namespaces; this is ${process.platform}`);
    if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        throw new LabError("the lab needs root (it creates network namespaces and iptables rules): run `sudo npm run lab`");
    }
}

/** Installs iproute2 / iptables (and the `extra` commands' packages) with apt-get when they are missing. */
export function ensureSystemTools(log: (line: string) => void, extra: readonly string[] = []): void {
    const missing: string[] = [];
    if (!hasCommand("ip")) missing.push("iproute2");
    if (!hasCommand("iptables") || !hasCommand("iptables-save") || !hasCommand("iptables-restore")) missing.push("iptables");
    // Extra commands whose Debian package has the same name (busybox).
    for (const c of extra) if (!hasCommand(c)) missing.push(c);
    if (missing.length === 0) return;
    if (!hasCommand("apt-get")) {
        throw new LabError(`missing ${missing.join(", ")} and no apt-get to install them: install the packages ${missing.join(" ")} with your package manager`);
    }
    log(`installing ${missing.join(" ")} with apt-get`);
    run(["apt-get", "update", "-qq"], { timeoutMs: 300_000 });
    run(["apt-get", "install", "-y", "-qq", ...missing], { timeoutMs: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    for (const cmd of ["ip", "iptables", "iptables-save", "iptables-restore", ...extra]) {
        if (!hasCommand(cmd)) throw new LabError(`${cmd} is still missing after apt-get install ${missing.join(" ")}`);
    }
}

/** The version a CoreDNS binary reports (`CoreDNS-1.14.7` -> `v1.14.7`), or undefined. */
export function corednsVersion(bin: string): string | undefined {
    if (!fs.existsSync(bin)) return undefined;
    const out = run([bin, "-version"], { allowFail: true, timeoutMs: 10_000 }).stdout;
    const m = /CoreDNS-(\d+\.\d+\.\d+)/.exec(out);
    return m ? `v${m[1]}` : undefined;
}

export const COREDNS_BUILD: GoBuildSpec = { name: "coredns", version: COREDNS_VERSION, binaries: { coredns: COREDNS_MODULE } };

/**
 * Builds CoreDNS into the shared binary cache (lab/lib/gobuild.ts) unless it is there, and links
 * lab/.bin/coredns to it (where the CoreDNS unit test looks). Returns the cached binary.
 */
export function ensureCoreDNS(log: (line: string) => void): string {
    let bin: string;
    try {
        bin = ensureGoBuild(COREDNS_BUILD, log).bins.coredns!;
    } catch (e) {
        throw new LabError((e as Error).message);
    }
    const built = corednsVersion(bin);
    if (built !== COREDNS_VERSION) throw new LabError(`${bin} reports CoreDNS ${built ?? "(none)"}, expected ${COREDNS_VERSION}`);
    fs.mkdirSync(LAB_BIN, { recursive: true });
    let current: string | undefined;
    try {
        current = fs.readlinkSync(COREDNS_BIN);
    } catch {
        current = undefined;
    }
    if (current !== bin) {
        fs.rmSync(COREDNS_BIN, { force: true }); // lab/.bin is the labs' own git-ignored directory
        fs.symlinkSync(bin, COREDNS_BIN);
    }
    return bin;
}

/**
 * A new folder `dir` (in the lab's own work dir) of links named after busybox applets, each to the
 * machine's busybox: first on PATH, the check's probes run with busybox's tools, as in the images
 * they run in. Throws when busybox, or one of the applets in this build of it, is missing, and
 * when `dir` already holds anything (it removes nothing). Returns `dir`.
 */
export function busyboxAppletDir(dir: string, applets: readonly string[]): string {
    const busybox = run(["sh", "-c", "command -v busybox"], { allowFail: true }).stdout.trim();
    if (!busybox) throw new LabError("busybox is missing (the check's probes run under busybox sh, as in the probe images): apt-get install busybox");
    const has = new Set(run([busybox, "--list"]).stdout.split("\n").map((l) => l.trim()));
    const missing = applets.filter((a) => !has.has(a));
    if (missing.length > 0) throw new LabError(`this busybox (${busybox}) lacks the applets ${missing.join(", ")}`);
    fs.mkdirSync(dir, { recursive: true });
    if (fs.readdirSync(dir).length > 0) throw new LabError(`${dir} is not empty: the busybox applet folder must be a new one`);
    for (const a of applets) fs.symlinkSync(busybox, path.join(dir, a));
    return dir;
}
