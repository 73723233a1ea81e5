/**
 * Every documented config key does something: the values derived from `directpath:cluster`
 * (Tailscale routes, hairpin addresses, NodeLocal DNSCache's upstream, the cluster domain) reach
 * the rendered objects, an explicit value always wins, and the cross-checks between keys name the
 * keys, the values, the rule and the stack file. Runs the default program under runtime mocks and
 * asserts on what it registers.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ValidationError } from "../components/common/errors";
import { runDefaultProgram } from "../program/main";
import { resolveStack, type AwsStackSpec, StackConfigError, type LocalStackSpec } from "../program/resolve";
import { capture, expectProblems, ROOT, type Recorder } from "./harness";

type Raw = Record<string, any>;

/** The `local` stack's config as the program receives it (keys without the project prefix). */
function localRaw(file = "Pulumi.local.yaml"): Raw {
    const doc = parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
    const raw: Raw = {};
    for (const [k, v] of Object.entries(doc.config)) if (k.startsWith("directpath:")) raw[k.slice("directpath:".length)] = v;
    return raw;
}

/** Pulumi config (strings, objects as JSON) for the mocks, from raw config. */
function pulumiConfig(raw: Raw): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) out[`directpath:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
}

const SECRETS = ["directpath:tailscaleAuthKey"];

async function run(raw: Raw, stack = "local"): Promise<{ r: Recorder; outputs: Record<string, any> }> {
    const { r, value } = await capture(() => runDefaultProgram(), { stack, config: pulumiConfig(raw), secretKeys: SECRETS });
    return { r, outputs: value as Record<string, any> };
}

const resolveLocal = (raw: Raw) => resolveStack(raw, { secretKeys: new Set(["tailscaleAuthKey"]) }) as LocalStackSpec;

/** The data of the ConfigMapPatch that owns `key` of ConfigMap `name`. */
function patchedKey(r: Recorder, name: string, key: string): string {
    const patch = r.ofType("kubernetes:core/v1:ConfigMapPatch").find((p) => (r.inputs(p).metadata as any).name === name)!;
    return (r.inputs(patch).data as Record<string, string>)[key]!;
}

function tailscaleRoutes(r: Recorder): string | undefined {
    const ds = r.ofType("kubernetes:apps/v1:DaemonSet").find((d) => d.name.startsWith("tailscale"))!;
    const env = (r.inputs(ds).spec as any).template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    return env.find((e) => e.name === "TS_ROUTES")?.value;
}

describe("values derived from directpath:cluster reach the rendered objects", () => {
    it("Tailscale routes follow podCidrs and serviceCidr; an explicit list (even []) wins", async () => {
        const raw = localRaw();
        raw.cluster.podCidrs = ["10.240.0.0/16", "10.241.0.0/16"];
        raw.cluster.serviceCidr = "10.96.0.0/16";
        raw.cluster.dnsServiceIp = "10.96.0.10";
        const { r } = await run(raw);
        expect(tailscaleRoutes(r)).toBe("10.240.0.0/16,10.241.0.0/16,10.96.0.0/16");

        const explicit = localRaw();
        explicit.tailscale.routes = ["192.168.10.0/24"];
        expect(tailscaleRoutes((await run(explicit)).r)).toBe("192.168.10.0/24");
        const none = localRaw();
        none.tailscale.routes = [];
        expect(tailscaleRoutes((await run(none)).r) ?? "").toBe("");
    });

    it("NodeLocal DNSCache forwards the overridden names to cluster.dnsServiceIp; an explicit corednsAddress wins", async () => {
        const raw = localRaw();
        raw.cluster.dnsServiceIp = "10.233.0.10";
        const { r } = await run(raw);
        expect(patchedKey(r, "nodelocaldns", "Corefile")).toMatch(/registry\.example\.com:53 \{[^}]*forward \. 10\.233\.0\.10 \{/);

        const explicit = localRaw();
        explicit.cluster.dnsServiceIp = "10.233.0.10";
        explicit.hairpin.dns.nodeLocalDns.corednsAddress = "10.233.0.53";
        expect(patchedKey((await run(explicit)).r, "nodelocaldns", "Corefile")).toMatch(/registry\.example\.com:53 \{[^}]*forward \. 10\.233\.0\.53 \{/);
    });

    it("a hairpin endpoint's internalAddress comes from the node whose externalIp it lists; an explicit one wins", async () => {
        const raw = localRaw();
        raw.cluster.nodes[0].internalIp = "192.168.10.110";
        const { r } = await run(raw);
        // The CoreDNS override answers with the node's internal address.
        expect(patchedKey(r, "coredns", "Corefile")).toMatch(/template IN A registry\.example\.com \{[^}]*answer "\{\{ \.Name \}\} 30 IN A 192\.168\.10\.110"/);
        const hostsCm = r.ofType("kubernetes:core/v1:ConfigMap").find((c) => c.name.includes("hosts"))!;
        expect(JSON.stringify(r.inputs(hostsCm).data)).toContain("192.168.10.110 registry.example.com");

        const explicit = localRaw();
        explicit.hairpin.endpoints[0].internalAddress = "192.168.10.101";
        const spec = resolveLocal(explicit);
        expect(spec.hairpin!.endpoints[0]!.internalAddress).toBe("192.168.10.101");
        // It names node2 while the router DNATs 169.233.100.10 to node1: allowed, with a warning.
        expect(spec.warnings).toEqual([expect.objectContaining({ path: "directpath:hairpin.endpoints[0].internalAddress", value: "192.168.10.101", rule: expect.stringMatching(/is node 'node2', but .*169\.233\.100\.10 to 'node1' \(192\.168\.10\.100\)/) })]);
        expect(patchedKey((await run(explicit)).r, "coredns", "Corefile")).toMatch(/IN A 192\.168\.10\.101"/);
    });

    it("an address backend's externalIps come from the node at that address (local-iptables); explicit ones win", async () => {
        const raw = localRaw("Pulumi.local-iptables.yaml");
        expect(raw.hairpin.endpoints[0].externalIps).toBeUndefined();
        raw.cluster.nodes[0].externalIp = "169.233.100.20";
        const { r } = await run(raw, "local-iptables");
        const cm = r.ofType("kubernetes:core/v1:ConfigMap").find((c) => c.name.includes("iptables"))!;
        const rules = String((r.inputs(cm).data as Record<string, string>)["rules.conf"]);
        expect(rules).toContain("169.233.100.20");
        expect(rules).not.toContain("169.233.100.10");

        const explicit = localRaw("Pulumi.local-iptables.yaml");
        explicit.hairpin.endpoints[0].externalIps = ["169.233.100.30"];
        const spec = resolveLocal(explicit);
        expect(spec.hairpin!.endpoints[0]!.externalIps).toEqual(["169.233.100.30"]);
        expect(spec.warnings.map((w) => w.path)).toEqual(["directpath:hairpin.endpoints[0].externalIps[0]"]);
    });

    it("the DNS half and the iptables mode inherit cluster.clusterDomain, and an explicit cluster.local is not 'unset'", () => {
        const raw = localRaw();
        raw.cluster.clusterDomain = "corp.internal";
        // The pasted Corefile must serve the cluster domain with the kubernetes plugin.
        const base = raw.hairpin.dns.coredns.baseCorefile as string;
        raw.hairpin.dns.coredns.baseCorefile = base.replace("kubernetes cluster.local", "kubernetes corp.internal");
        let spec = resolveLocal(raw);
        expect([spec.hairpin!.dns.clusterDomain, spec.hairpin!.redirect.iptables.clusterDomain]).toEqual(["corp.internal", "corp.internal"]);
        raw.hairpin.dns.coredns.baseCorefile = base;
        raw.hairpin.dns.clusterDomain = "cluster.local";
        spec = resolveLocal(raw);
        expect(spec.hairpin!.dns.clusterDomain).toBe("cluster.local");
        expect(spec.derived).not.toHaveProperty("directpath:hairpin.dns.clusterDomain");
    });

    it("the resolved description is the stack output `resolved`: plain data, no secret", async () => {
        const { outputs } = await run(localRaw());
        const resolved = outputs.resolved;
        expect(resolved.environment).toBe("local");
        expect(resolved.tailscale.routes).toEqual(["10.233.64.0/18", "10.233.0.0/18"]);
        expect(resolved.hairpin.endpoints[0].internalAddress).toBe("192.168.10.100");
        expect(resolved.derived["directpath:hairpin.dns.nodeLocalDns.corednsAddress"]).toBe("directpath:cluster.dnsServiceIp");
        expect(JSON.parse(JSON.stringify(resolved))).toEqual(resolved);
        expect(JSON.stringify(resolved)).not.toMatch(/secret|tskey/i);
    });
});

describe("cross-checks between keys", () => {
    it("pod CIDRs overlapping the Service CIDR, and dnsServiceIp outside it", () => {
        const raw = localRaw();
        raw.cluster.podCidrs = ["10.233.0.0/16"];
        raw.cluster.dnsServiceIp = "10.234.0.3";
        expectProblems(() => resolveLocal(raw), [
            { path: "directpath:cluster.podCidrs[0]", value: "10.233.0.0/16", rule: /overlaps directpath:cluster\.serviceCidr 10\.233\.0\.0\/18.*must be disjoint/ },
            { path: "directpath:cluster.dnsServiceIp", value: "10.234.0.3", rule: /outside directpath:cluster\.serviceCidr 10\.233\.0\.0\/18/ },
        ]);
    });

    it("two nodes with one internal or external IP", () => {
        const raw = localRaw();
        raw.cluster.nodes[1].internalIp = "192.168.10.100";
        raw.cluster.nodes[1].externalIp = "169.233.100.10";
        expectProblems(() => resolveLocal(raw), [
            { path: "directpath:cluster.nodes[1].internalIp", value: "192.168.10.100", rule: /is also node 'node1's internalIp \(directpath:cluster\.nodes\[0\]\)/ },
            { path: "directpath:cluster.nodes[1].externalIp", value: "169.233.100.10", rule: /is also node 'node1's externalIp/ },
        ]);
    });

    it("hairpin addresses against the declared nodes: a warning where it can still work, an error where it cannot", () => {
        const raw = localRaw();
        raw.hairpin.endpoints[0].externalIps = ["169.233.100.99"];
        // No node has that external IP: nothing to derive an internalAddress from, and the DNS
        // overrides need one (the component's own rule).
        expectProblems(() => resolveLocal(raw), [{ path: "directpath:hairpin.endpoints[0].internalAddress", value: undefined, rule: /pods backend has no fixed address/ }]);
        raw.hairpin.endpoints[0].internalAddress = "192.168.10.100";
        const spec = resolveLocal(raw);
        expect(spec.warnings).toEqual([{ path: "directpath:hairpin.endpoints[0].externalIps[0]", value: "169.233.100.99", rule: expect.stringMatching(/matches no node's externalIp in directpath:cluster\.nodes/) }]);

        const swapped = localRaw();
        swapped.hairpin.endpoints[0].externalIps = ["192.168.10.100"];
        swapped.hairpin.endpoints[0].internalAddress = "169.233.100.10";
        expectProblems(() => resolveLocal(swapped), [
            { path: "directpath:hairpin.endpoints[0].externalIps[0]", value: "192.168.10.100", rule: /is directpath:cluster\.nodes\[0\]\.internalIp \(node 'node1'\), not an external address/ },
            { path: "directpath:hairpin.endpoints[0].internalAddress", value: "169.233.100.10", rule: /is directpath:cluster\.nodes\[0\]\.externalIp \(node 'node1'\).*use the address the router DNATs to \(that node's internalIp 192\.168\.10\.100\)/ },
        ]);

        const unknown = localRaw();
        unknown.hairpin.endpoints[0].internalAddress = "192.168.10.200";
        expect(resolveLocal(unknown).warnings.map((w) => [w.path, w.value])).toEqual([["directpath:hairpin.endpoints[0].internalAddress", "192.168.10.200"]]);
    });

    it("warnings are printed by pulumi up, and the program still deploys", async () => {
        const raw = localRaw();
        raw.hairpin.endpoints[0].externalIps = ["169.233.100.99"];
        raw.hairpin.endpoints[0].internalAddress = "192.168.10.100";
        const logged: string[] = [];
        const pulumi = await import("@pulumi/pulumi");
        const original = pulumi.log.warn;
        (pulumi.log as any).warn = (msg: string) => {
            logged.push(msg);
            return Promise.resolve();
        };
        try {
            const { r } = await run(raw);
            expect(r.ofType("directpath:hairpin:HairpinBypass")).toHaveLength(1);
        } finally {
            (pulumi.log as any).warn = original;
        }
        expect(logged).toEqual([expect.stringMatching(/^Pulumi\.local\.yaml: directpath:hairpin\.endpoints\[0\]\.externalIps\[0\]: "169\.233\.100\.99": matches no node's externalIp/)]);
    });

    it("an endpoint with no external IPs and no node to take them from says how to fix it", () => {
        const raw = localRaw("Pulumi.local-iptables.yaml");
        raw.cluster.nodes = [];
        expectProblems(() => resolveLocal(raw), [
            { path: "directpath:hairpin.endpoints[0].externalIps", value: undefined, rule: /list the external IPs, or set externalIpsFrom: environment, or declare the node at 192\.168\.10\.100 with its externalIp in directpath:cluster\.nodes/ },
        ]);
    });

    it("NodeLocal DNSCache with neither corednsAddress nor cluster.dnsServiceIp", () => {
        const raw = localRaw();
        delete raw.cluster.dnsServiceIp;
        expectProblems(() => resolveLocal(raw), [
            { path: "directpath:hairpin.dns.nodeLocalDns.corednsAddress", value: undefined, rule: /required when dns\.nodeLocalDns is enabled.*or set directpath:cluster\.dnsServiceIp, which it is derived from/ },
        ]);
    });

    it("errors name the stack file they came from, on every line", async () => {
        const raw = localRaw();
        raw.cluster.serviceCidr = "10.233.64.0/18";
        const { r, value } = await capture(() => runDefaultProgram().then(() => undefined, (e: unknown) => e), { stack: "local", config: pulumiConfig(raw), secretKeys: SECRETS });
        expect(value).toBeInstanceOf(StackConfigError);
        expect(value).toBeInstanceOf(ValidationError);
        const lines = String((value as Error).message).split("\n");
        expect(lines[0]).toMatch(/^Pulumi\.local\.yaml: directpath stack config: \d+ invalid inputs?:$/);
        expect(lines.slice(1).every((l) => l.startsWith("  - Pulumi.local.yaml: directpath:"))).toBe(true);
        expect(lines).toContainEqual(expect.stringMatching(/Pulumi\.local\.yaml: directpath:cluster\.podCidrs\[0\]: "10\.233\.64\.0\/18" is invalid: overlaps directpath:cluster\.serviceCidr 10\.233\.64\.0\/18/));
        expect(r.resources).toEqual([]);
    });
});

describe("aws stacks: the EKS public endpoint is never open by default", () => {
    const aws = (eks: Record<string, unknown> = {}) => ({
        environment: "aws",
        cluster: { name: "t" },
        aws: { eks, nodeGroups: [{ name: "g", instanceType: "t3.small" }] },
    });

    it("publicAccessCidrs is required before pulumi up in every aws stack: unset, it blocks the deploy (the API renders private-only), with a clear message", () => {
        const spec = resolveStack(aws()) as AwsStackSpec;
        expect(spec.blockers).toEqual([expect.objectContaining({ path: "directpath:aws.eks.publicAccessCidrs", value: undefined, rule: expect.stringMatching(/required before pulumi up: list who may reach the EKS public API endpoint.*never opens it by default.*\[0\.0\.0\.0\/0\]/) })]);
        expect(spec.aws.eks).toMatchObject({ publicEndpoint: false });
        expect(resolveStack(aws({ publicAccessCidrs: ["0.0.0.0/0"] }))).toMatchObject({ aws: { eks: { publicAccessCidrs: ["0.0.0.0/0"] } }, blockers: [] });
    });

    it("prod leaves its CIDRs to the user (a production stack, never the whole internet); dev opens it explicitly", () => {
        const aws = (stack: string) => parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")).config["directpath:aws"];
        expect(aws("prod").eks.publicAccessCidrs).toBeUndefined();
        expect(aws("prod").production).toBe(true);
        expect(aws("dev").eks.publicAccessCidrs).toEqual(["0.0.0.0/0"]);
    });
});

describe("the stack files hold no copies of derivable values", () => {
    it("no stack repeats its CIDRs as Tailscale routes, dnsServiceIp as corednsAddress, or a node's address in a hairpin endpoint", () => {
        for (const stack of ["local", "local-iptables", "dev", "prod"]) {
            const raw = localRaw(`Pulumi.${stack}.yaml`);
            expect(raw.tailscale?.routes, stack).toBeUndefined();
            expect(raw.hairpin?.dns?.nodeLocalDns?.corednsAddress, stack).toBeUndefined();
            expect(raw.hairpin?.dns?.clusterDomain, stack).toBeUndefined();
            for (const e of raw.hairpin?.endpoints ?? []) expect(e.externalIps === undefined || e.internalAddress === undefined, `${stack}: ${e.name}`).toBe(true);
            expect(raw.aws?.security?.tunnelPort, stack).toBeUndefined();
        }
    });
});

describe("the local program loads no @pulumi/aws", () => {
    it("a local stack under mocks requires no module of @pulumi/aws; an aws stack does", () => {
        const script = `
            const { installMocks, settle } = require(${JSON.stringify(path.join(ROOT, "plan", "runtime.ts"))});
            const config = JSON.parse(process.env.DP_CONFIG);
            installMocks({ stack: process.env.DP_STACK, preview: true, config, secretKeys: ["directpath:tailscaleAuthKey"] });
            require(${JSON.stringify(path.join(ROOT, "program", "main.ts"))}).runDefaultProgram().then(async () => {
                await settle();
                const loaded = Object.keys(require.cache).filter((k) => k.includes("node_modules/@pulumi/aws/"));
                console.log("AWS_MODULES=" + loaded.length);
            }, (e) => { console.error(e); process.exit(1); });
        `;
        const count = (stack: string) => {
            const res = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "-e", script], {
                cwd: ROOT, encoding: "utf8", timeout: 120_000,
                env: { ...process.env, DP_STACK: stack, DP_CONFIG: JSON.stringify(pulumiConfig(localRaw(`Pulumi.${stack}.yaml`))) },
            });
            expect(res.status, res.stderr).toBe(0);
            return Number(/AWS_MODULES=(\d+)/.exec(res.stdout)![1]);
        };
        expect(count("local")).toBe(0);
        expect(count("dev")).toBeGreaterThan(0);
    }, 240_000);
});
