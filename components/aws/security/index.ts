/**
 * ClusterSecurity: the node and cluster (control-plane) security groups of an EKS cluster, with
 * every fixed rule as its own `aws.vpc.SecurityGroupIngressRule` / `EgressRule` (one peer per
 * rule, each with a description). The groups never carry inline rules.
 *
 * Rules that in-cluster components publish later (TailscaleDirect's `firewallRules`) are attached
 * by {@link SecurityGroupRules}: the groups must exist before the cluster and its nodes, while
 * those components need the cluster first.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PublicVpc } from "../vpc";
import { createRule } from "./rule-resource";
import { clusterSecurityRules, validateClusterSecurityOptions, type ClusterSecurityOptions, type ClusterSecurityOptionsInput, type SgRuleSpec } from "./rules";

export * from "./rules";

/**
 * Arguments of {@link ClusterSecurity}: the VPC, and the plain options of
 * `clusterSecurityArgsSchema` (`tunnelPort`, `hubble`, `webhookPorts`, `clusterName`, `tags`).
 * IPv6 follows the VPC.
 */
export interface ClusterSecurityArgs extends Omit<ClusterSecurityOptionsInput, "ipv6"> {
    /** The VPC the groups live in; its `ipv6` decides whether nodes may also reach anywhere over IPv6. */
    vpc: PublicVpc;
}

export class ClusterSecurity extends pulumi.ComponentResource {
    /** Attached to every node (through the node groups' launch template). */
    readonly nodeSecurityGroupId: pulumi.Output<string>;
    /** Attached to the EKS control plane's network interfaces. */
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    /** The VPC the groups are in. */
    readonly vpc: PublicVpc;
    /** Cilium's VXLAN port as opened between nodes: EksCilium configures Cilium with this one number. */
    readonly tunnelPort: number;
    /** Whether Hubble's TCP 4244 is open between nodes (and so whether EksCilium turns Hubble on). */
    readonly hubble: boolean;
    /** Whether the groups also carry the IPv6 rules (the VPC's `ipv6`). */
    readonly ipv6: boolean;
    /** The cluster the groups' `kubernetes.io/cluster/<name>` tag names (EksCluster checks it names itself). */
    readonly clusterName?: string;
    /** The fixed rules, as registered. */
    readonly rules: readonly SgRuleSpec[];

    constructor(name: string, args: ClusterSecurityArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { vpc, ...plain } = args;
        const settings = validateClusterSecurityOptions({ ...plain, ipv6: vpc.ipv6 });
        const { tags, clusterName } = settings;
        super("directpath:aws:ClusterSecurity", name, {}, opts);
        this.vpc = vpc;
        this.tunnelPort = settings.tunnelPort;
        this.hubble = settings.hubble;
        this.ipv6 = settings.ipv6;
        if (clusterName !== undefined) this.clusterName = clusterName;
        const vpcId = vpc.vpcId;
        const baseTags = { ...tags, ...(clusterName ? { [`kubernetes.io/cluster/${clusterName}`]: "owned" } : {}) };

        const node = new aws.ec2.SecurityGroup(`${name}-node`, {
            vpcId,
            description: "directpath EKS nodes: overlay, health, DNS between nodes; control plane to kubelet",
            // Rules are separate resources; these groups never hold inline rules.
            revokeRulesOnDelete: true,
            tags: { ...baseTags, Name: `${name}-node` },
        }, { parent: this });
        const cluster = new aws.ec2.SecurityGroup(`${name}-cluster`, {
            vpcId,
            description: "directpath EKS control plane: Kubernetes API from the nodes",
            revokeRulesOnDelete: true,
            tags: { ...baseTags, Name: `${name}-cluster` },
        }, { parent: this });
        this.nodeSecurityGroupId = node.id;
        this.clusterSecurityGroupId = cluster.id;

        const groups = { node: node.id, cluster: cluster.id };
        this.rules = clusterSecurityRules(settings);
        for (const spec of this.rules) createRule(this, name, spec, groups);

        this.registerOutputs({ nodeSecurityGroupId: node.id, clusterSecurityGroupId: cluster.id });
    }
}
