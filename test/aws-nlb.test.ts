import { describe, expect, it } from "vitest";
import { IngressNlb, ingressNlbRules, LoadBalancerTargets, validateIngressNlbOptions } from "../components/aws";
import { capture, expectProblems, installMocksForValidation, resolve } from "./aws-helpers";

const eipState = {
    extraState: (a: { type: string; name: string }) => {
        if (a.type === "aws:lb/loadBalancer:LoadBalancer") return { arn: `arn:lb/${a.name}`, dnsName: `${a.name}.elb.example` };
        if (a.type === "aws:lb/targetGroup:TargetGroup") return { arn: `arn:tg/${a.name}` };
        if (a.type !== "aws:ec2/eip:Eip") return undefined;
        const n = Number(a.name.split("-").pop());
        return { allocationId: `eipalloc-${n}`, publicIp: `203.0.113.${10 + n}`, publicDns: `ec2-203-0-113-${10 + n}.eu-central-1.compute.amazonaws.com` };
    },
};

const args = {
    vpcId: "vpc-1",
    subnetIds: ["subnet-a", "subnet-b", "subnet-c"],
    nodeSecurityGroupId: "sg-node",
    targetAutoscalingGroupNames: ["asg-system", "asg-workload"],
    listeners: [{ port: 443, targetPort: 8443 }],
};

describe("IngressNlb", () => {
    it("is an internet-facing network LB with one Elastic IP per subnet via subnetMappings", async () => {
        const { r, value } = await capture(() => new IngressNlb("dev-ingress", args), eipState);
        const eips = r.ofType("aws:ec2/eip:Eip");
        expect(eips.map((e) => [e.name, r.inputs(e).domain])).toEqual([["dev-ingress-0", "vpc"], ["dev-ingress-1", "vpc"], ["dev-ingress-2", "vpc"]]);
        const lb = r.inputs(r.get("aws:lb/loadBalancer:LoadBalancer", "dev-ingress"));
        expect(lb).toMatchObject({ loadBalancerType: "network", internal: false, ipAddressType: "ipv4", securityGroups: ["dev-ingress-lb-id"], enableCrossZoneLoadBalancing: false });
        expect(lb.subnetMappings).toEqual([
            { subnetId: "subnet-a", allocationId: "eipalloc-0" },
            { subnetId: "subnet-b", allocationId: "eipalloc-1" },
            { subnetId: "subnet-c", allocationId: "eipalloc-2" },
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
        const { r } = await capture(() => new IngressNlb("dev-ingress", args), eipState);
        expect(r.inputs(r.get("aws:lb/targetGroup:TargetGroup", "dev-ingress-tcp-443"))).toMatchObject({
            targetType: "instance", protocol: "TCP", port: 8443, preserveClientIp: "true", vpcId: "vpc-1", healthCheck: { protocol: "TCP", port: "8443" },
        });
        expect(r.inputs(r.get("aws:lb/listener:Listener", "dev-ingress-tcp-443"))).toMatchObject({
            loadBalancerArn: "arn:lb/dev-ingress", port: 443, protocol: "TCP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg/dev-ingress-tcp-443" }],
        });
        expect(r.ofType("aws:autoscaling/attachment:Attachment").map((a) => [r.inputs(a).autoscalingGroupName, r.inputs(a).lbTargetGroupArn])).toEqual([
            ["asg-system", "arn:tg/dev-ingress-tcp-443"],
            ["asg-workload", "arn:tg/dev-ingress-tcp-443"],
        ]);
    });

    it("LoadBalancerTargets attaches every Auto Scaling group to every target group (NLB created before the cluster)", async () => {
        const { r } = await capture(() => new LoadBalancerTargets("t", { targetGroupArns: ["tg-443", "tg-80"], autoscalingGroupNames: ["asg-a", "asg-b"] }));
        expect(r.ofType("aws:autoscaling/attachment:Attachment").map((a) => [a.name, r.inputs(a).lbTargetGroupArn, r.inputs(a).autoscalingGroupName])).toEqual([
            ["t-0-0", "tg-443", "asg-a"], ["t-0-1", "tg-443", "asg-b"], ["t-1-0", "tg-80", "asg-a"], ["t-1-1", "tg-80", "asg-b"],
        ]);
        const none = await capture(() => new IngressNlb("x", { ...args, targetAutoscalingGroupNames: undefined }), eipState);
        expect(none.r.ofType("aws:autoscaling/attachment:Attachment")).toEqual([]);
        const v = installMocksForValidation();
        expectProblems(() => new LoadBalancerTargets("t", { targetGroupArns: [], autoscalingGroupNames: [] }), [
            { path: "targetGroupArns", rule: /at least one target group/ },
            { path: "autoscalingGroupNames", rule: /at least one Auto Scaling group/ },
        ], v);
    });

    it("opens the world only on the load balancer's group; the nodes accept the target port from that group alone", async () => {
        const { r } = await capture(() => new IngressNlb("prod-ingress", { ...args, ipv6: true }), eipState);
        const rows = [
            ...r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((x) => ["in", r.inputs(x)] as const),
            ...r.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((x) => ["out", r.inputs(x)] as const),
        ].map(([d, i]) => `${String(i.securityGroupId)} ${d} ${String(i.ipProtocol)} ${String(i.fromPort)} ${String(i.cidrIpv4 ?? i.cidrIpv6 ?? i.referencedSecurityGroupId)}`).sort();
        expect(rows).toEqual([
            "prod-ingress-lb-id in tcp 443 0.0.0.0/0",
            "prod-ingress-lb-id in tcp 443 ::/0",
            "prod-ingress-lb-id out tcp 8443 sg-node",
            "sg-node in tcp 8443 prod-ingress-lb-id",
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

    it("rejects bad input with every problem at once, registering nothing", () => {
        const r = installMocksForValidation();
        expectProblems(() => new IngressNlb("x", {
            ...args,
            subnetIds: [],
            allowedCidrs: ["2001:db8::/32", "nope"],
            listeners: [
                { port: 443, targetPort: 8443 },
                { port: 443, protocol: "TCP_UDP", targetPort: 10250 },
                { port: 22 },
                { port: 8080, protocol: "SCTP" as never, targetPort: 70000 },
            ],
        }), [
            { path: "subnetIds", rule: /at least one public subnet/ },
            { path: "allowedCidrs[0]", rule: /ipv6 is off/ },
            { path: "allowedCidrs[1]", rule: /CIDR/ },
            { path: "listeners[1].port", rule: /already takes TCP 443/ },
            { path: "listeners[1].targetPort", rule: /kubelet/ },
            { path: "listeners[2].port", rule: /SSH/ },
            { path: "listeners[3].protocol", rule: /TCP, UDP, TCP_UDP/ },
            { path: "listeners[3].targetPort", rule: /1-65535/ },
        ], r);
        expectProblems(() => new IngressNlb("x", { ...args, listeners: [] }), [{ path: "listeners", rule: /at least one listener/ }], r);
    });
});
