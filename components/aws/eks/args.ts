/**
 * The EKS components' pure half: the args schemas of EksCluster, EksNodeGroup and EksCilium and
 * their validation, the launch template and node group specs, the IAM policy choices, the
 * Cilium values an EKS cluster fixes, and the exec-based kubeconfig. No resources here.
 */
import { stringify } from "yaml";
import { z } from "zod";
import { joinPath, parseOrThrow, type Problem } from "../../common/errors";
import { cidrSchema, cidrsOverlap, dnsLabelSchema, isLabelKey, labelsSchema, parseCidr, portSchema } from "../../common/net";
import * as pulumi from "@pulumi/pulumi";
import { CILIUM_CHART_VERSION, CILIUM_MIN_CHART_LINE, deepMergeValues, parseChartVersion, type CiliumValuesOptions } from "../../cilium/values";
import { principalKey } from "../names";
import { whoMayReachProblem } from "../reach";
import { isPrivateIpv4Cidr } from "../vpc/plan";

/** Tailscale hands out tailnet addresses from the CGNAT range; pod and Service CIDRs must stay out of it. */
export const TAILSCALE_CGNAT = "100.64.0.0/10";
export const DEFAULT_KUBERNETES_VERSION = "1.33";
export const DEFAULT_POD_CIDR = "10.244.0.0/16";
export const DEFAULT_SERVICE_CIDR = "172.20.0.0/16";
/** The taint Cilium removes once its agent runs on a node, so no pod lands there before the CNI. */
export const CILIUM_AGENT_NOT_READY_TAINT = { key: "node.cilium.io/agent-not-ready", value: "true", effect: "NO_EXECUTE" } as const;
/** Root device of the EKS-optimized Amazon Linux 2023 AMIs. */
export const AL2023_ROOT_DEVICE = "/dev/xvda";

export const AMI_TYPES = ["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] as const;
export const LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;
const TAINT_EFFECTS = { NoSchedule: "NO_SCHEDULE", NoExecute: "NO_EXECUTE", PreferNoSchedule: "PREFER_NO_SCHEDULE" } as const;

/** `t4g.small`, `m7gd.large`, `c6gn.xlarge`: Graviton (ARM) families have a `g` after the generation digit. */
export function isArmInstanceType(instanceType: string): boolean {
    const family = instanceType.split(".")[0] ?? "";
    const m = /^[a-z]+\d+([a-z-]*)$/.exec(family);
    return !!m && m[1]!.split("-")[0]!.includes("g");
}

const INSTANCE_TYPE = /^[a-z][a-z0-9]*\d[a-z0-9-]*\.[a-z0-9]+$/;
const PRINCIPAL_ARN = /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:(role|user)\/[\w+=,.@\/-]+$/;
/** An STS session ARN (`arn:aws:sts::<account>:assumed-role/<role>/<session>`): an access entry needs the role's own ARN. */
const ASSUMED_ROLE_ARN = /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:sts::\d{12}:assumed-role\//;
/**
 * EKS's cluster-name rule (CreateCluster `name`): 1-100 characters, a letter or digit first, then
 * letters, digits, `-` and `_`. https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html
 */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

const principalArnSchema = (what: string) => z.string({ error: `must be ${what}` }).refine((v) => !ASSUMED_ROLE_ARN.test(v), {
    error: "is an STS session (assumed-role) ARN; an access entry names the IAM role itself: arn:aws:iam::<account>:role/<name> (aws.iam.getSessionContext's issuerArn)",
}).refine((v) => ASSUMED_ROLE_ARN.test(v) || PRINCIPAL_ARN.test(v), { error: `must be ${what} such as arn:aws:iam::123456789012:role/admin` });

const sizeSchema = (what: string, min: number) => z.number({ error: `must be the ${what} as a number` }).int({ error: "must be an integer" }).min(min, { error: `must be at least ${min}` });

export const taintSchema = z.strictObject({
    /** The taint's key, `[prefix/]name`. */
    key: z.string({ error: "must be a taint key" }).refine(isLabelKey, { error: "must be a Kubernetes key: [prefix/]name, name at most 63 characters" }),
    /** The taint's value (optional). */
    value: z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, { error: "must be at most 63 letters, digits, '-', '_' or '.'" }).optional(),
    /** NoSchedule, NoExecute or PreferNoSchedule. */
    effect: z.enum(Object.keys(TAINT_EFFECTS) as [keyof typeof TAINT_EFFECTS, ...(keyof typeof TAINT_EFFECTS)[]], { error: "must be NoSchedule, NoExecute or PreferNoSchedule" }),
});

