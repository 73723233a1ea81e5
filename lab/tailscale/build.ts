/**
 * What the direct-connection lab needs on the machine: root, `ip`/`ss`/`iptables`, Go and TUN
 * (prerequisites), and the pinned Tailscale tools, headscale and the WAN emulator, built into the
 * git-ignored lab/.bin and reused when `go version -m` reports the pinned version (installTools).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkRootLinux, ensureSystemTools } from "../lib/prereqs";
import { exec, hasCommand, ROOT } from "../lib/proc";
import type { CheckLog } from "../lib/report";
import { LIMITS, PATHS, TOOL_CACHE, VERSIONS } from "./config";

const GO_TOOLS = [
    { bin: "tailscaled", pkg: "tailscale.com/cmd/tailscaled", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "tailscale", pkg: "tailscale.com/cmd/tailscale", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "derper", pkg: "tailscale.com/cmd/derper", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "headscale", pkg: "github.com/juanfont/headscale/cmd/headscale", module: "github.com/juanfont/headscale", version: VERSIONS.headscale },
] as const;

/**
 * headscale is built from a pinned wrapper module (lab/tailscale/headscale-build: go.mod + go.sum)
 * instead of `go install ...@version`: the Go proxy reachable here answers 403 for headscale's
 * version list, which `go install pkg@version` reads to check for deprecation, and fails. The
 * wrapper requires exactly the pinned version (headscale has no replace directives, so the build list is the
 * same) and the committed go.sum pins every checksum.
 */
const WRAPPER_BUILDS: Record<string, string> = { headscale: path.join(ROOT, "lab", "tailscale", "headscale-build") };

/** A pinned tool's binary in the cache: `<cache>/<name>@<version>/<name>`. */
export function toolBin(name: (typeof GO_TOOLS)[number]["bin"]): string {
    const t = GO_TOOLS.find((x) => x.bin === name)!;
    return path.join(TOOL_CACHE, `${t.bin}@${t.version}`, t.bin);
}

/** The WAN emulator's binary (built from lab/tailscale/wanem). */
export const WANEM_BIN = path.join(PATHS.bin, "dpt-wanem");

/** Root on Linux, the system tools (installed from Debian's packages when missing), Go and /dev/net/tun. */
export function prerequisites(checks: CheckLog): boolean {
    try {
        checkRootLinux();
    } catch (e) {
        checks.check("prerequisites: root on Linux", false, (e as Error).message);
        return false;
    }
    try {
        // busybox: the check's probe runs under busybox sh and applets, as in the Tailscale image (lab/tailscale/check.ts).
        ensureSystemTools((line) => checks.info(line), ["busybox"]);
        if (!hasCommand("ss")) throw new Error("ss is missing: install iproute2");
    } catch (e) {
        checks.check("prerequisites: iproute2, iptables, busybox", false, (e as Error).message.split("\n")[0]!);
        return false;
    }
    checks.check("prerequisites: ip, ss, iptables, busybox", true, "present");
    if (!hasCommand("go")) {
        checks.check("prerequisites: Go toolchain", false, "the lab builds tailscaled, tailscale, derper and headscale with go install; install Go 1.26+ (https://go.dev/dl/)");
        return false;
    }
    if (!fs.existsSync("/dev/net/tun")) {
        checks.check("prerequisites: /dev/net/tun", false, "the WAN emulator and kernel-mode tailscaled need TUN devices");
        return false;
    }
    return true;
}

/** The module version a Go binary was built from (`go version -m`), or undefined. */
async function builtVersion(file: string, module: string): Promise<string | undefined> {
    if (!fs.existsSync(file)) return undefined;
    const r = await exec(["go", "version", "-m", file], { allowFail: true, timeoutMs: LIMITS.cmdMs });
    for (const line of r.stdout.split("\n")) {
        const f = line.trim().split(/\s+/);
        if ((f[0] === "mod" || f[0] === "dep") && f[1] === module) return f[2];
    }
    return undefined;
}

/** Builds (or reuses) the pinned tools in the cache and the WAN emulator in lab/.bin; one check per tool. */
export async function installTools(checks: CheckLog): Promise<boolean> {
    fs.mkdirSync(PATHS.bin, { recursive: true });
    for (const t of GO_TOOLS) {
        const file = toolBin(t.bin);
        const dir = path.dirname(file);
        fs.mkdirSync(dir, { recursive: true });
        const env = { ...process.env, GOBIN: dir, GOFLAGS: "-buildvcs=false -trimpath" };
        let have = await builtVersion(file, t.module);
        if (have !== t.version) {
            const wrapper = WRAPPER_BUILDS[t.bin];
            checks.info(`${wrapper ? "go build" : "go install"} ${t.pkg}@${t.version} (into ${dir}; this takes minutes the first time)`);
            const r = wrapper
                ? await exec(["go", "build", "-mod=readonly", "-o", file, t.pkg], { env, cwd: wrapper, timeoutMs: LIMITS.installMs, allowFail: true })
                : await exec(["go", "install", `${t.pkg}@${t.version}`], { env, timeoutMs: LIMITS.installMs, allowFail: true });
            if (r.code !== 0) {
                checks.check(`install ${t.bin} ${t.version}`, false, r.stderr.trim().split("\n").slice(-3).join(" | "));
                return false;
            }
            have = await builtVersion(file, t.module);
        }
        if (!checks.check(`${t.bin} ${t.version} in the tool cache`, have === t.version, `${file}: built from ${t.module} ${have ?? "(unknown)"}`)) return false;
    }
    // The WAN emulator: standard library only, rebuilt when its source is newer than the binary.
    const src = path.join(ROOT, "lab", "tailscale", "wanem");
    const stale = !fs.existsSync(WANEM_BIN) || fs.statSync(WANEM_BIN).mtimeMs < Math.max(...fs.readdirSync(src).map((f) => fs.statSync(path.join(src, f)).mtimeMs));
    if (stale) {
        const r = await exec(["go", "build", "-trimpath", "-o", WANEM_BIN, "."], { cwd: src, timeoutMs: LIMITS.installMs, allowFail: true });
        if (!checks.check("build the WAN emulator (lab/tailscale/wanem)", r.code === 0, r.code === 0 ? "go build" : r.stderr.trim())) return false;
    }
    return true;
}
