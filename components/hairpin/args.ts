/**
 * HairpinBypass arguments: the endpoint model plus the options of each half. One schema, used by
 * the component and by the default program's `directpath:hairpin` config section.
 */
import { z } from "zod";
import type { Problem } from "../common/errors";
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
});

export type HairpinArgsInput = z.input<typeof hairpinArgsSchema>;
export type ParsedHairpinArgs = z.output<typeof hairpinArgsSchema>;

/** Every cross-field rule of both halves. Paths are relative to the args object. */
export function hairpinCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    const defaultMode = r.defaultMode ?? "cilium-lrp";
    return [...endpointCrossChecks(r.endpoints, defaultMode), ...redirectCrossChecks(r), ...dnsCrossChecks(r)];
}