export const nodeGroupSchema = z.strictObject({
    /** The group's name in the cluster, unique there: in the launch template's description and the load balancer attachments' names. */
    name: dnsLabelSchema.refine((v) => v.length <= 30, { error: "must be at most 30 characters" }),
    /** One EC2 instance type, e.g. `t3.medium` or `t4g.medium`. */
    instanceType: z.string({ error: "must be an EC2 instance type such as t3.medium" }).regex(INSTANCE_TYPE, { error: "must be an EC2 instance type such as t3.medium" }),
    /** Defaults to the Amazon Linux 2023 AMI for the instance type's architecture. */
    amiType: z.enum(AMI_TYPES, { error: `must be one of ${AMI_TYPES.join(", ")}` }).optional(),
    /** `ON_DEMAND` (default) or `SPOT`. */
    capacityType: z.enum(["ON_DEMAND", "SPOT"], { error: "must be ON_DEMAND or SPOT" }).default("ON_DEMAND"),
    /** Fewest nodes (default 1). */
    minSize: sizeSchema("minimum size", 0).default(1),
    /** Most nodes (default 3, at most 450). */
    maxSize: sizeSchema("maximum size", 1).max(450, { error: "must be at most 450 (EKS's limit per managed node group)" }).default(3),
    /** Nodes at creation (default 2); later left to an autoscaler (`ignoreChanges`). */
    desiredSize: sizeSchema("desired size", 0).default(2),
    /** Root volume (gp3, encrypted) size in GiB; the AL2023 AMI needs at least 20. */
    diskSizeGiB: z.number({ error: "must be a size in GiB" }).int({ error: "must be an integer" }).min(20, { error: "must be at least 20 GiB (the AMI's own size)" }).max(16384, { error: "must be at most 16384 GiB (gp3's limit)" }).default(20),
    /** Kubernetes labels on the nodes. */
    labels: labelsSchema.default({}),
    /** Kubernetes taints on the nodes (`key`, `value`, `effect` NoSchedule/NoExecute/PreferNoSchedule); Cilium's startup taint is added by `ciliumStartupTaint`. */
    taints: z.array(taintSchema).default([]),
    /**
     * The kubelet's pod limit. The EKS AMI otherwise derives it from the instance type's ENI
     * limits (11 on a t3.small), which only the AWS VPC CNI needs; Cilium gives each node a /24
     * from the pod CIDR, so up to 250 fit.
     */
    maxPods: z.number({ error: "must be a number of pods" }).int({ error: "must be an integer" }).min(8, { error: "must be at least 8 (the node's own DaemonSets need room)" }).max(250, { error: "must be at most 250 (Cilium gives each node a /24)" }).default(110),
    /**
     * Pin the nodes' AMI (`ami-...`). Default: the EKS-optimized Amazon Linux 2023 AMI for the
     * cluster's Kubernetes version and the group's architecture, read from its public SSM
     * parameter at each deploy (a newer AMI then rolls the group's nodes).
     */
    amiId: z.string({ error: "must be an AMI ID such as ami-0123456789abcdef0" }).regex(/^ami-[0-9a-f]{8,17}$/, { error: "must be an AMI ID such as ami-0123456789abcdef0" }).optional(),
});

