/**
 * `directpath:tailscale`: TailscaleDirect's settings. The auth key or API key are separate secret
 * keys (`directpath:tailscaleAuthKey`, `directpath:tailscaleApiKey`).
 */
import { z } from "zod";

// Placeholder until the TailscaleDirect component lands: only `enabled` is understood.
export const tailscaleSectionSchema = z.strictObject({
    enabled: z.boolean().default(false),
});

export type TailscaleSection = z.output<typeof tailscaleSectionSchema>;
