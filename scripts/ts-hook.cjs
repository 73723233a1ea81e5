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
 * - source maps on demand. esbuild writes an inline source map into each compiled module, but
 *   Node's own source-map support stays off: with it on, Node decodes and parses the map of every
 *   module as it compiles it (the `.js.map` of each @pulumi/* file too), about 70 ms CPU of a
 *   `plan` run for maps that are only needed when something crashes. Instead the hook keeps each
 *   module's compiled text and exposes `globalThis[Symbol.for("directpath.ts-hook.mapStack")]`,
 *   which rewrites the `file.ts:line:column` positions of a stack trace to the TypeScript source's,
 *   parsing a module's map the first time one of its frames is seen; the plan CLI passes its crash
 *   stacks through it. `DIRECTPATH_SOURCE_MAPS=1` turns Node's own support on for `.ts` modules
 *   instead (every stack mapped, at that cost).
 *
 * - zod's locales on demand. `require("zod")` loads all of zod's ~60 message locales (its classic
 *   API re-exports them as `z.locales`), about 20 ms CPU, while the project only ever uses English
 *   (which zod's schemas load themselves). Before zod loads, the hook puts a stand-in for
 *   `zod/v4/locales/index.cjs` in the module cache with the same exports, each a getter that loads
 *   its locale file on first use; the export names and files are read from zod's own index, and
 *   when that can't be read the stand-in is skipped (zod loads as it is).
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

// ---- source maps ----
const NODE_MAPS = process.env.DIRECTPATH_SOURCE_MAPS === "1";
/** .ts filename -> the JavaScript it was compiled to (the inline source map at its end). */
const compiledText = new Map();
/** .ts filename -> its parsed source map (null: none could be read), filled on first use. */
const parsedMaps = new Map();
const INLINE_MAP = "//# sourceMappingURL=data:application/json;base64,";

function sourceMapOf(filename) {
    if (parsedMaps.has(filename)) return parsedMaps.get(filename);
    let map = null;
    const code = compiledText.get(filename);
    const at = code === undefined ? -1 : code.lastIndexOf(INLINE_MAP);
    if (at >= 0) {
        try {
            const payload = JSON.parse(Buffer.from(code.slice(at + INLINE_MAP.length).trim(), "base64").toString("utf8"));
            map = new Module.SourceMap(payload);
        } catch {
            map = null;
        }
    }
    parsedMaps.set(filename, map);
    return map;
}

/**
 * A stack trace with every `<file>.ts:<line>:<column>` of a module this hook compiled rewritten to
 * the position in the TypeScript source. Other frames are left as they are.
 */
function mapStack(stack) {
    // With Node's own support on, the positions are the source's already.
    if (typeof stack !== "string" || NODE_MAPS) return stack;
    return stack.replace(/([^\s()]+\.ts):(\d+):(\d+)/g, (whole, file, line, column) => {
        const map = sourceMapOf(file);
        if (!map) return whole;
        const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
        if (!entry || typeof entry.originalLine !== "number") return whole;
        return `${file}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    });
}
globalThis[Symbol.for("directpath.ts-hook.mapStack")] = mapStack;

// With DIRECTPATH_SOURCE_MAPS=1: Node's own support on while a .ts module compiles (that is when
// Node registers a module's map), off for .js (the @pulumi/* maps nobody here needs).
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

if (NODE_MAPS) {
    const loadJs = Module._extensions[".js"];
    Module._extensions[".js"] = function (module, filename) {
        return withSourceMaps(false, () => loadJs.call(this, module, filename));
    };
}
Module._extensions[".ts"] = function (module, filename) {
    const code = compileTs(fs.readFileSync(filename, "utf8"), filename);
    compiledText.set(filename, code);
    if (!NODE_MAPS) return module._compile(code, filename);
    return withSourceMaps(true, () => module._compile(code, filename));
};

if (NODE_MAPS) {
    process.setSourceMapsEnabled(true);
    mapsOn = true;
}

// ---- zod's locales on demand (see the header) ----
function lazyZodLocales() {
    let index;
    try {
        index = require.resolve("zod/v4/locales", { paths: [path.join(__dirname, "..")] });
    } catch {
        return; // no zod here
    }
    if (require.cache[index]) return;
    let text;
    try {
        text = fs.readFileSync(index, "utf8");
    } catch {
        return;
    }
    // `var ar_js_1 = require("./ar.cjs");` then `Object.defineProperty(exports, "ar", ... ar_js_1 ...)`.
    const fileOf = new Map();
    for (const m of text.matchAll(/var (\w+) = require\("(\.\/[\w.-]+\.cjs)"\);/g)) fileOf.set(m[1], m[2]);
    const exported = [...text.matchAll(/Object\.defineProperty\(exports, "(\w+)", \{ enumerable: true, get: function \(\) \{ return __importDefault\((\w+)\)\.default; \} \}\);/g)];
    if (fileOf.size === 0 || exported.length !== fileOf.size || exported.some((m) => !fileOf.has(m[2]))) return;
    const dir = path.dirname(index);
    const stand = new Module(index, null);
    stand.filename = index;
    stand.paths = Module._nodeModulePaths(dir);
    Object.defineProperty(stand.exports, "__esModule", { value: true });
    for (const [, name, variable] of exported) {
        const file = path.join(dir, fileOf.get(variable));
        Object.defineProperty(stand.exports, name, {
            enumerable: true,
            get() {
                const mod = require(file);
                return mod && mod.__esModule ? mod.default : mod;
            },
        });
    }
    stand.loaded = true;
    require.cache[index] = stand;
}
lazyZodLocales();
