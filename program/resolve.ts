/**
 * The one place where a stack is resolved: raw stack config in, a fully derived, typed
 * description of what will be deployed out (a union on `environment`). Every rule runs once, on
 * parsed values, with the keys the user wrote; defaults are the schemas' own, and every derived
 * value (Tailscale routes and pod-mode nodes, hairpin addresses, cluster domain, NodeLocal DNSCache upstream,
 * Cilium's LRP allow-list, the aws components' CIDRs) gives way to an explicit one. Pure: the
 * deploy steps (program/sections/*-deploy.ts) take the description and only register resources.
 */
import { z } from "zod";
import { formatProblem, problemsFromZod, ValidationError, type Problem } from "../components/common/errors";
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR } from "../components/aws/eks/args";
import { hairpinCrossChecks } from "../components/hairpin/args";
import { tailscaleCrossChecks } from "../components/tailscale/args";
import { key, under } from "./keys";
import { awsEnvironment, awsSectionSchema, movedAwsKeys, type AwsEnvironment } from "./sections/aws";
import { CILIUM_HOST_REQUIRED, ciliumSectionSchema, resolveCilium, type CiliumSpec } from "./sections/cilium";
import { clusterProblems, clusterSectionSchema, type ClusterSection } from "./sections/cluster";
import { hairpinSectionSchema, resolveHairpin, type HairpinSpec } from "./sections/hairpin";
import { hairpinDnsForEnvironment } from "./sections/hairpin-eks";
import { resolveTailscale, tailscaleKeyProblems, tailscaleSectionSchema, withDerivedPodNodes, withNodeProblems, type TailscaleSpec } from "./sections/tailscale";

export const ENVIRONMENT_KINDS = ["local", "aws"] as const;
export type EnvironmentKind = (typeof ENVIRONMENT_KINDS)[number];

/** Object-valued keys (JSON in Pulumi's config store) and their schemas. */
export const SECTIONS = {
    cluster: clusterSectionSchema,
    tailscale: tailscaleSectionSchema,
    hairpin: hairpinSectionSchema,
    cilium: ciliumSectionSchema,
    aws: awsSectionSchema,
} as const;

/** Keys whose values must be set with `pulumi config set --secret`. */
export const SECRET_KEYS = ["kubeconfig", "tailscaleAuthKey", "tailscaleApiKey"] as const;

const environmentSchema = z.enum(ENVIRONMENT_KINDS, { error: `must be one of ${ENVIRONMENT_KINDS.join(", ")}` });

interface CommonSpec {
    /** Where the config came from (`Pulumi.local.yaml`), when known. */
    source?: string;
    cluster: ClusterSection;
    /** Cilium values (and whether the program installs Cilium); none for an existing cluster without `directpath:cilium`. */
    cilium?: CiliumSpec;
    tailscale?: TailscaleSpec;
    hairpin?: HairpinSpec;
    /** Every derived value: config key -> where it came from. */
    derived: Record<string, string>;
    /** Things that can still work but look wrong (`pulumi up` prints them as warnings). */
    warnings: Problem[];
    /**
     * Values that must be set before anything is deployed (`aws.eks.publicAccessCidrs` unset):
     * `npm run plan` and `pulumi preview` render around them and say what to set; `pulumi up`
     * refuses ({@link DeployBlockedError}) before registering anything.
     */
    blockers: Problem[];
}

export interface LocalStackSpec extends CommonSpec {
    environment: "local";
    /** Whether `directpath:kubeconfig` is set (otherwise the ambient kubeconfig is used). */
    kubeconfig: boolean;
}

export interface AwsStackSpec extends CommonSpec {
    environment: "aws";
    cilium: CiliumSpec;
    aws: AwsEnvironment;
}

/** What the stack deploys, fully derived. Plain data without secrets: the stack output `resolved`. */
export type StackSpec = LocalStackSpec | AwsStackSpec;

/** A stack's invalid config: every problem, each line naming the stack file it came from. */
export class StackConfigError extends ValidationError {
    constructor(problems: readonly Problem[], readonly source?: string) {
        super("directpath stack config", problems);
        if (source) {
            this.message = `${source}: directpath stack config: ${problems.length} invalid input${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${source}: ${formatProblem(p)}`).join("\n");
        }
    }
}

/** `pulumi up` on a stack with {@link CommonSpec.blockers}: what to set, and where. Nothing was registered. */
export class DeployBlockedError extends ValidationError {
    constructor(blockers: readonly Problem[], readonly source?: string) {
        super("directpath stack config", blockers);
        const where = source ?? "the stack file";
        this.message = `${where}: pulumi up refuses to deploy until ${blockers.length === 1 ? "this value is" : `these ${blockers.length} values are`} set (npm run plan and pulumi preview render without ${blockers.length === 1 ? "it" : "them"}):\n` +
            blockers.map((p) => `  - ${where}: ${p.path}: ${p.rule}`).join("\n");
    }
}

