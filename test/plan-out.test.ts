/**
 * `plan --out` never destroys anything it did not write: a marker lists what plan wrote, only those
 * files are removed, a folder plan did not write is refused (exit 2, naming it), and a tampered
 * marker or a symlink never makes plan delete or write outside the folder.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { inspectOutDir, MARKER, OutDirError, writeOutDir } from "../plan/out-dir";
import { TS_HOOK } from "../plan/command";
import { ROOT, runPlanCli } from "./harness";

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Every file and symlink under a folder (not following links), with its hash or link target. */
function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const r = path.join(rel, e.name);
            if (skip(r)) continue;
            const abs = path.join(dir, r);
            if (e.isSymbolicLink()) out[r] = `link:${fs.readlinkSync(abs)}`;
            else if (e.isDirectory()) {
                out[`${r}/`] = "dir";
                walk(r);
            } else out[r] = sha(abs);
        }
    };
    walk("");
    return out;
}

function marker(dir: string): { files: Record<string, string> } {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER), "utf8"));
}

describe("plan --out: refuses a folder it did not write", () => {
    it("a folder with a user file: exit 2 naming the folder and the rule; the file is kept byte for byte; nothing written", () => {
        const dir = tmp("directpath-user-");
        const bytes = randomBytes(4096);
        fs.writeFileSync(path.join(dir, "notes.bin"), bytes);
        const run = runPlanCli(["--stack", "local"], dir);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(`plan failed: --out ${dir}: the folder is not empty and plan did not write it`);
        expect(run.stderr).toMatch(/pass an empty or new folder/);
        expect(fs.readFileSync(path.join(dir, "notes.bin")).equals(bytes)).toBe(true);
        expect(fs.readdirSync(dir)).toEqual(["notes.bin"]);
    });

    it("--out . in a temp copy of the repo (with .git): refuses and deletes nothing", () => {
        const copy = tmp("directpath-repo-");
        fs.cpSync(ROOT, copy, { recursive: true, filter: (src) => !/[/\\](node_modules|out|\.git|\.lab|dist)$/.test(src) && !fs.lstatSync(src).isSocket() });
        fs.mkdirSync(path.join(copy, ".git", "objects"), { recursive: true });
        fs.writeFileSync(path.join(copy, ".git", "HEAD"), "ref: refs/heads/main\n");
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
        const before = snapshot(copy, (r) => r === "node_modules");
        // `npm run plan -- --out .` in the copy: its own plan/cli.ts, run the way package.json runs it.
        const res = spawnSync(process.execPath, ["--require", path.join(copy, path.relative(ROOT, TS_HOOK)), path.join(copy, "plan", "cli.ts"), "--stack", "local", "--out", "."], {
            cwd: copy, encoding: "utf8", timeout: 120_000,
        });
        expect(res.status, res.stderr).toBe(2);
        expect(res.stderr).toContain(`--out ${copy}: the folder is not empty and plan did not write it`);
        expect(snapshot(copy, (r) => r === "node_modules")).toEqual(before);
        expect(fs.existsSync(path.join(copy, ".git", "HEAD"))).toBe(true);
    });

    it("a file given as --out: exit 2", () => {
        const file = path.join(tmp("directpath-file-"), "plan.txt");
        fs.writeFileSync(file, "mine");
        const run = runPlanCli(["--stack", "local"], file);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(`--out ${file}: exists and is not a folder`);
        expect(fs.readFileSync(file, "utf8")).toBe("mine");
    });
});

