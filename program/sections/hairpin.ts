/**
 * `directpath:hairpin`: HairpinBypass's settings. The same schema as the component's args (see
 * components/hairpin/args.ts), plus `enabled`, plus what only a stack can say:
 * - an endpoint's external IPs may come from the environment (`externalIpsFrom: environment`: the
 *   AWS ingress NLB's Elastic IPs, which exist only after deployment and flow into HairpinBypass
 *   as Outputs);
 * - values the cluster already states are derived, and an explicit value always wins:
 *   `externalIps` and `internalAddress` from `directpath:cluster.nodes`, the cluster domain of
 *   both halves from `directpath:cluster.clusterDomain`, NodeLocal DNSCache's upstream
 *   (`dns.nodeLocalDns.corednsAddress`) from `directpath:cluster.dnsServiceIp`. Pure.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { hairpinArgsSchema, hairpinCrossChecks, hairpinWarnings, type ParsedHairpinArgs } from "../../components/hairpin/args";
import type { ClusterAddresses } from "../../components/hairpin/addresses";
import { dnsOptionsSchema } from "../../components/hairpin/dns-args";
import { endpointSchema, ipInputSchema, type Endpoint } from "../../components/hairpin/model";
import { key, under } from "../keys";
import type { ClusterSection } from "./cluster";

/** Where an endpoint's external IPs come from, when not listed. */
export const EXTERNAL_IPS_SOURCES = ["environment"] as const;

export const sectionEndpointSchema = endpointSchema.extend({
    /** Listed external IPs; leave out when `externalIpsFrom` is set, or to take them from `cluster.nodes`. */
    externalIps: z.array(ipInputSchema).min(1, { error: "must list at least one external IP (or set externalIpsFrom: environment)" }).optional(),
    /**
     * `environment`: the environment's own external addresses (in `aws`: one Elastic IP per public
     * subnet of the ingress NLB). Their values are known only after deployment; the plan shows them
     * as [computed].
     */
    externalIpsFrom: z.enum(EXTERNAL_IPS_SOURCES, { error: `must be one of ${EXTERNAL_IPS_SOURCES.join(", ")}` }).optional(),
});

/** The DNS half's options, with the cluster domain left unset unless written (it is inherited then). */
const sectionDnsSchema = dnsOptionsSchema.extend({ clusterDomain: dnsOptionsSchema.shape.clusterDomain.removeDefault().optional() });

export const hairpinSectionSchema = hairpinArgsSchema.omit({ cluster: true }).extend({
    enabled: z.boolean().default(false),
    endpoints: z.array(sectionEndpointSchema).min(1, { error: "must declare at least one endpoint" }),
    dns: sectionDnsSchema.default(sectionDnsSchema.parse({})),
});

export type HairpinSection = z.output<typeof hairpinSectionSchema>;
export type SectionEndpoint = z.output<typeof sectionEndpointSchema>;

/** One endpoint as it will be deployed: external IPs listed (strings), or to be taken from the environment. */
export type HairpinEndpointSpec = Omit<Endpoint, "externalIps"> & { externalIps: string[]; externalIpsFrom?: (typeof EXTERNAL_IPS_SOURCES)[number] };

/** HairpinBypass's args as the stack will deploy them (every default and derivation applied). Plain data. */
export type HairpinSpec = Omit<ParsedHairpinArgs, "endpoints"> & { endpoints: HairpinEndpointSpec[] };

/** What the environment offers endpoints with `externalIpsFrom: environment`. */
export interface ExternalAddressSource {
    /** The ingress NLB's listener ports, when the environment has one. */
    listenerPorts?: number[];
}

export interface HairpinResolution {
    hairpin?: HairpinSpec;
    problems: Problem[];
    warnings: Problem[];
    /** Derived values: config key -> where the value came from. */
    derived: Record<string, string>;
}

