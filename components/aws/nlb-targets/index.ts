/**
 * LoadBalancerTargets: registers Auto Scaling groups (EKS managed node groups) as targets of load
 * balancer target groups, one `aws.autoscaling.Attachment` per pair.
 *
 * It lets the ingress NLB (and its Elastic IPs) be created before the cluster: the addresses can
 * then go into the Cilium values (the LRP address allow-list), while the node groups, which only
 * exist after the cluster, are attached afterwards.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ValidationError } from "../../common/errors";

/** Arguments of {@link LoadBalancerTargets}. */
export interface LoadBalancerTargetsArgs {
    /** The target groups (IngressNlb.targetGroupArns). */
    targetGroupArns: pulumi.Input<string>[];
    /** The Auto Scaling groups whose instances become targets (EksCluster.autoscalingGroupNames). */
    autoscalingGroupNames: pulumi.Input<string>[];
}

export class LoadBalancerTargets extends pulumi.ComponentResource {
    constructor(name: string, args: LoadBalancerTargetsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const problems = [
            ...(args.targetGroupArns.length === 0 ? [{ path: "targetGroupArns", value: [], rule: "must list at least one target group" }] : []),
            ...(args.autoscalingGroupNames.length === 0 ? [{ path: "autoscalingGroupNames", value: [], rule: "must list at least one Auto Scaling group" }] : []),
        ];
        if (problems.length > 0) throw new ValidationError("LoadBalancerTargets args", problems);
        super("directpath:aws:LoadBalancerTargets", name, {}, opts);
        args.targetGroupArns.forEach((tg, t) => args.autoscalingGroupNames.forEach((asg, a) => {
            new aws.autoscaling.Attachment(`${name}-${t}-${a}`, { autoscalingGroupName: asg, lbTargetGroupArn: tg }, { parent: this });
        }));
        this.registerOutputs({});
    }
}
