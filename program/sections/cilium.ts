/**
 * `directpath:cilium`: one block for every environment. The Cilium Helm values directpath needs
 * (components/cilium/values.ts) and, on an existing cluster, whether the default program installs
 * Cilium with them (`install: true`, a CiliumInstall). The `aws` environment always installs
 * Cilium (EKS has no CNI until it runs) and knows the API server itself. The values are a stack
 * output either way (`ciliumValues`). Pure.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { k8sNameSchema, portSchema } from "../../components/common/net";
import { CILIUM_CHART_VERSION, CILIUM_MIN_CHART_LINE, ciliumValueNames, parseChartVersion } from "../../components/cilium/values";
import { key } from "../keys";
import type { ClusterSection } from "./cluster";
import type { HairpinSpec } from "./hairpin";

/** The one chart-version rule of the program (the components check their own args with theirs). */
export const chartVersionSchema = z
    .string({ error: "must be a chart version as a string, e.g. \"1.19.3\"" })
    .refine((v) => {
        const p = parseChartVersion(v);
        return p !== undefined && (p.major > CILIUM_MIN_CHART_LINE.major || (p.major === CILIUM_MIN_CHART_LINE.major && p.minor >= CILIUM_MIN_CHART_LINE.minor));
    }, { error: `must be a Cilium chart version X.Y.Z, ${CILIUM_MIN_CHART_LINE.major}.${CILIUM_MIN_CHART_LINE.minor}.0 or later` });

export const ciliumSectionSchema = z.strictObject({
    /**
     * Existing clusters: install Cilium with these values (a Helm release). Default false: only the
     * values are output. The aws environment always installs it.
     */
    install: z.boolean({ error: "must be true or false" }).optional(),
    /** The chart version (1.16.0 or later). */
    chartVersion: chartVersionSchema.default(CILIUM_CHART_VERSION),
    namespace: k8sNameSchema.default("kube-system"),
    /**
     * Existing clusters with `install: true`: the chart to install, a local chart directory or
     * `.tgz` (an absolute path, or starting with `./` / `../`; for air-gapped clusters), or a chart
     * name in `repository`. Default `cilium` from https://helm.cilium.io.
     */
    chart: z.string({ error: "must be a chart path or name as a string" }).min(1, { error: "must not be empty" }).optional(),
    /** Existing clusters with `install: true`: the Helm repository URL for a chart name (a mirror). */
    repository: z.url({ protocol: /^https?$/, error: "must be an http(s) URL of a Helm repository" }).optional(),
    /** Existing clusters, and required there: the API server's address as the nodes reach it (kubespray: the first control-plane node). */
    k8sServiceHost: z.string({ error: "must be a host name or IP as a string" }).min(1, { error: "must not be empty" }).optional(),
    /** Existing clusters: the API server's port (default 6443). */
    k8sServicePort: portSchema.optional(),
    tunnel: z.strictObject({
        protocol: z.enum(["vxlan", "geneve"], { error: "must be vxlan or geneve" }).default("vxlan"),
        /** Default 8472 (VXLAN) or 6081 (Geneve). In aws, the node security group opens this port. */
        port: portSchema.optional(),
    }).default({ protocol: "vxlan" }),
    /** Hubble and Hubble Relay, TLS from the chart's cronJob method (no churn on every `pulumi up`). In aws, TCP 4244 is opened between nodes. */
    hubble: z.boolean({ error: "must be true or false" }).default(true),
    /**
     * Limit CiliumLocalRedirectPolicy address matchers to the external IPs of the hairpin endpoints
     * in mode cilium-lrp (`localRedirectPolicies.addressMatcherCIDRs`, chart 1.18+). Default: on
     * for 1.18+ (in aws, the ingress NLB's Elastic IPs are added).
     */
    restrictLrpAddresses: z.boolean({ error: "must be true or false" }).optional(),
    /**
     * `bpf.disableExternalIPMitigation`. Default: true exactly when a hairpin endpoint uses mode
     * service-external-ips (Cilium's kube-proxy replacement ignores Service externalIPs in-cluster
     * otherwise). Setting it false while such an endpoint exists is a contradiction and rejected.
     */
    allowServiceExternalIps: z.boolean({ error: "must be true or false" }).optional(),
});

export type CiliumSection = z.output<typeof ciliumSectionSchema>;

/** What the stack deploys or outputs for Cilium. Plain data. */
export interface CiliumSpec {
    /** Whether the program installs Cilium (existing clusters: `install`; aws: always, by EksCluster). */
    install: boolean;
    namespace: string;
    chartVersion: string;
    /** The chart to install (a local path or a name in `repository`); default cilium from helm.cilium.io. */
    chart?: string;
    repository?: string;
    /** Existing clusters only (EKS's endpoint is used in aws). */
    k8sServiceHost?: string;
    k8sServicePort?: number;
    tunnel: { protocol: "vxlan" | "geneve"; port?: number };
    hubble: boolean;
    localRedirectPolicies: boolean;
    /** The LRP address allow-list from the stack's own endpoints (aws adds the NLB's EIPs at deploy time). */
    lrpAddressMatcherIps?: string[];
    allowServiceExternalIps: boolean;
    /** Whether LRP addresses are limited to an allow-list (chart 1.18+ and `restrictLrpAddresses` not false). */
    lrpAllowList: boolean;
}

export const CILIUM_HOST_REQUIRED = "required for an existing cluster: the API server's address as the nodes reach it (kubespray: the first control-plane node); kube-proxy replacement needs it";

