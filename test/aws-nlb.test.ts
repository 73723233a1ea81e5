import { describe, expect, it } from "vitest";
import {
    ClusterSecurity, EksCluster, EksNodeGroup, IngressNlb, ingressNlbRules, listenerKey, LoadBalancerTargets, PublicVpc, validateIngressNlbOptions,
} from "../components/aws";
import { capture, expectProblems, resolve } from "./aws-helpers";

const eipState = {
    extraState: (a: { type: string; name: string }) => {
        if (a.type === "aws:lb/loadBalancer:LoadBalancer") return { arn: `arn:lb/${a.name}`, dnsName: `${a.name}.elb.example` };
        if (a.type === "aws:lb/targetGroup:TargetGroup") return { arn: `arn:tg/${a.name}` };
        if (a.type === "aws:ec2/vpc:Vpc") return { ipv6CidrBlock: "2600:1f18:abcd:ef00::/56" };
        if (a.type === "aws:eks/cluster:Cluster") return { name: `${a.name}-eks`, endpoint: "https://X.eks.example", certificateAuthority: { data: "Q0E=" } };
        if (a.type === "aws:eks/nodeGroup:NodeGroup") return { resources: [{ autoscalingGroups: [{ name: `asg-${a.name}` }] }] };
        if (a.type !== "aws:ec2/eip:Eip") return undefined;
        // `<name>-<slot>` or `<name>-<zone>`: the slot, or the zone letter's place in the alphabet.
        const last = a.name.split("-").pop()!;
        const n = /^\d+$/.test(last) ? Number(last) : last.charCodeAt(last.length - 1) - 97;
        return { allocationId: `eipalloc-${n}`, publicIp: `203.0.113.${10 + n}`, publicDns: `ec2-203-0-113-${10 + n}.eu-central-1.compute.amazonaws.com` };
    },
};

/** A network of three zones, with the cluster's security groups. */
function network(name: string, o: { ipv6?: boolean; zones?: string[] } = {}) {
    const vpc = new PublicVpc(name, { cidrBlock: "10.10.0.0/16", ...(o.zones ? { availabilityZones: o.zones } : { availabilityZoneCount: 3 }), ipv6: o.ipv6 ?? false });
    return { vpc, security: new ClusterSecurity(name, { vpc }) };
}

/** A cluster in that network with two node groups. */
function nodeGroups(name: string, net: ReturnType<typeof network>, groups = ["system", "workload"]) {
    const cluster = new EksCluster(name, net);
    return groups.map((g) => new EksNodeGroup(`${name}-${g}`, { cluster, name: g, instanceType: "t3.small" }));
}

const listeners = [{ port: 443, targetPort: 8443 }];