export const eksClusterOptionsSchema = z.strictObject({
    /** Kubernetes `major.minor`. */
    version: z.string({ error: "must be a Kubernetes version such as \"1.33\"" }).regex(/^1\.\d{2}$/, { error: "must be a Kubernetes minor version such as \"1.33\"" }).default(DEFAULT_KUBERNETES_VERSION),
    /** Who may reach the public API endpoint. Public IPv4 CIDRs; nodes use the private endpoint. */
    publicAccessCidrs: z.array(cidrSchema).default(["0.0.0.0/0"]),
    /**
     * The public API endpoint (default on). Off, the API is reachable only from inside the VPC
     * (nodes, Cilium, a bastion or VPN there), and `publicAccessCidrs` must be left out.
     */
    publicEndpoint: z.boolean({ error: "must be true or false" }).default(true),
    /**
     * The EKS cluster's own name (what `aws eks update-kubeconfig --name` takes, and what the
     * subnets' and security groups' `kubernetes.io/cluster/<name>` tags must name). Default: the
     * component's name. Unique per account and region.
     */
    clusterName: z.string({ error: "must be an EKS cluster name" }).regex(EKS_CLUSTER_NAME, { error: "must be 1-100 letters, digits, '-' or '_', starting with a letter or digit (EKS's rule)" }).optional(),
    /** IAM roles or users that get cluster-admin through an access entry (AmazonEKSClusterAdminPolicy, cluster scope). List everyone who runs `pulumi up`: humans and CI roles. */
    adminPrincipalArns: z.array(principalArnSchema("an IAM role or user ARN")).default([]),
    /**
     * The identity that runs `pulumi up` (an IAM role or user ARN: for an assumed role, the role's
     * ARN, not the session's). It gets the same admin access entry, once, even when it is also in
     * `adminPrincipalArns`. Resolve it with {@link deployerPrincipalArn}. EKS's one-time creator
     * admin (`bootstrapClusterCreatorAdminPermissions`) is always off: it can't be listed, revoked
     * or switched off later without replacing the cluster.
     */
    deployerPrincipalArn: principalArnSchema("the deploying identity's IAM role or user ARN").optional(),
    /** Control-plane log types sent to CloudWatch (billed per GB). */
    logTypes: z.array(z.enum(LOG_TYPES, { error: `must be one of ${LOG_TYPES.join(", ")}` })).default([]),
    /** Cilium's cluster-pool pod CIDR (the overlay): must overlap neither the VPC, the Service CIDR nor Tailscale's 100.64.0.0/10. */
    podCidr: cidrSchema.default(DEFAULT_POD_CIDR),
    /** The Service CIDR (EKS `serviceIpv4Cidr`), /12 to /24. */
    serviceCidr: cidrSchema.default(DEFAULT_SERVICE_CIDR),
    /** `aws` CLI profile the kubeconfig's `aws eks get-token` uses (default: the ambient credentials). */
    kubeconfigProfile: z.string().min(1).optional(),
    /** Tags for every resource of the cluster (and, by default, of its node groups). */
    tags: z.record(z.string(), z.string()).default({}),
});

/** EksNodeGroup's plain options: the group itself, plus Cilium's startup taint. */
export const eksNodeGroupOptionsSchema = nodeGroupSchema.extend({
    /** Taint new nodes until the Cilium agent runs there (Cilium removes the taint). Default true. */
    ciliumStartupTaint: z.boolean({ error: "must be true or false" }).default(true),
    /** Tags for the group's resources. Default: the cluster's tags. */
    tags: z.record(z.string(), z.string()).optional(),
});

/** The Cilium chart version rule (1.16.0 or later, X.Y.Z). */
export const ciliumChartVersionSchema = z.string({ error: "must be a chart version such as 1.19.3" }).refine((v) => {
    const p = parseChartVersion(v);
    return p !== undefined && (p.major > CILIUM_MIN_CHART_LINE.major || (p.major === CILIUM_MIN_CHART_LINE.major && p.minor >= CILIUM_MIN_CHART_LINE.minor));
}, { error: `must be a Cilium chart version X.Y.Z, ${CILIUM_MIN_CHART_LINE.major}.${CILIUM_MIN_CHART_LINE.minor}.0 or later` });

/** EksCilium's plain options (the values' hairpin options are checked by `ciliumValues`). */
export const eksCiliumOptionsSchema = z.strictObject({
    /** The Cilium chart version (see components/cilium/values.ts). */
    chartVersion: ciliumChartVersionSchema.default(CILIUM_CHART_VERSION),
    /** Extra Cilium values, merged under directpath's (see ciliumValues' `extraValues`). */
    extraValues: z.record(z.string(), z.unknown()).default({}),
    /** The CoreDNS add-on version; default: EKS's default for the Kubernetes version. */
    coreDnsVersion: z.string().regex(/^v\d+\.\d+\.\d+-eksbuild\.\d+$/, { error: "must be an EKS add-on version such as v1.12.1-eksbuild.2" }).optional(),
});

