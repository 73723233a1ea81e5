/**
 * `directpath:cilium`: the Cilium Helm values directpath needs (components/cilium/values.ts), and
 * whether the default program installs Cilium with them (`install: true`, a CiliumInstall). The
 * values are a stack output either way (`ciliumValues`), to merge into your own Cilium install.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { k8sNameSchema, portSchema } from "../../components/common/net";
import { CILIUM_CHART_VERSION, parseChartVersion, type CiliumValuesOptions } from "../../components/cilium/values";
import { HAIRPIN_MODES, type HairpinMode } from "../../components/hairpin/model";
import type { PlainConfig } from "../config";

export const ciliumSectionSchema = z.strictObject({
    /** Install Cilium with these values (a Helm release). Default false: only the values are output. */
    install: z.boolean({ error: "must be true or false" }).default(false),
    /** The chart version (1.16.0 or later). */
    chartVersion: z
        .string({ error: "must be a chart version as a string, e.g. \"1.19.3\"" })
        .refine((v) => {
            const p = parseChartVersion(v);
            return p !== undefined && (p.major > 1 || (p.major === 1 && p.minor >= 16));
        }, { error: "must be a Cilium chart version X.Y.Z, 1.16.0 or later" })
        .default(CILIUM_CHART_VERSION),
    namespace: k8sNameSchema.default("kube-system"),
    /** The API server's address as the nodes reach it (kubespray: the first control-plane node). */
    k8sServiceHost: z.string({ error: "must be a host name or IP as a string" }).min(1, { error: "must not be empty" }),
    k8sServicePort: portSchema.default(6443),
    tunnel: z.strictObject({
        protocol: z.enum(["vxlan", "geneve"], { error: "must be vxlan or geneve" }).default("vxlan"),
        /** Default 8472 (VXLAN) or 6081 (Geneve). */
        port: portSchema.optional(),
    }).default({ protocol: "vxlan" }),
    /** Hubble and Hubble Relay, TLS from the chart's cronJob method (no churn on every `pulumi up`). */
    hubble: z.boolean({ error: "must be true or false" }).default(true),
    /**
     * Limit CiliumLocalRedirectPolicy address matchers to the external IPs of the hairpin endpoints
     * in mode cilium-lrp (`localRedirectPolicies.addressMatcherCIDRs`, chart 1.18+). Default: on
     * for 1.18+ when there are such endpoints.
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

type Hairpin = NonNullable<PlainConfig["hairpin"]>;

/** Effective modes of the enabled hairpin endpoints (none when hairpin is off). */
function hairpinModes(hairpin: Hairpin | undefined): Array<{ index: number; mode: HairpinMode; explicit: boolean; ips: string[] }> {
    if (!hairpin?.enabled) return [];
    return hairpin.endpoints.map((e, index) => ({
        index,
        mode: e.mode ?? hairpin.defaultMode,
        explicit: e.mode !== undefined,
        ips: (e.externalIps ?? []).filter((ip): ip is string => typeof ip === "string"),
    }));
}

/** The options of `ciliumValues(...)` for a parsed stack config (requires the cilium section). Pure. */
export function ciliumValueOptions(config: Pick<PlainConfig, "cilium" | "hairpin">): CiliumValuesOptions {
    const c = config.cilium;
    if (!c) throw new Error("directpath: ciliumValueOptions needs the directpath:cilium section");
    const modes = hairpinModes(config.hairpin);
    const lrpIps = [...new Set(modes.filter((m) => m.mode === "cilium-lrp").flatMap((m) => m.ips))];
    const v = parseChartVersion(c.chartVersion)!;
    const restrict = c.restrictLrpAddresses ?? (v.major > 1 || v.minor >= 18);
    return {
        chartVersion: c.chartVersion,
        k8sServiceHost: c.k8sServiceHost,
        k8sServicePort: c.k8sServicePort,
        tunnel: { protocol: c.tunnel.protocol, port: c.tunnel.port },
        hubble: c.hubble,
        localRedirectPolicies: true,
        lrpAddressMatcherIps: restrict && lrpIps.length > 0 ? lrpIps : undefined,
        allowServiceExternalIps: c.allowServiceExternalIps ?? modes.some((m) => m.mode === "service-external-ips"),
    };
}

/**
 * Rules between the cilium, hairpin and cluster sections, on the parsed-as-far-as-possible config
 * (`plain` is the raw object; malformed parts are skipped, the schema reports them). Paths are
 * full config keys.
 */
export function ciliumCrossSectionChecks(plain: Record<string, unknown>): Problem[] {
    const problems: Problem[] = [];
    const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
    const hairpin = obj(plain.hairpin);
    const cluster = obj(plain.cluster);
    const cilium = obj(plain.cilium);
    if (!hairpin || hairpin.enabled !== true || !Array.isArray(hairpin.endpoints)) return problems;
    const defaultMode = hairpin.defaultMode === undefined ? "cilium-lrp" : hairpin.defaultMode;
    const cni = cluster?.cni === undefined ? "cilium" : cluster.cni;

    hairpin.endpoints.forEach((raw, i) => {
        const e = obj(raw);
        if (!e) return;
        const mode = e.mode === undefined ? defaultMode : e.mode;
        if (!(HAIRPIN_MODES as readonly unknown[]).includes(mode)) return;
        const modePath = e.mode === undefined ? "directpath:hairpin.defaultMode" : `directpath:hairpin.endpoints[${i}].mode`;
        if (mode === "cilium-lrp" && cni !== "cilium") {
            problems.push({ path: modePath, value: mode, rule: `endpoint '${String(e.name)}' uses mode 'cilium-lrp', but directpath:cluster.cni is '${String(cni)}': Local Redirect Policies need Cilium; use mode 'iptables' or 'service-external-ips'` });
        }
        if (mode === "service-external-ips" && cni === "cilium" && cilium?.allowServiceExternalIps === false) {
            problems.push({
                path: "directpath:cilium.allowServiceExternalIps",
                value: false,
                rule: `endpoint '${String(e.name)}' uses mode 'service-external-ips', which Cilium's kube-proxy replacement only serves in-cluster with bpf.disableExternalIPMitigation: true; remove this setting (it defaults to true then) or change the endpoint's mode`,
            });
        }
    });

    if (cilium && cilium.restrictLrpAddresses === true && typeof cilium.chartVersion === "string") {
        const v = parseChartVersion(cilium.chartVersion);
        if (v && v.major === 1 && v.minor < 18) {
            problems.push({ path: "directpath:cilium.restrictLrpAddresses", value: true, rule: `needs chart 1.18 or later (localRedirectPolicies.addressMatcherCIDRs); chartVersion is ${cilium.chartVersion}` });
        }
    }
    return problems;
}
