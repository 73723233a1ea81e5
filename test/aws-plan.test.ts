import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ValidationError } from "../components/common/errors";
import { resolveStack, type AwsStackSpec } from "../program/resolve";
import type { PlanDocument, PlanResource } from "../plan/render";
import { runPlanCli } from "./aws-helpers";
import { expectProblems, sharedPlanRun, type PlanRun } from "./harness";

type Row = { target: string; direction: string; protocol: string; ports: string; peer: string; description: string };

function sgRows(doc: PlanDocument & { securityGroupRules?: Row[] }): string[] {
    return (doc.securityGroupRules ?? []).map((r) => `${r.target} ${r.direction} ${r.protocol} ${r.ports} ${r.peer}`).sort();
}

/** The rules of both stacks, besides the ones that only prod has. */
function commonRows(s: string): string[] {
    return [
        `sg:${s}-node ingress udp 8472 sg:${s}-node`,
        `sg:${s}-node ingress tcp 4240 sg:${s}-node`,
        `sg:${s}-node ingress tcp 4244 sg:${s}-node`,
        `sg:${s}-node ingress icmp type 8 code 0 sg:${s}-node`,
        `sg:${s}-node ingress tcp 53 sg:${s}-node`,
        `sg:${s}-node ingress udp 53 sg:${s}-node`,
        `sg:${s}-node ingress tcp 10250 sg:${s}-cluster`,
        `sg:${s}-node ingress tcp 443 sg:${s}-cluster`,
        `sg:${s}-cluster ingress tcp 443 sg:${s}-node`,
        `sg:${s}-cluster egress tcp 10250 sg:${s}-node`,
        `sg:${s}-cluster egress tcp 443 sg:${s}-node`,
        `sg:${s}-node egress all all 0.0.0.0/0`,
        // TailscaleDirect's firewallRules, opened by deployAwsFirewall.
        `sg:${s}-node ingress udp 41641 0.0.0.0/0`,
        // The ingress NLB: world on its own group only; the nodes take 8443 from that group.
        `sg:${s}-ingress-lb ingress tcp 443 0.0.0.0/0`,
        `sg:${s}-ingress-lb egress tcp 8443 sg:${s}-node`,
        `sg:${s}-node ingress tcp 8443 sg:${s}-ingress-lb`,
    ];
}

function readPlan(outDir: string): PlanDocument & { securityGroupRules?: Row[] } {
    return JSON.parse(fs.readFileSync(path.join(outDir, "plan.json"), "utf8"));
}

const byType = (doc: PlanDocument, type: string): PlanResource[] => doc.resources.filter((r) => r.type === type);

