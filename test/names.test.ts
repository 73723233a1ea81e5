/**
 * Names are a contract: a child's name comes from what the user wrote (a principal ARN, an IP,
 * a zone, a listener, a node group), never from its position in a list. Each test builds the same
 * component twice with a list reordered and expects the same names with the same inputs per name,
 * and checks the alias that carries a stack deployed under the old position names over.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ClusterSecurity, EksCluster, EksNodeGroup, IngressNlb, LoadBalancerTargets, PublicVpc } from "../components/aws";
import { readStackFiles } from "../plan/stack-files";
import { runDefaultProgram } from "../program/main";
import { ipKey } from "../components/common/net";
import { HairpinBypass, lrpKey, type HairpinBypassArgs } from "../components/hairpin";
import { aliasesOf, byName, recordAliases, urnOf } from "./aliases";
import { capture, ROOT } from "./harness";

const eksMocks = {
    config: { "aws:region": "eu-central-1" },
    extraState: (a: { type: string; name: string }): Record<string, unknown> | undefined =>
        a.type === "aws:eks/cluster:Cluster" ? { name: a.name, endpoint: "https://ABC.gr7.eu-central-1.eks.amazonaws.com", certificateAuthority: { data: "Q0E=" } } : undefined,
};

/** Builds twice (the list as given and reversed) and returns both recordings. */
async function twice<T>(list: T[], build: (list: T[]) => unknown, options: object = {}) {
    const a = await capture(() => { const aliases = recordAliases(); build(list); return aliases; }, options);
    const b = await capture(() => { const aliases = recordAliases(); build([...list].reverse()); return aliases; }, options);
    return { a, b };
}

describe("EksCluster access entries are keyed by principal", () => {
    const admins = ["arn:aws:iam::123456789012:role/platform-admin", "arn:aws:iam::123456789012:user/ops/alice", "arn:aws:iam::210987654321:role/break-glass"];
    const cluster = (adminPrincipalArns: string[]) => {
        const vpc = new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2 });
        return new EksCluster("dev", { vpc, security: new ClusterSecurity("dev", { vpc }), adminPrincipalArns });
    };
    const ENTRY = "aws:eks/accessEntry:AccessEntry";
    const ASSOC = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";

    it("reordering adminPrincipalArns gives the same names with the same inputs", async () => {
        const { a, b } = await twice(admins, cluster, eksMocks);
        const names = a.r.ofType(ENTRY).map((x) => x.name).sort();
        expect(names).toEqual(["dev-admin-123456789012-role-platform-admin", "dev-admin-123456789012-user-ops-alice", "dev-admin-210987654321-role-break-glass"]);
        expect(byName(b.r, ENTRY)).toEqual(byName(a.r, ENTRY));
        expect(byName(b.r, ASSOC)).toEqual(byName(a.r, ASSOC));
        expect(a.r.inputs(a.r.get(ENTRY, "dev-admin-123456789012-user-ops-alice")).principalArn).toBe(admins[1]);
    });

    it("aliases each entry to its old position name in this run's order (a stack deployed with that order keeps its entries)", async () => {
        const { a, b } = await twice(admins, cluster, eksMocks);
        const parent = a.r.ofType("directpath:aws:EksCluster")[0]!.urn;
        for (const type of [ENTRY, ASSOC]) {
            expect(aliasesOf(a.value, type, "dev-admin-123456789012-user-ops-alice")).toEqual([urnOf("test", "directpath", type, "dev-admin-1", parent)]);
            // Reversed, the same principal sits at position 1 of 3 again; the first one moves to 2.
            expect(aliasesOf(b.value, type, "dev-admin-123456789012-role-platform-admin")).toEqual([urnOf("test", "directpath", type, "dev-admin-2", parent)]);
        }
    });
});

