/**
 * The ONE definition of the Cilium Helm values that directpath needs. Used by `CiliumInstall`
 * (./index.ts), by the default program's `directpath:cilium` section, and by the AWS (EKS)
 * environment. Merge it into your own Cilium install if you don't let directpath install Cilium.
 *
 * What it turns on, and why:
 * - `kubeProxyReplacement: true` with `k8sServiceHost`/`k8sServicePort` (without kube-proxy the
 *   agent can't reach the API server through the `kubernetes` Service, so it needs the real address);
 * - socket LB (`socketLB.enabled: true`, `socketLB.hostNamespaceOnly: false`): the cgroup BPF hooks
 *   translate the destination at `connect()`/`sendmsg()` time in EVERY network namespace, the host
 *   one included, so host-network pods and the kubelet are redirected by a Local Redirect Policy too
 *   (field report 001). `hostNamespaceOnly: true` would drop pods from socket LB; we pin it to false;
 * - Local Redirect Policies (`localRedirectPolicies.enabled` on chart 1.18+, the deprecated
 *   top-level `localRedirectPolicy` before 1.18), optionally restricted to the declared external
 *   IPs with `localRedirectPolicies.addressMatcherCIDRs` (1.18+ only);
 * - `bpf.disableExternalIPMitigation: true` when Services carry `spec.externalIPs` that must be
 *   short-circuited in-cluster (HairpinBypass mode `service-external-ips`; 1.16+). This re-opens the
 *   CVE-2020-8554 behaviour on purpose: see the README;
 * - the tunnel: `routingMode: tunnel`, `tunnelProtocol: vxlan`, `tunnelPort: 8472` by default (the
 *   port the node security groups must open between nodes);
 * - Hubble on or off. When on, its TLS certificates come from the chart's `cronJob` method (a Job at
 *   install time plus a CronJob, certificates stored in Secrets), NOT from `helm` (the default), which
 *   regenerates every certificate on every render: with Pulumi that is a diff and a rollout on every
 *   `pulumi up`.
 *
 * Value names were checked against the chart sources (install/kubernetes/cilium/values.yaml,
 * values.schema.json and templates/cilium-configmap.yaml) of cilium/cilium v1.16.2, v1.17.6,
 * v1.18.4, v1.19.3 and v1.20.2:
 * - `localRedirectPolicies.{enabled,addressMatcherCIDRs}` exist from 1.18.0 (the config map turns on
 *   `enable-local-redirect-policy` from either key, and renders `lrp-address-matcher-cidrs`);
 *   1.16 and 1.17 only know `localRedirectPolicy: <bool>`.
 * - `bpf.disableExternalIPMitigation` exists from 1.16 (not in 1.15.19's chart): 1.16 is the oldest
 *   line supported here.
 * - `socketLB.hostNamespaceOnly` renders `bpf-lb-sock-hostns-only` in every checked line.
 * - `routingMode`/`tunnelProtocol`/`tunnelPort` replaced `tunnel:` in 1.14; all checked lines have them.
 * - `hubble.tls.auto.method: cronJob` with `hubble.tls.auto.schedule` in every checked line.
 * - `kubeProxyReplacement` must be "true" or "false" (1.14+; string or boolean in the schema).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseOrThrow, type Problem } from "../common/errors";
import { ipFamily, isIP, portSchema } from "../common/net";

/** The chart version directpath pins (checked value names: see the file header). */
export const CILIUM_CHART_VERSION = "1.19.3";
/** Where the chart comes from. */
export const CILIUM_HELM_REPO = "https://helm.cilium.io";
/** The oldest chart line these values support (`bpf.disableExternalIPMitigation` appeared in 1.16). */
export const CILIUM_MIN_CHART_LINE = { major: 1, minor: 16 } as const;
/** The Cilium default VXLAN port: the security groups open it between nodes. */
export const CILIUM_VXLAN_PORT = 8472;
/** The Cilium default Geneve port. */
export const CILIUM_GENEVE_PORT = 6081;

