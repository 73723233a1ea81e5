/**
 * PublicVpc's pure half: the args schema, its validation, and the subnet address plan. No
 * resources here; unit tests call these functions directly.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { parseOrThrow, type Problem } from "../../common/errors";
import { cidrContains, cidrSchema, dnsLabelSchema, parseCidr } from "../../common/net";

/** The RFC 1918 private ranges; a VPC CIDR must lie inside one of them. */
export const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

/** AWS's smallest subnet is a /28; directpath's VPCs are /16 to /24. */
export const VPC_PREFIX = { min: 16, max: 24 } as const;
export const MAX_SUBNET_PREFIX = 28;
export const AZ_COUNT = { min: 1, max: 6, default: 3 } as const;
/** An availability zone name: a region (`eu-central-1`, `us-west-2-lax-1`) and a zone letter. */
const ZONE_NAME = /^[a-z]{2}(-[a-z0-9]+)+-\d+[a-z]$/;

/** True when an IPv4 CIDR lies entirely inside an RFC 1918 range. */
export function isPrivateIpv4Cidr(cidr: string): boolean {
    const c = parseCidr(cidr);
    if (!c || c.family !== 4) return false;
    return RFC1918.some((range) => cidrContains(range, c.address) && c.prefix >= Number(range.split("/")[1]));
}

export const publicVpcArgsSchema = z.strictObject({
    /** The VPC's IPv4 CIDR: private (RFC 1918), /16 to /24. */
    cidrBlock: cidrSchema.default("10.0.0.0/16"),
    /**
     * The availability zones by name (`eu-central-1a`, ...), 1-6, one public subnet each. With
     * them, every subnet (and each Elastic IP of an IngressNlb in it) is named by its zone, and
     * its CIDR follows the zones' alphabetical order, so the list's order doesn't matter. Without
     * them, the region's first `availabilityZoneCount` zones are looked up at deploy time.
     */
    availabilityZones: z.array(z.string({ error: "must be an availability zone name such as eu-central-1a" })
        .regex(ZONE_NAME, { error: "must be an availability zone name such as eu-central-1a (a region name and a zone letter)" })).optional(),
    /** How many availability zones (one public subnet each), 1-6. EKS needs at least 2. Default 3, or the length of `availabilityZones`. */
    availabilityZoneCount: z.number({ error: "must be a number of availability zones (1-6)" }).int({ error: "must be an integer 1-6" }).optional(),
    /**
     * The prefix length of each subnet. Defaults to splitting the VPC into twice as many equal
     * blocks as there are zones (the other half stays free for later growth), at most /28.
     */
    subnetPrefixLength: z.number({ error: "must be a prefix length such as 20" }).int({ error: "must be an integer prefix length" }).optional(),
    /** Dual stack: an Amazon-provided /56 for the VPC, a /64 for each subnet, a ::/0 route. */
    ipv6: z.boolean({ error: "must be true or false" }).default(false),
    /** Extra tags for every resource (a Name tag is always set). */
    tags: z.record(z.string(), z.string()).default({}),
    /** Value of the `kubernetes.io/cluster/<name>` tag on subnets, when the VPC hosts that cluster. */
    clusterName: dnsLabelSchema.optional(),
});

export type PublicVpcArgsInput = z.input<typeof publicVpcArgsSchema>;
export type ParsedPublicVpcArgs = z.output<typeof publicVpcArgsSchema>;

/** The default subnet prefix for a VPC prefix and zone count (see `subnetPrefixLength`). */
export function defaultSubnetPrefix(vpcPrefix: number, azCount: number): number {
    const bits = Math.ceil(Math.log2(Math.max(1, azCount))) + 1;
    return Math.min(MAX_SUBNET_PREFIX, vpcPrefix + bits);
}

