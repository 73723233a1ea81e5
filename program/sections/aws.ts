/**
 * `directpath:aws`: the AWS environment (VPC, security groups, EKS with Cilium, node groups, the
 * optional ingress NLB). Every block reuses its component's own schema, so config and library
 * validate identically. {@link awsEnvironment} turns the section (plus `directpath:cluster`) into
 * the components' args and runs their cross-field rules, reporting problems by config key.
 */
import { z } from "zod";
import { joinPath, ValidationError, type Problem } from "../../components/common/errors";
import { CILIUM_CHART_VERSION, parseChartVersion } from "../../components/cilium/values";
import {
    clusterSecurityArgsSchema, clusterSecurityCrossChecks, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, eksCiliumOptionsSchema, eksClusterCrossChecks, eksClusterOptionsSchema,
    eksNodeGroupOptionsSchema, ingressNlbCrossChecks, ingressNlbOptionsSchema, nodeGroupSchema, publicVpcArgsSchema, publicVpcCrossChecks, zoneCount,
    type ClusterSecurityOptionsInput, type EksCiliumOptionsInput, type EksClusterOptionsInput, type EksNodeGroupOptionsInput, type IngressNlbOptionsInput, type PublicVpcArgsInput,
} from "../../components/aws";
import type { EksCiliumOptions } from "../../components/aws";
import type { PlainConfig } from "../config";
import { ciliumSectionSchema, ciliumValueOptions } from "./cilium";

const vpcBlock = publicVpcArgsSchema.omit({ tags: true, clusterName: true });
const securityBlock = clusterSecurityArgsSchema.omit({ ipv6: true, clusterName: true, tags: true });
// One block for the cluster, the Cilium install and the node groups' startup taint (the config's shape).
const eksBlock = eksClusterOptionsSchema.omit({ podCidr: true, serviceCidr: true, tags: true }).extend({
    ciliumChartVersion: eksCiliumOptionsSchema.shape.chartVersion,
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
    /** ClusterSecurity: `tunnelPort` (Cilium VXLAN; the same number goes into the Cilium values), `hubble`, `webhookPorts`. */
    security: securityBlock.default(securityBlock.parse({})),
    /** EksCluster: `version`, `publicAccessCidrs`, `adminPrincipalArns`, `bootstrapCreatorAdmin`, `logTypes`, `ciliumChartVersion`, ... */
    eks: eksBlock.default(eksBlock.parse({})),
    /** Managed node groups, at least one. */
    nodeGroups: z.array(nodeGroupSchema).min(1, { error: "must declare at least one node group" }),
    /** The optional internet-facing NLB with one Elastic IP per public subnet. */
    ingressNlb: nlbBlock.optional(),
    /** Tags for every AWS resource. */
    tags: z.record(z.string(), z.string()).default({}),
});

export type AwsSection = z.output<typeof awsSectionSchema>;

/** The components' args for one stack, derived from `directpath:aws` and `directpath:cluster`. */
export interface AwsEnvironment {
    name: string;
    vpc: PublicVpcArgsInput;
    security: Omit<ClusterSecurityOptionsInput, "ipv6">;
    eks: EksClusterOptionsInput;
    nodeGroups: EksNodeGroupOptionsInput[];
    /** EksCilium's chart version, extra values and CoreDNS add-on version. */
    ciliumInstall: EksCiliumOptionsInput;
    /** Cilium options that follow from the hairpin section (LRP address allow-list, Service externalIPs). */
    cilium: EksCiliumOptions;
    /**
     * Whether the chart can limit LRP frontends to an allow-list (1.18+). The deploy step then adds
     * the ingress NLB's Elastic IPs to it, so LRP can only ever claim the cluster's own addresses.
     */
    lrpAllowList: boolean;
    nlb?: Omit<IngressNlbOptionsInput, "ipv6">;
}

const key = (path: string) => `directpath:${path}`;

/**
 * Builds the components' args and checks every cross-field rule (the per-field ones already ran
 * when the config was parsed). Throws one ValidationError naming config keys. Pure.
 */
