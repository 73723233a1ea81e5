/**
 * The check's targets come from what `npm run plan` really writes for the project's stacks (plan.json
 * + manifests), and the probe scripts are real, lint-clean POSIX sh that busybox ash accepts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hairpinChecks, overlayChecks } from "../check/checks";
import { runPlan, targetsFromPlanDir } from "../check/plan";
import { PROBE_SCRIPTS, probeEnv, probePath } from "../check/probes";
import { targetsSchema, type CheckTargets } from "../check/targets";

const ROOT = path.resolve(__dirname, "..");
let tmp = "";
const t: Record<string, CheckTargets> = {};

beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dpc-targets-"));
    for (const s of ["local", "local-iptables", "dev"]) {
        runPlan(ROOT, s, path.join(tmp, s));
        t[s] = targetsFromPlanDir(path.join(tmp, s), s);
    }
}, 240_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("targets from npm run plan", () => {
    it("local: the LRP endpoint, its hostname and internal address, NodeLocal DNSCache, the tunnel, TailscaleDirect", () => {
        expect(t.local!.hairpin!.endpoints).toEqual([{
            name: "registry", mode: "cilium-lrp", externalIps: ["169.233.100.10"], ports: [{ port: 443, protocol: "TCP" }], hostnames: ["registry.example.com"],
            internal: [{ address: "192.168.10.100", port: 443 }], objects: ["CiliumLocalRedirectPolicy ingress/local-hairpin-registry-169-233-100-10"],
        }]);
        expect(t.local!.hairpin!.nodeLocalDns).toEqual(["169.254.25.10"]);
        expect(t.local!.hairpin!.hostsDaemonSet).toBe("kube-system/local-hairpin-hosts");
        expect(t.local!.overlay.tunnel).toEqual({ protocol: "vxlan", port: 8472 });
        expect(t.local!.tailscale).toMatchObject({ namespace: "tailscale", workloadName: "tailscale", port: 41641, socket: "/tmp/tailscaled.sock", checkPortScript: "/etc/directpath/check-port.sh", image: "tailscale/tailscale:v1.102.3" });
        expect(t.local!.probeImage).toBe("tailscale/tailscale:v1.102.3");
    });
    it("local-iptables: the redirect's rule (target = internal address) and its DaemonSet", () => {
        expect(t["local-iptables"]!.hairpin!.endpoints[0]).toMatchObject({ name: "registry", mode: "iptables", externalIps: ["169.233.100.10"], internal: [{ address: "192.168.10.100", port: 443 }], objects: ["DaemonSet kube-system/local-hairpin-iptables"] });
        expect(t["local-iptables"]!.tailscale).toBeUndefined();
    });
    it("dev: external IPs are computed at deploy time, and the report will say so; the tunnel from the SG table", () => {
        expect(t.dev!.hairpin!.endpoints[0]!.externalIps).toEqual([]);
        expect(t.dev!.hairpin!.computed).toEqual(["ingress: external IP", "hairpin DNS answers (hostnames)"]);
        expect(t.dev!.overlay.tunnel).toEqual({ protocol: "vxlan", port: 8472 });
        expect(t.dev!.environment).toBe("aws");
    });
    it("the targets round-trip through the --targets file schema", () => {
        for (const v of Object.values(t)) expect(targetsSchema.parse(JSON.parse(JSON.stringify(v)))).toEqual(v);
        const bad = targetsSchema.safeParse({ version: 1, hairpin: { endpoints: [{ name: "x", externalIps: ["not-an-ip"], ports: [{ port: 70000 }] }] } });
        expect(bad.success).toBe(false);
        expect(bad.error?.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["hairpin.endpoints.0.externalIps.0", "hairpin.endpoints.0.ports.0.port"]));
    });
    it("check lines: external IP, hostname and internal baseline per port; resolvers per vantage point", () => {
        const lines = hairpinChecks(t.local!, "hostnet").map((c) => c.line);
        expect(lines).toEqual([
            "file h0 /etc/resolv.conf", "tcp h1 169.233.100.10 443", "tcp h2 registry.example.com 443", "tcp h3 192.168.10.100 443",
            "dns h4 registry.example.com", "dns h5 registry.example.com 169.254.25.10", "resolve h6 registry.example.com", "hosts h7 registry.example.com",
        ]);
        expect(overlayChecks([{ node: "a", ip: "10.0.0.1", id: "p-a" }], [{ node: "a", ip: "10.0.0.53" }], "kubernetes.default.svc.cluster.local").map((c) => c.line))
            .toEqual(["tcpread o0 10.0.0.1 8080", "dns d0 kubernetes.default.svc.cluster.local 10.0.0.53"]);
        expect(() => probeEnv([], { node: "a b" }, 3)).toThrow(/node=/);
    });
});

describe("probe scripts", () => {
    for (const s of PROBE_SCRIPTS) {
        it(`${s}: sh -n, and busybox ash -n where busybox is installed`, () => {
            expect(spawnSync("sh", ["-n", probePath(s)]).status).toBe(0);
            const bb = spawnSync("busybox", ["ash", "-n", probePath(s)]);
            if (bb.error) console.warn(`busybox not installed: ${s} checked with sh -n only`);
            else expect(bb.status).toBe(0);
        });
    }
    it("the fixture recorder is lint-clean sh too", () => {
        expect(spawnSync("sh", ["-n", path.join(ROOT, "test", "fixtures", "check", "record.sh")]).status).toBe(0);
    });
    it("probe.sh refuses a bad check line with exit 2 and says why", () => {
        const r = spawnSync("sh", [probePath("probe.sh")], { env: { ...process.env, DPC_CHECKS: "tcp bad/id 1.2.3.4 443" }, encoding: "utf8" });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/bad check id 'bad\/id'/);
        const r2 = spawnSync("sh", [probePath("probe.sh")], { env: { ...process.env, DPC_CHECKS: "file f0 /etc/hostname\nfrobnicate x1 y", DPC_TIMEOUT: "1" }, encoding: "utf8" });
        expect(r2.status).toBe(2);
        expect(r2.stderr).toMatch(/unknown check kind 'frobnicate'/);
    });
});
