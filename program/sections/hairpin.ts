/**
 * `directpath:hairpin`: HairpinBypass's settings. The same schema as the component's args (see
 * components/hairpin/args.ts), plus `enabled`, plus one thing only a stack can say: an endpoint's
 * external IPs may come from the environment (`externalIpsFrom: environment`: the AWS ingress
 * NLB's Elastic IPs, which exist only after deployment and flow into HairpinBypass as Outputs).
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { hairpinArgsSchema, hairpinCrossChecks } from "../../components/hairpin/args";
import { endpointSchema, ipInputSchema } from "../../components/hairpin/model";

/** Where an endpoint's external IPs come from, when not listed. */
export const EXTERNAL_IPS_SOURCES = ["environment"] as const;

export const sectionEndpointSchema = endpointSchema.extend({
    /** Listed external IPs; leave out when `externalIpsFrom` is set. */
    externalIps: z.array(ipInputSchema).min(1, { error: "must list at least one external IP (or set externalIpsFrom: environment)" }).optional(),
    /**
     * `environment`: the environment's own external addresses (in `aws`: one Elastic IP per public
     * subnet of the ingress NLB). Their values are known only after deployment; the plan shows them
     * as [computed].
     */
    externalIpsFrom: z.enum(EXTERNAL_IPS_SOURCES, { error: `must be one of ${EXTERNAL_IPS_SOURCES.join(", ")}` }).optional(),
});

export const hairpinSectionSchema = hairpinArgsSchema.extend({
    enabled: z.boolean().default(false),
    endpoints: z.array(sectionEndpointSchema).min(1, { error: "must declare at least one endpoint" }),
});

export type HairpinSection = z.output<typeof hairpinSectionSchema>;
export type SectionEndpoint = z.output<typeof sectionEndpointSchema>;

const obj = (v: unknown): Record<string, unknown> | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** Cross-field rules of the section; paths are relative to `hairpin`. */
export function hairpinSectionCrossChecks(raw: unknown): Problem[] {
    const problems = hairpinCrossChecks(raw);
    const endpoints = obj(raw)?.endpoints;
    if (!Array.isArray(endpoints)) return problems;
    endpoints.forEach((e, i) => {
        const ep = obj(e);
        if (!ep) return;
        const listed = ep.externalIps !== undefined;
        const from = ep.externalIpsFrom !== undefined;
        if (listed && from) {
            problems.push({ path: `endpoints[${i}].externalIpsFrom`, value: ep.externalIpsFrom, rule: "set either externalIps or externalIpsFrom, not both" });
        } else if (!listed && !from) {
            problems.push({ path: `endpoints[${i}].externalIps`, value: undefined, rule: "required: list the external IPs, or set externalIpsFrom: environment" });
        }
    });
    return problems;
}

/**
 * Rules between the hairpin section and the environment: `externalIpsFrom: environment` needs an
 * environment that has external addresses (aws with `aws.ingressNlb.enabled`), and each of the
 * endpoint's ports must be one of that load balancer's listener ports. Paths are full config keys.
 */
export function hairpinEnvironmentChecks(plain: Record<string, unknown>): Problem[] {
    const problems: Problem[] = [];
    const hairpin = obj(plain.hairpin);
    if (!hairpin || !Array.isArray(hairpin.endpoints)) return problems;
    const nlb = obj(obj(plain.aws)?.ingressNlb);
    const nlbOn = plain.environment === "aws" && nlb?.enabled === true;
    const listenerPorts = Array.isArray(nlb?.listeners) ? nlb!.listeners.map((l) => obj(l)?.port).filter((p): p is number => typeof p === "number") : [];
    hairpin.endpoints.forEach((e, i) => {
        const ep = obj(e);
        if (!ep || ep.externalIpsFrom !== "environment") return;
        const at = `directpath:hairpin.endpoints[${i}]`;
        if (!nlbOn) {
            problems.push({
                path: `${at}.externalIpsFrom`,
                value: "environment",
                rule: `this environment has no external addresses to take: it needs directpath:environment 'aws' with directpath:aws.ingressNlb.enabled true (environment is '${String(plain.environment)}')`,
            });
            return;
        }
        (Array.isArray(ep.ports) ? ep.ports : []).forEach((p, j) => {
            const port = obj(p)?.port;
            if (typeof port === "number" && !listenerPorts.includes(port)) {
                problems.push({
                    path: `${at}.ports[${j}].port`,
                    value: port,
                    rule: `the environment's addresses only carry the ingress NLB's listener ports (${listenerPorts.join(", ") || "none"}); add a listener for ${port} under directpath:aws.ingressNlb.listeners`,
                });
            }
        });
    });
    return problems;
}