describe("plan --out: its own folder", () => {
    it("a new nested folder is created; an empty one is used", () => {
        const nested = path.join(tmp("directpath-new-"), "a", "b", "plan");
        const run = runPlanCli(["--stack", "local-iptables", "--quiet"], nested);
        expect(run.status, run.stderr).toBe(0);
        const written = Object.keys(marker(nested).files).sort();
        // --quiet prints only the line saying what was written (this stack has no patches, no Helm release).
        expect(run.stdout.trimEnd().split("\n")).toEqual([`Wrote ${written.filter((f) => f.startsWith("manifests/")).length} manifest(s) to ${nested}/manifests, and ${nested}/plan.json`]);
        expect(written).toContain("plan.json");
        expect(written.some((f) => f.startsWith("manifests/"))).toBe(true);
        // The marker lists exactly the files there are, with their hashes.
        const files = snapshot(nested);
        for (const f of written) expect(files[f], f).toBe(marker(nested).files[f]);
        const onDisk = Object.keys(files).filter((f) => !f.endsWith("/") && f !== MARKER).sort();
        expect(onDisk).toEqual(written);
    });

    it("a second plan replaces its old files, removes a manifest it no longer renders, and keeps a user's file", () => {
        const out = tmp("directpath-again-");
        const first = runPlanCli(["--stack", "local"], out);
        expect(first.status, first.stderr).toBe(0);
        const firstFiles = Object.keys(marker(out).files);
        expect(firstFiles.some((f) => /daemonset-tailscale-tailscale/.test(f))).toBe(true);
        const mine = randomBytes(512);
        fs.writeFileSync(path.join(out, "README.mine"), mine);

        // The same stack with Tailscale off: its manifests must go.
        const stackDir = tmp("directpath-stack-");
        const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
        doc.config["directpath:tailscale"] = { enabled: false };
        fs.writeFileSync(path.join(stackDir, "Pulumi.local.yaml"), stringify(doc));
        const second = runPlanCli(["--stack", "local", "--stack-dir", stackDir], out);
        expect(second.status, second.stderr).toBe(0);

        const now = marker(out).files;
        const onDisk = Object.keys(snapshot(out)).filter((f) => !f.endsWith("/") && f !== MARKER && f !== "README.mine").sort();
        expect(onDisk).toEqual(Object.keys(now).sort());
        expect(onDisk.some((f) => /tailscale/.test(f))).toBe(false);
        expect(firstFiles.filter((f) => /tailscale/.test(f)).every((f) => !fs.existsSync(path.join(out, f)))).toBe(true);
        for (const [f, h] of Object.entries(now)) expect(sha(path.join(out, f)), f).toBe(h);
        expect(fs.readFileSync(path.join(out, "README.mine")).equals(mine)).toBe(true);
    });

    it("a file of its own that the user edited is not overwritten: exit 2, the edit kept", () => {
        const out = tmp("directpath-edit-");
        expect(runPlanCli(["--stack", "local-iptables"], out).status).toBe(0);
        const f = Object.keys(marker(out).files).find((x) => x.startsWith("manifests/"))!;
        fs.appendFileSync(path.join(out, f), "# my edit\n");
        const before = snapshot(out);
        const run = runPlanCli(["--stack", "local-iptables"], out);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(`${f} changed since plan wrote it`);
        expect(snapshot(out)).toEqual(before);
    });
});

