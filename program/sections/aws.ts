/**
 * `directpath:aws`: the AWS environment (VPC, security groups, EKS with Cilium, node groups, the
 * optional ingress NLB). Every block reuses its component's own schema and cross-field rules
 * (imported from the components' pure modules, so reading a `local` stack loads no `@pulumi/aws`);
 * {@link awsEnvironment} turns the parsed section, the cluster and the Cilium block into the
 * components' args, reporting problems by config key. Cilium's chart version, tunnel port and
 * Hubble are in `directpath:cilium`, as for every environment. Pure.
 */
import { z } from "zod";
import { joinPath, type Problem } from "../../components/common/errors";
import {
    eksCiliumOptionsSchema, eksClusterCrossChecks, eksClusterOptionsSchema, eksNodeGroupOptionsSchema, nodeGroupSchema,
    type EksCiliumOptionsInput, type EksClusterOptionsInput, type EksNodeGroupOptionsInput,
} from "../../components/aws/eks/args";
import { awsNameProblems } from "../../components/aws/names";
import { ingressNlbCrossChecks, ingressNlbOptionsSchema, type IngressNlbOptionsInput } from "../../components/aws/nlb/args";
import { clusterSecurityArgsSchema, clusterSecurityCrossChecks, type ClusterSecurityOptionsInput } from "../../components/aws/security/rules";
import { publicVpcArgsSchema, publicVpcCrossChecks, zoneCount, type PublicVpcArgsInput } from "../../components/aws/vpc/plan";
import { CILIUM_VXLAN_PORT } from "../../components/cilium/values";
import { key, under } from "../keys";
import type { ClusterSection } from "./cluster";
import { awsStackNames } from "./aws-names";
import type { CiliumSpec } from "./cilium";

const vpcBlock = publicVpcArgsSchema.omit({ tags: true, clusterName: true });
const securityBlock = clusterSecurityArgsSchema.omit({ ipv6: true, clusterName: true, tags: true, tunnelPort: true, hubble: true });
// One block for the cluster, the node groups' startup taint and EksCilium's extra values and CoreDNS
// version (the config's shape); the chart version, tunnel port and Hubble are in directpath:cilium.
// The EKS cluster's name is directpath:cluster.name; the deploying identity is looked up at deploy time.
const eksBlock = eksClusterOptionsSchema.omit({ podCidr: true, serviceCidr: true, tags: true, clusterName: true, deployerPrincipalArn: true }).extend({
    // No default in a stack: who may reach the API server is written down (see awsEnvironment).
    publicAccessCidrs: eksClusterOptionsSchema.shape.publicAccessCidrs.removeDefault().optional(),
    ciliumExtraValues: eksCiliumOptionsSchema.shape.extraValues,
    ciliumStartupTaint: eksNodeGroupOptionsSchema.shape.ciliumStartupTaint,
    coreDnsVersion: eksCiliumOptionsSchema.shape.coreDnsVersion,
});
const nlbBlock = ingressNlbOptionsSchema.omit({ ipv6: true, tags: true }).extend({
    enabled: z.boolean({ error: "must be true or false" }).default(true),
});

export const awsSectionSchema = z.strictObject({
    /** PublicVpc: `cidrBlock`, `availabilityZones` or `availabilityZoneCount`, `subnetPrefixLength`, `ipv6`. */
    vpc: vpcBlock.default(vpcBlock.parse({})),
    /** ClusterSecurity: `webhookPorts` (the tunnel port and Hubble come from `directpath:cilium`). */
    security: securityBlock.default(securityBlock.parse({})),
    /** EksCluster: `version`, `publicAccessCidrs` (required before `pulumi up`), `adminPrincipalArns`, `logTypes`, ...; EksNodeGroup: `ciliumStartupTaint`; EksCilium: `ciliumExtraValues`, `coreDnsVersion`. */
    eks: eksBlock.default(eksBlock.parse({})),
    /** Managed node groups, at least one. */
    nodeGroups: z.array(nodeGroupSchema).min(1, { error: "must declare at least one node group" }),
    /** The optional internet-facing NLB with one Elastic IP per public subnet. */
    ingressNlb: nlbBlock.optional(),
    /** Tags for every AWS resource. */
    tags: z.record(z.string(), z.string()).default({}),
    /**
     * A production stack: the API endpoint's allow-list (`eks.publicAccessCidrs`) may not be the
     * whole internet (no `0.0.0.0/0`, nothing wider than a /8). Pulumi.prod.yaml sets it.
     */
    production: z.boolean({ error: "must be true or false" }).default(false),
});

export type AwsSection = z.output<typeof awsSectionSchema>;

