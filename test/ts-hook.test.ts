/**
 * scripts/ts-hook.cjs, the plan CLI's TypeScript loader: it keeps Node's source-map support off
 * (for speed) and maps a crash's stack on demand. A stack mapped that way must name the same
 * TypeScript line as Node's own support does.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TS_HOOK } from "../plan/command";

// Type-only lines before the throw: esbuild drops them, so the compiled line differs from the source's.
const SOURCE = `interface Shape {
    a: number;
    b: string;
}
type Alias = Shape | undefined;

function explode(x: Alias): never {
    const y: number = (x as Shape | undefined)?.a ?? 1;
    throw new Error(\`boom \${y}\`);
}

try {
    explode(undefined);
} catch (e) {
    const mapStack = (globalThis as Record<symbol, ((s: string) => string) | undefined>)[Symbol.for("directpath.ts-hook.mapStack")];
    const stack = (e as Error).stack!;
    console.log(JSON.stringify({ raw: stack, mapped: mapStack ? mapStack(stack) : null, nodeMaps: process.sourceMapsEnabled }));
}
`;
const THROW_LINE = SOURCE.split("\n").findIndex((l) => l.includes("throw new Error")) + 1;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-tshook-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, "boom.ts");
fs.writeFileSync(file, SOURCE);

function run(env: NodeJS.ProcessEnv): { raw: string; mapped: string | null; nodeMaps: boolean } {
    // Its own cache folder: the first run compiles, so the test never depends on an earlier one.
    const res = spawnSync(process.execPath, ["--require", TS_HOOK, file], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: path.join(dir, "cache"), ...env } });
    expect(res.status, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { raw: string; mapped: string | null; nodeMaps: boolean };
}

/** The line number of boom.ts in the frame of `explode`. */
function explodeLine(stack: string): number {
    const frame = stack.split("\n").find((l) => l.includes("at explode"));
    const m = frame && new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:(\\d+):\\d+`).exec(frame);
    if (!m) throw new Error(`no boom.ts frame of explode in:\n${stack}`);
    return Number(m[1]);
}

describe("ts-hook source maps", () => {
    it("keeps Node's support off and maps a stack to the TypeScript line on demand", () => {
        const r = run({ DIRECTPATH_SOURCE_MAPS: "" });
        expect(r.nodeMaps).toBe(false);
        expect(r.mapped).not.toBeNull();
        // Unmapped, the position is the compiled line (the type-only lines are gone) ...
        expect(explodeLine(r.raw)).not.toBe(THROW_LINE);
        // ... mapped, it is the line of the throw in boom.ts.
        expect(explodeLine(r.mapped!)).toBe(THROW_LINE);
        // Frames of files the hook did not compile are left alone.
        const nodeFrames = (s: string) => s.split("\n").filter((l) => l.includes("node:internal"));
        expect(nodeFrames(r.mapped!)).toEqual(nodeFrames(r.raw));
    });

    it("with DIRECTPATH_SOURCE_MAPS=1 Node maps every stack itself, and mapStack leaves it as it is", () => {
        const r = run({ DIRECTPATH_SOURCE_MAPS: "1" });
        expect(r.nodeMaps).toBe(true);
        expect(explodeLine(r.raw)).toBe(THROW_LINE);
        expect(r.mapped).toBe(r.raw);
    });
});

describe("ts-hook: zod's locales on demand", () => {
    const probe = `
const z = require("zod");
const loaded = () => Object.keys(require.cache).filter((k) => /[\\\\/]zod[\\\\/]v4[\\\\/]locales[\\\\/]/.test(k)).map((k) => k.replace(/.*[\\\\/]/, "")).sort();
const atStart = loaded();
const names = Object.keys(z.locales).sort();
let english = ""; try { z.string().parse(1); } catch (e) { english = e.issues[0].message; }
z.config(z.locales.de());
let german = ""; try { z.string().parse(1); } catch (e) { german = e.issues[0].message; }
console.log(JSON.stringify({ atStart, names, english, german, after: loaded() }));
`;
    const run = (hook: boolean) => {
        const res = spawnSync(process.execPath, [...(hook ? ["--require", TS_HOOK] : []), "-e", probe], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" });
        expect(res.status, res.stderr).toBe(0);
        return JSON.parse(res.stdout) as { atStart: string[]; names: string[]; english: string; german: string; after: string[] };
    };

    it("loads only the English locale at start, with the same exports and messages as zod without the hook", () => {
        const plain = run(false);
        const hooked = run(true);
        expect(plain.atStart.length).toBeGreaterThan(50); // what the stand-in saves
        expect(hooked.atStart).toEqual(["en.cjs", "index.cjs"]);
        expect(hooked.names).toEqual(plain.names);
        expect(hooked.english).toBe(plain.english);
        // A locale still works when asked for: loaded then, with zod's own messages.
        expect(hooked.german).toBe(plain.german);
        expect(hooked.german).not.toBe(hooked.english);
        expect(hooked.after).toContain("de.cjs");
    });
});
