/**
 * A minimal TypeScript loader for the project's own CLIs (`npm run plan`, the bench, the plan runs
 * the tests and labs spawn): `node --require ./scripts/ts-hook.cjs plan/cli.ts ...`.
 *
 * Why not tsx: tsx hooks every file Node loads. Its CommonJS hook reads and ESM-sniffs each `.js`
 * file of @pulumi/* (hundreds), which costs about as much CPU again as loading them. This hook only
 * handles `.ts` files, the way the project compiles them (tsconfig.json: CommonJS, ES2022):
 *
 * - `require.extensions[".ts"]` -> esbuild `transformSync` (loader ts, format cjs, target node20,
 *   dynamic `import()` turned into `require` as tsc does for `module: commonjs`) -> `module._compile`;
 * - the output is cached by a hash of (esbuild version, options, file path, source) under
 *   `${XDG_CACHE_HOME:-~/.cache}/directpath/ts-hook/`, so a run whose sources did not change never
 *   loads esbuild at all. A stale entry can't be hit (the key is the content); an unwritable cache
 *   is silently skipped. `DIRECTPATH_TS_CACHE=0` turns the cache off.
 * - inline source maps, so stack traces name `.ts` lines. Node's source-map support is switched on,
 *   but switched off while a `.js` file is compiled: with it on, Node reads and parses the `.js.map`
 *   of every @pulumi/* file it loads (~0.3 s CPU), maps nobody here needs.
 *
 * Type errors are not checked here (as with tsx): `npm run typecheck` does that.
 * `pulumi up` does not use this file: Pulumi.yaml runs index.ts with Pulumi's own TypeScript support.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const Module = require("node:module");

const OPTIONS = {
    loader: "ts",
    format: "cjs",
    target: "node20",
    sourcemap: "inline",
    sourcesContent: false,
    // tsc with `module: commonjs` compiles `import()` to `require()`; so do we, or Node's ESM
    // loader would be asked to load a .ts file.
    supported: { "dynamic-import": false },
};

let esbuild;
let esbuildVersion;
/** The esbuild version without loading esbuild (its package.json), so cache hits stay cheap. */
function versionOfEsbuild() {
    if (esbuildVersion === undefined) {
        try {
            esbuildVersion = JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")).version;
        } catch {
            esbuildVersion = "unknown";
        }
    }
    return esbuildVersion;
}

const cacheDir =
    process.env.DIRECTPATH_TS_CACHE === "0"
        ? undefined
        : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath", "ts-hook");
let cacheUsable = cacheDir !== undefined;

function compileTs(source, filename) {
    const key = cacheUsable
        ? crypto.createHash("sha256").update(JSON.stringify([versionOfEsbuild(), OPTIONS, filename])).update("\0").update(source).digest("hex")
        : undefined;
    const cached = key && path.join(cacheDir, key.slice(0, 2), `${key}.js`);
    if (cached) {
        try {
            return fs.readFileSync(cached, "utf8");
        } catch {
            // not cached yet
        }
    }
    esbuild ??= require("esbuild");
    const { code } = esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename });
    if (cached) {
        try {
            fs.mkdirSync(path.dirname(cached), { recursive: true });
            const tmp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, code);
            fs.renameSync(tmp, cached); // atomic: a concurrent reader sees the whole file or none
        } catch {
            cacheUsable = false;
        }
    }
    return code;
}

// Source maps on for .ts, off while anything else compiles (see the header).
let mapsOn = false;
function withSourceMaps(on, fn) {
    const before = mapsOn;
    if (before !== on) {
        process.setSourceMapsEnabled(on);
        mapsOn = on;
    }
    try {
        return fn();
    } finally {
        if (before !== on) {
            process.setSourceMapsEnabled(before);
            mapsOn = before;
        }
    }
}

const loadJs = Module._extensions[".js"];
Module._extensions[".js"] = function (module, filename) {
    return withSourceMaps(false, () => loadJs.call(this, module, filename));
};
Module._extensions[".ts"] = function (module, filename) {
    const code = compileTs(fs.readFileSync(filename, "utf8"), filename);
    return withSourceMaps(true, () => module._compile(code, filename));
};

process.setSourceMapsEnabled(true);
mapsOn = true;
