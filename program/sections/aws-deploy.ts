/**
 * The `aws` environment's deploy steps, loaded only for `environment: aws` (main.ts imports this
 * module lazily, so a `local` stack loads no `@pulumi/aws`). `deployAwsCluster` builds the VPC,
 * security groups, EKS with Cilium and CoreDNS, node groups and the optional ingress NLB, and
 * returns the cluster handle the in-cluster steps take; `deployAwsFirewall` takes that handle and
 * opens, in the node security group, what those steps asked for (e.g. Tailscale's UDP port).
 */
import { ClusterSecurity, deployerPrincipalArn, EksCilium, EksCluster, EksNodeGroup, IngressNlb, LoadBalancerTargets, PublicVpc, SecurityGroupRules } from "../../components/aws";
import type { FirewallRule } from "../../components/common/firewall";
import { hairpinEksAddonCorefile } from "../../components/hairpin";
import { hairpinArgs, hairpinName } from "./hairpin-deploy";
import type { ClusterHandle } from "../handles";
import type { AwsStackSpec } from "../resolve";

/** The AWS cluster: what the in-cluster steps need, plus the security groups `deployAwsFirewall` opens rules in. */
export interface AwsClusterHandle extends ClusterHandle {
    aws: {
        /** Its node group gets the consumed rules; its VPC's `ipv6` and its fixed rules decide which are kept. */
        security: ClusterSecurity;
    };
}

/**
 * Builds the AWS cluster from the resolved stack (every rule has run already). The identity
 * running `pulumi up` is looked up first (the issuer ARN of its session): it gets an admin access
 * entry, merged with `eks.adminPrincipalArns`.
 */
export async function deployAwsCluster(spec: AwsStackSpec): Promise<AwsClusterHandle> {
    const env = spec.aws;
    const name = env.name;
    const deployer = await deployerPrincipalArn();

    const vpc = new PublicVpc(name, env.vpc);
    const security = new ClusterSecurity(name, { ...env.security, vpc });

    // The ingress NLB comes before the cluster, so its Elastic IPs can go into the Cilium values
    // (the LRP allow-list); its targets (the node groups) are attached once they exist.
    const nlb = env.nlb ? new IngressNlb(`${name}-ingress`, { ...env.nlb, vpc, security }) : undefined;
    const lrpAddressMatcherIps = nlb && env.lrpAllowList
        ? [...(env.cilium.lrpAddressMatcherIps ?? []), ...nlb.addresses]
        : env.cilium.lrpAddressMatcherIps;

    // The control plane waits for the security groups' rules itself.
    const eks = new EksCluster(name, { ...env.eks, deployerPrincipalArn: deployer, vpc, security });
    const nodeGroups = env.nodeGroups.map((g) => new EksNodeGroup(`${name}-${g.name}`, { ...g, cluster: eks }));
    // HairpinBypass's CoreDNS override on EKS goes into the CoreDNS add-on (eks-addon delivery):
    // the same Corefile the component would render, known before it exists.
    const externalEndpoints = nlb ? { source: "aws-ingress-nlb", ips: nlb.addresses, hostnames: [nlb.dnsName, ...nlb.addressHostnames], listeners: nlb.listeners.map((l) => ({ port: l.port, targetPort: l.targetPort ?? l.port, protocol: l.protocol })) } : undefined;
    const h = spec.hairpin;
    const coreDnsCorefile = h && h.dns.coredns.enabled && h.dns.coredns.delivery === "eks-addon"
        ? hairpinEksAddonCorefile(hairpinName(spec.cluster.name), hairpinArgs(h, { externalEndpoints }))
        : undefined;
    const cilium = new EksCilium(`${name}-cilium`, { ...env.ciliumInstall, ...env.cilium, lrpAddressMatcherIps, cluster: eks, nodeGroups, ...(coreDnsCorefile ? { coreDnsCorefile } : {}) });

    const outputs: Record<string, unknown> = {
        vpcId: vpc.vpcId,
        publicSubnetIds: vpc.publicSubnetIds,
        eksClusterName: eks.clusterName,
        kubeconfig: eks.kubeconfig,
        nodeSecurityGroupId: security.nodeSecurityGroupId,
        clusterSecurityGroupId: security.clusterSecurityGroupId,
        nodeRoleArn: eks.nodeRoleArn,
    };
    const handle: AwsClusterHandle = {
        provider: eks.provider,
        // Cilium is installed here (CoreDNS waits for it): the Cilium step must not install it again.
        ciliumRelease: cilium.release,
        aws: { security },
        outputs,
    };

    if (nlb) {
        new LoadBalancerTargets(`${name}-ingress-targets`, { loadBalancer: nlb, nodeGroups });
        handle.externalEndpoints = externalEndpoints;
        outputs.ingressAddresses = nlb.addresses;
        outputs.ingressHostname = nlb.dnsName;
    }
    return handle;
}

/** Opens the rules that in-cluster components asked for in the node security group of the cluster `deployAwsCluster` built. */
export function deployAwsFirewall(spec: AwsStackSpec, cluster: AwsClusterHandle, rules: readonly FirewallRule[]): void {
    if (rules.length === 0) return;
    new SecurityGroupRules(`${spec.cluster.name}-firewall`, { security: cluster.aws.security, rules: [...rules] });
}