/** PublicVpc's cross-field rules (tolerant of malformed input; paths relative to the args). */
export function publicVpcCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const problems: Problem[] = [];
    const cidr = typeof r.cidrBlock === "string" ? r.cidrBlock : r.cidrBlock === undefined ? "10.0.0.0/16" : undefined;
    const parsed = cidr !== undefined ? parseCidr(cidr) : undefined;
    if (parsed && parsed.family !== 4) {
        problems.push({ path: "cidrBlock", value: cidr, rule: "must be an IPv4 CIDR (enable `ipv6` for an Amazon-provided IPv6 block)" });
    } else if (parsed) {
        if (!isPrivateIpv4Cidr(cidr!)) {
            problems.push({ path: "cidrBlock", value: cidr, rule: `must be a private range inside ${RFC1918.join(", ")} (RFC 1918)` });
        }
        if (parsed.prefix < VPC_PREFIX.min || parsed.prefix > VPC_PREFIX.max) {
            problems.push({ path: "cidrBlock", value: cidr, rule: `must have a prefix length from /${VPC_PREFIX.min} to /${VPC_PREFIX.max}` });
        }
    }
    const zones = Array.isArray(r.availabilityZones) ? r.availabilityZones : undefined;
    if (zones) {
        const seen = new Set<unknown>();
        zones.forEach((z, i) => {
            if (seen.has(z)) problems.push({ path: `availabilityZones[${i}]`, value: z, rule: "is listed twice" });
            seen.add(z);
        });
        if (r.availabilityZoneCount !== undefined && r.availabilityZoneCount !== zones.length) {
            problems.push({ path: "availabilityZoneCount", value: r.availabilityZoneCount, rule: `must equal the number of availabilityZones (${zones.length}), or be left out` });
        }
    }
    const azs = zones ? zones.length : (r.availabilityZoneCount ?? AZ_COUNT.default);
    const azOk = typeof azs === "number" && Number.isInteger(azs);
    if (azOk && (azs < AZ_COUNT.min || azs > AZ_COUNT.max)) {
        problems.push(zones
            ? { path: "availabilityZones", value: zones, rule: `must list ${AZ_COUNT.min}-${AZ_COUNT.max} zones` }
            : { path: "availabilityZoneCount", value: azs, rule: `must be ${AZ_COUNT.min}-${AZ_COUNT.max}` });
    }
    const sp = r.subnetPrefixLength;
    if (sp !== undefined && typeof sp === "number" && Number.isInteger(sp) && parsed && parsed.family === 4) {
        if (sp < parsed.prefix || sp > MAX_SUBNET_PREFIX) {
            problems.push({ path: "subnetPrefixLength", value: sp, rule: `must be from /${parsed.prefix} (the VPC's own prefix) to /${MAX_SUBNET_PREFIX} (AWS's smallest subnet)` });
        } else if (azOk && 2 ** (sp - parsed.prefix) < (azs as number)) {
            problems.push({
                path: "subnetPrefixLength",
                value: sp,
                rule: `${String(azs)} subnets of /${sp} don't fit in ${cidr}: it holds only ${2 ** (sp - parsed.prefix)}; use a longer prefix or a larger VPC`,
            });
        }
    } else if (sp === undefined && azOk && parsed && parsed.family === 4 && (azs as number) >= AZ_COUNT.min) {
        const prefix = defaultSubnetPrefix(parsed.prefix, azs as number);
        if (2 ** (prefix - parsed.prefix) < (azs as number)) {
            problems.push({ path: "availabilityZoneCount", value: azs, rule: `${String(azs)} subnets don't fit in ${cidr} (each must be at least a /${MAX_SUBNET_PREFIX})` });
        }
    }
    return problems;
}

/** Validates PublicVpc args, every problem at once. Pure. */
export function validatePublicVpcArgs(raw: PublicVpcArgsInput): ParsedPublicVpcArgs {
    return parseOrThrow("PublicVpc args", publicVpcArgsSchema, raw, { crossChecks: publicVpcCrossChecks });
}

