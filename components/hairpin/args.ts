/**
 * HairpinBypass arguments: the endpoint model plus the options of each half. One schema, used by
 * the component and by the default program's `directpath:hairpin` config section.
 */
import { z } from "zod";
import type { Problem } from "../common/errors";
import { addressContext, clusterAddressesSchema, endpointAddressChecks } from "./addresses";
import { dnsCrossChecks, dnsOptionsSchema } from "./dns-args";
import { endpointCrossChecks, endpointSchema, HAIRPIN_MODES } from "./model";
import { redirectCrossChecks, redirectOptionsSchema } from "./redirect-args";

export const hairpinArgsSchema = z.strictObject({
    /** The mode for endpoints that don't set their own. */
    defaultMode: z.enum(HAIRPIN_MODES, { error: `must be one of ${HAIRPIN_MODES.join(", ")}` }).default("cilium-lrp"),
    endpoints: z.array(endpointSchema).min(1, { error: "must declare at least one endpoint" }),
    /** Options of the redirect half (Cilium LRP, Service externalIPs, iptables). */
    redirect: redirectOptionsSchema.default(redirectOptionsSchema.parse({})),
    /** Options of the DNS half (CoreDNS, NodeLocal DNSCache, node /etc/hosts). */
    dns: dnsOptionsSchema.default(dnsOptionsSchema.parse({})),
    /**
     * The cluster's own addresses (pod and Service CIDRs, node internal IPs). Optional; given, an
     * external IP inside them is refused (a redirect for it would capture the cluster's own
     * traffic on every node). The default program fills it from `directpath:cluster`.
     */
    cluster: clusterAddressesSchema.optional(),
});

export type HairpinArgsInput = z.input<typeof hairpinArgsSchema>;
export type ParsedHairpinArgs = z.output<typeof hairpinArgsSchema>;

/** Every cross-field rule of both halves. Paths are relative to the args object. */
export function hairpinCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const defaultMode = r.defaultMode ?? "cilium-lrp";
    return [
        ...endpointCrossChecks(r.endpoints, defaultMode),
        ...endpointAddressChecks(r.endpoints, addressContext(r.cluster)).problems,
        ...redirectCrossChecks(r),
        ...dnsCrossChecks(r),
    ];
}

/** What looks wrong but can still work (a documentation address, say). Paths are relative to the args. */
export function hairpinWarnings(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    return endpointAddressChecks(r.endpoints, addressContext(r.cluster)).warnings;
}
