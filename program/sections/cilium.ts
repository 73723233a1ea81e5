/** `directpath:cilium`: Cilium settings (the Helm values directpath needs, and an optional install). */
import { z } from "zod";

// Placeholder until the Cilium values land: only `install` is understood.
export const ciliumSectionSchema = z.strictObject({
    install: z.boolean().default(false),
});

export type CiliumSection = z.output<typeof ciliumSectionSchema>;
