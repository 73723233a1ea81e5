/**
 * EksNodeGroup: an EKS managed node group of an {@link EksCluster}, with public IPs in the
 * cluster's public subnets. Its nodes come from a launch template that carries the cluster's node
 * security group, requires IMDSv2 (hop limit 2), encrypts its gp3 root volume, gives the primary
 * interface a public IP (and an IPv6 address in a dual-stack VPC), and taints new nodes until the
 * Cilium agent runs there.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EksCluster } from ".";
import { al2023AmiParameter, amiTypeFor, launchTemplateSpec, nodeadmUserData, nodeConfig, nodeGroupTaints, validateEksNodeGroupOptions, type EksNodeGroupOptionsInput } from "./args";

/**
 * Arguments of {@link EksNodeGroup}: the cluster, and the group's plain options
 * (`eksNodeGroupOptionsSchema`: `name`, `instanceType`, `amiType`, `capacityType`, `minSize`,
 * `maxSize`, `desiredSize`, `diskSizeGiB`, `labels`, `taints`, `maxPods`, `ciliumStartupTaint`,
 * `tags`).
 */
export interface EksNodeGroupArgs extends EksNodeGroupOptionsInput {
    /** The cluster the nodes join: its version, node role, subnets and node security group. */
    cluster: EksCluster;
}

export class EksNodeGroup extends pulumi.ComponentResource {
    /** The group's name within the cluster (`name` in the args). */
    readonly groupName: string;
    readonly nodeGroup: aws.eks.NodeGroup;
    /** The Auto Scaling group behind the managed node group (for load balancer target attachments). */
    readonly autoscalingGroupName: pulumi.Output<string>;
    /** The nodes' AMI: `amiId`, or the SSM parameter's value. */
    readonly imageId: pulumi.Output<string>;
    /** The public SSM parameter the AMI comes from (unless `amiId` pins it). */
    readonly amiParameter: string;

    constructor(name: string, args: EksNodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { cluster, ...plain } = args;
        const g = validateEksNodeGroupOptions(plain);
        super("directpath:aws:EksNodeGroup", name, {}, opts);
        this.groupName = g.name;
        const tags = g.tags ?? cluster.tags;
        // These resources were the cluster's children, named `<cluster>-<group>`, before node
        // groups were their own component: the alias keeps a deployed group in place.
        const moved = { ...(name === `${cluster.name}-${g.name}` ? {} : { name: `${cluster.name}-${g.name}` }), parent: cluster };
        const child = { parent: this, aliases: [moved] };

        const spec = launchTemplateSpec(g, { ipv6: cluster.vpc.ipv6 });
        // The AMI is in the template, so EKS adds no bootstrap of its own: the user data carries
        // the whole NodeConfig, and its maxPods is the one the kubelet runs with.
        this.amiParameter = al2023AmiParameter(cluster.kubernetesVersion, amiTypeFor(g));
        this.imageId = g.amiId !== undefined
            ? pulumi.output(g.amiId)
            : aws.ssm.getParameterOutput({ name: this.amiParameter }, { parent: this }).insecureValue;
        const userData = pulumi.all([cluster.clusterName, cluster.endpoint, cluster.certificateAuthority]).apply(([clusterName, endpoint, certificateAuthority]) =>
            Buffer.from(nodeadmUserData(nodeConfig(g, { clusterName, endpoint, certificateAuthority, serviceCidr: cluster.serviceCidr }, g.ciliumStartupTaint)), "utf8").toString("base64"));
        const lt = new aws.ec2.LaunchTemplate(name, {
            description: `directpath EKS ${cluster.name} node group ${g.name}`,
            imageId: this.imageId,
            userData,
            metadataOptions: spec.metadataOptions,
            blockDeviceMappings: spec.blockDeviceMappings,
            // With a network interface in the template, its security groups must be on it.
            networkInterfaces: [{ ...spec.networkInterface, securityGroups: [cluster.security.nodeSecurityGroupId] }],
            tagSpecifications: [
                { resourceType: "instance", tags: { ...tags, Name: name } },
                { resourceType: "volume", tags: { ...tags, Name: name } },
            ],
            updateDefaultVersion: true,
            tags,
        }, child);
        this.nodeGroup = new aws.eks.NodeGroup(name, {
            clusterName: cluster.clusterName,
            nodeRoleArn: cluster.nodeRoleArn,
            subnetIds: cluster.vpc.publicSubnetIds,
            instanceTypes: [g.instanceType],
            // With an AMI in the launch template, EKS refuses amiType, version and releaseVersion
            // (CreateNodegroup): the AMI's SSM parameter follows the cluster's version instead.
            capacityType: g.capacityType,
            scalingConfig: { minSize: g.minSize, maxSize: g.maxSize, desiredSize: g.desiredSize },
            updateConfig: { maxUnavailable: 1 },
            labels: g.labels,
            taints: nodeGroupTaints(g, g.ciliumStartupTaint),
            launchTemplate: { id: lt.id, version: lt.latestVersion.apply(String) },
            tags,
        }, {
            ...child,
            dependsOn: cluster.nodeRolePolicies,
            // Leave the node count to an autoscaler once the group exists.
            ignoreChanges: ["scalingConfig.desiredSize"],
        });
        this.autoscalingGroupName = this.nodeGroup.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? "");
        this.registerOutputs({ autoscalingGroupName: this.autoscalingGroupName });
    }
}
