/**
 * SecurityGroupRules: attaches rules that components publish as {@link FirewallRule}s (for
 * example `TailscaleDirect.firewallRules`: inbound UDP on its fixed port from 0.0.0.0/0 and ::/0)
 * to an existing security group, one `aws.vpc.SecurityGroupIngressRule` / `EgressRule` each.
 *
 * It exists to break a cycle: the node security group must exist before the EKS cluster and its
 * nodes, TailscaleDirect needs the cluster's Kubernetes provider, and the group must then open
 * what TailscaleDirect asks for. So `ClusterSecurity` creates the groups with their fixed rules,
 * and this component adds the consumed ones afterwards.
 */
import * as pulumi from "@pulumi/pulumi";
import type { FirewallRule } from "../../common/firewall";
import { createRule } from "../security/rule-resource";
import type { ClusterSecurity } from "../security";
import { firewallRuleSpecs, sameOpening, type SgRuleSpec } from "../security/rules";

/** Arguments of {@link SecurityGroupRules}. */
export interface SecurityGroupRulesArgs {
    /**
     * The groups the rules go into: `self` peers and the rules themselves belong to its node group,
     * `controlPlane` peers are its cluster group; rules with IPv6 peers (`::/0`) are dropped unless
     * its VPC has IPv6; a rule that opens what one of its fixed rules already opens is skipped
     * (AWS refuses duplicates).
     */
    security: ClusterSecurity;
    /** The rules to open. A plain array: rule shapes decide resource names, so they must be known. */
    rules: readonly FirewallRule[];
}

export class SecurityGroupRules extends pulumi.ComponentResource {
    /** The rules as registered (after dropping IPv6 peers without IPv6, and rules already in place). */
    readonly rules: readonly SgRuleSpec[];

    constructor(name: string, args: SecurityGroupRulesArgs, opts: pulumi.ComponentResourceOptions = {}) {
        // Validates every rule (and refuses world-open TCP, SSH and NodePorts) before registering.
        const { security } = args;
        const specs = firewallRuleSpecs(args.rules, { ipv6: security.ipv6, controlPlaneKnown: true })
            .filter((spec) => !security.rules.some((e) => sameOpening(e, spec)));
        super("directpath:aws:SecurityGroupRules", name, {}, opts);
        this.rules = specs;
        // `self` peers are the node group itself; `controlPlane` peers the cluster group.
        const groups = { node: security.nodeSecurityGroupId, cluster: security.clusterSecurityGroupId };
        for (const spec of specs) createRule(this, name, spec, groups);
        this.registerOutputs({ rules: specs });
    }
}