/** A blocker line as the plan and `pulumi preview` print it. */
export function formatBlocker(p: Problem, source?: string): string {
    return `NOT DEPLOYABLE YET: ${source ? `${source}: ` : ""}${p.path}: ${p.rule}`;
}

/** A warning line as `pulumi up` prints it. */
export function formatWarning(p: Problem, source?: string): string {
    return `${source ? `${source}: ` : ""}${formatProblem(p).replace(" is invalid: ", ": ")}`;
}

export interface ResolveOptions {
    /** Keys Pulumi holds encrypted (without the project prefix). */
    secretKeys?: ReadonlySet<string>;
    /** The stack file, for error messages (`Pulumi.local.yaml`). */
    source?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Resolves raw stack config (keys without the project prefix; object sections JSON-decoded) into
 * the stack's description. Throws one {@link StackConfigError} with every problem. Pure.
 */
export function resolveStack(raw: Record<string, unknown>, options: ResolveOptions = {}): StackSpec {
    const secretKeys = options.secretKeys ?? new Set<string>();
    const problems: Problem[] = [];
    const known = new Set<string>(["environment", ...Object.keys(SECTIONS), ...SECRET_KEYS]);
    for (const k of Object.keys(raw)) {
        if (!known.has(k)) problems.push({ path: key(k), value: raw[k], rule: `unknown config key; known keys: ${[...known].map(key).join(", ")}` });
    }
    for (const k of SECRET_KEYS) {
        if (raw[k] !== undefined && !secretKeys.has(k)) {
            problems.push({ path: key(k), value: "(plain text, not shown)", rule: `must be stored encrypted: pulumi config set --secret ${k} <value>` });
        }
    }

    // ---- each key parsed on its own, so one bad section doesn't hide another's problems ----
    const parse = <S extends z.ZodType>(name: string, schema: S, value: unknown): z.output<S> | undefined => {
        const r = schema.safeParse(value);
        if (r.success) return r.data;
        for (const p of problemsFromZod(r.error, value)) problems.push({ ...p, path: key(p.path ? `${name}${p.path.startsWith("[") ? "" : "."}${p.path}` : name) });
        return undefined;
    };
    const environment = parse("environment", environmentSchema, raw.environment);
    const moved = movedAwsKeys(raw.aws);
    problems.push(...moved.problems);
    const rawCluster = raw.cluster ?? {};
    const cluster0 = parse("cluster", clusterSectionSchema, rawCluster);
    const tailscaleSection = raw.tailscale !== undefined ? parse("tailscale", tailscaleSectionSchema, raw.tailscale) : undefined;
    const hairpinSection = raw.hairpin !== undefined ? parse("hairpin", hairpinSectionSchema, raw.hairpin) : undefined;
    const ciliumSection = raw.cilium !== undefined ? parse("cilium", ciliumSectionSchema, raw.cilium) : undefined;
    const awsSection = moved.rest !== undefined ? parse("aws", awsSectionSchema, moved.rest) : undefined;
    if (environment === "aws" && raw.aws === undefined) problems.push({ path: key("aws"), value: undefined, rule: "required when environment is aws" });
    if (environment === "local" && raw.aws !== undefined) problems.push({ path: key("aws"), value: "(set)", rule: "is only used when directpath:environment is aws" });

    // ---- the cluster, with the environment's defaults ----
    const explicit = { podCidrs: isObj(rawCluster) && rawCluster.podCidrs !== undefined, serviceCidr: isObj(rawCluster) && rawCluster.serviceCidr !== undefined };
    const cluster: ClusterSection | undefined = cluster0 && environment === "aws"
        ? { ...cluster0, podCidrs: cluster0.podCidrs.length > 0 ? cluster0.podCidrs : [DEFAULT_POD_CIDR], serviceCidr: cluster0.serviceCidr ?? DEFAULT_SERVICE_CIDR }
        : cluster0;
    const derived: Record<string, string> = {};
    if (cluster && environment === "aws") {
        if (!explicit.podCidrs) derived[key("cluster.podCidrs")] = `the aws environment's default ${DEFAULT_POD_CIDR}`;
        if (!explicit.serviceCidr) derived[key("cluster.serviceCidr")] = `the aws environment's default ${DEFAULT_SERVICE_CIDR}`;
    }
    if (cluster && environment) problems.push(...clusterProblems(cluster, environment, explicit));

    // ---- the sections, each against the cluster ----
    const warnings: Problem[] = [];
    const nlb = environment === "aws" && awsSection?.ingressNlb?.enabled ? awsSection.ingressNlb : undefined;
    let hairpin: HairpinSpec | undefined;
    if (hairpinSection) {
        const h = resolveHairpin(hairpinSection, cluster, { environment: String(raw.environment), externalAddresses: nlb ? { listenerPorts: nlb.listeners.map((l) => l.port) } : undefined });
        problems.push(...h.problems);
        warnings.push(...h.warnings);
        Object.assign(derived, h.derived);
        hairpin = h.hairpin;
        if (hairpin && environment) {
            const d = hairpinDnsForEnvironment(hairpin, raw.hairpin, environment);
            problems.push(...d.problems);
            Object.assign(derived, d.derived);
            hairpin = d.hairpin;
        }
    }
    // A section whose schema failed still gets its components' cross-field rules (they are
    // tolerant of malformed input), so that every problem is reported at once.
    if (raw.hairpin !== undefined && !hairpinSection) problems.push(...under("hairpin", hairpinCrossChecks(raw.hairpin)));
    if (raw.tailscale !== undefined && !tailscaleSection) {
        // Pod mode's nodes as the resolver would derive them, so a derivable list isn't called missing.
        const d = withDerivedPodNodes(raw.tailscale, environment, cluster);
        problems.push(...withNodeProblems(d.problems, under("tailscale", tailscaleCrossChecks(d.raw))));
        if (isObj(raw.tailscale) && raw.tailscale.enabled === true) problems.push(...tailscaleKeyProblems({ authKey: raw.tailscaleAuthKey !== undefined, apiKey: raw.tailscaleApiKey !== undefined }, raw.tailscale));
    }
    if (raw.cilium !== undefined && !ciliumSection && environment === "local" && !(isObj(raw.cilium) && raw.cilium.k8sServiceHost !== undefined)) {
        problems.push({ path: key("cilium.k8sServiceHost"), value: undefined, rule: CILIUM_HOST_REQUIRED });
    }
    let tailscale: TailscaleSpec | undefined;
    if (tailscaleSection) {
        const t = resolveTailscale(tailscaleSection, cluster, { authKey: raw.tailscaleAuthKey !== undefined, apiKey: raw.tailscaleApiKey !== undefined }, environment);
        problems.push(...t.problems);
        Object.assign(derived, t.derived);
        tailscale = t.tailscale;
    }
    let cilium: CiliumSpec | undefined;
    if (cluster && environment && (raw.cilium === undefined || ciliumSection)) {
        const c = resolveCilium(ciliumSection, isObj(raw.cilium) ? raw.cilium : undefined, environment, cluster, hairpin);
        problems.push(...c.problems);
        cilium = c.cilium;
    }
    let aws: AwsEnvironment | undefined;
    const blockers: Problem[] = [];
    if (environment === "aws" && awsSection && cluster && cilium) {
        const a = awsEnvironment(awsSection, cluster, cilium);
        problems.push(...a.problems);
        blockers.push(...a.blockers);
        aws = a.env;
    }

    const failed = new Set<string>();
    if (rawCluster !== undefined && !cluster0) failed.add("cluster");
    if (raw.hairpin !== undefined && !hairpinSection) failed.add("hairpin");
    if (problems.length > 0 || !environment || !cluster) throw new StackConfigError(dedupe(withoutCascades(problems, failed)), options.source);
    const common = { ...(options.source ? { source: options.source } : {}), cluster, cilium, tailscale, hairpin, derived, warnings, blockers };
    if (environment === "aws") return { ...common, environment, cilium: cilium!, aws: aws! };
    return { ...common, environment, kubeconfig: raw.kubeconfig !== undefined };
}

/**
 * Keys whose value is derived when left out, and the sections it is derived from (docs/config.md
 * "Derived values"). The hairpin derivations run on the parsed section only.
 */
const DERIVED_KEYS: ReadonlyArray<{ path: RegExp; from: readonly string[] }> = [
    { path: /^directpath:hairpin\.endpoints\[\d+\]\.(internalAddress|externalIps)$/, from: ["cluster", "hairpin"] },
    { path: /^directpath:hairpin\.dns\.nodeLocalDns\.corednsAddress$/, from: ["cluster", "hairpin"] },
    // Pod mode's nodes are derived from the raw section too (withDerivedPodNodes), so only the cluster counts.
    { path: /^directpath:tailscale\.nodes$/, from: ["cluster"] },
];

/**
 * Drops "missing" problems at derived keys when a section they derive from did not parse: the
 * derivation never ran, so the value is not known to be missing, and the user would be sent to fix
 * something that is fine once the real mistake is fixed. Such a key is checked again, derived,
 * on the next run.
 */
export function withoutCascades(problems: readonly Problem[], failedSections: ReadonlySet<string>): Problem[] {
    if (failedSections.size === 0) return [...problems];
    return problems.filter((p) => {
        if (p.value !== undefined && !/cannot be derived|derive/.test(p.rule)) return true;
        const d = DERIVED_KEYS.find((k) => k.path.test(p.path));
        return !d || !d.from.some((s) => failedSections.has(s));
    });
}

function dedupe(problems: Problem[]): Problem[] {
    const seen = new Set<string>();
    return problems.filter((p) => {
        const id = `${p.path}\u0000${p.rule}`;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
    });
}
