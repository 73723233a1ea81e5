/**
 * PublicVpc: a VPC whose subnets are all public. Nodes get public IPs and reach the internet
 * straight through the internet gateway: no NAT gateway, so no extra layer of NAT with random
 * source ports between tailscaled and its peers (the cause of relayed Tailscale connections).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { positionAlias } from "../names";
import { ipv6SubnetCidr, pickZones, planSubnets, validatePublicVpcArgs, zoneCount, type PublicVpcArgsInput } from "./plan";

export * from "./plan";

/**
 * Arguments of {@link PublicVpc}. Plain data, validated as a whole before anything is registered.
 *
 * - `cidrBlock` (default `10.0.0.0/16`): private (RFC 1918), /16 to /24.
 * - `availabilityZones`: the zones by name; each subnet is then named by its zone, and the CIDRs
 *   follow the zones' alphabetical order (the list's order doesn't matter).
 * - `availabilityZoneCount` (default 3): 1-6; without `availabilityZones` the zones are looked up
 *   in the provider's region (only zones that need no opt-in, so Local Zones are never picked),
 *   and the subnets are named by slot: `<name>-public-0` is the region's first zone.
 * - `subnetPrefixLength`: the size of each public subnet; by default the VPC is cut into twice as
 *   many blocks as zones and the first N are used.
 * - `ipv6` (default false): dual stack, with an Amazon-provided /56, a /64 per subnet (instances
 *   get an IPv6 address on launch) and a `::/0` route.
 */
export type PublicVpcArgs = PublicVpcArgsInput;

/** One public subnet of a {@link PublicVpc}. */
export interface PublicSubnet {
    /** Its name key: the zone's name when zones are listed, else its slot (`0`, `1`, ...). */
    key: string;
    id: pulumi.Output<string>;
    availabilityZone: pulumi.Output<string>;
    cidrBlock: string;
}

export class PublicVpc extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: string;
    /** The Amazon-provided IPv6 /56 (undefined without `ipv6`). */
    readonly ipv6CidrBlock?: pulumi.Output<string>;
    readonly ipv6: boolean;
    /** The cluster the subnets' `kubernetes.io/cluster/<name>` tag names (EksCluster checks it names itself). */
    readonly clusterName?: string;
    /** One public subnet per availability zone, in zone order (alphabetical). */
    readonly subnets: PublicSubnet[];
    /** The subnets' IDs, in zone order. */
    readonly publicSubnetIds: pulumi.Output<string>[];
    readonly availabilityZones: pulumi.Output<string>[];
    readonly internetGatewayId: pulumi.Output<string>;
    readonly routeTableId: pulumi.Output<string>;

    constructor(name: string, args: PublicVpcArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        const parsed = validatePublicVpcArgs(args);
        super("directpath:aws:PublicVpc", name, {}, opts);
        this.cidrBlock = parsed.cidrBlock;
        this.ipv6 = parsed.ipv6;
        if (parsed.clusterName !== undefined) this.clusterName = parsed.clusterName;
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

        const plans = planSubnets(parsed);
        const looked = parsed.availabilityZones ? undefined : aws.getAvailabilityZonesOutput({
            state: "available",
            filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
        }, child).names.apply((names) => pickZones(names, zoneCount(parsed), name));

        const subnets = plans.map((plan) => {
            const az: pulumi.Output<string> = plan.zone !== undefined ? pulumi.output(plan.zone) : looked!.apply((names) => names[plan.index]!);
            // Named by the zone when listed (the alias carries a subnet deployed under its slot,
            // which a listed zone keeps: same zones, same alphabetical order); else by the slot.
            const subnetName = `${name}-public-${plan.key}`;
            const aliases = positionAlias(`${name}-public-${plan.index}`, subnetName);
            const subnet = new aws.ec2.Subnet(subnetName, {
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
            }, { ...child, aliases });
            new aws.ec2.RouteTableAssociation(subnetName, { subnetId: subnet.id, routeTableId: rt.id }, { ...child, aliases });
            return { key: plan.key, id: subnet.id, availabilityZone: az, cidrBlock: plan.cidrBlock };
        });
        this.subnets = subnets;
        this.publicSubnetIds = subnets.map((s) => s.id);
        this.availabilityZones = subnets.map((s) => s.availabilityZone);

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
