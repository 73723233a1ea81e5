/**
 * Pinned Go programs the labs build from the project's own files, cached OUTSIDE the repo (the
 * project rule) so a fresh clone on the same machine reuses them:
 *
 *   ${XDG_CACHE_HOME:-$HOME/.cache}/directpath/bin/<name>@<version>/<binary>
 *
 * A build is either `go install <module>/<pkg>@<version>` (a module the proxy installs as is) or
 * `go build` inside a committed wrapper module (go.mod + go.sum under lab/), for modules whose own
 * go.mod has `replace` lines that `go install` refuses. Builds go into a temp dir next to the
 * final one and are renamed into place only when every binary is there, so a half-finished build
 * is never reused; a lock directory keeps two builds of the same name@version from colliding (the
 * second waits, then reuses the first's result). The directory's presence is the cache hit: the
 * key is the pinned version, so bumping a pin is what triggers a rebuild.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export class GoBuildError extends Error {}

export interface GoBuildSpec {
    /** Cache name (`pulumi`, `kubernetes`, `coredns`): the directory is `<name>@<version>`. */
    name: string;
    /** The pinned version: the cache key. */
    version: string;
    /**
     * Binaries to produce: file name -> Go package path. With `moduleDir`, built with `go build`
     * there; without it, installed with `go install <package>@<version>`.
     */
    binaries: Record<string, string>;
    /** Wrapper module directory (with committed go.mod and go.sum). */
    moduleDir?: string;
    /** `-X` assignments and other linker flags. `-s -w` is always added. */
    ldflags?: string[];
    /** Runs in `moduleDir` before building (e.g. generating files the build embeds). */
    prepare?: (moduleDir: string) => void;
    /** Limit for the whole build (default 40 min). */
    timeoutMs?: number;
}

