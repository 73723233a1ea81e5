import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../program/config";
import { runDefaultProgram } from "../program/main";
import { capture, expectProblems, ROOT } from "./harness";

/** The `local` stack's config, as the program receives it (keys without the project prefix). */
function localRaw(): Record<string, unknown> {
    const doc = parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config)) if (k.startsWith("directpath:")) raw[k.slice("directpath:".length)] = v;
    return raw;
}

const SECRET_KEYS = new Set(["tailscaleAuthKey", "tailscaleApiKey", "kubeconfig"]);

describe("stack config", () => {
    it("parses the local stack and fills defaults", () => {
        const cfg = parseConfig(localRaw(), SECRET_KEYS);
        expect(cfg.environment).toBe("local");
        expect(cfg.cluster.nodes.map((n) => [n.name, n.internalIp, n.externalIp])).toEqual([
            ["node1", "192.168.10.100", "169.233.100.10"],
            ["node2", "192.168.10.101", "169.233.100.11"],
        ]);
        const registry = cfg.hairpin!.endpoints[0]!;
        expect(registry.name).toBe("registry");
        expect(registry.hostnames).toEqual(["registry.example.com"]);
        expect(registry.externalIps).toEqual(["169.233.100.10"]);
        expect(registry.ports).toEqual([{ port: 443, protocol: "TCP", name: "https", targetPort: 8443, internalPort: 443 }]);
        expect(registry.backend).toEqual({ pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } });
        expect(registry.internalAddress).toBe("192.168.10.100");
    });

    it("defaults: protocol TCP, hostnames empty, default mode cilium-lrp", () => {
        const cfg = parseConfig({
            environment: "local",
            hairpin: { enabled: true, endpoints: [{ name: "a", externalIps: ["1.2.3.4"], ports: [{ port: 80 }], backend: { pods: { namespace: "x", selector: { app: "a" } } } }] },
        });
        expect(cfg.hairpin!.defaultMode).toBe("cilium-lrp");
        expect(cfg.hairpin!.endpoints[0]!.ports[0]!.protocol).toBe("TCP");
        expect(cfg.hairpin!.endpoints[0]!.hostnames).toEqual([]);
        expect(cfg.cluster.name).toBe("directpath");
    });

    it("rejects a port that isn't 1-65535", () => {
        const raw = localRaw();
        (raw.hairpin as any).endpoints[0].ports[0].port = 70000;
        (raw.hairpin as any).endpoints[0].ports[0].targetPort = 0;
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:hairpin.endpoints[0].ports[0].port", rule: /1-65535/, value: 70000 },
            { path: "directpath:hairpin.endpoints[0].ports[0].targetPort", rule: /1-65535/, value: 0 },
        ]);
    });

    it("rejects an IP or CIDR that doesn't parse", () => {
        const raw = localRaw();
        (raw.cluster as any).nodes[1].internalIp = "192.168.10.300";
        (raw.cluster as any).podCidrs = ["10.233.64.0/33"];
        (raw.cluster as any).serviceCidr = "10.233.0.1/18";
        (raw.hairpin as any).endpoints[0].externalIps = ["169.233.100"];
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:cluster.nodes[1].internalIp", rule: /IPv4|IPv6/, value: "192.168.10.300" },
            { path: "directpath:cluster.podCidrs[0]", rule: /CIDR/, value: "10.233.64.0/33" },
            { path: "directpath:cluster.serviceCidr", rule: /no host bits/, value: "10.233.0.1/18" },
            { path: "directpath:hairpin.endpoints[0].externalIps[0]", rule: /IPv4/, value: "169.233.100" },
        ]);
    });

    it("rejects a hostname that isn't a valid DNS name", () => {
        const raw = localRaw();
        (raw.hairpin as any).endpoints[0].hostnames = ["registry_example.com", "registry"];
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:hairpin.endpoints[0].hostnames[0]", rule: /DNS name/, value: "registry_example.com" },
            { path: "directpath:hairpin.endpoints[0].hostnames[1]", rule: /DNS name/, value: "registry" },
        ]);
    });

    it("rejects an unknown environment kind", () => {
        expectProblems(() => parseConfig({ ...localRaw(), environment: "gcp" }, SECRET_KEYS), [
            { path: "directpath:environment", rule: /one of local, aws/, value: "gcp" },
        ]);
    });

    it("rejects a missing required key", () => {
        const raw = localRaw();
        delete raw.environment;
        (raw.hairpin as any).endpoints[0].externalIps = undefined;
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:environment", value: undefined },
            { path: "directpath:hairpin.endpoints[0].externalIps", value: undefined },
        ]);
    });

    it("rejects a duplicate endpoint name", () => {
        const raw = localRaw();
        const e = (raw.hairpin as any).endpoints[0];
        (raw.hairpin as any).endpoints.push({ ...e, externalIps: ["169.233.100.11"], hostnames: [] });
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:hairpin.endpoints[1].name", rule: /unique.*endpoints\[0\]/, value: "registry" },
        ]);
    });

    it("rejects two endpoints claiming one external IP, port and protocol, and unnamed ports", () => {
        const raw = localRaw();
        const e = (raw.hairpin as any).endpoints[0];
        (raw.hairpin as any).endpoints.push({ ...e, name: "registry2", hostnames: [], ports: [{ port: 443 }, { port: 80 }] });
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:hairpin.endpoints[1].ports[0]", rule: /already claimed by endpoints\[0\]\.ports\[0\]/, value: "169.233.100.10:443/TCP" },
            { path: "directpath:hairpin.endpoints[1].ports[0].name", rule: /several ports/ },
            { path: "directpath:hairpin.endpoints[1].ports[1].name", rule: /several ports/ },
        ]);
    });

    it("rejects a backend kind the mode cannot serve", () => {
        const raw = localRaw();
        (raw.hairpin as any).endpoints[0].backend = { address: { ip: "192.168.10.100" } };
        expectProblems(() => parseConfig(raw, SECRET_KEYS), [
            { path: "directpath:hairpin.endpoints[0].backend", rule: /cannot be served by mode 'cilium-lrp'.*'iptables'/, value: "address" },
        ]);
    });

    it("rejects unknown keys, and secrets kept in plain text", () => {
        expectProblems(() => parseConfig({ ...localRaw(), colour: "blue", kubeconfig: "apiVersion: v1" }, new Set()), [
            { path: "directpath:colour", rule: /unknown config key/ },
            { path: "directpath:kubeconfig", rule: /--secret/ },
        ]);
        const problems = expectProblems(() => parseConfig({ ...localRaw(), kubeconfig: "apiVersion: v1" }, new Set()), [{ path: "directpath:kubeconfig" }]);
        expect(JSON.stringify(problems)).not.toContain("apiVersion");
    });

    it("collects every problem at once", () => {
        const problems = expectProblems(() => parseConfig({ environment: "moon", cluster: { nodes: [{ name: "N1", internalIp: "x" }] } }), [
            { path: "directpath:environment" },
            { path: "directpath:cluster.nodes[0].name" },
            { path: "directpath:cluster.nodes[0].internalIp" },
        ]);
        expect(problems.length).toBeGreaterThanOrEqual(3);
    });

    it("registers nothing when the stack config is invalid", async () => {
        const { r, value } = await capture(() => runDefaultProgram().then(() => undefined, (e: unknown) => e), {
            config: { "directpath:environment": "moon" },
        });
        expect(String(value)).toMatch(/directpath:environment: "moon" is invalid/);
        expect(r.resources).toEqual([]);
    });
});