/** The IPv4 CIDR of subnet `index` when `vpcCidr` is cut into blocks of `/prefix`. */
export function ipv4SubnetCidr(vpcCidr: string, prefix: number, index: number): string {
    const c = parseCidr(vpcCidr);
    if (!c || c.family !== 4) throw new Error(`not an IPv4 CIDR: ${vpcCidr}`);
    if (prefix < c.prefix || prefix > 32) throw new Error(`a /${prefix} can't be cut from ${vpcCidr}`);
    const count = 2 ** (prefix - c.prefix);
    if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`${vpcCidr} holds ${count} subnets of /${prefix}; index ${index} is out of range`);
    const base = ipaddr.IPv4.parse(c.address).toByteArray().reduce((n, b) => n * 256 + b, 0);
    let n = base + index * 2 ** (32 - prefix);
    const bytes: number[] = [];
    for (let i = 0; i < 4; i++) {
        bytes.unshift(n % 256);
        n = Math.floor(n / 256);
    }
    return `${bytes.join(".")}/${prefix}`;
}

/** The `/64` number `index` (0-255) inside an Amazon-provided IPv6 `/56`. */
export function ipv6SubnetCidr(vpcIpv6Cidr: string, index: number): string {
    const c = parseCidr(vpcIpv6Cidr);
    if (!c || c.family !== 6 || c.prefix !== 56) throw new Error(`expected the VPC's IPv6 /56, got ${vpcIpv6Cidr}`);
    if (!Number.isInteger(index) || index < 0 || index > 255) throw new Error(`a /56 holds 256 /64s; index ${index} is out of range`);
    const bytes = ipaddr.IPv6.parse(c.address).toByteArray();
    bytes[7] = index;
    return `${ipaddr.fromByteArray(bytes).toString()}/64`;
}

/** One public subnet of the plan. */
export interface SubnetPlan {
    /**
     * What names the subnet (and anything per subnet, such as an Elastic IP): the zone's name when
     * the zones are listed, else the zone's slot number (`0`, `1`, ...) among the region's zones.
     */
    key: string;
    /** The zone's name when listed; undefined when it is looked up at deploy time. */
    zone?: string;
    /** The subnet's block number: its IPv4 block inside the VPC and its IPv6 /64 inside the /56. */
    index: number;
    cidrBlock: string;
}

/** The number of zones (and so of subnets) the args ask for. */
export function zoneCount(args: Pick<ParsedPublicVpcArgs, "availabilityZones" | "availabilityZoneCount">): number {
    return args.availabilityZones?.length ?? args.availabilityZoneCount ?? AZ_COUNT.default;
}

/**
 * The public subnets' address plan: one block per zone. Listed zones take blocks in their
 * alphabetical order (the order of the list doesn't matter; the plan comes back in that order);
 * looked-up zones take them in the region's order, which AWS gives alphabetically too, so listing
 * the same zones later gives the same blocks.
 */
export function planSubnets(args: ParsedPublicVpcArgs): SubnetPlan[] {
    const vpcPrefix = parseCidr(args.cidrBlock)!.prefix;
    const count = zoneCount(args);
    const prefix = args.subnetPrefixLength ?? defaultSubnetPrefix(vpcPrefix, count);
    const zones = args.availabilityZones ? [...args.availabilityZones].sort() : undefined;
    return Array.from({ length: count }, (_, index) => ({
        key: zones ? zones[index]! : String(index),
        ...(zones ? { zone: zones[index]! } : {}),
        index,
        cidrBlock: ipv4SubnetCidr(args.cidrBlock, prefix, index),
    }));
}

/** The first `count` zone names, or a clear error when the region has fewer. Pure. */
export function pickZones(names: readonly string[], count: number, vpcName: string): string[] {
    if (names.length < count) {
        throw new Error(`PublicVpc ${vpcName}: availabilityZoneCount is ${count}, but the region has only ${names.length} available zones (${names.join(", ")})`);
    }
    return names.slice(0, count);
}
