/**
 * EksCluster: an EKS control plane made for Cilium, with its IAM, secrets encryption, admin access
 * entries, the node role its node groups share, an exec-based kubeconfig and a Kubernetes
 * provider. Node groups ({@link EksNodeGroup}) and Cilium with CoreDNS ({@link EksCilium}) are
 * their own components that take the cluster, so a node group can be added later and directpath's
 * Cilium can go on a cluster made elsewhere (`eksCiliumValueOptions` + `CiliumInstall`).
 *
 * - `bootstrapSelfManagedAddons: false`: EKS installs neither aws-node (the VPC CNI, whose
 *   `--random-fully` SNAT breaks Tailscale's direct path) nor kube-proxy (Cilium replaces it).
 * - Access entries (authentication mode `API`), never the aws-auth ConfigMap; one per principal,
 *   named by the principal: the deploying identity (`deployerPrincipalArn`, see
 *   {@link deployerPrincipalArn}) and every `adminPrincipalArns` entry, each once. EKS's one-time
 *   creator admin (`bootstrapClusterCreatorAdminPermissions`) is off, as in terraform-aws-eks: it
 *   is invisible to the access-entry API, can't be revoked, makes a second entry for the creator
 *   fail with 409, and switching it off later replaces the cluster.
 * - The EKS cluster is named explicitly (`clusterName`, default the component's name), so the
 *   `kubernetes.io/cluster/<name>` tags and `aws eks update-kubeconfig --name` name the real cluster.
 * - Kubernetes Secrets are encrypted with a dedicated KMS key (rotation on).
 * - The public endpoint is limited to `publicAccessCidrs`; nodes and Cilium use the private one.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { positionAlias, principalKey } from "../names";
import type { ClusterSecurity } from "../security";
import type { PublicVpc } from "../vpc";
import {
    adminPrincipals, assumeRolePolicy, buildKubeconfig, CLUSTER_ROLE_POLICIES, clusterKmsPolicy, managedPolicyArn, NODE_ROLE_POLICIES, validateEksClusterOptions,
    type EksClusterOptionsInput,
} from "./args";

export * from "./args";
export * from "./node-group";
export * from "./cilium";

/**
 * The IAM principal that runs this program, as an access entry needs it: the caller's ARN
 * (`aws.getCallerIdentity`) for an IAM user, and for an assumed role the role's own ARN
 * (`aws.iam.getSessionContext`'s `issuerArn`), not the session's `arn:aws:sts::...:assumed-role/...`.
 * Give it to {@link EksCluster} as `deployerPrincipalArn`.
 */
export async function deployerPrincipalArn(opts?: pulumi.InvokeOptions): Promise<string> {
    const caller = await aws.getCallerIdentity({}, opts);
    const session = await aws.iam.getSessionContext({ arn: caller.arn }, opts);
    return session.issuerArn;
}

/**
 * Arguments of {@link EksCluster}: the network it lives in, and the plain options of
 * `eksClusterOptionsSchema` (`version`, `clusterName`, `publicAccessCidrs`, `adminPrincipalArns`,
 * `deployerPrincipalArn`, `logTypes`, `podCidr`, `serviceCidr`, `kubeconfigProfile`, `tags`).
 */
export interface EksClusterArgs extends EksClusterOptionsInput {
    /** The VPC: the control plane and nodes use its public subnets (two zones at least); the pod and Service CIDRs must stay out of its CIDR. */
    vpc: PublicVpc;
    /** The security groups: the cluster group goes on the control plane, the node group on every node; the control plane waits for their rules. */
    security: ClusterSecurity;
}

export class EksCluster extends pulumi.ComponentResource {
    /** The component's name (node groups and Cilium derive nothing from it but their aliases). */
    readonly name: string;
    readonly clusterName: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    /** The control plane's Kubernetes version (node groups follow it). */
    readonly version: pulumi.Output<string>;
    /** The version as configured (`1.33`): node groups take their AMI's SSM parameter from it. */
    readonly kubernetesVersion: string;
    /** The cluster's CA (base64 PEM), for the nodes' NodeConfig. */
    readonly certificateAuthority: pulumi.Output<string>;
    /** Exec-based (`aws eks get-token`), always secret. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Deploys in-cluster components; waits for the admin access entries. */
    readonly provider: k8s.Provider;
    /** The VPC the cluster is in. */
    readonly vpc: PublicVpc;
    /** The security groups of the cluster and its nodes. */
    readonly security: ClusterSecurity;
    /** The security group EKS itself creates for the control plane. */
    readonly eksManagedSecurityGroupId: pulumi.Output<string>;
    /** The role every node group's instances take. */
    readonly nodeRoleArn: pulumi.Output<string>;
    readonly nodeRoleName: pulumi.Output<string>;
    /** The node role's managed-policy attachments: node groups wait for them. */
    readonly nodeRolePolicies: pulumi.Resource[];
    /** Cilium's cluster-pool pod CIDR. */
    readonly podCidr: string;
    readonly serviceCidr: string;
    /** The cluster's tags (node groups take them unless given their own). */
    readonly tags: Record<string, string>;

