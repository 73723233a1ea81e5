/**
 * `directpath:hairpin`: HairpinBypass's settings. The same schema as the component's args (see
 * components/hairpin/args.ts), plus `enabled`.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { hairpinArgsSchema, hairpinCrossChecks } from "../../components/hairpin/args";

export const hairpinSectionSchema = hairpinArgsSchema.extend({
    enabled: z.boolean().default(false),
});

export type HairpinSection = z.output<typeof hairpinSectionSchema>;

/** Cross-field rules of the section; paths are relative to `hairpin`. */
export function hairpinSectionCrossChecks(raw: unknown): Problem[] {
    return hairpinCrossChecks(raw);
}
