/**
 * IngressNlb: an internet-facing Network Load Balancer in the public subnets, with one Elastic IP
 * per subnet (`subnetMappings`), so the cluster's external addresses are fixed and known as
 * outputs before any in-cluster config that needs them (HairpinBypass's redirect frontends and DNS
 * overrides) is rendered.
 *
 * AWS's own hairpin: with client-IP preservation (the default for instance targets), a connection
 * from a node to the NLB that lands on that same node arrives with the node's own address as its
 * source, and the reply never goes back through the NLB: the connection hangs. HairpinBypass fixes
 * it by keeping in-cluster traffic to these Elastic IPs inside the cluster.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LoadBalancerTargets } from "../nlb-targets";
import { createRule } from "../security/rule-resource";
import { ingressNlbRules, listenerTransports, validateIngressNlbOptions, type IngressNlbOptions, type IngressNlbOptionsInput } from "./args";

export * from "./args";

/** Arguments of {@link IngressNlb}. */
export interface IngressNlbArgs extends IngressNlbOptionsInput {
    vpcId: pulumi.Input<string>;
    /** Public subnets; each gets one Elastic IP. */
    subnetIds: pulumi.Input<string>[];
    /** The node security group, opened for the target ports from the load balancer's group only. */
    nodeSecurityGroupId: pulumi.Input<string>;
    /**
     * Auto Scaling groups whose instances become targets (EksCluster.autoscalingGroupNames). Leave
     * it out to create the NLB before the cluster, and attach them later with LoadBalancerTargets.
     */
    targetAutoscalingGroupNames?: pulumi.Input<string>[];
}

export class IngressNlb extends pulumi.ComponentResource {
    /** The Elastic IPs, one per subnet, in subnet order. */
    readonly addresses: pulumi.Output<string>[];
    /** The Elastic IPs' public DNS names (ec2-....compute.amazonaws.com). */
    readonly addressHostnames: pulumi.Output<string>[];
    /** The load balancer's DNS name (resolves to the Elastic IPs). */
    readonly dnsName: pulumi.Output<string>;
    readonly loadBalancerArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly targetGroupArns: pulumi.Output<string>[];
    readonly settings: IngressNlbOptions;

    constructor(name: string, args: IngressNlbArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { vpcId, subnetIds, nodeSecurityGroupId, targetAutoscalingGroupNames, ...plain } = args;
        const o = validateIngressNlbOptions(plain, "IngressNlb args", { subnetCount: subnetIds.length });
        super("directpath:aws:IngressNlb", name, {}, opts);
        this.settings = o;
        const child = { parent: this };
        const tags = o.tags;

        const eips = subnetIds.map((_, i) => new aws.ec2.Eip(`${name}-${i}`, { domain: "vpc", tags: { ...tags, Name: `${name}-${i}` } }, child));
        this.addresses = eips.map((e) => e.publicIp);
        this.addressHostnames = eips.map((e) => e.publicDns);

        const sg = new aws.ec2.SecurityGroup(`${name}-lb`, {
            vpcId,
            description: "directpath ingress NLB: listeners from clients, target ports to the nodes",
            revokeRulesOnDelete: true,
            tags: { ...tags, Name: `${name}-lb` },
        }, child);
        this.securityGroupId = sg.id;
        const rules = ingressNlbRules(o).map((spec) => createRule(this, name, spec, { loadBalancer: sg.id, node: nodeSecurityGroupId }));

        const lb = new aws.lb.LoadBalancer(`${name}`, {
            loadBalancerType: "network",
            internal: false,
            ipAddressType: o.ipv6 ? "dualstack" : "ipv4",
            subnetMappings: subnetIds.map((subnetId, i) => ({ subnetId, allocationId: eips[i]!.allocationId })),
            securityGroups: [sg.id],
            enableCrossZoneLoadBalancing: o.crossZone,
            tags,
        }, { ...child, dependsOn: rules });
        this.dnsName = lb.dnsName;
        this.loadBalancerArn = lb.arn;

        const groups = o.listeners.map((l) => {
            const target = l.targetPort ?? l.port;
            const key = `${l.protocol.toLowerCase().replace("_", "-")}-${l.port}`;
            const tg = new aws.lb.TargetGroup(`${name}-${key}`, {
                vpcId,
                targetType: "instance",
                protocol: l.protocol,
                port: target,
                preserveClientIp: String(o.preserveClientIp),
                healthCheck: { protocol: "TCP", port: String(target) },
                tags,
            }, child);
            new aws.lb.Listener(`${name}-${key}`, {
                loadBalancerArn: lb.arn,
                port: l.port,
                protocol: l.protocol,
                defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
                tags,
            }, child);
            return { tg, transports: listenerTransports(l) };
        });
        this.targetGroupArns = groups.map((g) => g.tg.arn);
        if (targetAutoscalingGroupNames && targetAutoscalingGroupNames.length > 0) {
            new LoadBalancerTargets(`${name}-targets`, { targetGroupArns: this.targetGroupArns, autoscalingGroupNames: targetAutoscalingGroupNames }, child);
        }

        this.registerOutputs({
            addresses: this.addresses,
            addressHostnames: this.addressHostnames,
            dnsName: this.dnsName,
            loadBalancerArn: this.loadBalancerArn,
            securityGroupId: this.securityGroupId,
        });
    }
}