export type EksClusterOptionsInput = z.input<typeof eksClusterOptionsSchema>;
export type EksClusterOptions = z.output<typeof eksClusterOptionsSchema>;
export type NodeGroupOptions = z.output<typeof nodeGroupSchema>;
export type EksNodeGroupOptionsInput = z.input<typeof eksNodeGroupOptionsSchema>;
export type EksNodeGroupOptions = z.output<typeof eksNodeGroupOptionsSchema>;
export type EksCiliumOptionsInput = z.input<typeof eksCiliumOptionsSchema>;
export type ParsedEksCiliumOptions = z.output<typeof eksCiliumOptionsSchema>;

/** EksCluster's cross-field rules (tolerant; paths relative to the args). */
export function eksClusterCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const problems: Problem[] = [];

    if (r.publicEndpoint === false && Array.isArray(r.publicAccessCidrs) && r.publicAccessCidrs.length > 0) {
        problems.push({ path: "publicAccessCidrs", value: r.publicAccessCidrs, rule: "is only used with the public endpoint, and publicEndpoint is false: leave it out" });
    } else if (r.publicEndpoint !== false && Array.isArray(r.publicAccessCidrs) && r.publicAccessCidrs.length === 0) {
        problems.push({ path: "publicAccessCidrs", value: [], rule: "must list at least one CIDR (use 0.0.0.0/0 for anywhere, or publicEndpoint: false for a private-only API)" });
    }
    if (Array.isArray(r.publicAccessCidrs)) {
        r.publicAccessCidrs.forEach((c, i) => {
            const p = typeof c === "string" ? parseCidr(c) : undefined;
            if (!p) return;
            if (p.family !== 4) problems.push({ path: `publicAccessCidrs[${i}]`, value: c, rule: "must be an IPv4 CIDR (EKS's public endpoint allow-list is IPv4)" });
            else if (isPrivateIpv4Cidr(c as string)) problems.push({ path: `publicAccessCidrs[${i}]`, value: c, rule: "is a private range; the public endpoint only sees public source addresses (nodes use the private endpoint)" });
            else {
                const unreachable = whoMayReachProblem(c as string);
                if (unreachable) problems.push({ path: `publicAccessCidrs[${i}]`, value: c, rule: `${unreachable}; the API would accept nobody (list your office or VPN egress CIDRs: curl -s https://checkip.amazonaws.com gives this machine's)` });
            }
        });
    }

    if ("bootstrapCreatorAdmin" in r) {
        problems.push({
            path: "bootstrapCreatorAdmin",
            value: r.bootstrapCreatorAdmin,
            rule: "was removed: EKS's creator admin is always off now (it can't be revoked, and switching it later replaces the cluster); the deploying identity gets an ordinary access entry (deployerPrincipalArn) and every adminPrincipalArns entry gets one",
        });
    }
    if (Array.isArray(r.adminPrincipalArns)) {
        // Each principal names its access entry: two that give one name can't both exist.
        const keys = new Map<string, unknown>();
        r.adminPrincipalArns.forEach((arn, i) => {
            if (typeof arn !== "string") return;
            const k = principalKey(arn);
            const prior = keys.get(k);
            if (prior === arn) problems.push({ path: `adminPrincipalArns[${i}]`, value: arn, rule: "is listed twice" });
            else if (prior !== undefined) problems.push({ path: `adminPrincipalArns[${i}]`, value: arn, rule: `gives the same access-entry name (${k}) as ${String(prior)}` });
            else keys.set(k, arn);
        });
    }

    const pod = typeof r.podCidr === "string" ? r.podCidr : r.podCidr === undefined ? DEFAULT_POD_CIDR : undefined;
    const svc = typeof r.serviceCidr === "string" ? r.serviceCidr : r.serviceCidr === undefined ? DEFAULT_SERVICE_CIDR : undefined;
    const vpc = typeof r.vpcCidr === "string" ? r.vpcCidr : undefined;
    const ranges: Array<[string, string | undefined]> = [["podCidr", pod], ["serviceCidr", svc]];
    for (const [field, cidr] of ranges) {
        const p = cidr ? parseCidr(cidr) : undefined;
        if (!p) continue;
        if (p.family !== 4) {
            problems.push({ path: field, value: cidr, rule: "must be an IPv4 CIDR (the cluster is IPv4; the VPC may be dual stack)" });
            continue;
        }
        if (cidrsOverlap(cidr!, TAILSCALE_CGNAT)) problems.push({ path: field, value: cidr, rule: `overlaps ${TAILSCALE_CGNAT}, where Tailscale puts tailnet addresses` });
        if (vpc && parseCidr(vpc) && cidrsOverlap(cidr!, vpc)) problems.push({ path: field, value: cidr, rule: `overlaps the VPC CIDR ${vpc}` });
    }
    if (pod && svc && parseCidr(pod)?.family === 4 && parseCidr(svc)?.family === 4 && cidrsOverlap(pod, svc)) {
        problems.push({ path: "podCidr", value: pod, rule: `overlaps serviceCidr ${svc}` });
    }
    const sp = svc ? parseCidr(svc) : undefined;
    if (sp && sp.family === 4) {
        if (sp.prefix < 12 || sp.prefix > 24) problems.push({ path: "serviceCidr", value: svc, rule: "must be a /12 to /24 (EKS's rule)" });
        if (!isPrivateIpv4Cidr(svc!)) problems.push({ path: "serviceCidr", value: svc, rule: "must be inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (EKS's rule)" });
    }
    const pp = pod ? parseCidr(pod) : undefined;
    if (pp && pp.family === 4 && (pp.prefix < 8 || pp.prefix > 24)) problems.push({ path: "podCidr", value: pod, rule: "must be a /8 to /24 (Cilium gives each node a /24 from it)" });

    // The stack config checks its node groups here too (the library checks each EksNodeGroup).
    if (Array.isArray(r.nodeGroups)) {
        const names = new Set<unknown>();
        r.nodeGroups.forEach((g, i) => {
            if (typeof g !== "object" || g === null) return;
            const n = g as Record<string, unknown>;
            if (names.has(n.name)) problems.push({ path: joinPath("nodeGroups", i, "name"), value: n.name, rule: "is used by another node group" });
            names.add(n.name);
            for (const p of eksNodeGroupCrossChecks(g)) problems.push({ ...p, path: joinPath("nodeGroups", i, p.path) });
        });
    }
    return problems;
}

