import { describe, expect, it } from "vitest";
import {
    AWS_DESCRIPTION, awsRuleDescription, ClusterSecurity, clusterSecurityRules, firewallRuleSpecs, PublicVpc, SecurityGroupRules, validateClusterSecurityOptions,
} from "../components/aws";
import type { FirewallRule } from "../components/common/firewall";
import { capture, expectProblems, type Recorder } from "./aws-helpers";

const v6Mocks = { extraState: (a: { type: string }) => (a.type === "aws:ec2/vpc:Vpc" ? { ipv6CidrBlock: "2600:1f18:abcd:ef00::/56" } : undefined) };
/** The VPC the groups take (IPv6 as asked). */
const vpcOf = (name: string, ipv6 = false) => new PublicVpc(name, { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2, ipv6 });

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const SG = "aws:ec2/securityGroup:SecurityGroup";

/** One line per registered rule: owner, direction, protocol, ports, peer, description. */
function ruleTable(r: Recorder, prefix = ""): string[] {
    const groupName = (id: unknown) => (typeof id === "string" && id.endsWith("-id") ? `sg:${id.slice(0, -3)}` : String(id));
    return [...r.ofType(INGRESS), ...r.ofType(EGRESS)].filter((res) => res.name.startsWith(prefix)).map((res) => {
        const i = r.inputs(res);
        const peer = (i.cidrIpv4 ?? i.cidrIpv6 ?? groupName(i.referencedSecurityGroupId)) as string;
        const ports = i.fromPort === undefined ? "all" : `${String(i.fromPort)}-${String(i.toPort)}`;
        return `${groupName(i.securityGroupId)} ${res.type === INGRESS ? "in" : "out"} ${String(i.ipProtocol)} ${ports} ${peer} | ${String(i.description)}`;
    }).sort();
}

const DEV_RULES = [
    "sg:dev-cluster in tcp 443-443 sg:dev-node | Nodes to the Kubernetes API (TCP 443)",
    "sg:dev-cluster out tcp 10250-10250 sg:dev-node | Control plane to kubelet (TCP 10250)",
    "sg:dev-cluster out tcp 443-443 sg:dev-node | Control plane to nodes (TCP 443)",
    "sg:dev-node in icmp 8-0 sg:dev-node | ICMP echo between nodes (Cilium health probes)",
    "sg:dev-node in tcp 10250-10250 sg:dev-cluster | Control plane to kubelet (TCP 10250: logs, exec, metrics)",
    "sg:dev-node in tcp 4240-4240 sg:dev-node | Cilium health checks between nodes (TCP 4240)",
    "sg:dev-node in tcp 4244-4244 sg:dev-node | Hubble server, read by Hubble Relay (TCP 4244)",
    "sg:dev-node in tcp 443-443 sg:dev-cluster | Control plane to nodes (TCP 443: host-network API services)",
    "sg:dev-node in tcp 53-53 sg:dev-node | Cluster DNS between nodes (TCP 53)",
    "sg:dev-node in udp 53-53 sg:dev-node | Cluster DNS between nodes (UDP 53)",
    "sg:dev-node in udp 8472-8472 sg:dev-node | Cilium VXLAN overlay between nodes (UDP 8472)",
    "sg:dev-node out -1 all 0.0.0.0/0 | Nodes to anywhere over IPv4 (no NAT gateway: straight out of the node public IP)",
].sort();

