import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSecurity } from "../components/aws/security";
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
    /**
     * Set when the environment step has already installed Cilium (the `aws` environment must: EKS
     * has no CNI until Cilium runs, and the CoreDNS add-on waits for it). `deployCilium` must then
     * not install Cilium again; in-cluster components that need Cilium's CRDs (LRP) can depend on it.
     */
    ciliumRelease?: pulumi.Resource;
    /**
     * External addresses the environment allocated at deploy time (the AWS ingress NLB's Elastic
     * IPs and DNS names). `[computed]` in plan. HairpinBypass takes them as its endpoints' external
     * IPs and hostnames, so nobody copies an address by hand.
     */
    externalEndpoints?: ExternalEndpoints;
    /** The AWS environment's security groups, for `deployAwsFirewall` (set by `deployAwsCluster`). */
    aws?: {
        /** Its node group gets the consumed rules; its VPC's `ipv6` and its fixed rules decide which are kept. */
        security: ClusterSecurity;
    };
}

/** External addresses of the cluster, known only after deployment (see `ProgramContext.externalEndpoints`). */
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
