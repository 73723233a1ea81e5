import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PlanDocument } from "../plan/render";
import { readStackFiles } from "../plan/stack-files";
import { ROOT, runPlanCli, sharedPlanRun } from "./harness";

describe("npm run plan", () => {
    it("renders the local stack offline: tree, counts, plan.json, manifests", () => {
        const run = sharedPlanRun("local");
        expect(run.stderr).not.toMatch(/plan failed/);
        expect(run.status).toBe(0);
        expect(run.stdout).toContain("Plan for stack local of project directpath");
        expect(run.stdout).toMatch(/Resources:\n/);
        expect(run.stdout).toMatch(/pulumi:providers:kubernetes\s+local-k8s/);
        expect(run.stdout).toContain("Count by type:");
        expect(run.stdout).toContain("Firewall and security-group rules this stack creates:");
        for (const section of ["Changes to objects and hosts you already own:", "Privileged workloads:", "Open to the internet:", "Images this stack pulls (mirror these for air-gapped clusters):"]) {
            expect(run.stdout).toContain(`\n${section}\n`);
        }
        // The next step, in one or two lines, after what was written.
        const tail = run.stdout.trimEnd().split("\n").slice(-3);
        expect(tail[0]).toMatch(/^Wrote \d+ manifest\(s\) to /);
        expect(tail[1]).toBe(`Next: kubectl apply -f ${run.outDir}/manifests/ && kubectl apply --server-side --field-manager=directpath --force-conflicts -f ${run.outDir}/patches/   (or: pulumi up --stack local)`);
        expect(tail[2]).toMatch(/^Then, once, set the secret value listed under "Secret values to supply"/);
        expect(tail[2]).toContain(`Re-applying ${run.outDir}/manifests/ never touches them.`);

        const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as PlanDocument;
        expect(doc.stack).toBe("local");
        expect(doc.project).toBe("directpath");
        expect(doc.outputs.environment).toBe("local");
        // Fields tools rely on stay; the summary and the file list are added.
        const full = doc as PlanDocument & Record<string, unknown>;
        expect(Object.keys(full)).toEqual(["stack", "project", "resources", "outputs", "securityGroupRules", "summary", "files"]);
        expect((full.files as Array<{ path: string }>).map((f) => f.path).sort()).toEqual(
            ["manifests", "secrets", "patches"].flatMap((d) => fs.readdirSync(path.join(run.outDir, d)).map((f) => `${d}/${f}`)).sort());
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

    it("--help: every flag with a line each, the stacks found in the stack folder, and examples", () => {
        const run = runPlanCli(["--help"]);
        expect(run.status, run.stderr).toBe(0);
        for (const flag of ["--stack <name>", "--out <dir>", "--stack-dir <dir>", "--diff <old-out-dir>", "--quiet", "--help"]) {
            const lines = run.stdout.split("\n").filter((l) => new RegExp(`^\\s+(-\\w, )?${flag.replace(/[-<>]/g, (c) => `\\${c}`)}\\s{2,}\\S`).test(l));
            expect(lines, `one line for ${flag}:\n${run.stdout}`).toHaveLength(1);
        }
        const stacks = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
        expect(stacks).toEqual(expect.arrayContaining(["dev", "local", "local-iptables", "prod"]));
        expect(run.stdout).toContain(`stacks in ${ROOT}: ${stacks.join(", ")}`);
        expect(run.stdout).toMatch(/examples:\n {2}npm run plan -- --stack local\n/);
        // Nothing is planned or written.
        expect(fs.readdirSync(run.outDir)).toEqual([]);

        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-stack-"));
        fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), "config: {}\n");
        const other = runPlanCli(["--help", "--stack-dir", dir]);
        expect(other.stdout).toContain(`stacks in ${dir}: staging`);
    });

    it("an unknown flag or a flag without its value: exit 2 naming the flag", () => {
        const unknown = runPlanCli(["--stak", "local"]);
        expect(unknown.status).toBe(2);
        expect(unknown.stderr).toMatch(/plan failed: Unknown option '--stak'.*see --help/);
        const missing = runPlanCli(["--stack"]);
        expect(missing.status).toBe(2);
        expect(missing.stderr).toContain("plan failed: --stack needs a value (--stack <name>); see --help");
        const noDir = runPlanCli(["--stack", "local", "--stack-dir", "/nonexistent/directpath"]);
        expect(noDir.status).toBe(2);
        expect(noDir.stderr).toContain("plan failed: --stack-dir /nonexistent/directpath: not a folder");
    });
});