    constructor(name: string, args: EksClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { vpc, security, ...plain } = args;
        const o = validateEksClusterOptions(plain, "EksCluster args", {
            vpcCidr: vpc.cidrBlock, subnetCount: vpc.subnets.length, componentName: name,
            taggedFor: [{ path: "vpc.clusterName", clusterName: vpc.clusterName }, { path: "security.clusterName", clusterName: security.clusterName }],
        });

        super("directpath:aws:EksCluster", name, {}, opts);
        this.name = name;
        this.vpc = vpc;
        this.security = security;
        this.podCidr = o.podCidr;
        this.serviceCidr = o.serviceCidr;
        this.tags = o.tags;
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
            name: o.clusterName ?? name,
            roleArn: clusterRole.arn,
            version: o.version,
            vpcConfig: {
                subnetIds: vpc.publicSubnetIds,
                securityGroupIds: [security.clusterSecurityGroupId],
                endpointPublicAccess: o.publicEndpoint,
                // Nodes (and Cilium's k8sServiceHost) resolve the endpoint to these private
                // addresses inside the VPC, so the public allow-list can stay narrow.
                endpointPrivateAccess: true,
                ...(o.publicEndpoint ? { publicAccessCidrs: o.publicAccessCidrs } : {}),
            },
            accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
            // No aws-node, no kube-proxy, no self-managed CoreDNS: Cilium is the CNI and kube-proxy.
            bootstrapSelfManagedAddons: false,
            encryptionConfig: { provider: { keyArn: key.arn }, resources: ["secrets"] },
            kubernetesNetworkConfig: { ipFamily: "ipv4", serviceIpv4Cidr: o.serviceCidr },
            enabledClusterLogTypes: o.logTypes,
            tags,
            // The nodes can only join once node -> control plane 443 is open.
        }, { ...child, dependsOn: [...clusterPolicies, keyPolicy, security] });
        this.clusterName = cluster.name;
        this.endpoint = cluster.endpoint;
        this.version = cluster.version;
        this.kubernetesVersion = o.version;
        this.certificateAuthority = cluster.certificateAuthority.apply((ca) => ca?.data ?? "");
        this.eksManagedSecurityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);

        // ---- access entries for admins ----
        const adminPolicy = pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`;
        // Keyed by the principal (not its position): reordering adminPrincipalArns renames nothing,
        // and the deployer's entry is the same resource as its entry when listed.
        const admins = adminPrincipals(o).map((arn) => {
            const entryName = `${name}-admin-${principalKey(arn)}`;
            const listedAt = o.adminPrincipalArns.indexOf(arn);
            const aliases = listedAt >= 0 ? positionAlias(`${name}-admin-${listedAt}`, entryName) : [];
            const entry = new aws.eks.AccessEntry(entryName, { clusterName: cluster.name, principalArn: arn, type: "STANDARD", tags }, { ...child, aliases });
            return new aws.eks.AccessPolicyAssociation(entryName, {
                clusterName: cluster.name,
                principalArn: entry.principalArn,
                policyArn: adminPolicy,
                accessScope: { type: "cluster" },
            }, { ...child, aliases });
        });

        // ---- the node role (every node group shares it) ----
        const nodeRole = new aws.iam.Role(`${name}-node`, {
            assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"),
            description: "directpath EKS nodes",
            tags,
        }, child);
        this.nodeRolePolicies = NODE_ROLE_POLICIES.map((p) => new aws.iam.RolePolicyAttachment(`${name}-node-${p}`, {
            role: nodeRole.name,
            policyArn: partition.apply((part) => managedPolicyArn(part, p)),
        }, child));
        this.nodeRoleArn = nodeRole.arn;
        this.nodeRoleName = nodeRole.name;

        // ---- kubeconfig and provider ----
        this.kubeconfig = pulumi.secret(pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region]).apply(
            ([clusterName, endpoint, ca, r]) => buildKubeconfig({ clusterName, endpoint, certificateAuthorityData: ca?.data ?? "", region: r, profile: o.kubeconfigProfile })));
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { ...child, dependsOn: admins });

        this.registerOutputs({
            clusterName: this.clusterName,
            endpoint: this.endpoint,
            kubeconfig: this.kubeconfig,
            nodeRoleArn: this.nodeRoleArn,
        });
    }
}
