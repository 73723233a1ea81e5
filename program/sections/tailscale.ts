/**
 * `directpath:tailscale`: TailscaleDirect's settings. The same schema as the component's args (see
 * components/tailscale/args.ts), plus `enabled`. The auth key or API key are separate secret keys
 * (`directpath:tailscaleAuthKey`, `directpath:tailscaleApiKey`); config.ts checks that exactly one
 * is set when the section is enabled.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { apiKeyModeProblems, tailscaleArgsSchema, tailscaleCrossChecks } from "../../components/tailscale/args";

export const tailscaleSectionSchema = tailscaleArgsSchema.extend({
    enabled: z.boolean({ error: "must be true or false" }).default(false),
});

export type TailscaleSection = z.output<typeof tailscaleSectionSchema>;

/**
 * Cross-field rules of the section; paths are relative to `tailscale`. `apiKey` says whether the
 * stack sets `directpath:tailscaleApiKey` (then tags are required).
 */
export function tailscaleSectionCrossChecks(raw: unknown, keys: { apiKey: boolean }): Problem[] {
    if (raw === undefined) return [];
    const problems = tailscaleCrossChecks(raw);
    const enabled = typeof raw === "object" && raw !== null && (raw as { enabled?: unknown }).enabled === true;
    if (enabled && keys.apiKey) problems.push(...apiKeyModeProblems(raw));
    return problems;
}
