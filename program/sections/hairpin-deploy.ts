import { HairpinBypass } from "../../components/hairpin";
import type { ProgramContext } from "../context";

/**
 * Deploys HairpinBypass when `hairpin.enabled` is true, with the cluster's Kubernetes provider. The
 * iptables mode inherits `cluster.clusterDomain` unless `hairpin.redirect.iptables.clusterDomain`
 * says otherwise; Local Redirect Policies wait for Cilium when this stack installs it.
 */
export function deployHairpin(ctx: ProgramContext): void {
    const section = ctx.config.hairpin;
    if (!section?.enabled) return;
    const { enabled: _enabled, ...args } = section;
    const redirect = {
        ...args.redirect,
        iptables: { ...args.redirect.iptables, clusterDomain: args.redirect.iptables.clusterDomain ?? ctx.config.cluster.clusterDomain },
    };
    const hairpin = new HairpinBypass(`${ctx.config.cluster.name}-hairpin`, { ...args, redirect }, {
        provider: ctx.k8sProvider,
        dependsOn: ctx.ciliumRelease ? [ctx.ciliumRelease] : [],
    });
    ctx.outputs.hairpinModes = hairpin.redirect.modes;
    ctx.outputs.hairpinLocalRedirectPolicies = hairpin.redirect.localRedirectPolicies;
    ctx.outputs.hairpinExternalIpServices = hairpin.redirect.externalIpServices;
    if (hairpin.redirect.iptables) ctx.outputs.hairpinIptables = hairpin.redirect.iptables;
}
