/**
 * `plan --diff <old-out-dir>`: objects added, removed and changed against an earlier plan, the
 * fields that differ, and never a secret value.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { diffJson, diffResources, diffValues, formatDiff, formatOutside, isSecretField, lineDiff, outsideChanges } from "../plan/diff";
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
            // A list of named elements: matched and named by name, not position.
            { kind: "changed", path: "env[A].value", before: "1", after: "2" },
            { kind: "added", path: '["x.y"]', after: 1 },
        ]);
        expect(diffValues({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    });

    it("names list elements by their name: an inserted env var changes nothing else; added and removed ones are named", () => {
        const before = { env: [{ name: "NODE_NAME", value: "n" }, { name: "PORT", value: "41641" }, { name: "OLD", value: "x" }], ports: [{ name: "tailscale", hostPort: 41641 }] };
        const after = { env: [{ name: "NODE_NAME", value: "n" }, { name: "NEW", value: "y" }, { name: "PORT", value: "41700" }], ports: [{ name: "tailscale", hostPort: 41700 }] };
        expect(diffValues(before, after)).toEqual([
            { kind: "removed", path: "env[OLD]", before: { name: "OLD", value: "x" } },
            { kind: "added", path: "env[NEW]", after: { name: "NEW", value: "y" } },
            { kind: "changed", path: "env[PORT].value", before: "41641", after: "41700" },
            { kind: "changed", path: "ports[tailscale].hostPort", before: 41641, after: 41700 },
        ]);
        // Duplicate or missing names: by position, as before.
        expect(diffValues({ l: [{ name: "a", v: 1 }, { name: "a", v: 2 }] }, { l: [{ name: "a", v: 1 }, { name: "a", v: 3 }] })).toEqual([{ kind: "changed", path: "l[1].v", before: 2, after: 3 }]);
    });

    it("what it means outside the cluster: firewall rules and images added and removed, objects replaced rather than updated", () => {
        const rule = (port: number) => ({ direction: "ingress", protocol: "udp", fromPort: port, toPort: port, peer: "0.0.0.0/0", description: `tailscaled ${port}` });
        const ds = (selector: Record<string, string>, image: string) => res("ds", { metadata: { name: "ts" }, spec: { selector: { matchLabels: selector }, template: { spec: { containers: [{ name: "c", image }] } } } });
        const before = { resources: [ds({ app: "a" }, "img:1"), res("cm", { immutable: true, data: { k: "1" } }, "kubernetes:core/v1:ConfigMap")], outputs: { firewallRules: [rule(41641)] }, summary: { images: [{ image: "img:1" }] } };
        const after = { resources: [ds({ app: "b" }, "img:2"), res("cm", { immutable: true, data: { k: "2" } }, "kubernetes:core/v1:ConfigMap")], outputs: { firewallRules: [rule(41700)] }, summary: { images: [{ image: "img:2" }] } };
        const d = diffResources(before.resources, after.resources);
        const o = outsideChanges(before, after, d);
        expect(o.firewallRemoved).toEqual(["your firewall: ingress udp 41641 from 0.0.0.0/0 (tailscaled 41641)"]);
        expect(o.firewallAdded).toEqual(["your firewall: ingress udp 41700 from 0.0.0.0/0 (tailscaled 41700)"]);
        expect([o.imagesRemoved, o.imagesAdded]).toEqual([["img:1"], ["img:2"]]);
        expect(o.replaced.map((r) => [r.name, r.fields])).toEqual([["ds", ["spec.selector"]], ["cm", ["data (immutable: true)"]]]);
        expect(formatOutside(o)).toEqual([
            "What this means outside the cluster:",
            "  Firewall rules changed (open the new ones before applying; close the old ones after):",
            "    - your firewall: ingress udp 41641 from 0.0.0.0/0 (tailscaled 41641)",
            "    + your firewall: ingress udp 41700 from 0.0.0.0/0 (tailscaled 41700)",
            "  Images changed (mirror the new ones for an air-gapped cluster):",
            "    - img:1",
            "    + img:2",
            "  Replaced, not updated (deleted and created again):",
            "    kubernetes:apps/v1:DaemonSet  ds: spec.selector",
            "    kubernetes:core/v1:ConfigMap  cm: data (immutable: true)",
        ]);
        expect(formatOutside(outsideChanges(before, before, diffResources(before.resources, before.resources)))).toEqual(["What this means outside the cluster:", "  nothing: no firewall rule, image or replaced object changes"]);
        // JSON for CI: the same facts, and a secret's values never.
        const secret = "kubernetes:core/v1:Secret";
        const j = diffJson(diffResources([res("s", { stringData: { K: "old-value-1" } }, secret)], [res("s", { stringData: { K: "new-value-2" } }, secret)]), o, "/old");
        expect(JSON.stringify(j)).not.toMatch(/old-value-1|new-value-2/);
        expect((j.changed as Array<{ changes: unknown[] }>)[0]!.changes).toEqual([{ kind: "changed", path: "stringData.K", secret: true }]);
        expect(j.outside).toBe(o);
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
        // Old before new.
        expect(lineDiff("a\nb\nc", "a\nB\nc\nd")).toEqual(["- b", "+ B", "+ d"]);
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
        expect(out).toContain('~ spec.template.spec.containers[tailscale].env[PORT].value: "41641" => "41700"');
        expect(out).toContain("~ spec.template.spec.containers[tailscale].ports[tailscale].hostPort: 41641 => 41700");
        // The rules the operator must open changed too, and the section says so, old before new.
        const outside = out.slice(out.indexOf("What this means outside the cluster:"));
        expect(outside).toMatch(/- your firewall: ingress udp 41641 from 0\.0\.0\.0\/0 [^\n]*\n[\s\S]*\+ your firewall: ingress udp 41700 from 0\.0\.0\.0\/0/);
        expect(out).toContain("- kubernetes:core/v1:ConfigMapPatch  local-hairpin-coredns-corefile  (removed)");
        expect(out).toMatch(/\d+ added, \d+ removed, \d+ changed, \d+ unchanged/);
        for (const s of ["b3RoZXItc2VjcmV0LWtleQ", "other-secret-key", "cGxhY2Vob2xkZXItdGFpbHNjYWxlLWF1dGgta2V5", "placeholder-tailscale-auth-key"]) expect(out).not.toContain(s);

        // --json: the same diff as one JSON document on stdout, nothing else.
        // (Against the shared plan: old.outDir holds the new plan now.)
        const json = runPlanCli(["--stack", "local", "--stack-dir", stackDir, "--diff", shared.outDir, "--json"]);
        expect(json.status, json.stderr).toBe(0);
        const diff = JSON.parse(json.stdout) as { changed: Array<{ name: string; changes: Array<{ path: string; before?: unknown; after?: unknown }> }>; removed: Array<{ name: string }>; outside: { firewallAdded: string[]; firewallRemoved: string[] } };
        expect(diff.changed.find((c) => c.name === "tailscale-daemonset")!.changes).toContainEqual({ kind: "changed", path: "spec.template.spec.containers[tailscale].ports[tailscale].hostPort", before: 41641, after: 41700 });
        expect(diff.removed.map((r) => r.name)).toContain("local-hairpin-coredns-corefile");
        expect(diff.outside.firewallAdded.some((r) => r.includes("udp 41700"))).toBe(true);
        expect(diff.outside.firewallRemoved.some((r) => r.includes("udp 41641"))).toBe(true);
        for (const s of ["other-secret-key", "placeholder-tailscale-auth-key"]) expect(json.stdout).not.toContain(s);
    });

    it("--json without --diff: exit 2, naming the rule", () => {
        const run = runPlanCli(["--stack", "local", "--json"]);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("plan failed: --json prints the diff: it needs --diff <old-out-dir>");
    });

    it("refuses a folder without plan.json: exit 2 naming --diff and the folder", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-nodiff-"));
        const run = runPlanCli(["--stack", "local", "--diff", empty]);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(`plan failed: --diff ${empty}: the folder has no plan.json`);
    });
});
