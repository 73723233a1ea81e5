/**
 * The `aws` environment's deploy steps. `deployAwsCluster` runs first (VPC, security groups, EKS
 * with Cilium and CoreDNS, node groups, the optional ingress NLB) and hands the cluster's
 * Kubernetes provider to the in-cluster steps; `deployAwsFirewall` runs last and opens, in the
 * node security group, what those steps asked for (`ctx.firewallRules`, e.g. Tailscale's UDP port).
 */
import { ClusterSecurity, EksCilium, EksCluster, EksNodeGroup, IngressNlb, LoadBalancerTargets, PublicVpc, SecurityGroupRules } from "../../components/aws";
import type { ProgramContext } from "../context";
import { awsEnvironment } from "./aws";

/** Builds the AWS cluster and sets `ctx.k8sProvider`, `ctx.ciliumRelease`, `ctx.externalEndpoints` and `ctx.aws`. */
export function deployAwsCluster(ctx: ProgramContext): void {
    // Every cross-field rule, by config key, before anything is registered.
    const env = awsEnvironment(ctx.config);
    const name = env.name;

    const vpc = new PublicVpc(name, env.vpc);
    const security = new ClusterSecurity(name, { ...env.security, vpc });

    // The ingress NLB comes before the cluster, so its Elastic IPs can go into the Cilium values
    // (the LRP allow-list); its targets (the node groups) are attached once they exist.
    const nlb = env.nlb ? new IngressNlb(`${name}-ingress`, { ...env.nlb, vpc, security }) : undefined;
    const lrpAddressMatcherIps = nlb && env.lrpAllowList
        ? [...(env.cilium.lrpAddressMatcherIps ?? []), ...nlb.addresses]
        : env.cilium.lrpAddressMatcherIps;

    // The control plane waits for the security groups' rules itself.
    const eks = new EksCluster(name, { ...env.eks, vpc, security });
    const nodeGroups = env.nodeGroups.map((g) => new EksNodeGroup(`${name}-${g.name}`, { ...g, cluster: eks }));
    const cilium = new EksCilium(`${name}-cilium`, { ...env.ciliumInstall, ...env.cilium, lrpAddressMatcherIps, cluster: eks, nodeGroups });

    ctx.k8sProvider = eks.provider;
    // Cilium is installed here (CoreDNS waits for it): deployCilium must not install it again.
    ctx.ciliumRelease = cilium.release;
    ctx.aws = { security };

    ctx.outputs.vpcId = vpc.vpcId;
    ctx.outputs.publicSubnetIds = vpc.publicSubnetIds;
    ctx.outputs.eksClusterName = eks.clusterName;
    ctx.outputs.kubeconfig = eks.kubeconfig;
    ctx.outputs.nodeSecurityGroupId = security.nodeSecurityGroupId;
    ctx.outputs.clusterSecurityGroupId = security.clusterSecurityGroupId;
    ctx.outputs.nodeRoleArn = eks.nodeRoleArn;

    if (nlb) {
        new LoadBalancerTargets(`${name}-ingress-targets`, { loadBalancer: nlb, nodeGroups });
        ctx.externalEndpoints = {
            source: "aws-ingress-nlb",
            ips: nlb.addresses,
            hostnames: [nlb.dnsName, ...nlb.addressHostnames],
            listeners: nlb.listeners.map((l) => ({ port: l.port, targetPort: l.targetPort ?? l.port, protocol: l.protocol })),
        };
        ctx.outputs.ingressAddresses = nlb.addresses;
        ctx.outputs.ingressHostname = nlb.dnsName;
    }
}

/** Opens the rules that in-cluster components asked for (`ctx.firewallRules`) in the node security group. */
export function deployAwsFirewall(ctx: ProgramContext): void {
    if (!ctx.aws) throw new Error("directpath: deployAwsFirewall needs deployAwsCluster to run first");
    if (ctx.firewallRules.length === 0) return;
    new SecurityGroupRules(`${ctx.config.cluster.name}-firewall`, { security: ctx.aws.security, rules: ctx.firewallRules });
}