describe("ClusterSecurity", () => {
    it("registers exactly the dev rule set, one resource per rule, no inline rules", async () => {
        const { r } = await capture(() => new ClusterSecurity("dev", { vpc: vpcOf("dev") }));
        expect(ruleTable(r)).toEqual(DEV_RULES);
        const groups = r.ofType(SG);
        expect(groups.map((g) => g.name).sort()).toEqual(["dev-cluster", "dev-node"]);
        for (const g of groups) {
            const i = r.inputs(g);
            expect(i.ingress, g.name).toBeUndefined();
            expect(i.egress, g.name).toBeUndefined();
            expect(i.vpcId).toBe("dev-vpc-id");
        }
    });

    it("prod-like: webhook ports from the control plane, IPv6 egress, custom tunnel port, Hubble off", async () => {
        // IPv6 follows the VPC.
        const { r, value } = await capture(() => new ClusterSecurity("prod", { vpc: vpcOf("prod", true), webhookPorts: [9443, 8443], tunnelPort: 8473, hubble: false }), v6Mocks);
        expect([value.ipv6, value.tunnelPort, value.hubble]).toEqual([true, 8473, false]);
        const table = ruleTable(r);
        expect(table).toContain("sg:prod-node in udp 8473-8473 sg:prod-node | Cilium VXLAN overlay between nodes (UDP 8473)");
        expect(table.some((l) => l.includes(" 8472-"))).toBe(false);
        expect(table.some((l) => l.includes("4244"))).toBe(false);
        expect(table).toContain("sg:prod-node in tcp 9443-9443 sg:prod-cluster | Control plane to admission webhook (TCP 9443)");
        expect(table).toContain("sg:prod-node in tcp 8443-8443 sg:prod-cluster | Control plane to admission webhook (TCP 8443)");
        expect(table).toContain("sg:prod-cluster out tcp 9443-9443 sg:prod-node | Control plane to admission webhook (TCP 9443)");
        expect(table).toContain("sg:prod-node out -1 all ::/0 | Nodes to anywhere over IPv6");
        expect(table).toHaveLength(DEV_RULES.length - 1 /* hubble */ + 4 /* 2 webhooks x 2 */ + 1 /* v6 egress */);
    });

    it("opens nothing to the internet except egress: no world ingress, no SSH, no NodePorts", () => {
        for (const o of [{}, { ipv6: true, webhookPorts: [9443] }]) {
            const rules = clusterSecurityRules(validateClusterSecurityOptions(o));
            for (const rule of rules) {
                expect(AWS_DESCRIPTION.test(rule.description), rule.description).toBe(true);
                if (rule.direction !== "ingress") continue;
                expect("group" in rule.peer, `${rule.key} must have a security-group peer`).toBe(true);
                expect(rule.fromPort === 22 || rule.toPort === 22).toBe(false);
                expect((rule.fromPort ?? 0) >= 30000 && (rule.toPort ?? 0) <= 32767).toBe(false);
            }
        }
    });

    it("rejects bad options with every problem at once, registering nothing", async () => {
        const { r, value: vpc } = await capture(() => vpcOf("x"));
        const count = r.resources.length;
        expectProblems(() => new ClusterSecurity("x", { vpc, tunnelPort: 53, webhookPorts: [9443, 9443, 10250, 22, 31000, 0] }), [
            { path: "tunnelPort", rule: /collides with UDP 53/ },
            { path: "webhookPorts[1]", rule: /listed twice/ },
            { path: "webhookPorts[2]", rule: /already opened/ },
            { path: "webhookPorts[3]", rule: /SSH/ },
            { path: "webhookPorts[4]", rule: /NodePort range/ },
            { path: "webhookPorts[5]", rule: /1-65535/ },
        ]);
        expectProblems(() => new ClusterSecurity("x", { vpc, tunnelPort: 30001, hubble: "yes" as never, clusterName: "Bad_Name" }), [
            { path: "tunnelPort", rule: /NodePort range/ },
            { path: "hubble", rule: /true or false/ },
            { path: "clusterName", rule: /DNS label/ },
        ]);
        expect(r.resources.length).toBe(count);
    });
});