describe("IngressNlb", () => {
    it("is an internet-facing network LB with one Elastic IP per subnet via subnetMappings", async () => {
        const { r, value } = await capture(() => new IngressNlb("dev-ingress", { ...network("dev"), listeners }), eipState);
        const eips = r.ofType("aws:ec2/eip:Eip");
        expect(eips.map((e) => [e.name, r.inputs(e).domain])).toEqual([["dev-ingress-0", "vpc"], ["dev-ingress-1", "vpc"], ["dev-ingress-2", "vpc"]]);
        const lb = r.inputs(r.get("aws:lb/loadBalancer:LoadBalancer", "dev-ingress"));
        expect(lb).toMatchObject({ loadBalancerType: "network", internal: false, ipAddressType: "ipv4", securityGroups: ["dev-ingress-lb-id"], enableCrossZoneLoadBalancing: false });
        expect(lb.subnetMappings).toEqual([
            { subnetId: "dev-public-0-id", allocationId: "eipalloc-0" },
            { subnetId: "dev-public-1-id", allocationId: "eipalloc-1" },
            { subnetId: "dev-public-2-id", allocationId: "eipalloc-2" },
        ]);
        expect(lb.subnets).toBeUndefined();
        expect(await resolve(value.addresses)).toEqual(["203.0.113.10", "203.0.113.11", "203.0.113.12"]);
        expect(await resolve(value.addressHostnames)).toEqual([
            "ec2-203-0-113-10.eu-central-1.compute.amazonaws.com",
            "ec2-203-0-113-11.eu-central-1.compute.amazonaws.com",
            "ec2-203-0-113-12.eu-central-1.compute.amazonaws.com",
        ]);
    });

    it("forwards each listener to the nodes' target port, preserving client IPs, with every node group attached", async () => {
        const { r, value } = await capture(() => {
            const net = network("dev");
            return new IngressNlb("dev-ingress", { ...net, listeners, nodeGroups: nodeGroups("dev", net) });
        }, eipState);
        expect(value.listeners).toEqual([{ port: 443, targetPort: 8443, protocol: "TCP" }]);
        expect(value.targetGroups.map((g) => g.key)).toEqual(["tcp-443"]);
        expect(r.inputs(r.get("aws:lb/targetGroup:TargetGroup", "dev-ingress-tcp-443"))).toMatchObject({
            targetType: "instance", protocol: "TCP", port: 8443, preserveClientIp: "true", vpcId: "dev-vpc-id", healthCheck: { protocol: "TCP", port: "8443" },
        });
        expect(r.inputs(r.get("aws:lb/listener:Listener", "dev-ingress-tcp-443"))).toMatchObject({
            loadBalancerArn: "arn:lb/dev-ingress", port: 443, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg/dev-ingress-tcp-443" }],
        });
        expect(r.ofType("aws:autoscaling/attachment:Attachment").map((a) => [a.name, r.inputs(a).autoscalingGroupName, r.inputs(a).lbTargetGroupArn])).toEqual([
            ["dev-ingress-targets-tcp-443-system", "asg-dev-system", "arn:tg/dev-ingress-tcp-443"],
            ["dev-ingress-targets-tcp-443-workload", "asg-dev-workload", "arn:tg/dev-ingress-tcp-443"],
        ]);
    });

    it("LoadBalancerTargets attaches every node group to every target group, named by listener and group (NLB created before the cluster)", async () => {
        const { r } = await capture(() => {
            const net = network("t");
            const nlb = new IngressNlb("t-ingress", { ...net, listeners: [{ port: 443 }, { port: 80, protocol: "TCP_UDP" }] });
            return new LoadBalancerTargets("t", { loadBalancer: nlb, nodeGroups: nodeGroups("t", net, ["a", "b"]) });
        }, eipState);
        expect(r.ofType("aws:autoscaling/attachment:Attachment").map((a) => [a.name, r.inputs(a).lbTargetGroupArn, r.inputs(a).autoscalingGroupName]).sort()).toEqual([
            ["t-tcp-443-a", "arn:tg/t-ingress-tcp-443", "asg-t-a"], ["t-tcp-443-b", "arn:tg/t-ingress-tcp-443", "asg-t-b"],
            ["t-tcp-udp-80-a", "arn:tg/t-ingress-tcp-udp-80", "asg-t-a"], ["t-tcp-udp-80-b", "arn:tg/t-ingress-tcp-udp-80", "asg-t-b"],
        ]);
        expect(listenerKey({ protocol: "TCP_UDP", port: 53 })).toBe("tcp-udp-53");
        const none = await capture(() => new IngressNlb("x", { ...network("x"), listeners }), eipState);
        expect(none.r.ofType("aws:autoscaling/attachment:Attachment")).toEqual([]);
        const { r: v, value } = await capture(() => {
            const net = network("v");
            return { nlb: new IngressNlb("v-ingress", { ...net, listeners }), groups: nodeGroups("v", net, ["a"]) };
        }, eipState);
        const count = v.resources.length;
        expectProblems(() => new LoadBalancerTargets("t", { loadBalancer: value.nlb, nodeGroups: [] }), [
            { path: "nodeGroups", rule: /at least one node group/ },
        ]);
        expectProblems(() => new LoadBalancerTargets("t", { loadBalancer: value.nlb, nodeGroups: [value.groups[0]!, value.groups[0]!] }), [
            { path: "nodeGroups[1]", rule: /same name as another node group/ },
        ]);
        expect(v.resources.length).toBe(count);
    });

    it("opens the world only on the load balancer's group; the nodes accept the target port from that group alone", async () => {
        // Dual stack follows the VPC.
        const { r } = await capture(() => new IngressNlb("prod-ingress", { ...network("prod", { ipv6: true }), listeners }), eipState);
        const rows = [
            ...r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((x) => ["in", r.inputs(x)] as const),
            ...r.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((x) => ["out", r.inputs(x)] as const),
        ].filter(([, i]) => String(i.securityGroupId).startsWith("prod-ingress") || String(i.referencedSecurityGroupId).startsWith("prod-ingress"))
            .map(([d, i]) => `${String(i.securityGroupId)} ${d} ${String(i.ipProtocol)} ${String(i.fromPort)} ${String(i.cidrIpv4 ?? i.cidrIpv6 ?? i.referencedSecurityGroupId)}`).sort();
        expect(rows).toEqual([
            "prod-ingress-lb-id in tcp 443 0.0.0.0/0",
            "prod-ingress-lb-id in tcp 443 ::/0",
            "prod-ingress-lb-id out tcp 8443 prod-node-id",
            "prod-node-id in tcp 8443 prod-ingress-lb-id",
        ]);
        expect(r.inputs(r.get("aws:lb/loadBalancer:LoadBalancer", "prod-ingress")).ipAddressType).toBe("dualstack");
    });

    it("UDP listeners also open TCP on the target port for the health checks", () => {
        const rules = ingressNlbRules(validateIngressNlbOptions({ listeners: [{ port: 3478, protocol: "UDP" }] }));
        expect(rules.map((x) => `${x.key} ${x.protocol} ${x.fromPort} | ${x.description}`)).toEqual([
            "lb-in-udp-3478-world-v4 udp 3478 | Clients to the ingress load balancer (UDP 3478)",
            "lb-out-udp-3478-node udp 3478 | Ingress load balancer to its targets on the nodes: ingress traffic (UDP 3478)",
            "node-in-udp-3478-lb udp 3478 | Ingress load balancer to its targets: ingress traffic (UDP 3478)",
            "lb-out-tcp-3478-node tcp 3478 | Ingress load balancer to its targets on the nodes: health checks (TCP 3478)",
            "node-in-tcp-3478-lb tcp 3478 | Ingress load balancer to its targets: health checks (TCP 3478)",
        ]);
    });

    it("rejects bad input with every problem at once, registering nothing", async () => {
        const { r, value: net } = await capture(() => network("x"), eipState);
        const count = r.resources.length;
        expectProblems(() => new IngressNlb("x", {
            ...net,
            allowedCidrs: ["2001:db8::/32", "nope"],
            listeners: [
                { port: 443, targetPort: 8443 },
                { port: 443, protocol: "TCP_UDP", targetPort: 10250 },
                { port: 22 },
                { port: 8080, protocol: "SCTP" as never, targetPort: 70000 },
            ],
        }), [
            { path: "allowedCidrs[0]", rule: /ipv6 is off/ },
            { path: "allowedCidrs[1]", rule: /CIDR/ },
            { path: "listeners[1].port", rule: /already takes TCP 443/ },
            { path: "listeners[1].targetPort", rule: /kubelet/ },
            { path: "listeners[2].port", rule: /SSH/ },
            { path: "listeners[3].protocol", rule: /TCP, UDP, TCP_UDP/ },
            { path: "listeners[3].targetPort", rule: /1-65535/ },
        ]);
        expectProblems(() => new IngressNlb("x", { ...net, listeners: [] }), [{ path: "listeners", rule: /at least one listener/ }]);
        expect(r.resources.length).toBe(count);
    });
});
