/**
 * The lab's prerequisites, installed from the project's own files when missing:
 * - `ip` and `iptables` (plus `iptables-save`) from Debian's packages (iproute2, iptables);
 * - CoreDNS at a pinned version, built with `go install` into lab/.bin (git-ignored), reused when
 *   the binary there already reports that version.
 * Root on Linux is required. Anything the lab could install but can't is a failure, not a skip.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { hasCommand, LabError, ROOT, run } from "./proc";

/** CoreDNS release the lab builds (the same pin the DNS unit test uses). */
export const COREDNS_VERSION = "v1.14.7";
export const COREDNS_MODULE = "github.com/coredns/coredns";
export const LAB_BIN = path.join(ROOT, "lab", ".bin");
export const COREDNS_BIN = path.join(LAB_BIN, "coredns");

export function checkRootLinux(): void {
    if (process.platform !== "linux") throw new LabError(`the lab needs Linux network namespaces; this is ${process.platform}`);
    if (typeof process.getuid !== "function" || process.getuid() !== 0) {
        throw new LabError("the lab needs root (it creates network namespaces and iptables rules): run `sudo npm run lab`");
    }
}

/** Installs iproute2 / iptables with apt-get when `ip` / `iptables` are missing. Returns what it did. */
export function ensureSystemTools(log: (line: string) => void): void {
    const missing: string[] = [];
    if (!hasCommand("ip")) missing.push("iproute2");
    if (!hasCommand("iptables") || !hasCommand("iptables-save") || !hasCommand("iptables-restore")) missing.push("iptables");
    if (missing.length === 0) return;
    if (!hasCommand("apt-get")) {
        throw new LabError(`missing ${missing.join(", ")} and no apt-get to install them: install the packages ${missing.join(" ")} with your package manager`);
    }
    log(`installing ${missing.join(" ")} with apt-get`);
    run(["apt-get", "update", "-qq"], { timeoutMs: 300_000 });
    run(["apt-get", "install", "-y", "-qq", ...missing], { timeoutMs: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    for (const cmd of ["ip", "iptables", "iptables-save", "iptables-restore"]) {
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

/** Builds CoreDNS into lab/.bin unless the right version is already there; returns the binary. */
export function ensureCoreDNS(log: (line: string) => void): string {
    const have = corednsVersion(COREDNS_BIN);
    if (have === COREDNS_VERSION) return COREDNS_BIN;
    if (!hasCommand("go")) {
        throw new LabError(`CoreDNS ${COREDNS_VERSION} is needed and Go is not installed: install Go (https://go.dev/doc/install), then rerun; the lab builds CoreDNS with go install`);
    }
    log(`building CoreDNS ${COREDNS_VERSION} with go install into ${path.relative(ROOT, LAB_BIN)}/ (${have ? `found ${have}` : "not built yet"}; takes a few minutes once)`);
    fs.mkdirSync(LAB_BIN, { recursive: true });
    run(["go", "install", `${COREDNS_MODULE}@${COREDNS_VERSION}`], { timeoutMs: 1_500_000, env: { ...process.env, GOBIN: LAB_BIN, GOFLAGS: "-mod=mod" } });
    const built = corednsVersion(COREDNS_BIN);
    if (built !== COREDNS_VERSION) throw new LabError(`go install produced CoreDNS ${built ?? "(none)"} at ${COREDNS_BIN}, expected ${COREDNS_VERSION}`);
    return COREDNS_BIN;
}
