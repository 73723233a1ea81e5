import { HairpinBypass } from "../../components/hairpin";
import type { CiliumHandle, ClusterHandle, StepResult } from "../handles";
import type { HairpinEndpointSpec, HairpinSpec } from "./hairpin";

/**
 * Deploys HairpinBypass (when the stack turns it on) with the cluster's provider; everything it
 * takes was resolved already (program/resolve.ts). Local Redirect Policies wait for Cilium when
 * this stack installs it.
 */
/** The HairpinBypass component's name in the default program. */
export function hairpinName(clusterName: string): string {
    return `${clusterName}-hairpin`;
}

/** HairpinBypass's args for the resolved section, with the environment's external IPs filled in. */
export function hairpinArgs(spec: HairpinSpec, cluster: Pick<ClusterHandle, "externalEndpoints">) {
    return { ...spec, endpoints: spec.endpoints.map((e) => withExternalIps(e, cluster)) };
}

export function deployHairpin(spec: HairpinSpec | undefined, clusterName: string, cluster: ClusterHandle, cilium: CiliumHandle): StepResult {
    if (!spec) return { firewallRules: [], outputs: {} };
    const hairpin = new HairpinBypass(hairpinName(clusterName), hairpinArgs(spec, cluster), {
        provider: cluster.provider,
        dependsOn: cilium.release ? [cilium.release] : [],
    });
    return {
        firewallRules: [],
        outputs: {
            hairpinModes: hairpin.redirect.modes,
            hairpinLocalRedirectPolicies: hairpin.redirect.localRedirectPolicies,
            hairpinExternalIpServices: hairpin.redirect.externalIpServices,
            ...(hairpin.redirect.iptables ? { hairpinIptables: hairpin.redirect.iptables } : {}),
            hairpinDns: hairpin.dns,
        },
    };
}

/**
 * An endpoint with its external IPs filled in: as resolved, or, for `externalIpsFrom:
 * environment`, the environment's addresses (the AWS ingress NLB's Elastic IPs, as Outputs: the
 * redirect frontends and DNS overrides then name the real external IPs with no copy-paste).
 */
function withExternalIps(e: HairpinEndpointSpec, cluster: Pick<ClusterHandle, "externalEndpoints">) {
    const { externalIpsFrom, externalIps, ...rest } = e;
    if (externalIpsFrom === undefined) return { ...rest, externalIps };
    const env = cluster.externalEndpoints;
    // The resolver makes this unreachable for valid stacks.
    if (!env || env.ips.length === 0) {
        throw new Error(`directpath: hairpin endpoint '${e.name}' takes its external IPs from the environment, but the environment provides none`);
    }
    return { ...rest, externalIps: [...env.ips] };
}
