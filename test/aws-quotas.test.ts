/**
 * AWS's default quotas, checked on the rendered plan of an `aws` stack (plan/aws-quotas.ts).
 *
 * - 60 inbound and 60 outbound rules per security group, counted separately for IPv4 and IPv6;
 *   a rule that references a security group counts toward both; 5 security groups per network
 *   interface; 5 VPCs and 5 internet gateways per region:
 *   https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
 * - 5 Elastic IP addresses per region:
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html#using-instance-addressing-limit
 * - Network Load Balancers: 50 listeners each, 50 per region, one subnet per Availability Zone:
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html
 * - EKS: 30 managed node groups per cluster, 450 nodes per managed node group:
 *   https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_DEFAULT_QUOTAS, awsQuotaUses, quotaWarnings, type QuotaUse } from "../plan/aws-quotas";
import type { FirewallRow, PlanResource } from "../plan/render";
import { runPlanCli, sharedPlanRun } from "./harness";

const use = (uses: QuotaUse[], quota: RegExp, scope?: string) => uses.find((u) => quota.test(u.quota) && (!scope || u.scope === scope));
const row = (target: string, direction: "ingress" | "egress", peer: string): FirewallRow => ({ target, direction, protocol: "tcp", ports: "1", peer, description: "" });
const res = (type: string, name: string, inputs: Record<string, unknown> = {}, parent: string | null = null): PlanResource => ({ urn: `urn:${type}:${name}`, type, name, parent, inputs });

describe("AWS default quotas on the plan", () => {
    it("the defaults are AWS's", () => {
        expect(AWS_DEFAULT_QUOTAS).toMatchObject({ rulesPerSecurityGroup: 60, securityGroupsPerInterface: 5, elasticIpsPerRegion: 5, vpcsPerRegion: 5, listenersPerNlb: 50, nlbSubnetsPerZone: 1, managedNodeGroupsPerCluster: 30, nodesPerManagedNodeGroup: 450 });
    });

    it("counts rules per group, direction and family, a group reference in both families; warns past 60", () => {
        const rows = [
            ...Array.from({ length: 60 }, () => row("sg:x-node", "ingress", "0.0.0.0/0")),
            row("sg:x-node", "ingress", "sg:x-cluster"),
            row("sg:x-node", "ingress", "::/0"),
            row("sg:x-node", "egress", "0.0.0.0/0"),
        ];
        const uses = awsQuotaUses([res("aws:ec2/vpc:Vpc", "x")], rows);
        expect(use(uses, /^inbound IPv4 rules/, "sg:x-node")!.used).toBe(61);
        expect(use(uses, /^inbound IPv6 rules/, "sg:x-node")!.used).toBe(2);
        expect(use(uses, /^outbound IPv4 rules/, "sg:x-node")!.used).toBe(1);
        const warnings = quotaWarnings(uses);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/^WARNING: sg:x-node: 61 inbound IPv4 rules per security group, AWS's default quota is 60: pulumi up fails there/);
    });

    it("EIPs past 5 per region, node groups past 30, listeners past 50 each warn; a stack without AWS resources has none", () => {
        const lb = res("aws:lb/loadBalancer:LoadBalancer", "x-ingress", { loadBalancerType: "network", subnetMappings: [{}, {}] }, "urn:nlb");
        const resources = [
            ...Array.from({ length: 6 }, (_, i) => res("aws:ec2/eip:Eip", `x-ingress-${i}`)),
            ...Array.from({ length: 31 }, (_, i) => res("aws:eks/nodeGroup:NodeGroup", `x-g${i}`, { scalingConfig: { maxSize: 3 } })),
            lb,
            ...Array.from({ length: 51 }, (_, i) => res("aws:lb/listener:Listener", `x-ingress-tcp-${i}`, {}, "urn:nlb")),
            res("aws:ec2/subnet:Subnet", "x-public-0", { availabilityZone: "eu-central-1a" }),
            res("aws:ec2/subnet:Subnet", "x-public-1", { availabilityZone: "eu-central-1b" }),
        ];
        const warnings = quotaWarnings(awsQuotaUses(resources, []));
        expect(warnings.some((w) => /6 Elastic IP addresses per region, AWS's default quota is 5 \(and other resources in the account and region count too\)/.test(w))).toBe(true);
        expect(warnings.some((w) => /31 managed node groups per EKS cluster/.test(w))).toBe(true);
        expect(warnings.some((w) => /51 listeners/.test(w))).toBe(true);
        expect(use(awsQuotaUses(resources, []), /subnets per Availability Zone/)!.used).toBe(1);
        expect(awsQuotaUses([res("kubernetes:core/v1:ConfigMap", "c")], [])).toEqual([]);
    });

    it("dev and prod as committed stay inside every default (plan.json awsQuotas), prod using 3 of the region's 5 EIPs", () => {
        for (const [stack, eips] of [["dev", 2], ["prod", 3]] as const) {
            const run = sharedPlanRun(stack);
            expect(run.status, run.stderr).toBe(0);
            const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as { awsQuotas: QuotaUse[] };
            expect(doc.awsQuotas.every((u) => u.used <= u.limit)).toBe(true);
            expect(use(doc.awsQuotas, /Elastic IP/)).toMatchObject({ used: eips, limit: 5, shared: true });
            expect(run.stdout).toContain("AWS default quotas this stack uses (first deploy):");
            expect(run.stdout).not.toContain("WARNING:");
        }
    });

    it("npm run plan prints the warning for a stack with six zones (six EIPs) and still writes the plan", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-quota-"));
        fs.writeFileSync(path.join(dir, "Pulumi.wide.yaml"), [
            "config:",
            "  aws:region: eu-central-1",
            "  directpath:environment: aws",
            "  directpath:cluster:",
            "    name: wide",
            "  directpath:aws:",
            "    vpc: { cidrBlock: 10.30.0.0/16, availabilityZoneCount: 6 }",
            "    eks: { publicAccessCidrs: [0.0.0.0/0] }",
            "    nodeGroups: [{ name: g, instanceType: t3.small }]",
            "    ingressNlb: { listeners: [{ port: 443 }] }",
        ].join("\n"));
        const run = runPlanCli(["--stack", "wide", "--stack-dir", dir]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toContain("WARNING: this stack: 6 Elastic IP addresses per region, AWS's default quota is 5");
        expect(run.stdout).toMatch(/OVER {1,2}this stack: Elastic IP addresses per region: 6 of 5/);
    });
});