describe("HairpinBypass LocalRedirectPolicies are keyed by external IP", () => {
    const LRP = "kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy";
    const endpoint = (externalIps: string[]) => ({
        name: "registry", externalIps, ports: [{ port: 443, protocol: "TCP" as const, targetPort: 8443 }],
        backend: { pods: { namespace: "ingress", selector: { app: "gw" }, workload: "DaemonSet" as const } },
    });
    const ips = ["169.233.100.10", "169.233.100.11", "fd00::10"];

    it("ipKey: one key per address, whatever its spelling; lowercase letters, digits and '-' only", () => {
        expect(ipKey("169.233.100.10")).toBe("169-233-100-10");
        expect(ipKey("fd00::10")).toBe("fd00-0-0-0-0-0-0-10");
        expect(ipKey("FD00:0:0::10")).toBe(ipKey("fd00::10"));
        expect(ipKey("::")).toBe("0-0-0-0-0-0-0-0");
        expect(() => ipKey("10.0.0")).toThrow(/not an IP/);
        expect(lrpKey("169.233.100.10", 4)).toBe("169-233-100-10");
    });

    it("reordering externalIps gives the same policy names (resource and Kubernetes object) with the same spec per name", async () => {
        const { a, b } = await twice(ips, (list) => new HairpinBypass("hp", { endpoints: [endpoint(list)] } as HairpinBypassArgs));
        expect(a.r.ofType(LRP).map((x) => x.name).sort()).toEqual(["hp-registry-lrp-169-233-100-10", "hp-registry-lrp-169-233-100-11", "hp-registry-lrp-fd00-0-0-0-0-0-0-10"]);
        expect(byName(b.r, LRP)).toEqual(byName(a.r, LRP));
        const lrp = a.r.inputs(a.r.get(LRP, "hp-registry-lrp-169-233-100-11")) as any;
        expect(lrp.metadata.name).toBe("hp-registry-169-233-100-11");
        expect(lrp.spec.redirectFrontend.addressMatcher.ip).toBe("169.233.100.11");
        expect(lrp.spec.description).toContain("external IP 169.233.100.11,");
    });

    it("aliases each policy to its old position name in this run's order", async () => {
        const { a } = await twice(ips, (list) => new HairpinBypass("hp", { endpoints: [endpoint(list)] } as HairpinBypassArgs));
        const parent = a.r.ofType("directpath:hairpin:HairpinBypass")[0]!.urn;
        expect(aliasesOf(a.value, LRP, "hp-registry-lrp-fd00-0-0-0-0-0-0-10")).toEqual([urnOf("test", "directpath", LRP, "hp-registry-lrp-2", parent)]);
    });
});