const TAILSCALE: FirewallRule[] = [
    { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale direct connections (IPv4)" },
    { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "::/0", description: "Tailscale direct connections (IPv6)" },
];

describe("SecurityGroupRules (consumed FirewallRule[])", () => {
    it("opens every Tailscale rule in the node group; ::/0 only with IPv6", async () => {
        const v4 = await capture(() => new SecurityGroupRules("fw", { security: new ClusterSecurity("dev", { vpc: vpcOf("dev") }), rules: TAILSCALE }));
        expect(ruleTable(v4.r, "fw-")).toEqual(["sg:dev-node in udp 41641-41641 0.0.0.0/0 | Tailscale direct connections (IPv4)"]);
        const v6 = await capture(() => new SecurityGroupRules("fw", { security: new ClusterSecurity("dev", { vpc: vpcOf("dev", true) }), rules: TAILSCALE }), v6Mocks);
        expect(ruleTable(v6.r, "fw-")).toEqual([
            "sg:dev-node in udp 41641-41641 0.0.0.0/0 | Tailscale direct connections (IPv4)",
            "sg:dev-node in udp 41641-41641 ::/0 | Tailscale direct connections (IPv6)",
        ]);
        expect(v6.r.ofType(INGRESS).map((x) => x.name).filter((n) => n.startsWith("fw-")).sort()).toEqual(["fw-in-udp-41641-world-v4", "fw-in-udp-41641-world-v6"]);
    });

    it("skips consumed rules that ClusterSecurity already opens (AWS refuses duplicates)", async () => {
        const consumed: FirewallRule[] = [
            { direction: "ingress", protocol: "udp", fromPort: 8472, toPort: 8472, peer: "self", description: "Cilium VXLAN overlay between nodes" },
            { direction: "ingress", protocol: "tcp", fromPort: 4240, toPort: 4240, peer: "self", description: "Cilium health checks between nodes" },
            ...TAILSCALE,
        ];
        const { r, value } = await capture(() => new SecurityGroupRules("fw", { security: new ClusterSecurity("dev", { vpc: vpcOf("dev") }), rules: consumed }));
        expect(ruleTable(r, "fw-")).toEqual(["sg:dev-node in udp 41641-41641 0.0.0.0/0 | Tailscale direct connections (IPv4)"]);
        expect(value.rules.map((x) => x.key)).toEqual(["in-udp-41641-world-v4"]);
    });

    it("maps self and controlPlane peers to the groups, and cleans descriptions AWS would refuse", () => {
        const specs = firewallRuleSpecs([
            { direction: "ingress", protocol: "tcp", fromPort: 9100, toPort: 9100, peer: "self", description: "node-exporter <metrics> between nodes" },
            { direction: "ingress", protocol: "tcp", fromPort: 9443, toPort: 9443, peer: "controlPlane", description: "webhook" },
            { direction: "egress", protocol: "all", fromPort: -1, toPort: -1, peer: "10.1.0.0/16", description: "peering" },
        ], { ipv6: false, controlPlaneKnown: true });
        expect(specs.map((s) => [s.key, s.direction, s.protocol, s.fromPort, s.peer, s.description])).toEqual([
            ["in-tcp-9100-node", "ingress", "tcp", 9100, { group: "node" }, "node-exporter metrics between nodes"],
            ["in-tcp-9443-cluster", "ingress", "tcp", 9443, { group: "cluster" }, "webhook"],
            ["out-all-all-10-1-0-0-16", "egress", "-1", undefined, { cidr: "10.1.0.0/16" }, "peering"],
        ]);
        expect(awsRuleDescription("a\u00e9b's <c>")).toBe("a b s c");
        expect(awsRuleDescription("x".repeat(300))).toHaveLength(255);
    });

    it("refuses world-open TCP, SSH, the NodePort range and unknown peers", async () => {
        const { r, value: security } = await capture(() => new ClusterSecurity("dev", { vpc: vpcOf("dev", true) }), v6Mocks);
        const count = r.resources.length;
        expectProblems(() => new SecurityGroupRules("fw", {
            security,
            rules: [
                { direction: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, peer: "0.0.0.0/0", description: "https" },
                { direction: "ingress", protocol: "udp", fromPort: 20, toPort: 25, peer: "::/0", description: "ssh range" },
                { direction: "ingress", protocol: "udp", fromPort: 30000, toPort: 30010, peer: "0.0.0.0/0", description: "nodeports" },
                { direction: "ingress", protocol: "udp", fromPort: 1, toPort: 70000, peer: "somewhere", description: "bad" },
                { direction: "ingress", protocol: "all", fromPort: -1, toPort: -1, peer: "::/0", description: "everything" },
            ],
        }), [
            { path: "rules[0]", rule: /TCP to the whole internet/ },
            { path: "rules[1]", rule: /SSH/ },
            { path: "rules[2]", rule: /NodePort range/ },
            { path: "rules[3].peer", rule: /CIDR, `self` or `controlPlane`/ },
            { path: "rules[3].toPort", rule: /1-65535/ },
            { path: "rules[4]", rule: /TCP to the whole internet/ },
        ]);
        expect(r.resources.length).toBe(count);
        expectProblems(() => firewallRuleSpecs([{ direction: "ingress", protocol: "tcp", fromPort: 9443, toPort: 9443, peer: "controlPlane", description: "x" }], { ipv6: false, controlPlaneKnown: false }), [
            { path: "rules[0].peer", rule: /controlPlaneSecurityGroupId/ },
        ]);
    });
});
