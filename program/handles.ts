/** What the deploy steps hand each other: typed handles, returned by one step and taken by the next. */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { FirewallRule } from "../components/common/firewall";

/** External addresses of the cluster, known only after deployment (the AWS ingress NLB's). */
export interface ExternalEndpoints {
    /** What allocated them, e.g. `aws-ingress-nlb`. */
    source: string;
    /** The external IPs (one Elastic IP per public subnet). */
    ips: pulumi.Output<string>[];
    /** Names that resolve to them: the load balancer's DNS name first, then each Elastic IP's public DNS name. */
    hostnames: pulumi.Output<string>[];
    /** The listeners on those addresses: external port, port on the nodes, protocol. */
    listeners: Array<{ port: number; targetPort: number; protocol: "TCP" | "UDP" | "TCP_UDP" }>;
}

/** The cluster the in-cluster steps deploy into. */
export interface ClusterHandle {
    /** The provider in-cluster components deploy with (the local kubeconfig, or the EKS cluster's). */
    provider: k8s.Provider;
    /**
     * Cilium, when the cluster step installed it (the aws environment must: EKS has no CNI until
     * Cilium runs). The Cilium step then doesn't install it again.
     */
    ciliumRelease?: pulumi.Resource;
    /** External addresses the environment allocated (HairpinBypass's `externalIpsFrom: environment`). */
    externalEndpoints?: ExternalEndpoints;
    /** Stack outputs of this step. */
    outputs: Record<string, unknown>;
}

/** What an in-cluster step returns. */
export interface StepResult {
    /** Rules the step's components need opened (their `firewallRules` outputs). */
    firewallRules: FirewallRule[];
    outputs: Record<string, unknown>;
}

/** The Cilium step's result: the release, when Cilium runs because this stack installed it. */
export interface CiliumHandle extends StepResult {
    release?: pulumi.Resource;
}
