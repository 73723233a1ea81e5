/**
 * The cluster runner against a REAL kube-apiserver + etcd on loopback (the pinned binaries in
 * ${XDG_CACHE_HOME:-~/.cache}/directpath/bin/kubernetes@v1.33.13 and etcd@v3.5.35; skipped with a message
 * when they are not built). No kubelet runs, so the probe pods are accepted (manifests, PodSecurity
 * admission, RBAC) but never start: the check must say "could not check" (exit 2), and remove exactly
 * what it created. It runs as a user that has ONLY the RBAC `--print-rbac` renders, so a missing
 * permission fails the test.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APISERVER, apiServerUnavailable, ETCD, startApiServer, type ApiServer } from "./apiserver";

const ROOT = path.resolve(__dirname, "..");
const have = apiServerUnavailable() === undefined;
// CI builds these binaries beside the unit tests, so a cold run skips this file there and runs it
// again once they are built, with DIRECTPATH_REQUIRE_LAB_BINARIES=1: then missing ones are a failure.
if (!have && process.env.DIRECTPATH_REQUIRE_LAB_BINARIES === "1") {
    throw new Error(`check-cluster: DIRECTPATH_REQUIRE_LAB_BINARIES=1, but ${APISERVER}, ${ETCD} or kubectl is missing`);
}
if (!have) console.warn(`check-cluster: skipped: needs ${APISERVER}, ${ETCD} and kubectl`);

let api: ApiServer | undefined;
let dir = "";
let admin = "";
let checker = "";
const k = (kubeconfig: string, args: string[], input?: string) => spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, timeout: 30_000 });
const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const c = spawn("npx", ["tsx", "check/cli.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d));
    c.stderr.on("data", (d: Buffer) => (stderr += d));
    c.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
});

beforeAll(async () => {
    if (!have) return;
    api = await startApiServer({ tokens: ["checker-token,alice,2"] });
    dir = api.dir;
    admin = api.kubeconfig;
    checker = api.kubeconfigFor("checker-token", "checker.kubeconfig");
    // The cluster around the check: two Ready nodes, the namespaces the stack deploys, something of the user's.
    for (const n of ["node-a", "node-b"]) {
        expect(k(admin, ["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: n } })).status).toBe(0);
        const now = new Date().toISOString();
        expect(k(admin, ["patch", "node", n, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { conditions: [{ type: "Ready", status: "True", reason: "test", lastHeartbeatTime: now, lastTransitionTime: now }], addresses: [{ type: "InternalIP", address: n === "node-a" ? "192.168.10.100" : "192.168.10.101" }] } })]).status).toBe(0);
    }
    for (const ns of ["tailscale", "ingress"]) expect(k(admin, ["create", "namespace", ns]).status).toBe(0);
    expect(k(admin, ["-n", "ingress", "create", "configmap", "users-own", "--from-literal=a=b"]).status).toBe(0);
}, 180_000);

afterAll(() => {
    api?.stop();
});

describe.skipIf(!have)("cluster runner on a real kube-apiserver (no kubelet)", () => {
    it("as a user with only the rendered RBAC: pods accepted, could not check (exit 2), everything it created removed", async () => {
        // The RBAC the check prints, applied by the admin (it also creates the directpath-check namespace).
        const rbac = await cli(["--stack", "local", "--print-rbac", "User:alice"]);
        expect(rbac.code).toBe(0);
        expect(k(admin, ["apply", "-f", "-"], rbac.stdout).status).toBe(0);
        // The namespace's default ServiceAccount (kube-controller-manager would create it; it does not run here),
        // and an object of someone else's in the check namespace, which the check must leave alone.
        expect(k(admin, ["-n", "directpath-check", "create", "serviceaccount", "default"]).status).toBe(0);
        expect(k(admin, ["-n", "directpath-check", "create", "configmap", "not-the-checks", "--from-literal=x=y"]).status).toBe(0);
        const targets = path.join(dir, "targets.json");
        const t = await cli(["--stack", "local", "--print-targets"]);
        expect(t.code).toBe(0);
        fs.writeFileSync(targets, t.stdout);

        const r = await cli(["--targets", targets, "--kubeconfig", checker, "--timeout", "10", "--json"]);
        expect(r.stderr).not.toMatch(/forbidden/i);
        const report = JSON.parse(r.stdout) as { exitCode: number; verdicts: Array<{ fault: string; verdict: string; evidence: string[]; summary: string }>; notes: string[] };
        expect(r.code).toBe(2);
        expect(report.exitCode).toBe(2);
        expect(report.verdicts.map((v) => [v.fault, v.verdict])).toEqual([["hairpin", "could-not-check"], ["overlay", "could-not-check"], ["tailscale", "could-not-check"]]);
        // The probe pods were real API objects that never ran: Pending, said so.
        expect(report.verdicts[0]!.evidence.join("\n")).toMatch(/Pending after \d+s: did not finish in time/);
        expect(report.verdicts[2]!.summary).toBe("no tailscale/tailscale pod found");
        expect(r.stderr).toMatch(/\[1\/7\] API server[\s\S]*\[2\/7\] nodes[\s\S]*2 Ready node\(s\)[\s\S]*\[4\/7\] probe pods[\s\S]*created 4 hairpin probe pod\(s\), 2 overlay server pod\(s\)/);
        const cleanup = report.notes.find((n) => n.startsWith("cleanup:"));
        expect(cleanup).toMatch(/^cleanup: deleted configmap\/dpc-[0-9a-f]{6}-probes, pod\/dpc-[0-9a-f]{6}-hp-p-node-a-/);

        // Left: no live object of the check (pods bound to a node wait for their kubelet to confirm the
        // deletion: they carry a deletionTimestamp), the user's objects untouched.
        const left = JSON.parse(k(admin, ["-n", "directpath-check", "get", "pods,configmaps", "-o", "json"]).stdout) as { items: Array<{ kind: string; metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> } }> };
        const ours = left.items.filter((i) => i.metadata.labels?.["app.kubernetes.io/managed-by"] === "directpath-check");
        expect(ours.length).toBe(6);
        expect(ours.every((i) => i.kind === "Pod" && i.metadata.deletionTimestamp)).toBe(true);
        expect(left.items.some((i) => i.kind === "ConfigMap" && i.metadata.name === "not-the-checks")).toBe(true);
        expect(k(admin, ["-n", "ingress", "get", "configmap", "users-own"]).status).toBe(0);
        expect(k(admin, ["get", "namespace", "directpath-check"]).status).toBe(0);

        // A second run is not blocked by the first run's terminating pods, and --nodes is checked.
        const bad = await cli(["--targets", targets, "--kubeconfig", checker, "--nodes", "node-z", "--timeout", "10"]);
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/--nodes: no such node node-z \(the cluster has node-a, node-b\)/);
    }, 180_000);

    it("without the RBAC (a user with no rights): exit 2, naming what is forbidden", async () => {
        const t = path.join(dir, "targets-min.json");
        fs.writeFileSync(t, JSON.stringify({ version: 1 }));
        const noRights = api!.kubeconfigFor("wrong-token", "nobody.kubeconfig");
        const r = await cli(["--targets", t, "--kubeconfig", noRights, "--timeout", "10"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/could not run: could not (reach the API server|list nodes).*(Unauthorized|must be logged in|forbidden)/i);
    }, 60_000);
});