describe("program/ module structure", () => {
    it("has no import cycles (type-only imports included)", () => {
        const dir = path.join(ROOT, "program");
        const files = [...fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, f)),
            ...fs.readdirSync(path.join(dir, "sections")).filter((f) => f.endsWith(".ts")).map((f) => path.join(dir, "sections", f))];
        const edges = new Map<string, string[]>();
        for (const f of files) {
            const text = fs.readFileSync(f, "utf8");
            const deps = [...text.matchAll(/(?:from|import\()\s*"(\.[^"]+)"/g)].map((m) => path.resolve(path.dirname(f), m[1]!) + ".ts").filter((d) => files.includes(d));
            edges.set(f, deps);
        }
        const state = new Map<string, "visiting" | "done">();
        const cycle: string[] = [];
        const visit = (f: string, trail: string[]): boolean => {
            if (state.get(f) === "done") return false;
            if (state.get(f) === "visiting") {
                cycle.push(...trail.slice(trail.indexOf(f)), f);
                return true;
            }
            state.set(f, "visiting");
            for (const d of edges.get(f) ?? []) if (visit(d, [...trail, f])) return true;
            state.set(f, "done");
            return false;
        };
        for (const f of files) if (visit(f, [])) break;
        expect(cycle.map((f) => path.relative(ROOT, f))).toEqual([]);
    });
});
