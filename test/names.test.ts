/**
 * Names are a contract: a child's name comes from what the user wrote (a principal ARN, an IP,
 * a zone, a listener, a node group), never from its position in a list. Each test builds the same
 * component twice with a list reordered and expects the same names with the same inputs per name,
 * and checks the alias that carries a stack deployed under the old position names over.
 */
import { describe, expect, it } from "vitest";
import { EksCluster, type EksClusterArgs } from "../components/aws";
import { ipKey } from "../components/common/net";
import { HairpinBypass, lrpKey, type HairpinBypassArgs } from "../components/hairpin";
import { aliasesOf, byName, recordAliases, urnOf } from "./aliases";
import { capture } from "./harness";

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
    const base = (adminPrincipalArns: string[]): EksClusterArgs => ({
        subnetIds: ["subnet-a", "subnet-b"], clusterSecurityGroupId: "sg-c", nodeSecurityGroupId: "sg-n", vpcCidr: "10.10.0.0/16",
        nodeGroups: [{ name: "general", instanceType: "t3.small" }], adminPrincipalArns,
    });
    const ENTRY = "aws:eks/accessEntry:AccessEntry";
    const ASSOC = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";

    it("reordering adminPrincipalArns gives the same names with the same inputs", async () => {
        const { a, b } = await twice(admins, (list) => new EksCluster("dev", base(list)), eksMocks);
        const names = a.r.ofType(ENTRY).map((x) => x.name).sort();
        expect(names).toEqual(["dev-admin-123456789012-role-platform-admin", "dev-admin-123456789012-user-ops-alice", "dev-admin-210987654321-role-break-glass"]);
        expect(byName(b.r, ENTRY)).toEqual(byName(a.r, ENTRY));
        expect(byName(b.r, ASSOC)).toEqual(byName(a.r, ASSOC));
        expect(a.r.inputs(a.r.get(ENTRY, "dev-admin-123456789012-user-ops-alice")).principalArn).toBe(admins[1]);
    });

    it("aliases each entry to its old position name in this run's order (a stack deployed with that order keeps its entries)", async () => {
        const { a, b } = await twice(admins, (list) => new EksCluster("dev", base(list)), eksMocks);
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
