/**
 * The `--out` folder: plan writes into it and removes only what an earlier plan wrote there.
 *
 * Each plan leaves a marker, `.directpath-plan.json`, listing every file it wrote with its SHA-256.
 * The next plan into the same folder removes exactly those files (when they still hold what plan
 * wrote) and nothing else. A folder is accepted when it does not exist yet (it is created), is
 * empty, or holds such a marker. Anything else is refused before a byte is written:
 * - a non-empty folder without a marker (a checkout, a home directory, ...);
 * - a marker that is not plan's, or that lists a path outside the folder or not of plan's naming
 *   (`plan.json`, `<manifests|secrets|patches|computed|helm>/NNN-name.yaml`): nothing it lists is touched;
 * - a listed file that was changed since (its hash differs) or is no longer a regular file (a
 *   symlink, a folder): plan never follows a link and never drops a user's edit;
 * - a file plan is about to write that exists but was not written by plan;
 * - a sub-folder (manifests/, ...) that is a symlink.
 * A symlink given as `--out` itself is followed once (the user named it); everything below it is
 * checked with lstat.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export const MARKER = ".directpath-plan.json";
const MARKER_KIND = "directpath plan output";
export const OUT_SUBDIRS = ["manifests", "secrets", "patches", "computed", "helm"] as const;
const PLAN_FILE = /^(plan\.json|(manifests|secrets|patches|computed|helm)\/\d{3}-[a-z0-9.-]+\.yaml)$/;

/** An `--out` folder plan must not use; the message names the folder and the rule. */
export class OutDirError extends Error {}

interface Marker {
    kind: typeof MARKER_KIND;
    version: 1;
    stack: string;
    /** Relative path -> SHA-256 (hex) of what plan wrote. */
    files: Record<string, string>;
}

export interface OutDir {
    /** Absolute path plan writes into (a symlinked `--out` resolved). */
    dir: string;
    /** Whether the folder exists yet. */
    exists: boolean;
    /** What the earlier plan wrote here (relative path -> SHA-256); empty for a new folder. */
    previous: Record<string, string>;
}