export function awsEnvironment(config: Pick<PlainConfig, "cluster" | "aws" | "hairpin" | "cilium">): AwsEnvironment {
    const aws = config.aws;
    if (!aws) throw new ValidationError("directpath stack config", [{ path: key("aws"), value: undefined, rule: "required when environment is aws" }]);
    const cluster = config.cluster;
    const name = cluster.name;
    const tags = { "directpath:stack-cluster": name, ...aws.tags };
    const ipv6 = aws.vpc.ipv6;
    const podCidr = cluster.podCidrs[0] ?? DEFAULT_POD_CIDR;
    const serviceCidr = cluster.serviceCidr ?? DEFAULT_SERVICE_CIDR;

    const { ciliumChartVersion, ciliumExtraValues, ciliumStartupTaint, coreDnsVersion, ...clusterOptions } = aws.eks;
    const chartVersion = ciliumChartVersion ?? CILIUM_CHART_VERSION;
    const env: AwsEnvironment = {
        name,
        vpc: { ...aws.vpc, clusterName: name, tags },
        security: { ...aws.security, clusterName: name, tags },
        eks: { ...clusterOptions, podCidr, serviceCidr, tags },
        nodeGroups: aws.nodeGroups.map((g) => ({ ...g, ciliumStartupTaint })),
        ciliumInstall: { chartVersion, extraValues: ciliumExtraValues, ...(coreDnsVersion !== undefined ? { coreDnsVersion } : {}) },
        cilium: hairpinCiliumOptions(config, chartVersion),
        lrpAllowList: supportsLrpAllowList(chartVersion),
        ...(aws.ingressNlb?.enabled ? { nlb: { ...withoutEnabled(aws.ingressNlb), tags } } : {}),
    };

    const problems: Problem[] = [];
    const under = (prefix: string, list: Problem[]) => list.forEach((p) => problems.push({ ...p, path: key(joinPath(prefix, p.path)) }));
    if (config.cilium !== undefined) {
        problems.push({
            path: key("cilium"),
            value: "(set)",
            rule: "is for existing clusters; the aws environment installs Cilium itself: set its chart version in directpath:aws.eks.ciliumChartVersion and its tunnel port and Hubble in directpath:aws.security",
        });
    }
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
    under("aws.vpc", publicVpcCrossChecks(env.vpc));
    under("aws.security", clusterSecurityCrossChecks({ ...env.security, ipv6 }));
    for (const p of eksClusterCrossChecks({ ...env.eks, nodeGroups: aws.nodeGroups, vpcCidr: aws.vpc.cidrBlock })) {
        const path = p.path === "podCidr" ? key("cluster.podCidrs[0]")
            : p.path === "serviceCidr" ? key("cluster.serviceCidr")
                : p.path.startsWith("nodeGroups") ? key(joinPath("aws", p.path))
                    : key(joinPath("aws.eks", p.path));
        problems.push({ ...p, path });
    }
    if (env.nlb) under("aws.ingressNlb", ingressNlbCrossChecks({ ...env.nlb, ipv6 }));
    if (problems.length > 0) throw new ValidationError("directpath stack config", problems);
    return env;
}

/**
 * What the hairpin section implies for Cilium (the same rules as an existing cluster's
 * `directpath:cilium` section: LRP addresses limited to the cilium-lrp endpoints' IPs on 1.18+,
 * `bpf.disableExternalIPMitigation` exactly when an endpoint uses service-external-ips).
 */
function hairpinCiliumOptions(config: Pick<PlainConfig, "hairpin">, chartVersion: string): EksCiliumOptions {
    // The API server fields are placeholders: EksCluster sets the real endpoint.
    const section = ciliumSectionSchema.safeParse({ chartVersion, k8sServiceHost: "eks-endpoint" });
    // A bad chart version is reported by the aws.eks schema; nothing to derive then.
    if (!section.success) return {};
    const o = ciliumValueOptions({ cilium: section.data, hairpin: config.hairpin });
    return { localRedirectPolicies: o.localRedirectPolicies, lrpAddressMatcherIps: o.lrpAddressMatcherIps, allowServiceExternalIps: o.allowServiceExternalIps };
}

function supportsLrpAllowList(chartVersion: string): boolean {
    const v = parseChartVersion(chartVersion);
    return v !== undefined && (v.major > 1 || v.minor >= 18);
}

function withoutEnabled<T extends { enabled: boolean }>(o: T): Omit<T, "enabled"> {
    const { enabled: _enabled, ...rest } = o;
    return rest;
}
