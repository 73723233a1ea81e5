/**
 * The version-keyed binary cache (lab/lib/gobuild.ts): where binaries go, when the cache counts
 * as a hit, the go command lines, and the build lock. Real builds run in the labs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, binCacheRoot, binDir, cached, ensureGoBuild, goArgv, type GoBuildSpec } from "../lab/lib/gobuild";

const made: string[] = [];
const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "dpd-gobuild-test-"));
    made.push(d);
    return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe("gobuild cache", () => {
    it("lives under XDG_CACHE_HOME (or ~/.cache) /directpath/bin/<name>@<version>", () => {
        expect(binCacheRoot({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" })).toBe("/x/cache/directpath/bin");
        expect(binCacheRoot({ HOME: "/home/u" })).toBe("/home/u/.cache/directpath/bin");
        expect(binCacheRoot({ XDG_CACHE_HOME: "relative", HOME: "/home/u" })).toBe("/home/u/.cache/directpath/bin");
        expect(binDir("pulumi", "v3.248.0", { HOME: "/h" })).toBe("/h/.cache/directpath/bin/pulumi@v3.248.0");
        expect(() => binDir("x", "../v1", { HOME: "/h" })).toThrow(/letters, digits/);
    });
    it("is a hit only when every binary is there; a hit builds nothing", () => {
        const home = tmp();
        const env = { XDG_CACHE_HOME: home };
        const spec: GoBuildSpec = { name: "k", version: "v1.0.0", moduleDir: "/nonexistent", binaries: { a: "./a", b: "./b" } };
        const dir = binDir("k", "v1.0.0", env);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "a"), "");
        expect(cached(spec, env)).toBeUndefined();
        fs.writeFileSync(path.join(dir, "b"), "");
        expect(cached(spec, env)).toEqual({ a: path.join(dir, "a"), b: path.join(dir, "b") });
        const r = ensureGoBuild(spec, () => undefined, env);
        expect(r).toMatchObject({ built: false, dir });
    });
    it("go build in the wrapper module, go install for a plain module; always stripped", () => {
        expect(goArgv({ name: "p", version: "v1", moduleDir: "/m", binaries: { pulumi: "github.com/x/cmd/pulumi" }, ldflags: ["-X a.b=c"] }, "pulumi", "/o/pulumi"))
            .toEqual(["go", "build", "-mod=readonly", "-trimpath", "-ldflags", "-s -w -X a.b=c", "-o", "/o/pulumi", "github.com/x/cmd/pulumi"]);
        expect(goArgv({ name: "coredns", version: "v1.14.7", binaries: { coredns: "github.com/coredns/coredns" } }, "coredns", "/o/coredns"))
            .toEqual(["go", "install", "-trimpath", "-ldflags", "-s -w", "github.com/coredns/coredns@v1.14.7"]);
    });
});

describe("build lock", () => {
    it("is exclusive while held, and a dead holder's lock is taken over", () => {
        const lock = path.join(tmp(), "x.lock");
        const release = acquireLock(lock, 1000);
        expect(() => acquireLock(lock, 1200)).toThrow(new RegExp(`still held by pid ${process.pid}`));
        release();
        expect(fs.existsSync(lock)).toBe(false);
        fs.mkdirSync(lock);
        fs.writeFileSync(path.join(lock, "pid"), "999999999");
        const again = acquireLock(lock, 1000);
        expect(fs.readFileSync(path.join(lock, "pid"), "utf8")).toBe(String(process.pid));
        again();
    });
});
