/**
 * EksCluster: an EKS control plane with Cilium as its CNI, managed node groups with public IPs in
 * public subnets, and CoreDNS as an EKS add-on once Cilium is up.
 *
 * - `bootstrapSelfManagedAddons: false`: EKS installs neither aws-node (the VPC CNI, whose
 *   `--random-fully` SNAT breaks Tailscale's direct path) nor kube-proxy (Cilium replaces it).
 * - Access entries (authentication mode `API`), never the aws-auth ConfigMap.
 * - Kubernetes Secrets are encrypted with a dedicated KMS key (rotation on).
 * - The public endpoint is limited to `publicAccessCidrs`; nodes and Cilium use the private one.
 * - Nodes come from a launch template that carries the node security group, requires IMDSv2 (hop
 *   limit 2), encrypts its gp3 root volume and gives the primary interface a public IP.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CILIUM_HELM_REPO, ciliumValues, deepMergeValues, type CiliumHelmValues, type CiliumValuesOptions } from "../../cilium/values";
import {
    amiTypeFor, assumeRolePolicy, buildKubeconfig, CLUSTER_ROLE_POLICIES, clusterKmsPolicy, endpointHost, launchTemplateSpec,
    managedPolicyArn, NODE_ROLE_POLICIES, nodeGroupTaints, validateEksClusterOptions, type EksClusterOptions, type EksClusterOptionsInput,
} from "./args";
import { positionAlias, principalKey } from "../names";

export * from "./args";

/** Cilium options EksCluster passes through to `ciliumValues` (the one definition of the values). */
export type EksCiliumOptions = Pick<CiliumValuesOptions, "localRedirectPolicies" | "lrpAddressMatcherIps" | "allowServiceExternalIps">;

/** Arguments of {@link EksCluster}: the plain options (see `eksClusterOptionsSchema`) plus the network it lives in. */
export interface EksClusterArgs extends EksClusterOptionsInput {
    /** Public subnets in at least two availability zones (PublicVpc.publicSubnetIds). */
    subnetIds: pulumi.Input<string>[];
    /** ClusterSecurity.clusterSecurityGroupId: attached to the control plane's network interfaces. */
    clusterSecurityGroupId: pulumi.Input<string>;
    /** ClusterSecurity.nodeSecurityGroupId: attached to every node through the launch template. */
    nodeSecurityGroupId: pulumi.Input<string>;
    /** Cilium settings beyond the ones EKS fixes (API server, tunnel, Hubble, pod CIDR). */
    cilium?: EksCiliumOptions;
}

/** The name of the EKS add-on that follows Cilium. */
export const COREDNS_ADDON = "coredns";

export class EksCluster extends pulumi.ComponentResource {
    readonly clusterName: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    /** Exec-based (`aws eks get-token`), always secret. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Deploys in-cluster components; waits for the admin access entries. */
    readonly provider: k8s.Provider;
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    /** The security group EKS itself creates for the control plane. */
    readonly eksManagedSecurityGroupId: pulumi.Output<string>;
    readonly nodeSecurityGroupId: pulumi.Output<string>;
    readonly nodeRoleArn: pulumi.Output<string>;
    readonly nodeRoleName: pulumi.Output<string>;
    /** The Auto Scaling groups behind the managed node groups (for load balancer target attachments). */
    readonly autoscalingGroupNames: pulumi.Output<string>[];
    readonly nodeGroups: aws.eks.NodeGroup[];
    /** The Cilium Helm release; anything that needs a working pod network can depend on it. */
    readonly cilium: k8s.helm.v3.Release;
    readonly coreDns: aws.eks.Addon;
    /** The Cilium values given to the release. */
    readonly ciliumValues: CiliumHelmValues;
    /** The parsed options, defaults applied. */
    readonly settings: EksClusterOptions;