/** One node group's cross-field rules (tolerant; paths relative to the group). */
export function eksNodeGroupCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const n = raw as Record<string, unknown>;
    const problems: Problem[] = [];
    const min = typeof n.minSize === "number" ? n.minSize : 1;
    const max = typeof n.maxSize === "number" ? n.maxSize : 3;
    const desired = typeof n.desiredSize === "number" ? n.desiredSize : 2;
    if (min > max) problems.push({ path: "minSize", value: min, rule: `must be <= maxSize (${max})` });
    if (desired < min || desired > max) problems.push({ path: "desiredSize", value: desired, rule: `must be between minSize (${min}) and maxSize (${max})` });
    if (typeof n.instanceType === "string" && typeof n.amiType === "string") {
        const arm = isArmInstanceType(n.instanceType);
        if (arm !== n.amiType.includes("ARM")) {
            problems.push({ path: "amiType", value: n.amiType, rule: `doesn't match ${n.instanceType} (${arm ? "ARM/Graviton" : "x86_64"})` });
        }
    }
    if (Array.isArray(n.taints)) {
        const keys = new Set<string>();
        n.taints.forEach((t, j) => {
            const tk = (t as { key?: unknown; effect?: unknown } | null);
            const id = `${String(tk?.key)}:${String(tk?.effect)}`;
            if (keys.has(id)) problems.push({ path: joinPath("taints", j), value: t, rule: "duplicates another taint's key and effect" });
            keys.add(id);
            if (tk?.key === CILIUM_AGENT_NOT_READY_TAINT.key) problems.push({ path: joinPath("taints", j, "key"), value: tk.key, rule: "is added by directpath itself (ciliumStartupTaint)" });
        });
    }
    return problems;
}

/**
 * Validates EksCluster's plain options, every problem at once. Pure. `context` carries what the
 * cluster's objects say: the VPC's CIDR (the pod and Service CIDRs must stay out of it) and its
 * subnet count (EKS needs two zones).
 */