describe("SecurityGroupRules are keyed by what they open", () => {
    it("two consumed rules that open the same thing become one rule, whatever their order; reordering renames nothing", async () => {
        const { firewallRuleSpecs } = await import("../components/aws");
        const rules = [
            { direction: "ingress" as const, protocol: "udp" as const, fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale" },
            { direction: "ingress" as const, protocol: "udp" as const, fromPort: 3478, toPort: 3478, peer: "self", description: "STUN" },
            { direction: "ingress" as const, protocol: "udp" as const, fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale again" },
        ];
        const a = firewallRuleSpecs(rules, { ipv6: false });
        const b = firewallRuleSpecs([...rules].reverse(), { ipv6: false });
        expect(a.map((s) => s.key)).toEqual(["in-udp-41641-world-v4", "in-udp-3478-node"]);
        expect(b.map((s) => s.key).sort()).toEqual(a.map((s) => s.key).sort());
        expect(b.find((s) => s.key === "in-udp-3478-node")).toEqual(a.find((s) => s.key === "in-udp-3478-node"));
    });
});

describe("stacks deployed before names were keyed keep every resource (URN or alias)", () => {
    const before = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "urns-before-stable-names.json"), "utf8")) as Record<string, string[]>;

    for (const stack of ["local", "dev", "prod"]) {
        it(`${stack}: each URN of the old layout is a URN now, or the alias of exactly one resource of the same type`, async () => {
            const files = readStackFiles(ROOT, stack);
            const { r, value } = await capture(async () => {
                const aliases = recordAliases(files.stack, files.project);
                await runDefaultProgram();
                return aliases;
            }, { project: files.project, stack: files.stack, preview: true, config: files.config, secretKeys: files.secretKeys });
            const now = new Set(r.resources.map((x) => x.urn));
            const owners = new Map<string, string[]>();
            for (const x of value) for (const u of x.urns) owners.set(u, [...(owners.get(u) ?? []), `${x.type}::${x.name}`]);
            const missing: string[] = [];
            for (const urn of before[stack]!) {
                if (now.has(urn)) continue;
                const by = owners.get(urn) ?? [];
                if (by.length !== 1) missing.push(`${urn} (aliased by ${by.length})`);
            }
            expect(missing).toEqual([]);
            // An alias never names a URN that a resource of this run holds itself.
            expect([...owners.keys()].filter((u) => now.has(u))).toEqual([]);
        });
    }

    it("dev: the moved and renamed resources carry the exact old URNs", async () => {
        const files = readStackFiles(ROOT, "dev");
        const { value } = await capture(async () => {
            const aliases = recordAliases(files.stack, files.project);
            await runDefaultProgram();
            return aliases;
        }, { project: files.project, stack: files.stack, preview: true, config: files.config, secretKeys: files.secretKeys });
        const old = (chain: string, name: string) => `urn:pulumi:dev::directpath::${chain}::${name}`;
        expect(aliasesOf(value, "aws:eks/nodeGroup:NodeGroup", "dev-general")).toEqual([old("directpath:aws:EksCluster$aws:eks/nodeGroup:NodeGroup", "dev-general")]);
        expect(aliasesOf(value, "aws:ec2/launchTemplate:LaunchTemplate", "dev-general")).toEqual([old("directpath:aws:EksCluster$aws:ec2/launchTemplate:LaunchTemplate", "dev-general")]);
        expect(aliasesOf(value, "kubernetes:helm.sh/v3:Release", "dev-cilium")).toEqual([old("directpath:aws:EksCluster$kubernetes:helm.sh/v3:Release", "dev-cilium")]);
        expect(aliasesOf(value, "aws:eks/addon:Addon", "dev-cilium-coredns")).toEqual([old("directpath:aws:EksCluster$aws:eks/addon:Addon", "dev-coredns")]);
        expect(aliasesOf(value, "aws:autoscaling/attachment:Attachment", "dev-ingress-targets-tcp-443-general"))
            .toEqual([old("directpath:aws:LoadBalancerTargets$aws:autoscaling/attachment:Attachment", "dev-ingress-targets-0-0")]);
        // Unchanged names register no alias at all.
        expect(aliasesOf(value, "aws:ec2/eip:Eip", "dev-ingress-0")).toEqual([]);
        expect(aliasesOf(value, "aws:ec2/subnet:Subnet", "dev-public-1")).toEqual([]);
    });
});