describe("npm run plan -- --stack dev / prod (AWS)", () => {
    // One run of the CLI per stack for the whole test run (test/harness.ts sharedPlanRun).
    const dev = () => sharedPlanRun("dev");

    it("dev: renders offline with exactly the expected security-group rules", () => {
        const run = dev();
        expect(run.stderr).not.toMatch(/plan failed/);
        expect(run.status).toBe(0);
        expect(run.stdout).toContain("Firewall and security-group rules this stack creates:");
        expect(run.stdout).toMatch(/sg:dev-node\s+ingress\s+udp\s+8472\s+sg:dev-node\s+Cilium VXLAN overlay between nodes \(UDP 8472\)/);
        const doc = readPlan(run.outDir);
        expect(sgRows(doc)).toEqual(commonRows("dev").sort());

        // Every rule resource describes itself: protocol, ports, a peer and a description.
        const rules = [...byType(doc, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), ...byType(doc, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")];
        expect(rules).toHaveLength(commonRows("dev").length);
        for (const r of rules) {
            expect(r.inputs.description, r.name).toMatch(/\w/);
            expect(r.inputs.ipProtocol, r.name).toMatch(/^(tcp|udp|icmp|-1)$/);
            if (r.inputs.ipProtocol !== "-1") expect(typeof r.inputs.fromPort, r.name).toBe("number");
            expect([r.inputs.cidrIpv4, r.inputs.cidrIpv6, r.inputs.referencedSecurityGroupId].filter((x) => x !== undefined), r.name).toHaveLength(1);
        }
        // No security group carries inline rules.
        for (const sg of byType(doc, "aws:ec2/securityGroup:SecurityGroup")) {
            expect(sg.inputs.ingress, sg.name).toBeUndefined();
            expect(sg.inputs.egress, sg.name).toBeUndefined();
        }
    });

    it("dev: public subnets, no NAT, EKS without self-managed add-ons, one Cilium release with the SG's tunnel port, computed EIPs", () => {
        const run = dev();
        expect(run.status).toBe(0);
        const doc = readPlan(run.outDir);
        const subnets = byType(doc, "aws:ec2/subnet:Subnet");
        expect(subnets.map((s) => [s.inputs.cidrBlock, s.inputs.availabilityZone, s.inputs.mapPublicIpOnLaunch])).toEqual([
            ["10.10.0.0/18", "eu-central-1a", true],
            ["10.10.64.0/18", "eu-central-1b", true],
        ]);
        expect(doc.resources.some((r) => /natGateway/i.test(r.type))).toBe(false);
        const cluster = byType(doc, "aws:eks/cluster:Cluster")[0]!;
        expect(cluster.inputs.bootstrapSelfManagedAddons).toBe(false);
        const groups = byType(doc, "aws:eks/nodeGroup:NodeGroup");
        expect(groups.map((g) => [g.name, g.inputs.instanceTypes, g.inputs.scalingConfig])).toEqual([["dev-general", ["t3.small"], { minSize: 2, maxSize: 3, desiredSize: 2 }]]);

        const releases = byType(doc, "kubernetes:helm.sh/v3:Release").filter((r) => r.inputs.chart === "cilium");
        expect(releases).toHaveLength(1);
        const helmFile = fs.readdirSync(path.join(run.outDir, "helm")).find((f) => f.includes("cilium"))!;
        const helm = parse(fs.readFileSync(path.join(run.outDir, "helm", helmFile), "utf8"));
        expect(helm.values).toMatchObject({ k8sServiceHost: "[computed]", k8sServicePort: 443, tunnelPort: 8472, kubeProxyReplacement: true });
        // LRP frontends are limited to the NLB's Elastic IPs (known only after deploy).
        expect(helm.values.localRedirectPolicies).toEqual({ enabled: true, addressMatcherCIDRs: ["[computed]", "[computed]"] });

        expect(doc.outputs.ingressAddresses).toEqual(["[computed]", "[computed]"]);
        expect(doc.outputs.ingressHostname).toBe("[computed]");
        expect(doc.outputs.kubeconfig).toBe("[secret]");
        for (const eip of byType(doc, "aws:ec2/eip:Eip")) expect(eip.inputs.address).toBeUndefined();
        const lb = byType(doc, "aws:lb/loadBalancer:LoadBalancer")[0]!;
        expect(lb.inputs.subnetMappings).toEqual([{ subnetId: "[computed]", allocationId: "[computed]" }, { subnetId: "[computed]", allocationId: "[computed]" }]);
    });

    it("prod: 3 zones, 2 node groups, IPv6 rules and routes", () => {
        const run = sharedPlanRun("prod");
        expect(run.stderr).not.toMatch(/plan failed/);
        expect(run.status).toBe(0);
        const doc = readPlan(run.outDir);
        expect(sgRows(doc)).toEqual([
            ...commonRows("prod"),
            "sg:prod-node egress all all ::/0",
            "sg:prod-node ingress udp 41641 ::/0",
            "sg:prod-ingress-lb ingress tcp 443 ::/0",
            "sg:prod-node ingress tcp 9443 sg:prod-cluster",
            "sg:prod-cluster egress tcp 9443 sg:prod-node",
        ].sort());
        // Nothing but UDP (Tailscale) reaches the nodes from the internet.
        for (const row of doc.securityGroupRules ?? []) {
            if (row.direction === "ingress" && (row.peer === "0.0.0.0/0" || row.peer === "::/0") && row.target === "sg:prod-node") expect(row.protocol).toBe("udp");
        }
        const subnets = byType(doc, "aws:ec2/subnet:Subnet");
        expect(subnets).toHaveLength(3);
        for (const s of subnets) expect(s.inputs).toMatchObject({ mapPublicIpOnLaunch: true, assignIpv6AddressOnCreation: true, ipv6CidrBlock: "[computed]" });
        expect(byType(doc, "aws:ec2/route:Route").map((r) => r.inputs.destinationCidrBlock ?? r.inputs.destinationIpv6CidrBlock).sort()).toEqual(["0.0.0.0/0", "::/0"]);
        expect(byType(doc, "aws:eks/nodeGroup:NodeGroup").map((g) => g.name)).toEqual(["prod-system", "prod-workload"]);
        expect(byType(doc, "aws:ec2/eip:Eip")).toHaveLength(3);
        // Both node groups' Auto Scaling groups are NLB targets.
        expect(byType(doc, "aws:autoscaling/attachment:Attachment").map((a) => a.name)).toEqual(["prod-ingress-targets-tcp-443-system", "prod-ingress-targets-tcp-443-workload"]);
        expect(byType(doc, "aws:lb/loadBalancer:LoadBalancer")[0]!.inputs.ipAddressType).toBe("dualstack");
    });

    it("rejects an invalid aws section: exit 2, every problem named by its config key", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-aws-"));
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), [
            "config:",
            "  aws:region: eu-central-1",
            "  directpath:environment: aws",
            "  directpath:cluster:",
            "    name: bad",
            "    podCidrs: [10.10.0.0/16]",
            "  directpath:aws:",
            "    vpc: { cidrBlock: 10.10.0.0/16, availabilityZoneCount: 1 }",
            "    security: { webhookPorts: [22] }",
            "    eks: { publicAccessCidrs: [192.168.0.0/16] }",
            "    nodeGroups:",
            "      - { name: a, instanceType: t3.small, minSize: 3, maxSize: 2 }",
            "    ingressNlb: { listeners: [{ port: 443, targetPort: 10250 }] }",
        ].join("\n"));
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "directpath-out-")), "plan");
        const run = runPlanCli(["--stack", "bad", "--stack-dir", dir], out);
        expect(run.status).toBe(2);
        for (const text of [
            "directpath:aws.vpc.availabilityZoneCount: 1 is invalid: must be at least 2",
            "directpath:cluster.podCidrs[0]: \"10.10.0.0/16\" is invalid: overlaps the VPC CIDR 10.10.0.0/16",
            "directpath:aws.security.webhookPorts[0]: 22 is invalid: SSH is never opened by directpath",
            "directpath:aws.eks.publicAccessCidrs[0]: \"192.168.0.0/16\" is invalid: is a private range",
            "directpath:aws.nodeGroups[0].minSize: 3 is invalid: must be <= maxSize (2)",
            "directpath:aws.ingressNlb.listeners[0].targetPort: 10250 is invalid",
        ]) expect(run.stderr).toContain(text);
        expect(fs.existsSync(out)).toBe(false);
    });
});