export interface GoBuildResult {
    dir: string;
    /** file name -> absolute path */
    bins: Record<string, string>;
    /** Whether this call built it (false: reused from the cache). */
    built: boolean;
    seconds: number;
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/directpath/bin`. */
export function binCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME || os.homedir(), ".cache");
    return path.join(base, "directpath", "bin");
}

/** The cache directory of one name@version. Versions are used verbatim; no path separators. */
export function binDir(name: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
    for (const [what, v] of [["name", name], ["version", version]] as const) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(v)) throw new GoBuildError(`gobuild: ${what} ${JSON.stringify(v)} must be letters, digits and . _ + - only`);
    }
    return path.join(binCacheRoot(env), `${name}@${version}`);
}

/** The cached binaries of a spec when all of them are there, else undefined. */
export function cached(spec: GoBuildSpec, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
    const dir = binDir(spec.name, spec.version, env);
    const bins: Record<string, string> = {};
    for (const file of Object.keys(spec.binaries)) {
        const p = path.join(dir, file);
        if (!fs.existsSync(p)) return undefined;
        bins[file] = p;
    }
    return bins;
}

/**
 * The binaries of a spec already in its cache directory (an earlier build of the same name@version
 * with fewer binaries), when that build's record names the same module, packages and linker flags.
 */
export function reusable(spec: GoBuildSpec, dir: string): string[] {
    let record: { binaries?: Record<string, string>; ldflags?: string[]; moduleDir?: string } | undefined;
    try {
        record = JSON.parse(fs.readFileSync(path.join(dir, "build.json"), "utf8")) as typeof record;
    } catch {
        return [];
    }
    if (JSON.stringify(record?.ldflags ?? []) !== JSON.stringify(spec.ldflags ?? [])) return [];
    return Object.keys(spec.binaries).filter((f) => record?.binaries?.[f] === spec.binaries[f] && fs.existsSync(path.join(dir, f)));
}

function sleepSync(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Takes `<lockDir>` (mkdir is atomic), waiting while another live process holds it. A lock whose
 * holder is gone is stale and taken over. Returns the release function.
 */
export function acquireLock(lockDir: string, timeoutMs: number, onWait?: (holder: number) => void): () => void {
    const deadline = Date.now() + timeoutMs;
    let told = false;
    for (;;) {
        try {
            fs.mkdirSync(lockDir);
            fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
            return () => fs.rmSync(lockDir, { recursive: true, force: true });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        let holder = NaN;
        try {
            holder = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8"));
        } catch {
            /* being created or removed right now */
        }
        const age = (() => {
            try {
                return Date.now() - fs.statSync(lockDir).mtimeMs;
            } catch {
                return 0;
            }
        })();
        // A lock with no pid file a few seconds after its creation, or whose holder died, is stale.
        if ((Number.isFinite(holder) && !pidAlive(holder)) || (!Number.isFinite(holder) && age > 5000)) {
            fs.rmSync(lockDir, { recursive: true, force: true });
            continue;
        }
        if (Date.now() >= deadline) throw new GoBuildError(`gobuild: ${lockDir} is still held by pid ${holder} after ${timeoutMs / 1000}s`);
        if (!told && onWait) {
            onWait(holder);
            told = true;
        }
        sleepSync(1000);
    }
}

/** The `go` command line for one binary of a spec (exported for the tests). */
export function goArgv(spec: GoBuildSpec, file: string, outPath: string): string[] {
    const pkg = spec.binaries[file];
    if (!pkg) throw new GoBuildError(`gobuild: ${spec.name} has no binary ${file}`);
    const ldflags = ["-s", "-w", ...(spec.ldflags ?? [])].join(" ");
    if (spec.moduleDir) return ["go", "build", "-mod=readonly", "-trimpath", "-ldflags", ldflags, "-o", outPath, pkg];
    // `go install` names the binary after the package; the caller renames it.
    return ["go", "install", "-trimpath", "-ldflags", ldflags, `${pkg}@${spec.version}`];
}

/**
 * Returns the spec's binaries, building them first unless `<name>@<version>` is cached. Builds
 * run one binary at a time under `nice`, since the labs share small machines.
 */
export function ensureGoBuild(spec: GoBuildSpec, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): GoBuildResult {
    const start = Date.now();
    const dir = binDir(spec.name, spec.version, env);
    const hit = cached(spec, env);
    if (hit) return { dir, bins: hit, built: false, seconds: 0 };
    const goCheck = spawnSync("go", ["version"], { encoding: "utf8", env });
    if (goCheck.status !== 0) {
        throw new GoBuildError(`${spec.name} ${spec.version} has to be built and Go is not installed: install Go (https://go.dev/doc/install) and rerun`);
    }
    const timeoutMs = spec.timeoutMs ?? 40 * 60_000;
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const release = acquireLock(`${dir}.lock`, timeoutMs, (pid) => log(`waiting for pid ${pid}, which is building ${spec.name} ${spec.version}`));
    const tmp = `${dir}.tmp-${process.pid}`;
    try {
        const again = cached(spec, env); // another process may have finished while we waited
        if (again) return { dir, bins: again, built: false, seconds: (Date.now() - start) / 1000 };
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.mkdirSync(tmp, { recursive: true });
        // A binary added to a spec (same name@version) builds alone: the ones already in the cache
        // directory were built from the same pinned module, so they are kept, not rebuilt.
        const kept = reusable(spec, dir);
        for (const file of kept) fs.copyFileSync(path.join(dir, file), path.join(tmp, file));
        if (kept.length > 0) log(`${spec.name} ${spec.version}: reusing ${kept.join(", ")} from ${dir}`);
        if (spec.moduleDir && spec.prepare) spec.prepare(spec.moduleDir);
        const deadline = start + timeoutMs;
        for (const file of Object.keys(spec.binaries).filter((f) => !kept.includes(f))) {
            const out = path.join(tmp, file);
            const argv = goArgv(spec, file, out);
            log(`building ${spec.name} ${spec.version}: ${file} (${spec.moduleDir ? `go build in ${spec.moduleDir}` : "go install"}; minutes the first time)`);
            const t0 = Date.now();
            const left = deadline - Date.now();
            if (left <= 0) throw new GoBuildError(`building ${spec.name} ${spec.version} took more than ${timeoutMs / 60_000} min`);
            const res = spawnSync("nice", ["-n", "10", ...argv], {
                cwd: spec.moduleDir ?? os.tmpdir(),
                env: { ...env, GOBIN: tmp, GOFLAGS: spec.moduleDir ? "-buildvcs=false" : "-mod=mod -buildvcs=false", CGO_ENABLED: env.CGO_ENABLED ?? "0" },
                encoding: "utf8",
                timeout: left,
                killSignal: "SIGKILL",
                maxBuffer: 64 * 1024 * 1024,
            });
            if (res.status !== 0) {
                const why = res.error ? res.error.message : `exit ${res.status ?? res.signal}`;
                throw new GoBuildError(`building ${spec.name} ${spec.version} (${file}) failed (${why}): ${argv.join(" ")}\n${(res.stderr ?? "").trim().split("\n").slice(-15).join("\n")}`);
            }
            if (!spec.moduleDir) {
                const installed = path.join(tmp, path.basename(spec.binaries[file]!));
                if (installed !== out) fs.renameSync(installed, out);
            }
            if (!fs.existsSync(out)) throw new GoBuildError(`building ${spec.name} ${spec.version}: go reported success but ${file} is missing`);
            log(`built ${file} in ${Math.round((Date.now() - t0) / 1000)} s`);
        }
        fs.writeFileSync(
            path.join(tmp, "build.json"),
            JSON.stringify({ name: spec.name, version: spec.version, binaries: spec.binaries, moduleDir: spec.moduleDir, ldflags: spec.ldflags ?? [], go: goCheck.stdout.trim(), seconds: Math.round((Date.now() - start) / 1000), at: new Date().toISOString() }, null, 2) + "\n",
        );
        fs.rmSync(dir, { recursive: true, force: true }); // an incomplete leftover (a binary missing)
        fs.renameSync(tmp, dir);
        const bins = cached(spec, env);
        if (!bins) throw new GoBuildError(`building ${spec.name} ${spec.version}: ${dir} is incomplete after the rename`);
        return { dir, bins, built: true, seconds: (Date.now() - start) / 1000 };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        release();
    }
}