    constructor(name: string, args: EksClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { subnetIds, clusterSecurityGroupId, nodeSecurityGroupId, cilium: ciliumOpts, ...plain } = args;
        const o = validateEksClusterOptions(plain, "EksCluster args", { subnetCount: subnetIds.length });
        const ciliumOptions = (host: pulumi.Input<string>): CiliumValuesOptions => ({
            ...ciliumOpts,
            chartVersion: o.ciliumChartVersion,
            k8sServiceHost: host,
            k8sServicePort: 443,
            tunnel: { protocol: "vxlan", port: o.tunnelPort },
            hubble: o.hubble,
            // Cilium's cluster-pool IPAM hands each node a /24 of the overlay's pod CIDR.
            extraValues: deepMergeValues({ ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: [o.podCidr], clusterPoolIPv4MaskSize: 24 } } }, o.ciliumExtraValues),
        });
        // Validate the Cilium options now, before anything is registered (the host is a stand-in).
        ciliumValues(ciliumOptions("validation.invalid"));

        super("directpath:aws:EksCluster", name, {}, opts);
        this.settings = o;
        const child = { parent: this };
        const partition = aws.getPartitionOutput({}, child).partition;
        const region = aws.getRegionOutput({}, child).region;
        const tags = o.tags;

        // ---- IAM: the cluster role ----
        const clusterRole = new aws.iam.Role(`${name}-cluster`, {
            assumeRolePolicy: assumeRolePolicy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]),
            description: "directpath EKS control plane",
            tags,
        }, child);
        const clusterPolicies = CLUSTER_ROLE_POLICIES.map((p) => new aws.iam.RolePolicyAttachment(`${name}-cluster-${p}`, {
            role: clusterRole.name,
            policyArn: partition.apply((part) => managedPolicyArn(part, p)),
        }, child));

        // ---- secrets encryption ----
        const key = new aws.kms.Key(`${name}-secrets`, {
            description: `directpath EKS ${name}: envelope encryption of Kubernetes Secrets`,
            enableKeyRotation: true,
            tags,
        }, child);
        const keyPolicy = new aws.iam.RolePolicy(`${name}-cluster-kms`, {
            role: clusterRole.id,
            policy: key.arn.apply(clusterKmsPolicy),
        }, child);

        // ---- the control plane ----
        const cluster = new aws.eks.Cluster(`${name}`, {
            roleArn: clusterRole.arn,
            version: o.version,
            vpcConfig: {
                subnetIds,
                securityGroupIds: [clusterSecurityGroupId],
                endpointPublicAccess: true,
                // Nodes (and Cilium's k8sServiceHost) resolve the endpoint to these private
                // addresses inside the VPC, so the public allow-list can stay narrow.
                endpointPrivateAccess: true,
                publicAccessCidrs: o.publicAccessCidrs,
            },
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: o.bootstrapCreatorAdmin },
            // No aws-node, no kube-proxy, no self-managed CoreDNS: Cilium is the CNI and kube-proxy.
            bootstrapSelfManagedAddons: false,
            encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
            kubernetesNetworkConfig: { ipFamily: "ipv4", serviceIpv4Cidr: o.serviceCidr },
            enabledClusterLogTypes: o.logTypes,
            tags,
        }, { ...child, dependsOn: [...clusterPolicies, keyPolicy] });
        this.clusterName = cluster.name;
        this.endpoint = cluster.endpoint;
        this.clusterSecurityGroupId = pulumi.output(clusterSecurityGroupId);
        this.eksManagedSecurityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);
        this.nodeSecurityGroupId = pulumi.output(nodeSecurityGroupId);

        // ---- access entries for admins ----
        const adminPolicy = pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`;
        // Keyed by the principal (not its position): reordering adminPrincipalArns renames nothing.
        const admins = o.adminPrincipalArns.map((arn, i) => {
            const entryName = `${name}-admin-${principalKey(arn)}`;
            const aliases = positionAlias(`${name}-admin-${i}`, entryName);
            const entry = new aws.eks.AccessEntry(entryName, { clusterName: cluster.name, principalArn: arn, type: "STANDARD", tags }, { ...child, aliases });
            return new aws.eks.AccessPolicyAssociation(entryName, {
                clusterName: cluster.name,
                principalArn: entry.principalArn,
                policyArn: adminPolicy,
                accessScope: { type: "cluster" },
            }, { ...child, aliases });
        });

        // ---- nodes ----
        const nodeRole = new aws.iam.Role(`${name}-node`, {
            assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"),
            description: "directpath EKS nodes",
            tags,
        }, child);
        const nodePolicies = NODE_ROLE_POLICIES.map((p) => new aws.iam.RolePolicyAttachment(`${name}-node-${p}`, {
            role: nodeRole.name,
            policyArn: partition.apply((part) => managedPolicyArn(part, p)),
        }, child));
        this.nodeRoleArn = nodeRole.arn;
        this.nodeRoleName = nodeRole.name;

        this.nodeGroups = o.nodeGroups.map((g) => {
            const spec = launchTemplateSpec(g, { ipv6: o.ipv6 });
            const lt = new aws.ec2.LaunchTemplate(`${name}-${g.name}`, {
                description: `directpath EKS ${name} node group ${g.name}`,
                userData: spec.userData,
                metadataOptions: spec.metadataOptions,
                blockDeviceMappings: spec.blockDeviceMappings,
                // With a network interface in the template, its security groups must be on it.
                networkInterfaces: [{ ...spec.networkInterface, securityGroups: [nodeSecurityGroupId] }],
                tagSpecifications: [
                    { resourceType: "instance", tags: { ...tags, Name: `${name}-${g.name}` } },
                    { resourceType: "volume", tags: { ...tags, Name: `${name}-${g.name}` } },
                ],
                updateDefaultVersion: true,
                tags,
            }, child);
            return new aws.eks.NodeGroup(`${name}-${g.name}`, {
                clusterName: cluster.name,
                version: cluster.version,
                nodeRoleArn: nodeRole.arn,
                subnetIds,
                instanceTypes: [g.instanceType],
                amiType: amiTypeFor(g),
                capacityType: g.capacityType,
                scalingConfig: { minSize: g.minSize, maxSize: g.maxSize, desiredSize: g.desiredSize },
                updateConfig: { maxUnavailable: 1 },
                labels: g.labels,
                taints: nodeGroupTaints(g, o.ciliumStartupTaint),
                launchTemplate: { id: lt.id, version: lt.latestVersion.apply(String) },
                tags,
            }, {
                ...child,
                dependsOn: nodePolicies,
                // Leave the node count to an autoscaler once the group exists.
                ignoreChanges: ["scalingConfig.desiredSize"],
            });
        });
        this.autoscalingGroupNames = this.nodeGroups.map((ng) => ng.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? ""));

        // ---- kubeconfig and provider ----
        this.kubeconfig = pulumi.secret(pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region]).apply(
            ([clusterName, endpoint, ca, r]) => buildKubeconfig({ clusterName, endpoint, certificateAuthorityData: ca?.data ?? "", region: r, profile: o.kubeconfigProfile })));
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { ...child, dependsOn: admins });

        // ---- Cilium, then CoreDNS ----
        this.ciliumValues = ciliumValues(ciliumOptions(cluster.endpoint.apply(endpointHost)));
        this.cilium = new k8s.helm.v3.Release(`${name}-cilium`, {
            name: "cilium",
            chart: "cilium",
            version: o.ciliumChartVersion,
            repositoryOpts: { repo: CILIUM_HELM_REPO },
            namespace: "kube-system",
            values: this.ciliumValues,
            // The agents start as the nodes join, which happens in parallel: give it time.
            timeout: 900,
        }, { ...child, provider: this.provider });
        this.coreDns = new aws.eks.Addon(`${name}-${COREDNS_ADDON}`, {
            clusterName: cluster.name,
            addonName: COREDNS_ADDON,
            addonVersion: o.coreDnsVersion,
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
            tags,
        }, { ...child, dependsOn: [this.cilium, ...this.nodeGroups] });

        this.registerOutputs({
            clusterName: this.clusterName,
            endpoint: this.endpoint,
            kubeconfig: this.kubeconfig,
            clusterSecurityGroupId: this.clusterSecurityGroupId,
            nodeSecurityGroupId: this.nodeSecurityGroupId,
            nodeRoleArn: this.nodeRoleArn,
            autoscalingGroupNames: this.autoscalingGroupNames,
        });
    }
}