describe("PublicVpc subnets and IngressNlb Elastic IPs are keyed by zone", () => {
    const zones = ["eu-central-1a", "eu-central-1b", "eu-central-1c"];
    const build = (list: string[]) => {
        const vpc = new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZones: list });
        return new IngressNlb("dev-ingress", { vpc, security: new ClusterSecurity("dev", { vpc }), listeners: [{ port: 443 }] });
    };
    const TYPES = ["aws:ec2/subnet:Subnet", "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/eip:Eip", "aws:lb/loadBalancer:LoadBalancer"];

    it("reordering availabilityZones gives the same subnet and EIP names, CIDRs, zones and subnet mappings", async () => {
        const { a, b } = await twice(zones, build);
        expect(a.r.ofType("aws:ec2/subnet:Subnet").map((x) => x.name).sort()).toEqual(["dev-public-eu-central-1a", "dev-public-eu-central-1b", "dev-public-eu-central-1c"]);
        expect(a.r.ofType("aws:ec2/eip:Eip").map((x) => x.name).sort()).toEqual(["dev-ingress-eu-central-1a", "dev-ingress-eu-central-1b", "dev-ingress-eu-central-1c"]);
        for (const t of TYPES) expect(byName(b.r, t), t).toEqual(byName(a.r, t));
        const sn = a.r.inputs(a.r.get("aws:ec2/subnet:Subnet", "dev-public-eu-central-1b"));
        expect([sn.availabilityZone, sn.cidrBlock]).toEqual(["eu-central-1b", "10.10.32.0/19"]);
        // Listed zones take the same blocks the region's first three zones get when looked up.
        const looked = await capture(() => new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 3 }), { config: { "aws:region": "eu-central-1" } });
        expect(looked.r.ofType("aws:ec2/subnet:Subnet").map((x) => [x.name, looked.r.inputs(x).cidrBlock])).toEqual([
            ["dev-public-0", "10.10.0.0/19"], ["dev-public-1", "10.10.32.0/19"], ["dev-public-2", "10.10.64.0/19"],
        ]);
    });

    it("aliases a zone-named subnet to the slot name the looked-up zone had, and each EIP to its position name", async () => {
        const { b } = await twice(zones, build);
        const vpc = b.r.ofType("directpath:aws:PublicVpc")[0]!.urn;
        const nlb = b.r.ofType("directpath:aws:IngressNlb")[0]!.urn;
        // Reversed input: eu-central-1b still takes slot 1 (alphabetical), so its alias is the same.
        expect(aliasesOf(b.value, "aws:ec2/subnet:Subnet", "dev-public-eu-central-1b")).toEqual([urnOf("test", "directpath", "aws:ec2/subnet:Subnet", "dev-public-1", vpc)]);
        expect(aliasesOf(b.value, "aws:ec2/eip:Eip", "dev-ingress-eu-central-1c")).toEqual([urnOf("test", "directpath", "aws:ec2/eip:Eip", "dev-ingress-2", nlb)]);
    });
});

describe("LoadBalancerTargets attachments are keyed by listener and node group", () => {
    it("reordering the node groups gives the same attachment names and inputs; aliases name this run's positions", async () => {
        const mocks = { ...eksMocks, extraState: (x: { type: string; name: string }) => (x.type === "aws:eks/nodeGroup:NodeGroup" ? { resources: [{ autoscalingGroups: [{ name: `asg-${x.name}` }] }] } : eksMocks.extraState(x)) };
        const build = (groups: string[]) => {
            const vpc = new PublicVpc("t", { availabilityZoneCount: 2 });
            const security = new ClusterSecurity("t", { vpc });
            const cluster = new EksCluster("t", { vpc, security });
            const nlb = new IngressNlb("t-ingress", { vpc, security, listeners: [{ port: 443 }, { port: 80 }] });
            const byGroup = new Map(["a", "b"].map((g) => [g, new EksNodeGroup(`t-${g}`, { cluster, name: g, instanceType: "t3.small" })]));
            return new LoadBalancerTargets("t-targets", { loadBalancer: nlb, nodeGroups: groups.map((g) => byGroup.get(g)!) });
        };
        const { a, b } = await twice(["a", "b"], build, mocks);
        const T = "aws:autoscaling/attachment:Attachment";
        expect(a.r.ofType(T).map((x) => x.name).sort()).toEqual(["t-targets-tcp-443-a", "t-targets-tcp-443-b", "t-targets-tcp-80-a", "t-targets-tcp-80-b"]);
        expect(byName(b.r, T)).toEqual(byName(a.r, T));
        const parent = a.r.ofType("directpath:aws:LoadBalancerTargets")[0]!.urn;
        expect(aliasesOf(a.value, T, "t-targets-tcp-80-b")).toEqual([urnOf("test", "directpath", T, "t-targets-1-1", parent)]);
        expect(aliasesOf(b.value, T, "t-targets-tcp-80-b")).toEqual([urnOf("test", "directpath", T, "t-targets-1-0", parent)]);
    });
});
