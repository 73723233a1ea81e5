/**
 * HairpinBypass: keeps traffic that pods, host-network pods and the kubelet send to the cluster's
 * own external IPs inside the cluster, so hairpin NAT (a router that DNATs without SNAT) can't
 * break it. Two halves over one endpoint model:
 * - redirect (./redirect.ts): Cilium LocalRedirectPolicy, Service externalIPs, or node iptables;
 * - DNS (./dns.ts): CoreDNS and NodeLocal DNSCache overrides, node /etc/hosts entries.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseOrThrow } from "../common/errors";
import { hairpinArgsSchema, hairpinCrossChecks, type HairpinArgsInput, type ParsedHairpinArgs } from "./args";
import { deployDns, eksAddonCorefileOutput, type DnsOutputs } from "./dns";
import { deployRedirect, type RedirectOutputs } from "./redirect";

export * from "./model";
export { hairpinArgsSchema, hairpinWarnings, type HairpinArgsInput, type ParsedHairpinArgs } from "./args";
export { clusterAddressesSchema, EXTERNAL_IP_POLICY, INTERNAL_ADDRESS_POLICY, type ClusterAddresses } from "./addresses";
export {
    DEFAULT_IPTABLES_IMAGE,
    isCoveredByRedirect,
    lrpCoversHost,
    rawRedirectCoverage,
    redirectCoverage,
    redirectOptionsSchema,
    type RedirectCoverage,
    type RedirectOptions,
} from "./redirect-args";
export { renderLrps, lrpKey, lrpName, type LrpObject } from "./lrp";
export { renderExternalIpsService, renderExternalIpsPatch } from "./external-ips";
export { iptablesRules, renderRulesConf, renderIptablesDaemonSet, iptablesEnv, IPTABLES_CHAIN } from "./iptables";
export { hairpinRedirectScript, type RedirectOutputs } from "./redirect";
// The DNS half's pure renderers (requested by its author, /work/notes/hairpin-dns-requests.md).
export { renderOverrideServerBlock, mergeCorefile, stripRegions } from "./corefile";
export { renderNodeLocalBlocks, kubesprayExternalZonesYaml } from "./nodelocaldns";
export { renderHostsEntries, hostsDaemonSet, hostsConfigMap } from "./hosts";
export { planDns, type DnsPlan, type HostnameAnswer } from "./dns-plan";
export { dnsOptionsSchema, type DnsOptions } from "./dns-args";
export { eksAddonCorefile } from "./eks-corefile";
export { type DnsOutputs } from "./dns";

/** Arguments of {@link HairpinBypass}. Plain data, validated as a whole before anything is registered. */
export type HairpinBypassArgs = HairpinArgsInput;

/** Validates HairpinBypass args, collecting every problem; throws a ValidationError. Pure. */
export function validateHairpinArgs(args: HairpinBypassArgs): ParsedHairpinArgs {
    return parseOrThrow("HairpinBypass args", hairpinArgsSchema, args, { crossChecks: hairpinCrossChecks });
}

/**
 * `eks-addon` delivery: the Corefile for EKS's CoreDNS add-on (`EksCilium`'s `coreDnsCorefile`)
 * that `new HairpinBypass(name, args)` would deliver; validates the args. "" with nothing to override.
 */
export function hairpinEksAddonCorefile(name: string, args: HairpinBypassArgs): pulumi.Output<string> {
    return eksAddonCorefileOutput(name, validateHairpinArgs(args));
}

/**
 * Keeps hairpin traffic (pods, host-network pods and the kubelet reaching the cluster's own external
 * IPs) inside the cluster. Construct it with the cluster's Kubernetes provider:
 *
 * @example
 * new HairpinBypass("hairpin", {
 *     endpoints: [{
 *         name: "registry", hostnames: ["registry.example.com"], externalIps: ["169.233.100.10"],
 *         ports: [{ port: 443, targetPort: 8443 }],
 *         backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
 *     }],
 * }, { provider: k8sProvider });
 *
 * Throws a ValidationError listing every problem, before registering anything, when the args are
 * invalid. Entries of `externalIps`/`hostnames` that are Outputs are checked when they resolve.
 */
export class HairpinBypass extends pulumi.ComponentResource {
    /** Outputs of the redirect half. */
    readonly redirect: RedirectOutputs;
    /** Outputs of the DNS half. */
    readonly dns: DnsOutputs;

    constructor(name: string, args: HairpinBypassArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const parsed = validateHairpinArgs(args);
        super("directpath:hairpin:HairpinBypass", name, {}, opts);
        this.redirect = deployRedirect(this, name, parsed);
        this.dns = deployDns(this, name, parsed);
        this.registerOutputs({ redirect: this.redirect, dns: this.dns });
    }
}
