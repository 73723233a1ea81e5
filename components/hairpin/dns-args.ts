/** Options of HairpinBypass's DNS half. */
import { z } from "zod";
import type { Problem } from "../common/errors";

export const dnsOptionsSchema = z.strictObject({});

export type DnsOptions = z.output<typeof dnsOptionsSchema>;

/** Cross-field rules of the DNS half, on the raw HairpinBypass args. */
export function dnsCrossChecks(_raw: Record<string, unknown>): Problem[] {
    return [];
}