/** Whether a chart version has the LRP address allow-list (localRedirectPolicies.addressMatcherCIDRs, 1.18+). */
export function hasLrpAllowList(chartVersion: string): boolean {
    try {
        return ciliumValueNames(chartVersion).addressMatcherCIDRs !== undefined;
    } catch {
        return false;
    }
}

/**
 * The Cilium block of a stack, with everything derived from the hairpin endpoints, and the rules
 * between Cilium, the cluster and the hairpin endpoints. `section` is undefined when the stack
 * has no `directpath:cilium` (an existing cluster then gets no Cilium values; aws uses the
 * defaults). Paths are full config keys.
 */
export function resolveCilium(
    section: CiliumSection | undefined,
    raw: Record<string, unknown> | undefined,
    environment: "local" | "aws",
    cluster: ClusterSection,
    hairpin: HairpinSpec | undefined,
): { cilium?: CiliumSpec; problems: Problem[] } {
    const problems: Problem[] = [];
    const endpoints = hairpin?.endpoints ?? [];
    const modes = endpoints.map((e, i) => ({ e, i, mode: e.mode ?? hairpin!.defaultMode, explicit: e.mode !== undefined }));

    for (const { e, i, mode, explicit } of modes) {
        const modePath = explicit ? key(`hairpin.endpoints[${i}].mode`) : key("hairpin.defaultMode");
        if (mode === "cilium-lrp" && cluster.cni !== "cilium") {
            problems.push({ path: modePath, value: mode, rule: `endpoint '${e.name}' uses mode 'cilium-lrp', but directpath:cluster.cni is '${cluster.cni}': Local Redirect Policies need Cilium; use mode 'iptables' or 'service-external-ips'` });
        }
        if (mode === "service-external-ips" && cluster.cni === "cilium" && section?.allowServiceExternalIps === false) {
            problems.push({
                path: key("cilium.allowServiceExternalIps"),
                value: false,
                rule: `endpoint '${e.name}' uses mode 'service-external-ips', which Cilium's kube-proxy replacement only serves in-cluster with bpf.disableExternalIPMitigation: true; remove this setting (it defaults to true then) or change the endpoint's mode`,
            });
        }
    }
    if (!section && environment === "local") return { problems };
    const c = section ?? ciliumSectionSchema.parse({});
    const has = (k: string) => raw !== undefined && raw[k] !== undefined;

    const allowList = hasLrpAllowList(c.chartVersion);
    if (c.restrictLrpAddresses === true && !allowList) {
        problems.push({ path: key("cilium.restrictLrpAddresses"), value: true, rule: `needs chart 1.18 or later (localRedirectPolicies.addressMatcherCIDRs); chartVersion is ${c.chartVersion}` });
    }
    if (environment === "local") {
        if (c.k8sServiceHost === undefined) {
            problems.push({ path: key("cilium.k8sServiceHost"), value: undefined, rule: CILIUM_HOST_REQUIRED });
        }
        for (const field of ["chart", "repository"] as const) {
            if (c[field] !== undefined && c.install !== true) problems.push({ path: key(`cilium.${field}`), value: c[field], rule: "only used when cilium.install is true (the program installs Cilium); set install: true or remove it" });
        }
    } else {
        const awsRule = (field: string, why: string) => problems.push({ path: key(`cilium.${field}`), value: raw?.[field], rule: `is not used by the aws environment: ${why}; remove it` });
        if (c.install === false) problems.push({ path: key("cilium.install"), value: false, rule: "the aws environment always installs Cilium (EKS is created without a CNI, and CoreDNS and every pod wait for it); remove it" });
        if (has("chart")) awsRule("chart", "EksCilium installs the pinned chart from helm.cilium.io");
        if (has("repository")) awsRule("repository", "EksCilium installs the pinned chart from helm.cilium.io");
        if (has("k8sServiceHost")) awsRule("k8sServiceHost", "Cilium reaches the EKS API endpoint, which EksCluster fills in");
        if (has("k8sServicePort")) awsRule("k8sServicePort", "the EKS API endpoint listens on 443");
        if (c.namespace !== "kube-system") problems.push({ path: key("cilium.namespace"), value: c.namespace, rule: "must be kube-system in the aws environment (EksCluster installs Cilium there)" });
        if (c.tunnel.protocol !== "vxlan") problems.push({ path: key("cilium.tunnel.protocol"), value: c.tunnel.protocol, rule: "must be vxlan in the aws environment (EksCluster runs Cilium's VXLAN overlay and the node security group opens its UDP port)" });
    }

    const lrpIps = [...new Set(modes.filter((m) => m.mode === "cilium-lrp").flatMap((m) => m.e.externalIps))];
    const restrict = (c.restrictLrpAddresses ?? true) && allowList;
    return {
        problems,
        cilium: {
            install: environment === "aws" ? true : (c.install ?? false),
            namespace: c.namespace,
            chartVersion: c.chartVersion,
            ...(c.chart !== undefined ? { chart: c.chart } : {}),
            ...(c.repository !== undefined ? { repository: c.repository } : {}),
            ...(environment === "local" ? { k8sServiceHost: c.k8sServiceHost, k8sServicePort: c.k8sServicePort } : {}),
            tunnel: { protocol: c.tunnel.protocol, port: c.tunnel.port },
            hubble: c.hubble,
            localRedirectPolicies: true,
            lrpAddressMatcherIps: restrict && lrpIps.length > 0 ? lrpIps : undefined,
            allowServiceExternalIps: c.allowServiceExternalIps ?? modes.some((m) => m.mode === "service-external-ips"),
            lrpAllowList: restrict,
        },
    };
}
