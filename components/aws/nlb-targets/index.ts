/**
 * LoadBalancerTargets: registers node groups (their Auto Scaling groups) as targets of an ingress
 * load balancer's target groups, one `aws.autoscaling.Attachment` per pair, named by the
 * listener's key and the node group's name (`<name>-tcp-443-general`).
 *
 * It lets the ingress NLB (and its Elastic IPs) be created before the cluster: the addresses can
 * then go into the Cilium values (the LRP address allow-list), while the node groups, which only
 * exist after the cluster, are attached afterwards.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ValidationError, type Problem } from "../../common/errors";
import type { EksNodeGroup } from "../eks/node-group";
import { positionAlias } from "../names";
import type { IngressNlb } from "../nlb";

/** Arguments of {@link LoadBalancerTargets}. */
export interface LoadBalancerTargetsArgs {
    /** The load balancer whose target groups (one per listener) get the targets. */
    loadBalancer: IngressNlb;
    /** The node groups whose instances become targets; their names must differ (they name the attachments). */
    nodeGroups: EksNodeGroup[];
}

export class LoadBalancerTargets extends pulumi.ComponentResource {
    constructor(name: string, args: LoadBalancerTargetsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const problems: Problem[] = [];
        if (args.loadBalancer.targetGroups.length === 0) problems.push({ path: "loadBalancer", value: "no target groups", rule: "must have at least one target group" });
        if (args.nodeGroups.length === 0) problems.push({ path: "nodeGroups", value: [], rule: "must list at least one node group" });
        const seen = new Set<string>();
        args.nodeGroups.forEach((g, i) => {
            if (seen.has(g.groupName)) problems.push({ path: `nodeGroups[${i}]`, value: g.groupName, rule: "has the same name as another node group here (the name keys its attachments)" });
            seen.add(g.groupName);
        });
        if (problems.length > 0) throw new ValidationError("LoadBalancerTargets args", problems);
        super("directpath:aws:LoadBalancerTargets", name, {}, opts);
        // Named by listener and node group; the alias is the old `<name>-<t>-<a>` of this run's order.
        args.loadBalancer.targetGroups.forEach((tg, t) => args.nodeGroups.forEach((g, a) => {
            const attachment = `${name}-${tg.key}-${g.groupName}`;
            new aws.autoscaling.Attachment(attachment, { autoscalingGroupName: g.autoscalingGroupName, lbTargetGroupArn: tg.arn },
                { parent: this, aliases: positionAlias(`${name}-${t}-${a}`, attachment) });
        }));
        this.registerOutputs({});
    }
}
