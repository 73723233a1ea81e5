/**
 * `directpath:tailscale`: TailscaleDirect's settings. The same schema as the component's args (see
 * components/tailscale/args.ts), plus `enabled`. The auth key or API key are separate secret keys
 * (`directpath:tailscaleAuthKey`, `directpath:tailscaleApiKey`): exactly one is set when the
 * section is enabled. Derived values (an explicit value, even `[]`, always wins):
 * - `routes` left out: the cluster's pod and Service CIDRs;
 * - pod mode's `nodes` left out: on an existing cluster (`local`), every `cluster.nodes` entry that
 *   has an `externalIp`, as `{ name, publicIps: [externalIp] }`. In `aws` they can't be derived:
 *   the node groups' public IPs are assigned at launch (see {@link podNodesFromEnvironment}).
 * Pure.
 */
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { apiKeyModeProblems, podStateSecretProblems, tailscaleArgsSchema, tailscaleCrossChecks, type TailscaleSettings } from "../../components/tailscale/args";
import { key, under } from "../keys";
import type { ClusterSection } from "./cluster";

/** The TailscaleDirect component's name in the default program (its workload's name, and the prefix of its objects' names). */
export const TAILSCALE_COMPONENT_NAME = "tailscale";

export const tailscaleSectionSchema = tailscaleArgsSchema.extend({
    enabled: z.boolean({ error: "must be true or false" }).default(false),
    /** Subnet routes to advertise. Default: the cluster's pod CIDRs and Service CIDR. */
    routes: tailscaleArgsSchema.shape.routes.removeDefault().optional(),
});

export type TailscaleSection = z.output<typeof tailscaleSectionSchema>;

/** TailscaleDirect's settings as deployed, and which secret key authenticates it. Plain data. */
export type TailscaleSpec = TailscaleSettings & { enabled: true; key: "authKey" | "apiKey" };

type PodNode = NonNullable<TailscaleSettings["nodes"]>[number];

/**
 * Pod mode's `nodes` from what the environment knows, for a section that leaves them out: either
 * the derived list (and where it came from), or the problem that says why it can't be derived and
 * what to set instead. `environment` is the stack's (`local` or `aws`); the problem's path is the
 * full config key `directpath:tailscale.nodes`.
 */
export function podNodesFromEnvironment(environment: string | undefined, cluster: Pick<ClusterSection, "nodes"> | undefined):
    { nodes: PodNode[]; note: string } | { problem: Problem } {
    const path = key("tailscale.nodes");
    if (environment === "aws") {
        return {
            problem: {
                path,
                value: undefined,
                rule: "is required with network: pod and cannot be derived in the aws environment: its nodes are EKS managed node groups " +
                    `(${key("aws.nodeGroups")}) whose public IPs EC2 assigns when each instance launches (not Elastic IPs), so no node's public IP ` +
                    "is known at deploy time, and a replaced node gets a new one. Use network: host instead (the aws environment allows " +
                    "hostNetwork, and directpath opens tailscale's UDP port in the node security group), or list nodes as { name, publicIps } yourself",
            },
        };
    }
    const nodes = cluster?.nodes ?? [];
    const withIp = nodes.filter((n) => n.externalIp !== undefined);
    const skipped = nodes.filter((n) => n.externalIp === undefined).map((n) => n.name);
    if (withIp.length === 0) {
        const have = nodes.length === 0
            ? `${key("cluster.nodes")} lists no nodes`
            : `no node in ${key("cluster.nodes")} has an externalIp (${skipped.join(", ")})`;
        return {
            problem: {
                path,
                value: undefined,
                rule: `is required with network: pod and cannot be derived: ${have}. Set ${key("cluster.nodes")}[].externalIp (the public address ` +
                    "the router DNATs to the node) on the nodes that should run tailscaled, or list tailscale.nodes as { name, publicIps }",
            },
        };
    }
    const list = withIp.map((n) => `${n.name} ${n.externalIp}`).join(", ");
    const skip = skipped.length > 0 ? `; skipped, no externalIp: ${skipped.join(", ")} (no tailscaled pod runs there)` : "";
    return {
        nodes: withIp.map((n) => ({ name: n.name, publicIps: [n.externalIp!] })),
        note: `the externalIp of each ${key("cluster.nodes")} entry that has one (${list})${skip}`,
    };
}

/**
 * The section (parsed, or raw and possibly malformed when its schema failed) with pod mode's
 * `nodes` derived when it leaves them out, and where they came from (`note`), so that the
 * components' cross-field rules don't call derivable nodes missing. Returns the problem instead
 * when they can't be derived. The one derivation for both paths of the resolver.
 */
export function withDerivedPodNodes<T>(raw: T, environment: string | undefined, cluster: Pick<ClusterSection, "nodes"> | undefined): { raw: T; problems: Problem[]; note?: string } {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { raw, problems: [] };
    const r = raw as Record<string, unknown>;
    if (r.network !== "pod" || r.nodes !== undefined) return { raw, problems: [] };
    const d = podNodesFromEnvironment(environment, cluster);
    if ("problem" in d) return { raw, problems: [d.problem] };
    return { raw: { ...r, nodes: d.nodes } as T, problems: [], note: d.note };
}

/**
 * The cross-field problems with the environment's explanation of why pod mode's nodes can't be
 * derived (`nodeProblems`) in place of the components' plain "nodes is required".
 */
export function withNodeProblems(nodeProblems: readonly Problem[], problems: readonly Problem[]): Problem[] {
    if (nodeProblems.length === 0) return [...problems];
    return [...nodeProblems, ...problems.filter((p) => !(p.path === key("tailscale.nodes") && p.value === undefined))];
}

export function resolveTailscale(
    section: TailscaleSection,
    cluster: ClusterSection | undefined,
    keys: { authKey: boolean; apiKey: boolean },
    environment?: string,
): { tailscale?: TailscaleSpec; problems: Problem[]; derived: Record<string, string> } {
    const derived: Record<string, string> = {};
    const { enabled, routes: explicitRoutes, ...settings } = section;
    let routes = explicitRoutes;
    if (routes === undefined) {
        routes = [...new Set([...(cluster?.podCidrs ?? []), ...(cluster?.serviceCidr !== undefined ? [cluster.serviceCidr] : [])])];
        derived[key("tailscale.routes")] = `${key("cluster.podCidrs")} + ${key("cluster.serviceCidr")}`;
    }
    const d = withDerivedPodNodes<TailscaleSettings>({ ...settings, routes }, environment, cluster);
    const resolved = d.raw;
    if (d.note !== undefined) derived[key("tailscale.nodes")] = d.note;
    const problems = withNodeProblems(d.problems, under("tailscale", [...tailscaleCrossChecks(resolved), ...podStateSecretProblems(TAILSCALE_COMPONENT_NAME, resolved)]));
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
