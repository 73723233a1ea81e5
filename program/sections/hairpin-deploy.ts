import { HairpinBypass } from "../../components/hairpin";
import type { ProgramContext } from "../context";
import type { SectionEndpoint } from "./hairpin";

const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/**
 * Deploys HairpinBypass when `hairpin.enabled` is true, with the cluster's Kubernetes provider.
 * Both halves inherit `cluster.clusterDomain`: the iptables mode unless
 * `hairpin.redirect.iptables.clusterDomain` is set, the DNS half while `hairpin.dns.clusterDomain`
 * is left at its default. Local Redirect Policies wait for Cilium when this stack installs it.
 */
export function deployHairpin(ctx: ProgramContext): void {
    const section = ctx.config.hairpin;
    if (!section?.enabled) return;
    const { enabled: _enabled, ...args } = section;
    const redirect = {
        ...args.redirect,
        iptables: { ...args.redirect.iptables, clusterDomain: args.redirect.iptables.clusterDomain ?? ctx.config.cluster.clusterDomain },
    };
    const clusterDomain = ctx.config.cluster.clusterDomain;
    // The parsed value always holds a domain; its default stands for "not set" here.
    const dns = args.dns.clusterDomain === DEFAULT_CLUSTER_DOMAIN ? { ...args.dns, clusterDomain } : args.dns;
    const endpoints = args.endpoints.map((e) => withExternalIps(e, ctx));
    const hairpin = new HairpinBypass(`${ctx.config.cluster.name}-hairpin`, { ...args, endpoints, redirect, dns }, {
        provider: ctx.k8sProvider,
        dependsOn: ctx.ciliumRelease ? [ctx.ciliumRelease] : [],
    });
    ctx.outputs.hairpinModes = hairpin.redirect.modes;
    ctx.outputs.hairpinLocalRedirectPolicies = hairpin.redirect.localRedirectPolicies;
    ctx.outputs.hairpinExternalIpServices = hairpin.redirect.externalIpServices;
    if (hairpin.redirect.iptables) ctx.outputs.hairpinIptables = hairpin.redirect.iptables;
    ctx.outputs.hairpinDns = hairpin.dns;
}

/**
 * An endpoint with its external IPs filled in: as listed, or, for `externalIpsFrom: environment`,
 * the environment's addresses (the AWS ingress NLB's Elastic IPs, as Outputs: the redirect
 * frontends and DNS overrides then name the real external IPs with no copy-paste).
 */
function withExternalIps(e: SectionEndpoint, ctx: ProgramContext) {
    const { externalIpsFrom, externalIps, ...rest } = e;
    if (externalIpsFrom === undefined) return { ...rest, externalIps: externalIps ?? [] };
    const env = ctx.externalEndpoints;
    // The config check (hairpinEnvironmentChecks) makes this unreachable for valid stacks.
    if (!env || env.ips.length === 0) {
        throw new Error(`directpath: hairpin endpoint '${e.name}' takes its external IPs from the environment, but the environment provides none`);
    }
    return { ...rest, externalIps: [...env.ips] };
}
