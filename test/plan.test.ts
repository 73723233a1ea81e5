import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PlanDocument } from "../plan/render";
import { readStackFiles } from "../plan/stack-files";
import { ROOT, runPlanCli } from "./harness";

describe("npm run plan", () => {
    it("renders the local stack offline: tree, counts, plan.json, manifests", () => {
        const run = runPlanCli(["--stack", "local"]);
        expect(run.stderr).not.toMatch(/plan failed/);
        expect(run.status).toBe(0);
        expect(run.stdout).toContain("Plan for stack local of project directpath");
        expect(run.stdout).toMatch(/Resources:\n/);
        expect(run.stdout).toMatch(/pulumi:providers:kubernetes\s+local-k8s/);
        expect(run.stdout).toContain("Count by type:");
        expect(run.stdout).toContain("Firewall and security-group rules this stack creates:");

        const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as PlanDocument;
        expect(doc.stack).toBe("local");
        expect(doc.project).toBe("directpath");
        expect(doc.outputs.environment).toBe("local");
        for (const r of doc.resources) {
            expect(Object.keys(r).sort()).toEqual(["inputs", "name", "parent", "type", "urn"]);
            expect(r.urn.startsWith("urn:pulumi:local::directpath::")).toBe(true);
            expect(r.urn.split("::")[2]!.split("$").pop()).toBe(r.type);
            expect(r.urn.endsWith(`::${r.name}`)).toBe(true);
        }
        // Every manifest is one Kubernetes object with apiVersion, kind and metadata.name.
        for (const file of fs.readdirSync(path.join(run.outDir, "manifests"))) {
            expect(file).toMatch(/^\d{3}-[a-z0-9.-]+\.yaml$/);
            const obj = parse(fs.readFileSync(path.join(run.outDir, "manifests", file), "utf8")) as Record<string, any>;
            expect(obj.apiVersion, file).toBeTypeOf("string");
            expect(obj.kind, file).toBeTypeOf("string");
            expect(obj.metadata?.name, file).toBeTypeOf("string");
        }
    });

    it("never decrypts secure values: they plan as [secret]", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-stack-"));
        fs.writeFileSync(path.join(dir, "Pulumi.sec.yaml"), [
            "config:",
            "  directpath:environment: local",
            "  directpath:kubeconfig:",
            "    secure: v1:AAAAAAAAAAAAAAAA:ZW5jcnlwdGVkLWt1YmVjb25maWc=",
        ].join("\n"));
        const files = readStackFiles(ROOT, "sec", dir);
        expect(files.config["directpath:kubeconfig"]).toBe("[secret]");
        expect(files.secretKeys).toEqual(["directpath:kubeconfig"]);

        const run = runPlanCli(["--stack", "sec", "--stack-dir", dir]);
        expect(run.stderr).not.toMatch(/plan failed/);
        expect(run.status).toBe(0);
        const text = fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8");
        expect(text).not.toContain("ZW5jcnlwdGVkLWt1YmVjb25maWc");
        const doc = JSON.parse(text) as PlanDocument;
        const provider = doc.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
        expect(provider.inputs.kubeconfig).toBe("[secret]");
    });

    it("rejects a broken stack file: non-zero exit, every problem listed, nothing written", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-stack-"));
        fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), [
            "config:",
            "  directpath:environment: moon",
            "  directpath:hairpin:",
            "    enabled: true",
            "    endpoints:",
            "      - name: registry",
            "        externalIps: [169.233.100.300]",
            "        ports: [{ port: 0 }]",
            "        backend: { pods: { namespace: ingress, selector: { app: x } } }",
        ].join("\n"));
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "directpath-out-")), "plan");
        const run = runPlanCli(["--stack", "broken", "--stack-dir", dir], out);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain('directpath:environment: "moon" is invalid: must be one of local, aws');
        expect(run.stderr).toContain('directpath:hairpin.endpoints[0].externalIps[0]: "169.233.100.300" is invalid');
        expect(run.stderr).toContain("directpath:hairpin.endpoints[0].ports[0].port: 0 is invalid: must be a port number 1-65535");
        expect(fs.existsSync(out)).toBe(false);
    });

    it("rejects a stack file that is not YAML, and a stack that does not exist", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-stack-"));
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config: [unclosed\n");
        const bad = runPlanCli(["--stack", "bad", "--stack-dir", dir]);
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(/Pulumi\.bad\.yaml is not valid YAML/);
        const missing = runPlanCli(["--stack", "nope"]);
        expect(missing.status).toBe(2);
        expect(missing.stderr).toMatch(/no stack file Pulumi\.nope\.yaml; stacks here: .*local/);
    });
});