export interface OutFile {
    /** Relative path, e.g. `manifests/000-namespace-tailscale.yaml`. */
    rel: string;
    content: string;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function lstat(p: string): fs.Stats | undefined {
    try {
        return fs.lstatSync(p);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
}

function refuse(flag: string, dir: string, problems: string[]): never {
    throw new OutDirError(`${flag} ${dir}: ${problems.length === 1 ? problems[0] : `\n${problems.map((p) => `  - ${p}`).join("\n")}`}`);
}

/** Reads and checks a marker; every problem, or the files it lists. */
function readMarker(dir: string): { files?: Record<string, string>; problems: string[] } {
    const file = path.join(dir, MARKER);
    const st = lstat(file)!;
    if (!st.isFile()) return { problems: [`${MARKER} is not a regular file (a symlink?); plan won't trust it. Pass an empty or new folder`] };
    let doc: Partial<Marker>;
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Marker>;
    } catch {
        return { problems: [`${MARKER} is not valid JSON; plan won't trust it. Pass an empty or new folder`] };
    }
    if (!doc || doc.kind !== MARKER_KIND || doc.version !== 1 || typeof doc.files !== "object" || doc.files === null || Array.isArray(doc.files)) {
        return { problems: [`${MARKER} is not a marker plan wrote (kind, version, files); plan won't trust it. Pass an empty or new folder`] };
    }
    const problems: string[] = [];
    for (const [rel, hash] of Object.entries(doc.files)) {
        if (!PLAN_FILE.test(rel) || typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) {
            problems.push(`${MARKER} lists ${JSON.stringify(rel)}, which is not a file plan writes (plan.json or <manifests|secrets|patches|computed|helm>/NNN-name.yaml, with its sha256); nothing it lists is touched`);
        }
    }
    return problems.length ? { problems } : { files: doc.files as Record<string, string>, problems };
}

/**
 * Checks `--out` without writing anything. Throws {@link OutDirError} (every problem listed) for a
 * folder plan must not write into.
 */
export function inspectOutDir(outArg: string, flag = "--out"): OutDir {
    const given = path.resolve(outArg);
    const st = lstat(given);
    if (!st) {
        // A new folder. Its nearest existing ancestor must be a folder.
        let up = path.dirname(given);
        while (!fs.existsSync(up)) up = path.dirname(up);
        if (!fs.statSync(up).isDirectory()) refuse(flag, given, [`${up} is not a folder`]);
        return { dir: given, exists: false, previous: {} };
    }
    let dir = given;
    if (st.isSymbolicLink()) {
        try {
            dir = fs.realpathSync(given);
        } catch {
            refuse(flag, given, ["is a symlink to something that does not exist; pass an empty or new folder"]);
        }
    }
    if (!fs.statSync(dir).isDirectory()) refuse(flag, given, ["exists and is not a folder; pass an empty or new folder"]);
    const entries = fs.readdirSync(dir);
    if (entries.length === 0) return { dir, exists: true, previous: {} };
    if (!entries.includes(MARKER)) {
        const shown = entries.slice(0, 5).join(", ") + (entries.length > 5 ? `, ... (${entries.length} entries)` : "");
        refuse(flag, given, [`the folder is not empty and plan did not write it (no ${MARKER}; it holds ${shown}). ` +
            "plan never deletes files it did not write: pass an empty or new folder (if it holds an older plan's output, delete that yourself)"]);
    }
    const marker = readMarker(dir);
    if (!marker.files) refuse(flag, given, marker.problems);
    const problems: string[] = [];
    for (const sub of OUT_SUBDIRS) {
        const s = lstat(path.join(dir, sub));
        if (s && !s.isDirectory()) problems.push(`${sub} is not a folder (a symlink or a file); plan writes only into real folders`);
    }
    for (const [rel, hash] of Object.entries(marker.files)) {
        const s = lstat(path.join(dir, rel));
        if (!s) continue; // already gone: nothing to remove
        if (!s.isFile()) problems.push(`${rel} is no longer a regular file (a symlink or a folder); plan won't remove or follow it`);
        else if (sha256(fs.readFileSync(path.join(dir, rel))) !== hash) problems.push(`${rel} changed since plan wrote it; plan won't overwrite your edit: move it away or pass a new folder`);
    }
    if (problems.length) refuse(flag, given, problems);
    return { dir, exists: true, previous: marker.files };
}

/**
 * Replaces the earlier plan's files with `files`: removes only what the marker lists, writes the
 * new files (never over a file plan did not write), then the new marker. Files plan did not write
 * stay untouched; sub-folders plan emptied are removed unless they are still needed.
 */
export function writeOutDir(out: OutDir, stack: string, files: readonly OutFile[], keepDirs: readonly string[] = []): void {
    const problems: string[] = [];
    for (const f of files) {
        if (!PLAN_FILE.test(f.rel)) throw new Error(`plan bug: ${f.rel} is not a plan file name`);
        if (!(f.rel in out.previous) && lstat(path.join(out.dir, f.rel))) problems.push(`${f.rel} exists and plan did not write it; plan won't overwrite it: move it away or pass a new folder`);
    }
    if (problems.length) refuse("--out", out.dir, problems);

    fs.mkdirSync(out.dir, { recursive: true });
    // 1. Remove what the earlier plan wrote (checked by inspectOutDir; lstat again, never follow a link).
    for (const rel of Object.keys(out.previous)) {
        const p = path.join(out.dir, rel);
        const s = lstat(p);
        if (s?.isFile()) fs.unlinkSync(p);
    }
    const markerPath = path.join(out.dir, MARKER);
    if (lstat(markerPath)?.isFile()) fs.unlinkSync(markerPath);
    // 2. The sub-folders: remove emptied ones, create needed ones.
    const needed = new Set([...keepDirs, ...files.map((f) => f.rel.split("/")[0]!).filter((d) => d !== "plan.json")]);
    for (const sub of OUT_SUBDIRS) {
        const p = path.join(out.dir, sub);
        const s = lstat(p);
        if (needed.has(sub)) {
            if (!s) fs.mkdirSync(p);
        } else if (s?.isDirectory() && fs.readdirSync(p).length === 0) fs.rmdirSync(p);
    }
    // 3. The marker first (so an interrupted run still knows what it wrote), then the files.
    //    "wx": never write through a file or link that appeared in the meantime.
    const marker: Marker = { kind: MARKER_KIND, version: 1, stack, files: Object.fromEntries(files.map((f) => [f.rel, sha256(f.content)])) };
    fs.writeFileSync(markerPath, JSON.stringify(marker, null, 2) + "\n", { flag: "wx" });
    for (const f of files) fs.writeFileSync(path.join(out.dir, f.rel), f.content, { flag: "wx" });
}
