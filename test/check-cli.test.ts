/**
 * The check's CLI (argument errors name the flag and value, exit codes) and its RBAC (exact rules,
 * no wildcard), run as a user would: the CLI as a child process.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseArgs } from "../check/cli";
import { rbacRules, rbacYaml } from "../check/rbac";
import { targetsSchema } from "../check/targets";

const ROOT = path.resolve(__dirname, "..");
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync("npx", ["tsx", "check/cli.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 120_000 });
const T = targetsSchema.parse({
    version: 1,
    hairpin: { endpoints: [{ name: "registry", externalIps: ["169.233.100.10"], ports: [{ port: 443 }] }] },
    tailscale: { namespace: "tailscale", workloadName: "tailscale", port: 41641 },
});

describe("arguments", () => {
    it("collects every problem, naming the flag and the value", () => {
        expect(() => parseArgs(["--timeout", "5", "--nodes", ",", "--namespace", "Bad_NS", "--bogus"])).toThrow(
            /--timeout "5": must be a whole number from 10 to 3600[\s\S]*--nodes: give at least one node name[\s\S]*--namespace "Bad_NS": must be a DNS-1123 label[\s\S]*unknown argument "--bogus"[\s\S]*say what to check/);
        expect(() => parseArgs(["--stack", "local", "--plan", "x"])).toThrow(/exclude each other/);
        expect(() => parseArgs(["--stack", "local", "--kubeconfig", "/no/such/file"])).toThrow(/--kubeconfig "\/no\/such\/file": no such file/);
        expect(() => parseArgs(["--stack", "local", "--print-rbac", "ServiceAccount:nons"])).toThrow(/ServiceAccount:<namespace>\/<name>/);
        expect(parseArgs(["--stack", "local", "--nodes", "a, b", "--json", "--timeout", "60"])).toMatchObject({ stack: "local", nodes: ["a", "b"], json: true, timeout: 60 });
    });
    it("exit 2 with a clear message on bad input, on a broken targets file, and when the API server is unreachable", () => {
        const bad = cli(["--stack", "local", "--timeout", "x"]);
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(/--timeout "x": must be a whole number/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpc-cli-"));
        fs.writeFileSync(path.join(dir, "t.json"), JSON.stringify({ version: 1, hairpin: { endpoints: [{ name: "x", externalIps: ["nope"], ports: [] }] } }));
        const t = cli(["--targets", path.join(dir, "t.json")]);
        expect(t.status).toBe(2);
        expect(t.stderr).toMatch(/hairpin\.endpoints\.0\.externalIps\.0: must be an IP address/);
        fs.writeFileSync(path.join(dir, "ok.json"), JSON.stringify({ version: 1 }));
        // A kubeconfig that points at a closed loopback port: the check could not run.
        fs.writeFileSync(path.join(dir, "kubeconfig"), ["apiVersion: v1", "kind: Config", "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]", "users: [{name: u, user: {token: x}}]", "contexts: [{name: c, context: {cluster: c, user: u}}]", "current-context: c", ""].join("\n"));
        const down = cli(["--targets", path.join(dir, "ok.json"), "--kubeconfig", path.join(dir, "kubeconfig")]);
        expect(down.status).toBe(2);
        expect(down.stderr).toMatch(/could not run: could not reach the API server: .*127\.0\.0\.1:1/);
        expect(down.stderr).not.toMatch(/token/);
        const missing = cli(["--stack", "nosuchstack"]);
        expect(missing.status).toBe(2);
        expect(missing.stderr).toMatch(/Pulumi\.nosuchstack\.yaml does not exist/);
        fs.rmSync(dir, { recursive: true, force: true });
    }, 120_000);
});

describe("RBAC", () => {
    it("exact rules, no wildcard, scoped to the check namespace, kube-system reads and the Tailscale namespace", () => {
        const rules = rbacRules(T);
        expect(rules.map((r) => `${r.scope}: ${r.verbs.join(",")} ${r.resources.join(",")}${r.resourceNames ? ` [${r.resourceNames.join(",")}]` : ""}`)).toEqual([
            "cluster: get,list nodes",
            "directpath-check: create,get,list,delete pods",
            "directpath-check: get pods/log",
            "directpath-check: create,list,delete configmaps",
            "kube-system: list pods",
            "kube-system: get configmaps [cilium-config]",
            "tailscale: list pods",
            "tailscale: create pods/exec",
        ]);
        const yaml = rbacYaml(T, { kind: "User", name: "alice" });
        expect(yaml).not.toMatch(/\*/);
        const docs = parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string }; subjects?: unknown[]; rules?: unknown[] });
        expect(docs.map((d) => `${d.kind} ${d.metadata.namespace ? `${d.metadata.namespace}/` : ""}${d.metadata.name}`)).toEqual([
            "Namespace directpath-check", "ClusterRole directpath-check", "ClusterRoleBinding directpath-check",
            "Role directpath-check/directpath-check", "RoleBinding directpath-check/directpath-check",
            "Role kube-system/directpath-check", "RoleBinding kube-system/directpath-check",
            "Role tailscale/directpath-check", "RoleBinding tailscale/directpath-check",
        ]);
        expect(docs[2]!.subjects).toEqual([{ kind: "User", name: "alice", apiGroup: "rbac.authorization.k8s.io" }]);
        expect(rbacRules(targetsSchema.parse({ version: 1 })).some((r) => r.scope === "tailscale")).toBe(false);
    });
});