export function validateEksClusterOptions(raw: EksClusterOptionsInput, subject = "EksCluster args", context: { vpcCidr?: string; subnetCount?: number; componentName?: string; taggedFor?: Array<{ path: string; clusterName?: string }> } = {}): EksClusterOptions {
    const more: Problem[] = [];
    // The `kubernetes.io/cluster/<name>` tags must name this cluster: the AWS Load Balancer
    // Controller treats subnets tagged for another cluster as someone else's.
    const eksName = raw.clusterName ?? context.componentName;
    for (const t of context.taggedFor ?? []) {
        if (t.clusterName !== undefined && eksName !== undefined && t.clusterName !== eksName) {
            more.push({ path: t.path, value: t.clusterName, rule: `tags its resources kubernetes.io/cluster/${t.clusterName}, but the EKS cluster is named "${eksName}": give both the same clusterName` });
        }
    }
    if (context.componentName !== undefined && raw.clusterName === undefined && !EKS_CLUSTER_NAME.test(context.componentName)) {
        more.push({ path: "clusterName", value: undefined, rule: `defaults to the component's name "${context.componentName}", which EKS refuses (1-100 letters, digits, '-' or '_', starting with a letter or digit): set clusterName` });
    }
    if (context.subnetCount !== undefined && context.subnetCount < 2) {
        more.push({ path: "vpc", value: `${context.subnetCount} subnet(s)`, rule: "must have public subnets in at least two availability zones (EKS's rule)" });
    }
    // A removed key gets its own explanation (crossChecks), not "unrecognized key".
    const { bootstrapCreatorAdmin: _removed, ...known } = raw as EksClusterOptionsInput & { bootstrapCreatorAdmin?: unknown };
    return parseOrThrow(subject, eksClusterOptionsSchema, known, {
        crossChecks: () => [...eksClusterCrossChecks(typeof raw === "object" && raw !== null ? { ...raw, vpcCidr: context.vpcCidr } : raw), ...more],
    });
}

/**
 * The access entries' principals: the deploying identity first, then each listed admin, each
 * once (EKS refuses a second entry for one principal with 409 ResourceInUseException). Pure.
 */
export function adminPrincipals(o: Pick<EksClusterOptions, "adminPrincipalArns" | "deployerPrincipalArn">): string[] {
    return [...new Set([...(o.deployerPrincipalArn !== undefined ? [o.deployerPrincipalArn] : []), ...o.adminPrincipalArns])];
}

/** Validates one node group's plain options, every problem at once. Pure. */
export function validateEksNodeGroupOptions(raw: EksNodeGroupOptionsInput, subject = "EksNodeGroup args"): EksNodeGroupOptions {
    return parseOrThrow(subject, eksNodeGroupOptionsSchema, raw, { crossChecks: eksNodeGroupCrossChecks });
}

/** Validates EksCilium's plain options. Pure. */
export function validateEksCiliumOptions(raw: EksCiliumOptionsInput, subject = "EksCilium args"): ParsedEksCiliumOptions {
    return parseOrThrow(subject, eksCiliumOptionsSchema, raw);
}

// ---- Cilium on EKS ----

/** What an EKS cluster fixes in the Cilium values (see {@link eksCiliumValueOptions}). */
export interface EksCiliumValueInput {
    /** The cluster's API endpoint (`https://...eks.amazonaws.com`, an Output is fine). */
    endpoint: pulumi.Input<string>;
    /** Cilium's cluster-pool pod CIDR. */
    podCidr: string;
    /** The VXLAN port the node security group opens. */
    tunnelPort: number;
    /** Hubble on (its port open between nodes). */
    hubble: boolean;
    chartVersion: string;
    extraValues?: Record<string, unknown>;
}

/**
 * The Cilium values options for an EKS cluster: the endpoint's host on 443 as the API server
 * (there is no kube-proxy), VXLAN on the security group's port, and cluster-pool IPAM handing each
 * node a /24 of the pod CIDR. Give the result (plus the hairpin options) to `ciliumValues` or to
 * `CiliumInstall` to put directpath's Cilium on an EKS cluster made elsewhere. Pure.
 */
export function eksCiliumValueOptions(e: EksCiliumValueInput, more: Pick<CiliumValuesOptions, "localRedirectPolicies" | "lrpAddressMatcherIps" | "allowServiceExternalIps"> = {}): CiliumValuesOptions {
    const host = typeof e.endpoint === "string" ? endpointHost(e.endpoint) : pulumi.output(e.endpoint).apply(endpointHost);
    return {
        ...more,
        chartVersion: e.chartVersion,
        k8sServiceHost: host,
        k8sServicePort: 443,
        tunnel: { protocol: "vxlan", port: e.tunnelPort },
        hubble: e.hubble,
        extraValues: deepMergeValues({ ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: [e.podCidr], clusterPoolIPv4MaskSize: 24 } } }, e.extraValues ?? {}),
    };
}