/** Keys that moved out of `directpath:aws` into the one Cilium block, and where to. */
export const MOVED_AWS_KEYS: ReadonlyArray<{ from: [string, string]; to: string }> = [
    { from: ["eks", "ciliumChartVersion"], to: "cilium.chartVersion" },
    { from: ["security", "tunnelPort"], to: "cilium.tunnel.port" },
    { from: ["security", "hubble"], to: "cilium.hubble" },
];

/** Keys of `directpath:aws` that no longer exist, and why. */
export const REMOVED_AWS_KEYS: ReadonlyArray<{ from: [string, string]; rule: string }> = [
    {
        from: ["eks", "bootstrapCreatorAdmin"],
        rule: "was removed: EKS's one-time creator admin is always off (it can't be revoked, a second entry for the creator fails with 409, and switching it off later replaces the cluster). Whoever runs pulumi up gets an ordinary access entry, resolved from the caller's session; list every other admin (colleagues, CI roles) in directpath:aws.eks.adminPrincipalArns",
    },
];

/**
 * Reports the old Cilium keys of `directpath:aws` (where each moved) and the removed ones (why),
 * and returns the section without them, so the schema doesn't also call them unknown.
 */
export function movedAwsKeys(raw: unknown): { problems: Problem[]; rest: unknown } {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { problems: [], rest: raw };
    const rest: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    const problems: Problem[] = [];
    for (const m of [...MOVED_AWS_KEYS, ...REMOVED_AWS_KEYS]) {
        const [block, field] = m.from;
        const b = rest[block];
        if (typeof b !== "object" || b === null || Array.isArray(b) || !(field in b)) continue;
        const { [field]: value, ...others } = b as Record<string, unknown>;
        rest[block] = others;
        problems.push("rule" in m ? { path: key(`aws.${block}.${field}`), value, rule: m.rule } : {
            path: key(`aws.${block}.${field}`),
            value,
            rule: `has moved to ${key(m.to)} (one Cilium block for every environment): write ${m.to.split(".").slice(1).join(".")}: ${JSON.stringify(value)} under directpath:cilium instead`,
        });
    }
    return { problems, rest };
}

/** The components' args for one stack, derived from `directpath:aws`, `directpath:cluster` and `directpath:cilium`. Plain data. */
export interface AwsEnvironment {
    name: string;
    vpc: PublicVpcArgsInput;
    security: Omit<ClusterSecurityOptionsInput, "ipv6">;
    eks: EksClusterOptionsInput;
    nodeGroups: EksNodeGroupOptionsInput[];
    /** EksCilium's chart version, extra values and CoreDNS add-on version. */
    ciliumInstall: EksCiliumOptionsInput;
    /** Cilium options that follow from the hairpin section (LRP address allow-list, Service externalIPs). */
    cilium: { localRedirectPolicies: boolean; lrpAddressMatcherIps?: string[]; allowServiceExternalIps: boolean };
    /**
     * Whether the chart can limit LRP frontends to an allow-list (1.18+) and the stack wants it. The
     * deploy step then adds the ingress NLB's Elastic IPs to it, so LRP can only ever claim the
     * cluster's own addresses.
     */
    lrpAllowList: boolean;
    nlb?: Omit<IngressNlbOptionsInput, "ipv6">;
}

/**
 * Builds the components' args and runs their cross-field rules (the per-field ones ran when the
 * section was parsed), with problems by config key. `cluster` holds the effective pod and
 * Service CIDRs (the environment's defaults filled in).
 */
