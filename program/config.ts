/**
 * The default program's stack configuration: every `directpath:*` key, parsed into one typed
 * object, with defaults, and with every problem reported at once before anything is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { joinPath, problemsFromZod, ValidationError, type Problem } from "../components/common/errors";
import { clusterSectionSchema } from "./sections/cluster";
import { hairpinEnvironmentChecks, hairpinSectionCrossChecks, hairpinSectionSchema } from "./sections/hairpin";
import { tailscaleSectionCrossChecks, tailscaleSectionSchema } from "./sections/tailscale";
import { ciliumCrossSectionChecks, ciliumSectionSchema } from "./sections/cilium";
import { awsSectionSchema } from "./sections/aws";

export const PROJECT = "directpath";

export const ENVIRONMENT_KINDS = ["local", "aws"] as const;

/** Object-valued keys (JSON in Pulumi's config store) and their schemas. */
const SECTIONS = {
    cluster: clusterSectionSchema,
    tailscale: tailscaleSectionSchema,
    hairpin: hairpinSectionSchema,
    cilium: ciliumSectionSchema,
    aws: awsSectionSchema,
} as const;

/** Keys whose values must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["kubeconfig", "tailscaleAuthKey", "tailscaleApiKey"] as const;

export const configSchema = z.strictObject({
    /** The kind of environment: `local` (an existing cluster, no cloud) or `aws` (built on AWS). */
    environment: z.enum(ENVIRONMENT_KINDS, { error: `must be one of ${ENVIRONMENT_KINDS.join(", ")}` }),
    cluster: SECTIONS.cluster.default(clusterSectionSchema.parse({})),
    tailscale: SECTIONS.tailscale.optional(),
    hairpin: SECTIONS.hairpin.optional(),
    cilium: SECTIONS.cilium.optional(),
    aws: SECTIONS.aws.optional(),
});

export type PlainConfig = z.output<typeof configSchema>;

/** The parsed stack config: plain settings plus the secret values, which never leave Outputs. */
export interface StackConfig extends PlainConfig {
    secrets: {
        kubeconfig?: pulumi.Output<string>;
        tailscaleAuthKey?: pulumi.Output<string>;
        tailscaleApiKey?: pulumi.Output<string>;
    };
}

const key = (k: string) => `${PROJECT}:${k}`;

/** Whether Pulumi holds a config key as a secret (an SDK function that its typings mark internal). */
function isConfigSecret(fullKey: string): boolean {
    const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return fn ? fn(fullKey) : false;
}

/**
 * Parses raw config (keys without the project prefix; object sections already JSON-decoded).
 * Pure: unit tests call it directly.
 */
export function parseConfig(raw: Record<string, unknown>, secretKeys: ReadonlySet<string> = new Set()): PlainConfig {
    const problems: Problem[] = [];
    const known = new Set<string>([...Object.keys(configSchema.shape), ...SECRET_KEYS]);
    for (const k of Object.keys(raw)) {
        if (!known.has(k)) problems.push({ path: key(k), value: raw[k], rule: `unknown config key; known keys: ${[...known].map(key).join(", ")}` });
    }
    for (const k of SECRET_KEYS) {
        if (raw[k] !== undefined && !secretKeys.has(k)) {
            problems.push({ path: key(k), value: "(plain text, not shown)", rule: `must be stored encrypted: pulumi config set --secret ${k} <value>` });
        }
    }
    const plain: Record<string, unknown> = {};
    for (const k of Object.keys(configSchema.shape)) if (raw[k] !== undefined) plain[k] = raw[k];
    const result = configSchema.safeParse(plain);
    if (!result.success) {
        for (const p of problemsFromZod(result.error, plain)) problems.push({ ...p, path: prefixKey(p.path) });
    }
    for (const p of hairpinSectionCrossChecks(plain.hairpin)) problems.push({ ...p, path: key(joinPath("hairpin", p.path)) });
    for (const p of tailscaleSectionCrossChecks(plain.tailscale, { apiKey: raw.tailscaleApiKey !== undefined })) problems.push({ ...p, path: key(joinPath("tailscale", p.path)) });
    for (const p of crossSectionChecks(plain, secretKeys, raw)) problems.push(p);
    for (const p of ciliumCrossSectionChecks(plain)) problems.push(p);
    for (const p of hairpinEnvironmentChecks(plain)) problems.push(p);
    if (problems.length > 0 || !result.success) throw new ValidationError("directpath stack config", problems);
    return result.data;
}

/** `hairpin.endpoints[0].name` -> `directpath:hairpin.endpoints[0].name` */
function prefixKey(path: string): string {
    return path ? key(path) : PROJECT;
}

/** Rules that involve more than one section. */
function crossSectionChecks(plain: Record<string, unknown>, _secretKeys: ReadonlySet<string>, raw: Record<string, unknown>): Problem[] {
    const problems: Problem[] = [];
    const ts = plain.tailscale as { enabled?: unknown } | undefined;
    if (ts && ts.enabled === true) {
        const hasAuth = raw.tailscaleAuthKey !== undefined;
        const hasApi = raw.tailscaleApiKey !== undefined;
        if (hasAuth === hasApi) {
            problems.push({
                path: key("tailscaleAuthKey"),
                value: hasAuth ? "(both set)" : undefined,
                rule: "set exactly one of directpath:tailscaleAuthKey (an auth key) or directpath:tailscaleApiKey (an API key that mints one) when tailscale.enabled is true",
            });
        }
    }
    if (plain.environment === "aws" && plain.aws === undefined) {
        problems.push({ path: key("aws"), value: undefined, rule: "required when environment is aws" });
    }
    return problems;
}

/** Reads every `directpath:*` key from the Pulumi config and parses it. */
export function loadStackConfig(): StackConfig {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    const problems: Problem[] = [];
    for (const [fullKey, value] of Object.entries(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) continue;
        const k = fullKey.slice(PROJECT.length + 1);
        if (isConfigSecret(fullKey)) secretKeys.add(k);
        if (k in SECTIONS) {
            try {
                raw[k] = JSON.parse(value);
            } catch {
                problems.push({ path: fullKey, value, rule: "must be an object (a YAML mapping under the key in Pulumi.<stack>.yaml)" });
            }
        } else {
            raw[k] = value;
        }
    }
    if (problems.length > 0) throw new ValidationError("directpath stack config", problems);
    const plain = parseConfig(raw, secretKeys);
    const config = new pulumi.Config(PROJECT);
    return {
        ...plain,
        secrets: {
            kubeconfig: raw.kubeconfig !== undefined ? config.requireSecret("kubeconfig") : undefined,
            tailscaleAuthKey: raw.tailscaleAuthKey !== undefined ? config.requireSecret("tailscaleAuthKey") : undefined,
            tailscaleApiKey: raw.tailscaleApiKey !== undefined ? config.requireSecret("tailscaleApiKey") : undefined,
        },
    };
}
