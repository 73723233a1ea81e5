/**
 * PublicVpc: a VPC whose subnets are all public. Nodes get public IPs and reach the internet
 * straight through the internet gateway: no NAT gateway, so no extra layer of NAT with random
 * source ports between tailscaled and its peers (the cause of relayed Tailscale connections).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ipv6SubnetCidr, pickZones, planSubnets, validatePublicVpcArgs, type ParsedPublicVpcArgs, type PublicVpcArgsInput } from "./plan";

export * from "./plan";

/**
 * Arguments of {@link PublicVpc}. Plain data, validated as a whole before anything is registered.
 *
 * - `cidrBlock` (default `10.0.0.0/16`): private (RFC 1918), /16 to /24.
 * - `availabilityZoneCount` (default 3): 1-6; the zones are looked up in the provider's region
 *   (only zones that need no opt-in, so Local Zones are never picked).
 * - `subnetPrefixLength`: the size of each public subnet; by default the VPC is cut into twice as
 *   many blocks as zones and the first N are used.
 * - `ipv6` (default false): dual stack, with an Amazon-provided /56, a /64 per subnet (instances
 *   get an IPv6 address on launch) and a `::/0` route.
 */
export type PublicVpcArgs = PublicVpcArgsInput;

export class PublicVpc extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: string;
    /** The Amazon-provided IPv6 /56 (undefined without `ipv6`). */
    readonly ipv6CidrBlock?: pulumi.Output<string>;
    readonly ipv6: boolean;
    /** One public subnet per availability zone, in zone order. */
    readonly publicSubnetIds: pulumi.Output<string>[];
    readonly availabilityZones: pulumi.Output<string>[];
    readonly internetGatewayId: pulumi.Output<string>;
    readonly routeTableId: pulumi.Output<string>;
    /** The parsed args, defaults applied. */
    readonly settings: ParsedPublicVpcArgs;

    constructor(name: string, args: PublicVpcArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        const parsed = validatePublicVpcArgs(args);
        super("directpath:aws:PublicVpc", name, {}, opts);
        this.settings = parsed;
        this.cidrBlock = parsed.cidrBlock;
        this.ipv6 = parsed.ipv6;
        const tags = (extra: Record<string, pulumi.Input<string>>): Record<string, pulumi.Input<string>> => ({ ...parsed.tags, ...extra });
        const child = { parent: this };

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
            cidrBlock: parsed.cidrBlock,
            // Both are needed for the EKS private endpoint and for instance DNS names.
            enableDnsSupport: true,
            enableDnsHostnames: true,
            assignGeneratedIpv6CidrBlock: parsed.ipv6 || undefined,
            tags: tags({ Name: name }),
        }, child);
        this.vpcId = vpc.id;
        if (parsed.ipv6) this.ipv6CidrBlock = vpc.ipv6CidrBlock;

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tags({ Name: `${name}-igw` }) }, child);
        this.internetGatewayId = igw.id;

        const rt = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, tags: tags({ Name: `${name}-public` }) }, child);
        this.routeTableId = rt.id;
        new aws.ec2.Route(`${name}-default-v4`, { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, child);
        if (parsed.ipv6) {
            new aws.ec2.Route(`${name}-default-v6`, { routeTableId: rt.id, destinationIpv6CidrBlock: "::/0", gatewayId: igw.id }, child);
        }

        const zones = aws.getAvailabilityZonesOutput({
            state: "available",
            filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
        }, child).names.apply((names) => pickZones(names, parsed.availabilityZoneCount, name));

        const subnets = planSubnets(parsed).map((plan) => {
            const az = zones.apply((names) => names[plan.index]!);
            const subnet = new aws.ec2.Subnet(`${name}-public-${plan.index}`, {
                vpcId: vpc.id,
                availabilityZone: az,
                cidrBlock: plan.cidrBlock,
                mapPublicIpOnLaunch: true,
                ...(parsed.ipv6 ? {
                    ipv6CidrBlock: vpc.ipv6CidrBlock.apply((block) => ipv6SubnetCidr(block, plan.index)),
                    assignIpv6AddressOnCreation: true,
                } : {}),
                tags: tags({
                    Name: pulumi.interpolate`${name}-public-${az}`,
                    // Lets the AWS Load Balancer Controller find the subnets for internet-facing load balancers.
                    "kubernetes.io/role/elb": "1",
                    ...(parsed.clusterName ? { [`kubernetes.io/cluster/${parsed.clusterName}`]: "shared" } : {}),
                }),
            }, child);
            new aws.ec2.RouteTableAssociation(`${name}-public-${plan.index}`, { subnetId: subnet.id, routeTableId: rt.id }, child);
            return { subnet, az };
        });
        this.publicSubnetIds = subnets.map((s) => s.subnet.id);
        this.availabilityZones = subnets.map((s) => s.az);

        this.registerOutputs({
            vpcId: this.vpcId,
            ipv6CidrBlock: this.ipv6CidrBlock,
            publicSubnetIds: this.publicSubnetIds,
            availabilityZones: this.availabilityZones,
            internetGatewayId: this.internetGatewayId,
            routeTableId: this.routeTableId,
        });
    }
}