/** The section resolved against the cluster and the environment; `hairpin` is set when the section is enabled. */
export function resolveHairpin(section: HairpinSection, cluster: ClusterSection | undefined, env: { environment: string; externalAddresses?: ExternalAddressSource }): HairpinResolution {
    const problems: Problem[] = [];
    const warnings: Problem[] = [];
    const derived: Record<string, string> = {};
    const nodes = cluster?.nodes ?? [];
    const nodeIndex = (field: "internalIp" | "externalIp", ip: string) => nodes.findIndex((n) => n[field] === ip);
    const nodeRef = (i: number, field: string) => `directpath:cluster.nodes[${i}].${field} (node '${nodes[i]!.name}')`;

    const endpoints: HairpinEndpointSpec[] = section.endpoints.map((e, i) => {
        const at = `hairpin.endpoints[${i}]`;
        const { externalIpsFrom, externalIps: listed, ...rest } = e;
        const fixed = e.internalAddress ?? ("address" in e.backend ? e.backend.address.ip : undefined);
        let externalIps = (listed ?? []).filter((ip): ip is string => typeof ip === "string");

        if (listed !== undefined && externalIpsFrom !== undefined) {
            problems.push({ path: key(`${at}.externalIpsFrom`), value: externalIpsFrom, rule: "set either externalIps or externalIpsFrom, not both" });
        } else if (listed === undefined && externalIpsFrom === undefined) {
            const n = fixed !== undefined ? nodeIndex("internalIp", fixed) : -1;
            if (n !== -1 && nodes[n]!.externalIp !== undefined) {
                externalIps = [nodes[n]!.externalIp!];
                derived[key(`${at}.externalIps`)] = `${key(`cluster.nodes[${n}].externalIp`)} (the node at ${e.internalAddress !== undefined ? "internalAddress" : "the address backend's IP"} ${fixed})`;
            } else {
                problems.push({
                    path: key(`${at}.externalIps`),
                    value: undefined,
                    rule: "required: list the external IPs, or set externalIpsFrom: environment" +
                        (fixed !== undefined ? `, or declare the node at ${fixed} with its externalIp in directpath:cluster.nodes (it is derived from there)` : ""),
                });
            }
        }

        let internalAddress = e.internalAddress;
        if (internalAddress === undefined && !("address" in e.backend) && externalIps.length > 0) {
            const owners = externalIps.map((ip) => nodeIndex("externalIp", ip));
            const internal = new Set(owners.map((o) => (o === -1 ? undefined : nodes[o]!.internalIp)));
            if (!owners.includes(-1) && internal.size === 1) {
                internalAddress = [...internal][0]!;
                derived[key(`${at}.internalAddress`)] = `${key(`cluster.nodes[${owners[0]}].internalIp`)} (the node the router DNATs ${externalIps.join(", ")} to)`;
            }
        }

        // Addresses against the declared nodes.
        if (nodes.length > 0) {
            if (listed !== undefined) {
                listed.forEach((ip, k) => {
                    if (typeof ip !== "string") return;
                    // A node's internalIp is refused by the component's address rules (cluster.nodeInternalIps).
                    if (nodeIndex("internalIp", ip) === -1 && nodeIndex("externalIp", ip) === -1) {
                        warnings.push({ path: key(`${at}.externalIps[${k}]`), value: ip, rule: "matches no node's externalIp in directpath:cluster.nodes; fine if it is a router or load-balancer address, otherwise check it for a typo" });
                    }
                });
            }
            if (e.internalAddress !== undefined) {
                const asExternal = nodeIndex("externalIp", e.internalAddress);
                const asInternal = nodeIndex("internalIp", e.internalAddress);
                if (asExternal !== -1) {
                    problems.push({ path: key(`${at}.internalAddress`), value: e.internalAddress, rule: `is ${nodeRef(asExternal, "externalIp")}: the DNS overrides would answer with the external address and the hairpin would stay; use the address the router DNATs to (that node's internalIp ${nodes[asExternal]!.internalIp})` });
                } else if (asInternal === -1) {
                    warnings.push({ path: key(`${at}.internalAddress`), value: e.internalAddress, rule: "matches no node's internalIp in directpath:cluster.nodes; fine if the router DNATs to another host, otherwise check it for a typo" });
                } else {
                    const owners = externalIps.map((ip) => nodeIndex("externalIp", ip)).filter((o) => o !== -1 && o !== asInternal);
                    if (owners.length > 0) {
                        warnings.push({ path: key(`${at}.internalAddress`), value: e.internalAddress, rule: `is node '${nodes[asInternal]!.name}', but directpath:cluster.nodes says the router DNATs ${externalIps.filter((ip) => nodeIndex("externalIp", ip) !== asInternal).join(", ")} to ${owners.map((o) => `'${nodes[o]!.name}' (${nodes[o]!.internalIp})`).join(", ")}` });
                    }
                }
            }
        }

        // External addresses from the environment.
        if (externalIpsFrom === "environment") {
            const ports = env.externalAddresses?.listenerPorts;
            if (ports === undefined) {
                problems.push({
                    path: key(`${at}.externalIpsFrom`),
                    value: "environment",
                    rule: `this environment has no external addresses to take: it needs directpath:environment 'aws' with directpath:aws.ingressNlb.enabled true (environment is '${env.environment}')`,
                });
            } else {
                e.ports.forEach((p, j) => {
                    if (!ports.includes(p.port)) {
                        problems.push({
                            path: key(`${at}.ports[${j}].port`),
                            value: p.port,
                            rule: `the environment's addresses only carry the ingress NLB's listener ports (${ports.join(", ") || "none"}); add a listener for ${p.port} under directpath:aws.ingressNlb.listeners`,
                        });
                    }
                });
            }
        }

        return { ...rest, externalIps, ...(internalAddress !== undefined ? { internalAddress } : {}), ...(externalIpsFrom !== undefined ? { externalIpsFrom } : {}) };
    });

    // Inherited from the cluster unless written here.
    const clusterDomain = cluster?.clusterDomain;
    const dnsDomain = section.dns.clusterDomain ?? clusterDomain;
    if (section.dns.clusterDomain === undefined && clusterDomain !== undefined) derived[key("hairpin.dns.clusterDomain")] = key("cluster.clusterDomain");
    const iptablesDomain = section.redirect.iptables.clusterDomain ?? clusterDomain;
    if (section.redirect.iptables.clusterDomain === undefined && clusterDomain !== undefined) derived[key("hairpin.redirect.iptables.clusterDomain")] = key("cluster.clusterDomain");
    const corednsAddress = section.dns.nodeLocalDns.corednsAddress ?? cluster?.dnsServiceIp;
    if (section.dns.nodeLocalDns.corednsAddress === undefined && cluster?.dnsServiceIp !== undefined) derived[key("hairpin.dns.nodeLocalDns.corednsAddress")] = key("cluster.dnsServiceIp");

    const { enabled, ...args } = section;
    const spec: HairpinSpec = {
        ...args,
        endpoints,
        ...(cluster ? { cluster: clusterAddresses(cluster) } : {}),
        redirect: { ...args.redirect, iptables: { ...args.redirect.iptables, ...(iptablesDomain !== undefined ? { clusterDomain: iptablesDomain } : {}) } },
        dns: {
            ...args.dns,
            clusterDomain: dnsDomain ?? dnsOptionsSchema.parse({}).clusterDomain,
            nodeLocalDns: { ...args.dns.nodeLocalDns, ...(corednsAddress !== undefined ? { corednsAddress } : {}) },
        },
    };

    // The component's own rules, on what will be deployed (endpoints from the environment have no
    // addresses yet: the component checks those when they resolve).
    const forChecks = { ...spec, endpoints: spec.endpoints.map(({ externalIpsFrom, ...e }) => (externalIpsFrom !== undefined ? { ...e, externalIps: undefined } : e)) };
    warnings.push(...under("hairpin", hairpinWarnings(forChecks)).map((w) => ({ ...w, rule: clusterKeys(w.rule, nodes) })));
    for (const p0 of under("hairpin", hairpinCrossChecks(forChecks))) {
        const p = { ...p0, rule: clusterKeys(p0.rule, nodes) };
        if (p.path === key("hairpin.dns.nodeLocalDns.corednsAddress") && p.value === undefined) {
            problems.push({ ...p, rule: `${p.rule}; or set directpath:cluster.dnsServiceIp, which it is derived from` });
        } else problems.push(p);
    }
    // No cascade: an internalAddress that would have been derived from an external IP that is itself
    // refused is not reported missing (fixing the external IP derives it).
    const refusedIps = new Set(problems.filter((p) => /^directpath:hairpin\.endpoints\[\d+\]\.externalIps\[\d+\]$/.test(p.path)).map((p) => p.path.replace(/\.externalIps\[\d+\]$/, "")));
    const kept = problems.filter((p) => !(p.value === undefined && p.path.endsWith(".internalAddress") && refusedIps.has(p.path.replace(/\.internalAddress$/, ""))));
    problems.length = 0;
    problems.push(...kept);
    // A section that is off deploys nothing: its rules still run, but nothing is derived or warned about.
    return enabled ? { hairpin: spec, problems, warnings, derived } : { problems, warnings: [], derived: {} };
}

/** What HairpinBypass's address rules need of the cluster (its `cluster` arg). */
export function clusterAddresses(cluster: ClusterSection): ClusterAddresses {
    return {
        podCidrs: [...cluster.podCidrs],
        serviceCidrs: cluster.serviceCidr !== undefined ? [cluster.serviceCidr] : [],
        nodeInternalIps: cluster.nodes.map((n) => n.internalIp),
    };
}

/** The component's address rules name the cluster's ranges; in a stack, say which keys (and node) they come from. */
function clusterKeys(rule: string, nodes: ClusterSection["nodes"]): string {
    const node = /^is a node's internal address \(([^)]+)\):/.exec(rule);
    const i = node ? nodes.findIndex((n) => n.internalIp === node[1]) : -1;
    if (i !== -1) return rule.replace(node![0], `is ${key(`cluster.nodes[${i}].internalIp`)} (node '${nodes[i]!.name}'), not an external address:`);
    return rule.replace(/^is inside the Service CIDR (\S+):/, `is inside the Service CIDR $1 (${key("cluster.serviceCidr")}):`)
        .replace(/^is inside a pod CIDR (\S+):/, `is inside a pod CIDR $1 (${key("cluster.podCidrs")}):`);
}