// ---- IAM ----

/**
 * Managed policies of the node role. Deliberately without `AmazonEKS_CNI_Policy`: that policy lets
 * the AWS VPC CNI (aws-node) create and attach ENIs and assign IPs; with Cilium in tunnel mode and
 * cluster-pool IPAM, nothing on the node calls those EC2 APIs, and aws-node is never installed
 * (`bootstrapSelfManagedAddons: false`). `AmazonEC2ContainerRegistryPullOnly` is the narrowest
 * policy that lets the kubelet pull the CoreDNS add-on image from ECR.
 */
export const NODE_ROLE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly"] as const;
/** Managed policies of the cluster role. */
export const CLUSTER_ROLE_POLICIES = ["AmazonEKSClusterPolicy"] as const;

export function managedPolicyArn(partition: string, policy: string): string {
    return `arn:${partition}:iam::aws:policy/${policy}`;
}

/** Trust policy for a role that an AWS service assumes. */
export function assumeRolePolicy(service: string, actions: string[] = ["sts:AssumeRole"]): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }],
    });
}

/** What the cluster role may do with the secrets-encryption key (nothing else; scoped to the key). */
export function clusterKmsPolicy(keyArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"], Resource: keyArn }],
    });
}

// ---- node groups ----

/** The AMI type of a node group (explicit, or from the instance type's architecture). */
export function amiTypeFor(g: NodeGroupOptions): (typeof AMI_TYPES)[number] {
    return g.amiType ?? (isArmInstanceType(g.instanceType) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD");
}

/** A node group's taints in the EKS API's spelling, with Cilium's startup taint first when on. */
export function nodeGroupTaints(g: NodeGroupOptions, ciliumStartupTaint: boolean): Array<{ key: string; value?: string; effect: string }> {
    return [
        ...(ciliumStartupTaint ? [{ ...CILIUM_AGENT_NOT_READY_TAINT }] : []),
        ...g.taints.map((t) => ({ key: t.key, ...(t.value !== undefined ? { value: t.value } : {}), effect: TAINT_EFFECTS[t.effect] })),
    ];
}

/**
 * The public SSM parameter that holds the EKS-optimized Amazon Linux 2023 AMI of a Kubernetes
 * version and architecture:
 * `/aws/service/eks/optimized-ami/<version>/amazon-linux-2023/<x86_64|arm64>/standard/recommended/image_id`
 * (https://docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id.html).
 */
export function al2023AmiParameter(kubernetesVersion: string, amiType: (typeof AMI_TYPES)[number]): string {
    const arch = amiType === "AL2023_ARM_64_STANDARD" ? "arm64" : "x86_64";
    return `/aws/service/eks/optimized-ami/${kubernetesVersion}/amazon-linux-2023/${arch}/standard/recommended/image_id`;
}

/**
 * The launch template's settings for a node group, besides the security group (an Output). Pure:
 * IMDSv2 only with a hop limit of 2 (pods on the host network and in containers can still reach
 * IMDS through one extra hop), an encrypted gp3 root volume, and a public IP on the primary
 * interface (nodes talk to the internet and to Tailscale peers straight from it).
 */
export function launchTemplateSpec(g: NodeGroupOptions, opts: { ipv6: boolean }) {
    return {
        metadataOptions: {
            httpEndpoint: "enabled",
            httpTokens: "required",
            httpPutResponseHopLimit: 2,
            ...(opts.ipv6 ? { httpProtocolIpv6: "enabled" } : {}),
        },
        blockDeviceMappings: [{
            deviceName: AL2023_ROOT_DEVICE,
            ebs: { volumeSize: g.diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        }],
        networkInterface: {
            deviceIndex: 0,
            associatePublicIpAddress: "true",
            deleteOnTermination: "true",
            ...(opts.ipv6 ? { ipv6AddressCount: 1 } : {}),
        },
    };
}

/** What a node needs to join its cluster without EKS's own bootstrap (the launch template names an AMI). */
export interface NodeJoinInput {
    /** The EKS cluster's name. */
    clusterName: string;
    /** The API server endpoint (`https://...eks.amazonaws.com`). */
    endpoint: string;
    /** The cluster's CA, base64 PEM as EKS returns it (`certificateAuthority.data`). */
    certificateAuthority: string;
    /** The Service CIDR: nodeadm derives the cluster DNS address from it (`.10`). */
    serviceCidr: string;
}

/** The boundary of directpath's MIME multi-part user data. */
export const USER_DATA_BOUNDARY = "DIRECTPATH-NODEADM";

/**
 * The nodeadm `NodeConfig` of a node group: the whole join configuration (cluster name, API
 * endpoint, CA, Service CIDR), the kubelet's `maxPods`, and its node labels and taints as kubelet
 * flags, so they are on the node when it registers (EKS's own controller adds a managed node
 * group's labels and taints only after the node joined). Pure.
 * https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/
 */
export function nodeConfig(g: Pick<NodeGroupOptions, "maxPods" | "labels" | "taints" | "capacityType">, join: NodeJoinInput, ciliumStartupTaint: boolean): Record<string, unknown> {
    const labels = { ...g.labels, "eks.amazonaws.com/capacityType": g.capacityType };
    const taints = nodeGroupTaints(g as NodeGroupOptions, ciliumStartupTaint).map((t) => {
        const effect = Object.entries(TAINT_EFFECTS).find(([, api]) => api === t.effect)![0];
        return `${t.key}${t.value !== undefined ? `=${t.value}` : ""}:${effect}`;
    });
    const flags = [
        `--node-labels=${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")}`,
        ...(taints.length > 0 ? [`--register-with-taints=${taints.join(",")}`] : []),
    ];
    return {
        apiVersion: "node.eks.aws/v1alpha1",
        kind: "NodeConfig",
        spec: {
            cluster: { name: join.clusterName, apiServerEndpoint: join.endpoint, certificateAuthority: join.certificateAuthority, cidr: join.serviceCidr },
            kubelet: { config: { maxPods: g.maxPods }, flags },
        },
    };
}

/**
 * The launch template's user data: a MIME multi-part document with one part, the node group's
 * complete nodeadm {@link nodeConfig} (`Content-Type: application/node.eks.aws`). The template
 * names the AMI, so EKS adds no bootstrap part of its own (it would otherwise merge its NodeConfig
 * after this one, and its ENI-based `maxPods` would win). Plain text; the template wants base64.
 */
export function nodeadmUserData(config: Record<string, unknown>): string {
    return [
        "MIME-Version: 1.0",
        `Content-Type: multipart/mixed; boundary="${USER_DATA_BOUNDARY}"`,
        "",
        `--${USER_DATA_BOUNDARY}`,
        "Content-Type: application/node.eks.aws",
        "",
        "---",
        stringify(config, { lineWidth: 0 }).trimEnd(),
        "",
        `--${USER_DATA_BOUNDARY}--`,
        "",
    ].join("\n");
}

// ---- kubeconfig ----

export interface KubeconfigInput {
    clusterName: string;
    endpoint: string;
    certificateAuthorityData: string;
    region: string;
    profile?: string;
}

/**
 * A kubeconfig whose user runs `aws eks get-token` (no long-lived token in it). The caller wraps
 * it in `pulumi.secret`: it names the cluster's CA and endpoint.
 */
export function buildKubeconfig(k: KubeconfigInput): string {
    const args = ["eks", "get-token", "--cluster-name", k.clusterName, "--region", k.region, "--output", "json"];
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: k.clusterName, cluster: { server: k.endpoint, "certificate-authority-data": k.certificateAuthorityData } }],
        contexts: [{ name: k.clusterName, context: { cluster: k.clusterName, user: k.clusterName } }],
        "current-context": k.clusterName,
        users: [{
            name: k.clusterName,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args,
                    ...(k.profile ? { env: [{ name: "AWS_PROFILE", value: k.profile }] } : {}),
                    interactiveMode: "Never",
                },
            },
        }],
    }, { lineWidth: 0 });
}

/** `https://ABC.gr7.eu-central-1.eks.amazonaws.com` -> `ABC.gr7.eu-central-1.eks.amazonaws.com` (Cilium's k8sServiceHost). */
export function endpointHost(endpoint: string): string {
    return endpoint.replace(/^https?:\/\//, "").replace(/[:/].*$/, "");
}
