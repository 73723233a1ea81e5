/** Options of HairpinBypass's redirect half. */
import { z } from "zod";
import type { Problem } from "../common/errors";

export const redirectOptionsSchema = z.strictObject({});

export type RedirectOptions = z.output<typeof redirectOptionsSchema>;

/** Cross-field rules of the redirect half, on the raw HairpinBypass args. */
export function redirectCrossChecks(_raw: Record<string, unknown>): Problem[] {
    return [];
}