describe("plan --out: a tampered marker or a symlink never reaches outside the folder", () => {
    /** A folder as plan left it: a marker and one file of its own. */
    function planned(): { out: string; outside: string } {
        const out = tmp("directpath-mk-");
        const outside = tmp("directpath-outside-");
        fs.writeFileSync(path.join(outside, "victim.txt"), "keep me");
        writeOutDir(inspectOutDir(out), "t", [{ rel: "plan.json", content: "{}\n" }, { rel: "manifests/000-a.yaml", content: "a: 1\n" }]);
        return { out, outside };
    }
    const expectRefused = (out: string, pattern: RegExp) => {
        let err: unknown;
        try {
            inspectOutDir(out);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(OutDirError);
        expect((err as Error).message).toContain(`--out ${out}`);
        expect((err as Error).message).toMatch(pattern);
    };

    it("writes a marker that inspectOutDir accepts, and removes only the files it lists", () => {
        const { out } = planned();
        fs.writeFileSync(path.join(out, "manifests", "999-user.yaml"), "mine: true\n");
        writeOutDir(inspectOutDir(out), "t", [{ rel: "plan.json", content: "{\"v\":2}\n" }]);
        expect(fs.existsSync(path.join(out, "manifests", "000-a.yaml"))).toBe(false);
        expect(fs.readFileSync(path.join(out, "manifests", "999-user.yaml"), "utf8")).toBe("mine: true\n");
        expect(fs.readFileSync(path.join(out, "plan.json"), "utf8")).toBe("{\"v\":2}\n");
    });

    it("a marker listing paths outside the folder (../, absolute, not plan's naming): refused, nothing touched", () => {
        for (const bad of ["../victim.txt", "/etc/passwd", "manifests/../../victim.txt", "notes.txt", "manifests/000-A.yaml"]) {
            const { out, outside } = planned();
            const m = JSON.parse(fs.readFileSync(path.join(out, MARKER), "utf8"));
            m.files[bad] = "0".repeat(64);
            fs.writeFileSync(path.join(out, MARKER), JSON.stringify(m));
            const before = snapshot(out);
            expectRefused(out, /is not a file plan writes/);
            expect(snapshot(out)).toEqual(before);
            expect(fs.readFileSync(path.join(outside, "victim.txt"), "utf8")).toBe("keep me");
        }
    });

    it("a listed file replaced by a symlink to a file outside: refused; neither the link nor its target is touched", () => {
        const { out, outside } = planned();
        const victim = path.join(outside, "victim.txt");
        fs.rmSync(path.join(out, "manifests", "000-a.yaml"));
        fs.symlinkSync(victim, path.join(out, "manifests", "000-a.yaml"));
        expectRefused(out, /manifests\/000-a\.yaml is no longer a regular file/);
        expect(fs.readlinkSync(path.join(out, "manifests", "000-a.yaml"))).toBe(victim);
        expect(fs.readFileSync(victim, "utf8")).toBe("keep me");
    });

    it("manifests/ replaced by a symlink to a folder outside: refused, the outside folder untouched", () => {
        const { out, outside } = planned();
        fs.writeFileSync(path.join(outside, "000-a.yaml"), "a: 1\n"); // same content, same name
        fs.rmSync(path.join(out, "manifests"), { recursive: true });
        fs.symlinkSync(outside, path.join(out, "manifests"));
        const before = snapshot(outside);
        expectRefused(out, /manifests is not a folder \(a symlink or a file\)/);
        expect(snapshot(outside)).toEqual(before);
    });

    it("a marker that is a symlink, not JSON, or not plan's: refused", () => {
        const a = planned();
        fs.rmSync(path.join(a.out, MARKER));
        fs.writeFileSync(path.join(a.outside, "m.json"), fs.readFileSync(path.join(a.out, "plan.json")));
        fs.symlinkSync(path.join(a.outside, "m.json"), path.join(a.out, MARKER));
        expectRefused(a.out, /is not a regular file/);
        const b = planned();
        fs.writeFileSync(path.join(b.out, MARKER), "{not json");
        expectRefused(b.out, /is not valid JSON/);
        const c = planned();
        fs.writeFileSync(path.join(c.out, MARKER), JSON.stringify({ files: { "plan.json": "0".repeat(64) } }));
        expectRefused(c.out, /is not a marker plan wrote/);
    });

    it("--out a symlink: followed to its folder (the user named it); a dangling one is refused", () => {
        const { out } = planned();
        const link = path.join(tmp("directpath-link-"), "out");
        fs.symlinkSync(out, link);
        expect(inspectOutDir(link).dir).toBe(fs.realpathSync(out));
        const dangling = path.join(tmp("directpath-link-"), "gone");
        fs.symlinkSync(path.join(out, "nope"), dangling);
        expectRefused(dangling, /is a symlink to something that does not exist/);
    });

    it("a file plan is about to write that it did not write before is never overwritten", () => {
        const out = tmp("directpath-collide-");
        writeOutDir(inspectOutDir(out), "t", [{ rel: "plan.json", content: "{}\n" }]);
        fs.mkdirSync(path.join(out, "manifests"), { recursive: true });
        fs.writeFileSync(path.join(out, "manifests", "000-a.yaml"), "mine\n");
        expect(() => writeOutDir(inspectOutDir(out), "t", [{ rel: "plan.json", content: "{}\n" }, { rel: "manifests/000-a.yaml", content: "theirs\n" }]))
            .toThrow(/manifests\/000-a\.yaml exists and plan did not write it/);
        expect(fs.readFileSync(path.join(out, "manifests", "000-a.yaml"), "utf8")).toBe("mine\n");
        expect(fs.readFileSync(path.join(out, "plan.json"), "utf8")).toBe("{}\n");
    });
});
