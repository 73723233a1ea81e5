/**
 * `directpath:hairpin`: the HairpinBypass component's settings (the endpoint model lives in
 * components/hairpin/model.ts, shared by the redirect and DNS halves).
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { endpointCrossChecks, endpointSchema, HAIRPIN_MODES } from "../../components/hairpin/model";

export const hairpinSectionSchema = z.strictObject({
    enabled: z.boolean().default(false),
    /** The mode for endpoints that don't set their own. */
    defaultMode: z.enum(HAIRPIN_MODES, { error: `must be one of ${HAIRPIN_MODES.join(", ")}` }).default("cilium-lrp"),
    endpoints: z.array(endpointSchema).default([]),
});

export type HairpinSection = z.output<typeof hairpinSectionSchema>;

/** Cross-field rules of the section; paths are relative to `hairpin`. */
export function hairpinSectionCrossChecks(raw: unknown): Problem[] {
    if (typeof raw !== "object" || raw === null) return [];
    const r = raw as Record<string, unknown>;
    return endpointCrossChecks(r.endpoints, r.defaultMode ?? "cilium-lrp");
}
