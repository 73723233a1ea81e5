import type { ProgramContext } from "../context";

/** Builds the AWS cluster (VPC, security groups, EKS) and sets `ctx.k8sProvider`. */
export function deployAwsCluster(_ctx: ProgramContext): void {
    throw new Error("directpath: the aws environment is not implemented yet");
}

/** Opens the rules that in-cluster components asked for (`ctx.firewallRules`) in the node security group. */
export function deployAwsFirewall(_ctx: ProgramContext): void {
    // Filled in with the AWS components.
}