describe("the aws environment, resolved (pure)", () => {
    const groups = [{ name: "g", instanceType: "t3.small" }];
    const eks = { publicAccessCidrs: ["52.94.76.0/22"] };
    const resolveAws = (aws: Record<string, unknown>, cluster: unknown = { name: "t" }, more: Record<string, unknown> = {}) =>
        (resolveStack({ environment: "aws", cluster, aws: { eks, ...aws }, ...more }) as AwsStackSpec).aws;

    it("derives the components' args from the section, directpath:cluster and directpath:cilium", () => {
        const env = resolveAws({ vpc: { availabilityZoneCount: 2, ipv6: true }, nodeGroups: groups, ingressNlb: { listeners: [{ port: 443 }] } },
            { name: "t", podCidrs: ["10.200.0.0/16"], serviceCidr: "172.21.0.0/16" }, { cilium: { tunnel: { port: 8473 } } });
        expect(env.vpc).toMatchObject({ cidrBlock: "10.0.0.0/16", availabilityZoneCount: 2, ipv6: true, clusterName: "t" });
        // The tunnel port and Hubble (from directpath:cilium) live on ClusterSecurity only: EksCilium reads them from it.
        expect(env.security).toMatchObject({ tunnelPort: 8473, hubble: true, clusterName: "t" });
        // IPv6 follows the VPC object (ClusterSecurity, the NLB and the groups read vpc.ipv6).
        expect(env.security).not.toHaveProperty("ipv6");
        expect(env.eks).toMatchObject({ podCidr: "10.200.0.0/16", serviceCidr: "172.21.0.0/16", publicAccessCidrs: ["52.94.76.0/22"] });
        for (const moved of ["tunnelPort", "hubble", "ipv6", "vpcCidr", "nodeGroups", "ciliumChartVersion", "ciliumExtraValues", "ciliumStartupTaint", "coreDnsVersion"]) expect(env.eks).not.toHaveProperty(moved);
        expect(env.nodeGroups).toEqual([expect.objectContaining({ name: "g", instanceType: "t3.small", ciliumStartupTaint: true })]);
        expect(env.ciliumInstall).toEqual({ chartVersion: "1.19.3", extraValues: {} });
        expect(env.nlb).toMatchObject({ listeners: [{ port: 443, protocol: "TCP" }] });
        expect(env.nlb).not.toHaveProperty("ipv6");
        expect(env.nlb).not.toHaveProperty("enabled");
        expect(env.lrpAllowList).toBe(true);
        expect(resolveAws({ nodeGroups: groups }, { name: "t" }, { cilium: { chartVersion: "1.17.6" } })).toMatchObject({ lrpAllowList: false, ciliumInstall: { chartVersion: "1.17.6" } });
        expect(resolveAws({ nodeGroups: groups }, { name: "t" }, { cilium: { restrictLrpAddresses: false } }).lrpAllowList).toBe(false);
        expect(resolveAws({ nodeGroups: groups, ingressNlb: { enabled: false, listeners: [{ port: 443 }] } }).nlb).toBeUndefined();
        // The aws defaults for the cluster's CIDRs.
        expect(resolveAws({ nodeGroups: groups }).eks).toMatchObject({ podCidr: "10.244.0.0/16", serviceCidr: "172.20.0.0/16" });
    });

    it("derives Cilium's hairpin options from the hairpin section; directpath:cilium is the same block as for existing clusters", () => {
        const hairpin = {
            enabled: true,
            endpoints: [
                { name: "registry", externalIps: ["203.0.113.10"], ports: [{ port: 443 }], backend: { pods: { namespace: "ingress", selector: { app: "gw" } } } },
                { name: "api", externalIps: ["203.0.113.11"], ports: [{ port: 443 }], mode: "service-external-ips", backend: { service: { namespace: "api", name: "api" } } },
            ],
        };
        expect(resolveAws({ nodeGroups: groups }, { name: "t" }, { hairpin }).cilium).toEqual({ localRedirectPolicies: true, lrpAddressMatcherIps: ["203.0.113.10"], allowServiceExternalIps: true });
        expect(resolveAws({ nodeGroups: groups }).cilium).toEqual({ localRedirectPolicies: true, lrpAddressMatcherIps: undefined, allowServiceExternalIps: false });
        expectProblems(() => resolveAws({ nodeGroups: groups }, { name: "t" }, { cilium: { k8sServiceHost: "x", install: false, tunnel: { protocol: "geneve" } } }), [
            { path: "directpath:cilium.k8sServiceHost", value: "x", rule: /not used by the aws environment.*EKS API endpoint/ },
            { path: "directpath:cilium.install", value: false, rule: /always installs Cilium/ },
            { path: "directpath:cilium.tunnel.protocol", value: "geneve", rule: /must be vxlan/ },
        ]);
    });

    it("the old Cilium keys under directpath:aws say where they moved", () => {
        expectProblems(() => resolveAws({ nodeGroups: groups, eks: { ...eks, ciliumChartVersion: "1.18.4" }, security: { tunnelPort: 8473, hubble: false } }), [
            { path: "directpath:aws.eks.ciliumChartVersion", value: "1.18.4", rule: /moved to directpath:cilium\.chartVersion.*chartVersion: "1\.18\.4" under directpath:cilium/ },
            { path: "directpath:aws.security.tunnelPort", value: 8473, rule: /moved to directpath:cilium\.tunnel\.port/ },
            { path: "directpath:aws.security.hubble", value: false, rule: /moved to directpath:cilium\.hubble/ },
        ]);
    });

    it("requires Cilium, one pod CIDR and node groups", () => {
        let error: unknown;
        try {
            resolveAws({ nodeGroups: groups }, { name: "t", cni: "other", podCidrs: ["10.200.0.0/16", "10.201.0.0/16"] });
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).problems.map((p) => p.path)).toEqual(["directpath:cluster.cni", "directpath:cluster.podCidrs"]);
        expect(() => resolveAws({})).toThrow(/directpath:aws.nodeGroups: .* is invalid/);
    });

    it("EksNodeGroup's startup taint and EksCilium's extra values and CoreDNS version come from directpath:aws.eks", () => {
        const env = resolveAws({ nodeGroups: [...groups, { name: "h", instanceType: "t4g.small" }], eks: { ...eks, ciliumStartupTaint: false, ciliumExtraValues: { operator: { replicas: 1 } }, coreDnsVersion: "v1.12.1-eksbuild.2" } },
            { name: "t" }, { cilium: { chartVersion: "1.18.4" } });
        expect(env.nodeGroups.map((g) => [g.name, g.ciliumStartupTaint])).toEqual([["g", false], ["h", false]]);
        expect(env.ciliumInstall).toEqual({ chartVersion: "1.18.4", extraValues: { operator: { replicas: 1 } }, coreDnsVersion: "v1.12.1-eksbuild.2" });
        expectProblems(() => resolveAws({ nodeGroups: groups, eks: { ...eks, coreDnsVersion: "1.12" } }), [
            { path: "directpath:aws.eks.coreDnsVersion", value: "1.12", rule: /must be an EKS add-on version/ },
        ]);
    });

    it("listed zones: at least two, reported under the key the user wrote; passed to PublicVpc as written", () => {
        expect(() => resolveAws({ vpc: { availabilityZones: ["eu-central-1a"] }, nodeGroups: groups }))
            .toThrow(/directpath:aws.vpc.availabilityZones: \["eu-central-1a"\] is invalid: must be at least 2: EKS needs subnets in two availability zones/);
        const env = resolveAws({ vpc: { availabilityZones: ["eu-central-1b", "eu-central-1a"] }, nodeGroups: groups });
        expect(env.vpc).toMatchObject({ availabilityZones: ["eu-central-1b", "eu-central-1a"] });
        expect(() => resolveAws({ vpc: { availabilityZones: ["nowhere"] }, nodeGroups: groups })).toThrow(/directpath:aws.vpc.availabilityZones\[0\]: "nowhere" is invalid: must be an availability zone name/);
    });
});
