import { HairpinBypass } from "../../components/hairpin";
import type { ProgramContext } from "../context";

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
    const hairpin = new HairpinBypass(`${ctx.config.cluster.name}-hairpin`, { ...args, redirect, dns }, {
        provider: ctx.k8sProvider,
        dependsOn: ctx.ciliumRelease ? [ctx.ciliumRelease] : [],
    });
    ctx.outputs.hairpinModes = hairpin.redirect.modes;
    ctx.outputs.hairpinLocalRedirectPolicies = hairpin.redirect.localRedirectPolicies;
    ctx.outputs.hairpinExternalIpServices = hairpin.redirect.externalIpServices;
    if (hairpin.redirect.iptables) ctx.outputs.hairpinIptables = hairpin.redirect.iptables;
    ctx.outputs.hairpinDns = hairpin.dns;
}
