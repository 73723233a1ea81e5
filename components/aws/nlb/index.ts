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
import type { EksNodeGroup } from "../eks/node-group";
import { positionAlias } from "../names";
import { LoadBalancerTargets } from "../nlb-targets";
import type { ClusterSecurity } from "../security";
import { createRule } from "../security/rule-resource";
import type { PublicVpc } from "../vpc";
import { ingressNlbRules, listenerKey, validateIngressNlbOptions, type IngressNlbOptionsInput, type NlbListener } from "./args";

export * from "./args";

/**
 * Arguments of {@link IngressNlb}: the network and the security groups, optionally the node groups
 * to target, and the plain options of `ingressNlbOptionsSchema` (`listeners`, `allowedCidrs`,
 * `preserveClientIp`, `crossZone`, `tags`). Dual stack follows the VPC.
 */
export interface IngressNlbArgs extends Omit<IngressNlbOptionsInput, "ipv6"> {
    /** The VPC: the load balancer sits in its public subnets, one Elastic IP each, named by the subnet's key (its zone when zones are listed). */
    vpc: PublicVpc;
    /** The node security group of these opens the target ports from the load balancer's group only. */
    security: ClusterSecurity;
    /**
     * Node groups whose instances become targets. Leave it out to create the NLB before the
     * cluster (so its addresses can go into the Cilium values), and attach them later with
     * LoadBalancerTargets.
     */
    nodeGroups?: EksNodeGroup[];
}

/** One target group of an {@link IngressNlb}: the listener it serves, by key (`tcp-443`). */
export interface NlbTargetGroup {
    key: string;
    arn: pulumi.Output<string>;
}

export class IngressNlb extends pulumi.ComponentResource {
    /** The Elastic IPs, one per subnet, in subnet (zone) order. */
    readonly addresses: pulumi.Output<string>[];
    /** The Elastic IPs' public DNS names (ec2-....compute.amazonaws.com). */
    readonly addressHostnames: pulumi.Output<string>[];
    /** The load balancer's DNS name (resolves to the Elastic IPs). */
    readonly dnsName: pulumi.Output<string>;
    readonly loadBalancerArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    /** The target groups, one per listener, keyed by protocol and port. */
    readonly targetGroups: NlbTargetGroup[];
    readonly targetGroupArns: pulumi.Output<string>[];
    /** The listeners as parsed (defaults applied): external port, port on the nodes, protocol. */
    readonly listeners: NlbListener[];

    constructor(name: string, args: IngressNlbArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { vpc, security, nodeGroups, ...plain } = args;
        const o = validateIngressNlbOptions({ ...plain, ipv6: vpc.ipv6 }, "IngressNlb args", { subnetCount: vpc.subnets.length });
        super("directpath:aws:IngressNlb", name, {}, opts);
        this.listeners = o.listeners;
        const child = { parent: this };
        const tags = o.tags;
        const vpcId = vpc.vpcId;

        // One Elastic IP per subnet, named by the subnet's key (its zone, or its slot), not by
        // its position in a list; the alias is the position name of this run's subnet order.
        const eips = vpc.subnets.map((subnet, i) => new aws.ec2.Eip(`${name}-${subnet.key}`, { domain: "vpc", tags: { ...tags, Name: `${name}-${subnet.key}` } },
            { ...child, aliases: positionAlias(`${name}-${i}`, `${name}-${subnet.key}`) }));
        this.addresses = eips.map((e) => e.publicIp);
        this.addressHostnames = eips.map((e) => e.publicDns);

        const sg = new aws.ec2.SecurityGroup(`${name}-lb`, {
            vpcId,
            description: "directpath ingress NLB: listeners from clients, target ports to the nodes",
            revokeRulesOnDelete: true,
            tags: { ...tags, Name: `${name}-lb` },
        }, child);
        this.securityGroupId = sg.id;
        const rules = ingressNlbRules(o).map((spec) => createRule(this, name, spec, { loadBalancer: sg.id, node: security.nodeSecurityGroupId }));

        const lb = new aws.lb.LoadBalancer(`${name}`, {
            loadBalancerType: "network",
            internal: false,
            ipAddressType: o.ipv6 ? "dualstack" : "ipv4",
            subnetMappings: vpc.subnets.map((subnet, i) => ({ subnetId: subnet.id, allocationId: eips[i]!.allocationId })),
            securityGroups: [sg.id],
            enableCrossZoneLoadBalancing: o.crossZone,
            tags,
        }, { ...child, dependsOn: rules });
        this.dnsName = lb.dnsName;
        this.loadBalancerArn = lb.arn;

        this.targetGroups = o.listeners.map((l) => {
            const target = l.targetPort ?? l.port;
            const key = listenerKey(l);
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
            return { key, arn: tg.arn };
        });
        this.targetGroupArns = this.targetGroups.map((g) => g.arn);
        if (nodeGroups && nodeGroups.length > 0) {
            new LoadBalancerTargets(`${name}-targets`, { loadBalancer: this, nodeGroups }, child);
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
