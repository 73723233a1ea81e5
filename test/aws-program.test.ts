import { describe, expect, it } from "vitest";
import type { FirewallRule } from "../components/common/firewall";
import { resolveStack, type AwsStackSpec } from "../program/resolve";
import { deployAwsCluster, deployAwsFirewall } from "../program/sections/aws-deploy";
import { capture, resolve } from "./aws-helpers";

function spec(): AwsStackSpec {
    return resolveStack({
        environment: "aws",
        cluster: { name: "t" },
        aws: {
            vpc: { cidrBlock: "10.30.0.0/16", availabilityZoneCount: 2 },
            eks: { publicAccessCidrs: ["52.94.76.0/22"] },
            nodeGroups: [{ name: "g", instanceType: "t3.small" }],
            ingressNlb: { listeners: [{ port: 443, targetPort: 8443 }] },
        },
    }) as AwsStackSpec;
}

const mocks = {
    config: { "aws:region": "eu-central-1" },
    extraState: (a: { type: string; name: string }): Record<string, unknown> | undefined => {
        if (a.type === "aws:ec2/eip:Eip") {
            const n = Number(a.name.split("-").pop());
            return { allocationId: `eipalloc-${n}`, publicIp: `198.51.100.${n + 1}`, publicDns: `ec2-198-51-100-${n + 1}.example` };
        }
        if (a.type === "aws:lb/loadBalancer:LoadBalancer") return { dnsName: "t-ingress.elb.example", arn: "arn:lb" };
        if (a.type === "aws:lb/targetGroup:TargetGroup") return { arn: `arn:tg/${a.name}` };
        if (a.type === "aws:eks/cluster:Cluster") return { name: "t-eks", endpoint: "https://X.eks.example", certificateAuthority: { data: "Q0E=" } };
        if (a.type === "aws:eks/nodeGroup:NodeGroup") return { resources: [{ autoscalingGroups: [{ name: "asg-g" }] }] };
        return undefined;
    },
};

describe("deployAwsCluster / deployAwsFirewall (the contract with the other steps)", () => {
    it("hands the EKS provider, the Cilium release and the NLB's addresses to the later steps", async () => {
        const { r, value: cluster } = await capture(() => deployAwsCluster(spec()), mocks);
        const release = r.get("kubernetes:helm.sh/v3:Release", "t-cilium");
        expect(cluster.ciliumRelease).toBeDefined();
        expect(await resolve(cluster.ciliumRelease!.urn)).toBe(release.urn);
        expect(await resolve(cluster.provider.urn)).toBe(r.get("pulumi:providers:kubernetes", "t-k8s").urn);
        expect(cluster.externalEndpoints?.source).toBe("aws-ingress-nlb");
        expect(await resolve(cluster.externalEndpoints!.ips)).toEqual(["198.51.100.1", "198.51.100.2"]);
        expect(await resolve(cluster.externalEndpoints!.hostnames)).toEqual(["t-ingress.elb.example", "ec2-198-51-100-1.example", "ec2-198-51-100-2.example"]);
        expect(cluster.externalEndpoints!.listeners).toEqual([{ port: 443, targetPort: 8443, protocol: "TCP" }]);
        // The EKS public endpoint takes exactly the listed CIDRs.
        expect(r.inputs(r.ofType("aws:eks/cluster:Cluster")[0]!).vpcConfig).toMatchObject({ publicAccessCidrs: ["52.94.76.0/22"] });
        // The same EIPs are Cilium's LRP allow-list.
        expect(r.inputs(release).values).toMatchObject({ localRedirectPolicies: { enabled: true, addressMatcherCIDRs: ["198.51.100.1/32", "198.51.100.2/32"] } });
        expect(r.ofType("aws:autoscaling/attachment:Attachment").map((a) => [r.inputs(a).autoscalingGroupName, r.inputs(a).lbTargetGroupArn])).toEqual([["asg-g", "arn:tg/t-ingress-tcp-443"]]);
    });

    it("opens what the in-cluster steps asked for in the node group, skipping IPv6 peers on an IPv4 VPC and rules already there", async () => {
        const asked: FirewallRule[] = [
            { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale (IPv4)" },
            { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "::/0", description: "Tailscale (IPv6)" },
            { direction: "ingress", protocol: "udp", fromPort: 8472, toPort: 8472, peer: "self", description: "Cilium VXLAN" },
        ];
        const { r } = await capture(async () => {
            const s = spec();
            deployAwsFirewall(s, await deployAwsCluster(s), asked);
        }, mocks);
        const fw = r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((x) => x.name.startsWith("t-firewall-"));
        expect(fw.map((x) => [x.name, r.inputs(x).securityGroupId, r.inputs(x).cidrIpv4, r.inputs(x).fromPort])).toEqual([["t-firewall-in-udp-41641-world-v4", "t-node-id", "0.0.0.0/0", 41641]]);
    });

    it("nothing asked for, nothing opened", async () => {
        const { r } = await capture(async () => {
            const s = spec();
            deployAwsFirewall(s, await deployAwsCluster(s), []);
        }, mocks);
        expect(r.resources.filter((x) => x.name.startsWith("t-firewall"))).toEqual([]);
    });
});
