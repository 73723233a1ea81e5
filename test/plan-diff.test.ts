/**
 * `plan --diff <old-out-dir>`: objects added, removed and changed against an earlier plan, the
 * fields that differ, and never a secret value.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { diffResources, diffValues, formatDiff, isSecretField, lineDiff } from "../plan/diff";
import type { PlanResource } from "../plan/render";
import { ROOT, runPlanCli, sharedPlanRun } from "./harness";

const res = (name: string, inputs: Record<string, unknown>, type = "kubernetes:apps/v1:DaemonSet"): PlanResource => ({ urn: `urn:pulumi:s::p::${type}::${name}`, type, name, parent: null, inputs });

describe("diff (pure)", () => {
    it("lists every leaf that differs, with its path", () => {
        expect(diffValues(
            { spec: { ports: [{ port: 1 }, { port: 2 }], a: "x", gone: true }, env: [{ name: "A", value: "1" }] },
            { spec: { ports: [{ port: 1 }], a: "y", added: { k: 1 } }, env: [{ name: "A", value: "2" }], "x.y": 1 },
        )).toEqual([
            { kind: "removed", path: "spec.ports[1]", before: { port: 2 } },
            { kind: "changed", path: "spec.a", before: "x", after: "y" },
            { kind: "removed", path: "spec.gone", before: true },
            { kind: "added", path: "spec.added", after: { k: 1 } },
            { kind: "changed", path: "env[0].value", before: "1", after: "2" },
            { kind: "added", path: '["x.y"]', after: 1 },
        ]);
        expect(diffValues({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    });

    it("matches resources by URN: added, removed, changed, unchanged", () => {
        const d = diffResources([res("a", { x: 1 }), res("b", { x: 1 }), res("c", { x: 1 })], [res("a", { x: 1 }), res("c", { x: 2 }), res("d", {})]);
        expect(d.added.map((r) => r.name)).toEqual(["d"]);
        expect(d.removed.map((r) => r.name)).toEqual(["b"]);
        expect(d.changed.map((c) => [c.resource.name, c.changes])).toEqual([["c", [{ kind: "changed", path: "x", before: 1, after: 2 }]]]);
        expect(d.unchanged).toBe(1);
    });

    it("never shows a secret: Secret data/stringData and [secret] values print as (secret)", () => {
        expect(isSecretField("kubernetes:core/v1:Secret", "stringData.TS_AUTHKEY", ["a", "b"])).toBe(true);
        expect(isSecretField("kubernetes:core/v1:Secret", 'data["k.y"]', ["a"])).toBe(true);
        expect(isSecretField("kubernetes:core/v1:Secret", "metadata.name", ["a", "b"])).toBe(false);
        expect(isSecretField("pulumi:providers:kubernetes", "kubeconfig", ["[secret]", "plain"])).toBe(true);
        const secret = "kubernetes:core/v1:Secret";
        const text = formatDiff(diffResources(
            [res("s", { stringData: { K: "old-value-1" }, metadata: { name: "a" } }, secret), res("p", { kubeconfig: "[secret]" }, "pulumi:providers:kubernetes")],
            [res("s", { stringData: { K: "new-value-2", L: "added-value-3" }, metadata: { name: "b" } }, secret), res("p", { kubeconfig: "clear-value-4" }, "pulumi:providers:kubernetes")],
        ), "/old").join("\n");
        for (const v of ["old-value-1", "new-value-2", "added-value-3", "clear-value-4"]) expect(text).not.toContain(v);
        expect(text).toContain("~ stringData.K: (secret, changed; value not shown)");
        expect(text).toContain("+ stringData.L: (secret, added; value not shown)");
        expect(text).toContain('~ metadata.name: "a" => "b"');
        expect(text).toContain("~ kubeconfig: (secret, changed; value not shown)");
    });

    it("multi-line strings (a Corefile) show the changed lines", () => {
        expect(lineDiff("a\nb\nc", "a\nB\nc\nd")).toEqual(["+ B", "- b", "+ d"]);
        const text = formatDiff(diffResources([res("cm", { data: { Corefile: ".:53 {\n    errors\n}" } })], [res("cm", { data: { Corefile: ".:53 {\n    errors\n    cache 30\n}" } })]), "/old");
        expect(text).toEqual([
            "Changes against the plan in /old:",
            "  ~ kubernetes:apps/v1:DaemonSet  cm  (1 field)",
            "      ~ data.Corefile: (text)",
            "          +     cache 30",
            "  0 added, 0 removed, 1 changed, 0 unchanged",
        ]);
    });
});

describe("npm run plan -- --diff", () => {
    it("against an earlier plan of a changed stack file: the port change, the removed objects, no secret", () => {
        // The earlier plan: this run's plan of the local stack, copied, since --out replaces it.
        const shared = sharedPlanRun("local");
        expect(shared.status, shared.stderr).toBe(0);
        const old = { ...shared, outDir: fs.mkdtempSync(path.join(os.tmpdir(), "directpath-plan-")) };
        fs.cpSync(shared.outDir, old.outDir, { recursive: true });

        const stackDir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-stack-"));
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8");
        const doc = parse(text) as { config: Record<string, any> };
        doc.config["directpath:tailscale"] = { ...(doc.config["directpath:tailscale"] ?? {}), port: 41700 };
        doc.config["directpath:hairpin"].dns = undefined;
        // A different secure value: its change must not show, in clear or as ciphertext.
        doc.config["directpath:tailscaleAuthKey"] = { secure: "v1:AAAAAAAAAAAAAAAA:b3RoZXItc2VjcmV0LWtleQ==" };
        fs.writeFileSync(path.join(stackDir, "Pulumi.local.yaml"), stringify(doc));

        // --diff may name the folder --out replaces: it is read first.
        const run = runPlanCli(["--stack", "local", "--stack-dir", stackDir, "--diff", old.outDir], old.outDir);
        expect(run.status, run.stderr).toBe(0);
        expect(fs.readFileSync(path.join(old.outDir, "plan.json"), "utf8")).toContain('"41700"');
        const out = run.stdout;
        expect(out).toContain(`Changes against the plan in ${old.outDir}:`);
        expect(out).toMatch(/~ kubernetes:apps\/v1:DaemonSet {2}tailscale-daemonset {2}\(\d+ fields?\)/);
        expect(out).toMatch(/~ spec\.template\.spec\.containers\[0\]\.env\[\d+\]\.value: "41641" => "41700"/);
        expect(out).toMatch(/~ spec\.template\.spec\.containers\[0\]\.ports\[0\]\.hostPort: 41641 => 41700/);
        expect(out).toContain("- kubernetes:core/v1:ConfigMapPatch  local-hairpin-coredns-corefile  (removed)");
        expect(out).toMatch(/\d+ added, \d+ removed, \d+ changed, \d+ unchanged/);
        for (const s of ["b3RoZXItc2VjcmV0LWtleQ", "other-secret-key", "cGxhY2Vob2xkZXItdGFpbHNjYWxlLWF1dGgta2V5", "placeholder-tailscale-auth-key"]) expect(out).not.toContain(s);
    });

    it("refuses a folder without plan.json: exit 2 naming --diff and the folder", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-nodiff-"));
        const run = runPlanCli(["--stack", "local", "--diff", empty]);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(`plan failed: --diff ${empty}: the folder has no plan.json`);
    });
});
