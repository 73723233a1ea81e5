import type * as k8s from "@pulumi/kubernetes";
import type { FirewallRule } from "../components/common/firewall";
import type { StackConfig } from "./config";

/** What the default program's steps share while they compose the stack. */
export interface ProgramContext {
    readonly config: StackConfig;
    /** The provider in-cluster components deploy with (the local kubeconfig, or the EKS cluster's). */
    k8sProvider?: k8s.Provider;
    /** Rules that components need opened, gathered from their `firewallRules` outputs. */
    readonly firewallRules: FirewallRule[];
    /** Stack outputs, filled in by each step. */
    readonly outputs: Record<string, unknown>;
}