export interface ChartLine {
    major: number;
    minor: number;
    patch: number;
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** Parses `1.19.3` (or `v1.19.3`, or a pre-release `1.19.0-rc.1`) into its numbers; undefined if it isn't one. */
export function parseChartVersion(version: string): ChartLine | undefined {
    const m = VERSION.exec(version);
    if (!m) return undefined;
    return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

function atLeast(v: ChartLine, major: number, minor: number): boolean {
    return v.major > major || (v.major === major && v.minor >= minor);
}

/** Which value names a chart line uses for the settings directpath needs. */
export interface CiliumValueNames {
    /** Dotted path of the LRP switch: `localRedirectPolicies.enabled` (1.18+) or `localRedirectPolicy`. */
    localRedirectPolicy: "localRedirectPolicies.enabled" | "localRedirectPolicy";
    /** Dotted path of the LRP address allow-list, or undefined where the chart has none (before 1.18). */
    addressMatcherCIDRs?: "localRedirectPolicies.addressMatcherCIDRs";
}

/** The value names of a supported chart version. Throws for a version that isn't `X.Y.Z` or is older than 1.16. */
export function ciliumValueNames(chartVersion: string): CiliumValueNames {
    const v = parseChartVersion(chartVersion);
    if (!v || !atLeast(v, CILIUM_MIN_CHART_LINE.major, CILIUM_MIN_CHART_LINE.minor)) {
        throw new Error(`directpath: unsupported Cilium chart version ${JSON.stringify(chartVersion)} (need ${CILIUM_MIN_CHART_LINE.major}.${CILIUM_MIN_CHART_LINE.minor}.0 or later)`);
    }
    return atLeast(v, 1, 18)
        ? { localRedirectPolicy: "localRedirectPolicies.enabled", addressMatcherCIDRs: "localRedirectPolicies.addressMatcherCIDRs" }
        : { localRedirectPolicy: "localRedirectPolicy" };
}

/** Options of {@link ciliumValues}. Plain data and `pulumi.Input`s. */
export interface CiliumValuesOptions {
    /** The chart version the values are for. Default {@link CILIUM_CHART_VERSION}. Must be 1.16.0 or later. */
    chartVersion?: string;
    /**
     * The API server's address as the nodes reach it (no kube-proxy means no `kubernetes` Service
     * until Cilium runs). EKS: the cluster endpoint's host name without `https://`.
     */
    k8sServiceHost: pulumi.Input<string>;
    /** The API server's port. Default 6443 (EKS: 443). */
    k8sServicePort?: pulumi.Input<number>;
    /** Overlay settings. Default `{ protocol: "vxlan", port: 8472 }`. */
    tunnel?: {
        protocol?: "vxlan" | "geneve";
        /** Default 8472 for VXLAN, 6081 for Geneve. */
        port?: number;
    };
    /** Hubble (with relay), certificates from the chart's cronJob method. Default true. */
    hubble?: boolean;
    /** Turn Local Redirect Policies on. Default true. */
    localRedirectPolicies?: boolean;
    /**
     * Chart 1.18+ only: restrict the IPs a CiliumLocalRedirectPolicy `addressMatcher` may use to
     * these addresses (each becomes a /32 or /128 in `localRedirectPolicies.addressMatcherCIDRs`),
     * so no namespace can hijack other addresses with an LRP. Entries may be Outputs (Elastic IPs).
     * An empty list or undefined leaves LRP unrestricted.
     */
    lrpAddressMatcherIps?: pulumi.Input<string>[];
    /**
     * Set `bpf.disableExternalIPMitigation: true`, which Cilium's kube-proxy replacement needs to
     * short-circuit a Service's `spec.externalIPs` in-cluster (HairpinBypass `service-external-ips`).
     * Default false. Re-enables the CVE-2020-8554 behaviour: anyone who may create Services can
     * intercept traffic to any external IP.
     */
    allowServiceExternalIps?: boolean;
    /**
     * Extra values for anything directpath has no opinion on (IPAM, ENI, operator replicas, ...).
     * Deep-merged under directpath's values: where both set a key, directpath's value wins.
     */
    extraValues?: Record<string, unknown>;
}

/** The values directpath renders. Known keys are typed; `extraValues` may add any other. */
export interface CiliumHelmValues {
    kubeProxyReplacement: boolean;
    k8sServiceHost: pulumi.Input<string>;
    k8sServicePort: pulumi.Input<number>;
    routingMode: "tunnel";
    tunnelProtocol: "vxlan" | "geneve";
    tunnelPort: number;
    socketLB: { enabled: true; hostNamespaceOnly: false };
    /** 1.16 and 1.17. */
    localRedirectPolicy?: boolean;
    /** 1.18+. */
    localRedirectPolicies?: { enabled: boolean; addressMatcherCIDRs?: pulumi.Input<string>[] };
    bpf?: { disableExternalIPMitigation: boolean };
    hubble: {
        enabled: boolean;
        relay?: { enabled: boolean };
        tls?: { enabled: true; auto: { enabled: true; method: "cronJob"; schedule: string } };
    };
    [key: string]: unknown;
}

const optionsSchema = z.strictObject({
    chartVersion: z
        .string({ error: "must be a chart version as a string, e.g. \"1.19.3\"" })
        .refine((v) => parseChartVersion(v) !== undefined, { error: "must be a chart version X.Y.Z, e.g. 1.19.3" })
        .refine((v) => {
            const p = parseChartVersion(v);
            return p === undefined || atLeast(p, CILIUM_MIN_CHART_LINE.major, CILIUM_MIN_CHART_LINE.minor);
        }, { error: "must be 1.16.0 or later (older charts lack bpf.disableExternalIPMitigation and the value names checked here)" })
        .optional(),
    k8sServiceHost: z.unknown().refine((v) => v !== undefined && v !== "", { error: "required: the API server's host as the nodes reach it (kube-proxy replacement needs it)" }),
    k8sServicePort: z.unknown().optional(),
    tunnel: z.strictObject({
        protocol: z.enum(["vxlan", "geneve"], { error: "must be vxlan or geneve" }).optional(),
        port: portSchema.optional(),
    }).optional(),
    hubble: z.boolean({ error: "must be true or false" }).optional(),
    localRedirectPolicies: z.boolean({ error: "must be true or false" }).optional(),
    lrpAddressMatcherIps: z.array(z.unknown(), { error: "must be a list of IP addresses" }).optional(),
    allowServiceExternalIps: z.boolean({ error: "must be true or false" }).optional(),
    extraValues: z.record(z.string(), z.unknown(), { error: "must be an object of Helm values" }).optional(),
});

function crossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const o = raw as Record<string, unknown>;
    const problems: Problem[] = [];
    const version = typeof o.chartVersion === "string" ? parseChartVersion(o.chartVersion) : parseChartVersion(CILIUM_CHART_VERSION);
    const ips = Array.isArray(o.lrpAddressMatcherIps) ? o.lrpAddressMatcherIps : [];
    ips.forEach((ip, i) => {
        if (typeof ip === "string" && !isIP(ip)) {
            problems.push({ path: `lrpAddressMatcherIps[${i}]`, value: ip, rule: "must be an IPv4 or IPv6 address (it becomes a /32 or /128 in localRedirectPolicies.addressMatcherCIDRs)" });
        } else if (typeof ip !== "string" && !pulumi.Output.isInstance(ip) && !(ip instanceof Promise)) {
            problems.push({ path: `lrpAddressMatcherIps[${i}]`, value: ip, rule: "must be an IP address (a string or a pulumi.Output<string>)" });
        }
    });
    if (version && ips.length > 0 && !atLeast(version, 1, 18)) {
        problems.push({
            path: "lrpAddressMatcherIps",
            value: ips.filter((ip) => typeof ip === "string"),
            rule: `needs Cilium chart 1.18 or later (localRedirectPolicies.addressMatcherCIDRs); chart ${String(o.chartVersion)} has no such value: drop the list or upgrade`,
        });
    }
    if (ips.length > 0 && o.localRedirectPolicies === false) {
        problems.push({ path: "lrpAddressMatcherIps", value: "(set)", rule: "restricts Local Redirect Policies, but localRedirectPolicies is false" });
    }
    if (typeof o.k8sServicePort === "number" && !portSchema.safeParse(o.k8sServicePort).success) {
        problems.push({ path: "k8sServicePort", value: o.k8sServicePort, rule: "must be a port number 1-65535" });
    }
    return problems;
}

/** The host CIDR (/32 or /128) of an address. */
export function hostCidr(ip: string): string {
    return `${ip}/${ipFamily(ip) === 4 ? 32 : 128}`;
}

/**
 * Recursively merges `overlay` into `base` (plain objects merge key by key; arrays and scalars in
 * `overlay` replace). Neither argument is modified.
 */
export function deepMergeValues<T extends Record<string, unknown>>(base: T, overlay: Record<string, unknown>): T {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(overlay)) {
        const cur = out[k];
        out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMergeValues(cur, v) : v;
    }
    return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * The Cilium Helm values directpath needs, for one chart version. Pure apart from turning Output
 * entries of `lrpAddressMatcherIps` into Outputs of their CIDR (validated when they resolve).
 * Throws a ValidationError (every problem at once) on bad options.
 *
 * @example
 * new k8s.helm.v3.Release("cilium", {
 *     chart: "cilium", version: CILIUM_CHART_VERSION, repositoryOpts: { repo: CILIUM_HELM_REPO },
 *     namespace: "kube-system",
 *     values: ciliumValues({ k8sServiceHost: "192.168.10.100", k8sServicePort: 6443 }),
 * });
 */
export function ciliumValues(options: CiliumValuesOptions): CiliumHelmValues {
    parseOrThrow("Cilium values options", optionsSchema, options, { crossChecks });
    const chartVersion = options.chartVersion ?? CILIUM_CHART_VERSION;
    const names = ciliumValueNames(chartVersion);
    const protocol = options.tunnel?.protocol ?? "vxlan";
    const lrpOn = options.localRedirectPolicies ?? true;
    const hubbleOn = options.hubble ?? true;

    const values: CiliumHelmValues = {
        kubeProxyReplacement: true,
        k8sServiceHost: options.k8sServiceHost,
        k8sServicePort: options.k8sServicePort ?? 6443,
        routingMode: "tunnel",
        tunnelProtocol: protocol,
        tunnelPort: options.tunnel?.port ?? (protocol === "vxlan" ? CILIUM_VXLAN_PORT : CILIUM_GENEVE_PORT),
        socketLB: { enabled: true, hostNamespaceOnly: false },
        hubble: hubbleOn
            ? {
                enabled: true,
                relay: { enabled: true },
                tls: { enabled: true, auto: { enabled: true, method: "cronJob", schedule: "0 0 1 */4 *" } },
            }
            : { enabled: false },
    };

    if (names.localRedirectPolicy === "localRedirectPolicies.enabled") {
        const ips = options.lrpAddressMatcherIps ?? [];
        values.localRedirectPolicies = { enabled: lrpOn };
        if (lrpOn && ips.length > 0) {
            values.localRedirectPolicies.addressMatcherCIDRs = ips.map((ip) =>
                typeof ip === "string" ? hostCidr(ip) : pulumi.output(ip).apply((v) => {
                    if (!isIP(v)) throw new Error(`directpath: Cilium values: lrpAddressMatcherIps entry ${JSON.stringify(v)} is not an IP address`);
                    return hostCidr(v);
                }));
        }
    } else {
        values.localRedirectPolicy = lrpOn;
    }
    if (options.allowServiceExternalIps) values.bpf = { disableExternalIPMitigation: true };

    return options.extraValues ? deepMergeValues(options.extraValues as CiliumHelmValues, stripUndefined(values)) : values;
}

function stripUndefined(v: CiliumHelmValues): Record<string, unknown> {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
}
