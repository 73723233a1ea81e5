/**
 * `node --require ./scripts/ts-hook.cjs bench/test-time.ts <before.json> <after.json> [<notes.md>]`:
 * the per-file times of two test runs recorded with bench/file-times-reporter.ts, side by side,
 * written to bench/results/test-time.md (the notes file's text, if given, on top).
 *
 * A file's time is the sum of the phases vitest reports for it (environment, prepare, importing
 * the file, setup files, its tests and hooks): wall time, so it moves with the machine's load and,
 * when two files run at once, with each other. A measurement, not a test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FileTimes } from "./file-times-reporter";

const ROOT = path.resolve(__dirname, "..");

interface Run { wallMs: number; files: FileTimes[] }

function main(): void {
    const [beforeFile, afterFile, notesFile] = process.argv.slice(2);
    if (!beforeFile || !afterFile) throw new Error("usage: bench/test-time.ts <before.json> <after.json> [<notes.md>]");
    const read = (f: string) => JSON.parse(fs.readFileSync(f, "utf8")) as Run;
    const before = read(beforeFile);
    const after = read(afterFile);
    const b = new Map(before.files.map((f) => [f.file, f]));
    const a = new Map(after.files.map((f) => [f.file, f]));
    const names = [...new Set([...b.keys(), ...a.keys()])].sort((x, y) => (b.get(y)?.ms ?? 0) - (b.get(x)?.ms ?? 0));
    const s = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
    const sum = (m: Map<string, FileTimes>) => [...m.values()].reduce((t, v) => t + v.ms, 0);
    const states = (f: FileTimes | undefined) => (f ? Object.entries(f.tests).sort().map(([k, v]) => `${v} ${k}`).join(", ") : "-");
    const md = [
        "# `npm test`: where the time goes, per file (wall seconds)",
        "",
        ...(notesFile ? [fs.readFileSync(notesFile, "utf8").trimEnd(), ""] : []),
        "| file | before (s) | of which import | after (s) | of which import | tests before | tests after |",
        "|---|---:|---:|---:|---:|---|---|",
        ...names.map((n) => `| ${n} | ${s(b.get(n)?.ms)} | ${s(b.get(n)?.phases.collect)} | ${s(a.get(n)?.ms)} | ${s(a.get(n)?.phases.collect)} | ${states(b.get(n))} | ${states(a.get(n))} |`),
        `| **sum of files** | **${s(sum(b))}** | | **${s(sum(a))}** | | | |`,
        `| **whole run (wall)** | **${s(before.wallMs)}** | | **${s(after.wallMs)}** | | | |`,
        "",
    ].join("\n");
    fs.mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(ROOT, "bench", "results", "test-time.md"), md);
    console.log(md);
}

main();