export function awsEnvironment(aws: AwsSection, cluster: ClusterSection, cilium: CiliumSpec): { env: AwsEnvironment; problems: Problem[]; blockers: Problem[] } {
    const name = cluster.name;
    const tags = { "directpath:stack-cluster": name, ...aws.tags };
    const ipv6 = aws.vpc.ipv6;
    const tunnelPort = cilium.tunnel.port ?? CILIUM_VXLAN_PORT;
    const { publicAccessCidrs, ciliumExtraValues, ciliumStartupTaint, coreDnsVersion, ...clusterOptions } = aws.eks;
    const problems: Problem[] = [];
    // Unset, the stack still renders for review (the API private-only), but pulumi up refuses.
    const blockers: Problem[] = [];
    if (publicAccessCidrs === undefined && clusterOptions.publicEndpoint) {
        blockers.push({
            path: key("aws.eks.publicAccessCidrs"),
            value: undefined,
            rule: "required before pulumi up: list who may reach the EKS public API endpoint, your office or VPN egress CIDRs (curl -s https://checkip.amazonaws.com gives this machine's; add /32), under directpath:aws.eks in the stack file; the default program never opens it by default" +
                (aws.production ? " (a production stack refuses 0.0.0.0/0)" : ". Write [0.0.0.0/0] to open it to the whole internet on purpose") +
                ". Until then the plan shows the API private-only",
        });
    } else if (aws.production && publicAccessCidrs !== undefined) {
        publicAccessCidrs.forEach((c, i) => {
            const prefix = Number(c.split("/")[1]);
            if (c.includes(".") && prefix < 8) {
                problems.push({
                    path: key(`aws.eks.publicAccessCidrs[${i}]`),
                    value: c,
                    rule: `${prefix === 0 ? "is the whole internet" : `is a /${prefix}, wider than a /8`}, and directpath:aws.production is true: a production API endpoint lists its office or VPN egress CIDRs`,
                });
            }
        });
    }
    const env: AwsEnvironment = {
        name,
        vpc: { ...aws.vpc, clusterName: name, tags },
        // ClusterSecurity takes ipv6 from its VPC; EksCilium takes the tunnel port and Hubble from it.
        security: { ...aws.security, tunnelPort, hubble: cilium.hubble, clusterName: name, tags },
        eks: {
            ...clusterOptions,
            clusterName: name,
            // Without a list, the cluster renders private-only (pulumi up refuses, see blockers).
            ...(publicAccessCidrs !== undefined ? { publicAccessCidrs } : { publicAccessCidrs: [], publicEndpoint: false }),
            podCidr: cluster.podCidrs[0]!,
            serviceCidr: cluster.serviceCidr!,
            tags,
        },
        nodeGroups: aws.nodeGroups.map((g) => ({ ...g, ciliumStartupTaint })),
        ciliumInstall: { chartVersion: cilium.chartVersion, extraValues: ciliumExtraValues, ...(coreDnsVersion !== undefined ? { coreDnsVersion } : {}) },
        cilium: { localRedirectPolicies: cilium.localRedirectPolicies, lrpAddressMatcherIps: cilium.lrpAddressMatcherIps, allowServiceExternalIps: cilium.allowServiceExternalIps },
        lrpAllowList: cilium.lrpAllowList,
        ...(aws.ingressNlb?.enabled ? { nlb: { ...withoutEnabled(aws.ingressNlb), tags } } : {}),
    };

    if (cluster.cni !== "cilium") {
        problems.push({ path: key("cluster.cni"), value: cluster.cni, rule: "must be cilium for the aws environment (EKS is created without a CNI and directpath installs Cilium)" });
    }
    if (zoneCount(aws.vpc) < 2) {
        const listed = aws.vpc.availabilityZones !== undefined;
        problems.push({
            path: key(listed ? "aws.vpc.availabilityZones" : "aws.vpc.availabilityZoneCount"),
            value: listed ? aws.vpc.availabilityZones : zoneCount(aws.vpc),
            rule: "must be at least 2: EKS needs subnets in two availability zones",
        });
    }
    if (cluster.podCidrs.length > 1) {
        problems.push({ path: key("cluster.podCidrs"), value: cluster.podCidrs, rule: "takes one CIDR in the aws environment (Cilium's cluster pool)" });
    }
    problems.push(...under("aws.vpc", publicVpcCrossChecks(env.vpc)));
    for (const p of clusterSecurityCrossChecks({ ...env.security, ipv6 })) {
        problems.push({ ...p, path: p.path === "tunnelPort" ? key("cilium.tunnel.port") : p.path === "hubble" ? key("cilium.hubble") : key(joinPath("aws.security", p.path)) });
    }
    // The stack checks its node groups and the VPC CIDR here too (the components check them from their objects).
    for (const p of eksClusterCrossChecks({ ...env.eks, nodeGroups: aws.nodeGroups, vpcCidr: aws.vpc.cidrBlock })) {
        // The pod / Service CIDR overlap is a rule of directpath:cluster itself (clusterProblems).
        if (p.path === "podCidr" && p.rule.startsWith("overlaps serviceCidr")) continue;
        const path = p.path === "podCidr" ? key("cluster.podCidrs[0]")
            : p.path === "serviceCidr" ? key("cluster.serviceCidr")
                : p.path.startsWith("nodeGroups") ? key(joinPath("aws", p.path))
                    : key(joinPath("aws.eks", p.path));
        problems.push({ ...p, path });
    }
    if (env.nlb) problems.push(...under("aws.ingressNlb", ingressNlbCrossChecks({ ...env.nlb, ipv6 })));
    // AWS's name rules on every name the stack asks for (length with Pulumi's suffix, characters, uniqueness).
    problems.push(...awsNameProblems(awsStackNames(env)));
    return { env, problems, blockers };
}

function withoutEnabled<T extends { enabled: boolean }>(o: T): Omit<T, "enabled"> {
    const { enabled: _enabled, ...rest } = o;
    return rest;
}
