/**
 * `directpath:tailscale`: TailscaleDirect's settings. The same schema as the component's args (see
 * components/tailscale/args.ts), plus `enabled`. The auth key or API key are separate secret keys
 * (`directpath:tailscaleAuthKey`, `directpath:tailscaleApiKey`): exactly one is set when the
 * section is enabled. `routes` left out are derived from the cluster's pod and Service CIDRs; an
 * explicit list (even `[]`) wins. Pure.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { apiKeyModeProblems, tailscaleArgsSchema, tailscaleCrossChecks, type TailscaleSettings } from "../../components/tailscale/args";
import { key, under } from "../keys";
import type { ClusterSection } from "./cluster";

export const tailscaleSectionSchema = tailscaleArgsSchema.extend({
    enabled: z.boolean({ error: "must be true or false" }).default(false),
    /** Subnet routes to advertise. Default: the cluster's pod CIDRs and Service CIDR. */
    routes: tailscaleArgsSchema.shape.routes.removeDefault().optional(),
});

export type TailscaleSection = z.output<typeof tailscaleSectionSchema>;

/** TailscaleDirect's settings as deployed, and which secret key authenticates it. Plain data. */
export type TailscaleSpec = TailscaleSettings & { enabled: true; key: "authKey" | "apiKey" };

export function resolveTailscale(
    section: TailscaleSection,
    cluster: ClusterSection | undefined,
    keys: { authKey: boolean; apiKey: boolean },
): { tailscale?: TailscaleSpec; problems: Problem[]; derived: Record<string, string> } {
    const derived: Record<string, string> = {};
    const { enabled, routes: explicitRoutes, ...settings } = section;
    let routes = explicitRoutes;
    if (routes === undefined) {
        routes = [...new Set([...(cluster?.podCidrs ?? []), ...(cluster?.serviceCidr !== undefined ? [cluster.serviceCidr] : [])])];
        derived[key("tailscale.routes")] = `${key("cluster.podCidrs")} + ${key("cluster.serviceCidr")}`;
    }
    const resolved: TailscaleSettings = { ...settings, routes };
    const problems = under("tailscale", tailscaleCrossChecks(resolved));
    if (enabled) problems.push(...tailscaleKeyProblems(keys, resolved));
    if (!enabled) return { problems, derived: {} };
    return { tailscale: { enabled: true, ...resolved, key: keys.apiKey && !keys.authKey ? "apiKey" : "authKey" }, problems, derived };
}

/** With tailscale enabled: exactly one of the two secret keys, and tags when an API key mints the auth key. */
export function tailscaleKeyProblems(keys: { authKey: boolean; apiKey: boolean }, settings: unknown): Problem[] {
    const problems: Problem[] = [];
    if (keys.authKey === keys.apiKey) {
        problems.push({
            path: key("tailscaleAuthKey"),
            value: keys.authKey ? "(both set)" : undefined,
            rule: "set exactly one of directpath:tailscaleAuthKey (an auth key) or directpath:tailscaleApiKey (an API key that mints one) when tailscale.enabled is true",
        });
    }
    if (keys.apiKey) problems.push(...under("tailscale", apiKeyModeProblems(settings)));
    return problems;
}
