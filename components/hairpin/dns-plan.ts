/**
 * Everything the DNS half renders, computed from parsed args whose Inputs are resolved. Pure: the
 * resource wiring (dns.ts) calls it inside `apply`, tests call it directly.
 */
import { ValidationError, type Problem } from "../common/errors";
import type { ParsedHairpinArgs } from "./args";
import { eksAddonCorefile } from "./eks-corefile";
import { mergeCorefile, renderOverrideServerBlock, type CorefileAddressOverride, type CorefileServiceOverride } from "./corefile";
import { dnsAnswerFor, type CoverageContext, type DnsAnswer } from "./dns-targets";
import { lrpCoversHost } from "./redirect-args";
import { renderHostsEntries, type HostsEntry } from "./hosts";
import { kubesprayExternalZonesYaml, renderNodeLocalBlocks } from "./nodelocaldns";
import { plainEndpoint, type ResolvedEndpoint } from "./model";

/** What one hostname answers on each enabled path. */
export interface HostnameAnswer {
    endpoint: string;
    hostname: string;
    /** CoreDNS / NodeLocal DNSCache (when either is on). */
    cluster?: DnsAnswer;
    /** Node /etc/hosts (when on). */
    hosts?: DnsAnswer;
}

export interface DnsPlan {
    answers: HostnameAnswer[];
    /** The CoreDNS override server block ("" when nothing to override or CoreDNS is off). */
    corednsBlock: string;
    /** `corefile` delivery: the full Corefile to write; `eks-addon`: the add-on's `corefile` value (undefined otherwise, or with nothing to override). */
    corednsCorefile?: string;
    /** NodeLocal DNSCache blocks ("" when off). */
    nodeLocalBlocks: string;
    /** `corefile` delivery: the full node-local-dns Corefile. */
    nodeLocalCorefile?: string;
    /** `inventory` delivery: kubespray's `nodelocaldns_external_zones`, as YAML. */
    nodeLocalInventory?: string;
    /** The hosts `entries` file ("" when off). */
    hostsEntries: string;
}

/** The id written into markers and key names: `hairpin-<component name>`. */
export function regionId(componentName: string): string {
    return `hairpin-${componentName.toLowerCase().replace(/[^a-z0-9.-]+/g, "-")}`;
}

export interface PlanOptions {
    /** Whether LRP covers host processes; default: read from the args' redirect options (see dns-targets.ts). */
    lrpCoversHost?: boolean;
}

/**
 * `endpoints` are the args' endpoints with every Input resolved (`resolveEndpoint`); omitted, the
 * args' own endpoints must all be plain.
 */
export function planDns(componentName: string, args: ParsedHairpinArgs, endpoints?: ResolvedEndpoint[], opts: PlanOptions = {}): DnsPlan {
    const eps = endpoints ?? args.endpoints.map((e) => {
        const plain = plainEndpoint(e);
        if (!plain) throw new Error("directpath: planDns needs resolved endpoints when an endpoint has Output entries");
        return plain;
    });
    const dns = args.dns;
    const ctx: CoverageContext = { lrpCoversHost: opts.lrpCoversHost ?? lrpCoversHost(args.redirect), clusterPathServesHost: dns.nodeLocalDns.enabled };
    const clusterOn = dns.coredns.enabled || dns.nodeLocalDns.enabled;
    const problems: Problem[] = [];
    const answers: HostnameAnswer[] = [];
    eps.forEach((e, i) => {
        if (e.hostnames.length === 0) return;
        const cluster = clusterOn ? dnsAnswerFor(e, i, "cluster", args.defaultMode, ctx, dns.clusterDomain) : undefined;
        const hosts = dns.hosts.enabled ? dnsAnswerFor(e, i, "hosts", args.defaultMode, ctx, dns.clusterDomain) : undefined;
        for (const v of [cluster, hosts]) if (v && !v.ok) problems.push(v.problem);
        e.hostnames.forEach((h, k) => {
            if (h === dns.clusterDomain || h.endsWith(`.${dns.clusterDomain}`)) {
                problems.push({ path: `endpoints[${i}].hostnames[${k}]`, value: h, rule: `is inside the cluster domain ${dns.clusterDomain}, which CoreDNS already serves; DNS overrides are for external names` });
            }
        });
        for (const hostname of e.hostnames) {
            answers.push({
                endpoint: e.name,
                hostname,
                ...(cluster?.ok ? { cluster: cluster.answer } : {}),
                ...(hosts?.ok ? { hosts: hosts.answer } : {}),
            });
        }
    });
    // Validation already ran on the raw args; this catches what only resolved Inputs reveal.
    if (problems.length > 0) throw new ValidationError("HairpinBypass args (DNS half, resolved)", problems);

    const id = regionId(componentName);
    const addresses: CorefileAddressOverride[] = [];
    const services: CorefileServiceOverride[] = [];
    for (const a of answers) {
        if (!a.cluster) continue;
        if (a.cluster.kind === "service") services.push({ hostname: a.hostname, target: a.cluster.target });
        else addresses.push({ hostname: a.hostname, addresses: a.cluster.addresses });
    }

    const plan: DnsPlan = { answers, corednsBlock: "", nodeLocalBlocks: "", hostsEntries: "" };
    if (dns.coredns.enabled) {
        plan.corednsBlock = renderOverrideServerBlock({ addresses, services, upstream: dns.coredns.upstream, ttl: dns.coredns.ttl, clusterDomain: dns.clusterDomain });
        if (dns.coredns.delivery === "corefile" && dns.coredns.baseCorefile !== undefined) {
            plan.corednsCorefile = mergeCorefile(dns.coredns.baseCorefile, id, plan.corednsBlock);
        } else if (dns.coredns.delivery === "eks-addon" && answers.some((a) => a.cluster)) {
            plan.corednsCorefile = mergeCorefile(dns.coredns.baseCorefile ?? eksAddonCorefile(dns.clusterDomain), id, plan.corednsBlock);
        }
    }
    const overridden = answers.filter((a) => a.cluster).map((a) => a.hostname);
    if (dns.nodeLocalDns.enabled && overridden.length > 0 && dns.nodeLocalDns.corednsAddress !== undefined) {
        const nl = { hostnames: overridden, corednsAddress: dns.nodeLocalDns.corednsAddress, cache: dns.nodeLocalDns.cache };
        plan.nodeLocalBlocks = renderNodeLocalBlocks({ ...nl, bind: dns.nodeLocalDns.bind, prometheusPort: dns.nodeLocalDns.prometheusPort });
        if (dns.nodeLocalDns.delivery === "corefile" && dns.nodeLocalDns.baseCorefile !== undefined) {
            plan.nodeLocalCorefile = mergeCorefile(dns.nodeLocalDns.baseCorefile, id, plan.nodeLocalBlocks);
        } else if (dns.nodeLocalDns.delivery === "inventory") {
            plan.nodeLocalInventory = kubesprayExternalZonesYaml(nl);
        }
    }
    if (dns.hosts.enabled) {
        const entries: HostsEntry[] = [];
        for (const a of answers) if (a.hosts?.kind === "address") entries.push({ hostname: a.hostname, addresses: a.hosts.addresses });
        plan.hostsEntries = renderHostsEntries(entries);
    }
    return plan;
}
