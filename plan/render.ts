/**
 * Turns what the mocks recorded into the plan's views: a resource tree, counts by type, a table of
 * firewall rules, Kubernetes manifests in apply order, and plan.json. Pure functions over data.
 */
import { stringify } from "yaml";
import type { FirewallRule } from "../components/common/firewall";
import { indexPath, keyPath } from "./paths";
import { COMPUTED, plainInputs, type RecordedResource } from "./runtime";

export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent: string | null;
    inputs: Record<string, unknown>;
}

export interface PlanDocument {
    stack: string;
    project: string;
    resources: PlanResource[];
    outputs: Record<string, unknown>;
}

export function planDocument(project: string, stack: string, resources: RecordedResource[], outputs: Record<string, unknown>): PlanDocument {
    return {
        stack,
        project,
        resources: resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            parent: r.parent ?? null,
            inputs: plainInputs(r.rawInputs) as Record<string, unknown>,
        })),
        outputs,
    };
}

/** An indented tree of every resource under its parent component. */
export function resourceTree(resources: readonly PlanResource[]): string[] {
    const children = new Map<string | null, PlanResource[]>();
    const urns = new Set(resources.map((r) => r.urn));
    for (const r of resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : null;
        const list = children.get(parent) ?? [];
        list.push(r);
        children.set(parent, list);
    }
    const lines: string[] = [];
    const walk = (parent: string | null, prefix: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            lines.push(`${prefix}${last ? "└─ " : "├─ "}${r.type}  ${r.name}`);
            walk(r.urn, prefix + (last ? "   " : "│  "));
        });
    };
    walk(null, "");
    return lines;
}

export function countByType(resources: readonly PlanResource[]): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

// ---- firewall / security-group rules ----

export interface FirewallRow {
    /** Where the rule lives: a security group's resource name, or "(your firewall)". */
    target: string;
    direction: "ingress" | "egress";
    protocol: string;
    ports: string;
    peer: string;
    description: string;
}

const SG_RULE_TYPES: Record<string, "ingress" | "egress"> = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress",
};

function portsText(protocol: string, from: unknown, to: unknown): string {
    if (protocol === "all" || protocol === "-1") return "all";
    if (protocol.startsWith("icmp")) return `type ${String(from)} code ${String(to)}`;
    if (from === undefined) return "all";
    return from === to ? String(from) : `${String(from)}-${String(to)}`;
}

/** Rows for every security-group rule resource the stack registers. */
export function securityGroupRows(resources: readonly PlanResource[], recorded: readonly RecordedResource[]): FirewallRow[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const rows: FirewallRow[] = [];
    for (const r of resources) {
        const direction = SG_RULE_TYPES[r.type];
        if (!direction) continue;
        const rec = recorded.find((x) => x.urn === r.urn);
        const refName = (prop: string): string | undefined => {
            const dep = rec?.dependencies[prop]?.map((u) => byUrn.get(u)).find((d) => d && d.type.endsWith("SecurityGroup"));
            return dep ? `sg:${dep.name}` : undefined;
        };
        const i = r.inputs;
        const protocol = String(i.ipProtocol ?? "?").toLowerCase();
        const peer = (i.cidrIpv4 as string | undefined) ?? (i.cidrIpv6 as string | undefined) ??
            refName("referencedSecurityGroupId") ?? (i.prefixListId as string | undefined) ?? COMPUTED;
        rows.push({
            target: refName("securityGroupId") ?? String(i.securityGroupId ?? COMPUTED),
            direction,
            protocol: protocol === "-1" ? "all" : protocol,
            ports: portsText(protocol === "-1" ? "all" : protocol, i.fromPort, i.toPort),
            peer,
            description: String(i.description ?? ""),
        });
    }
    return rows;
}

/** Rows for rules that components asked for but that no cloud firewall in this stack manages. */
export function requiredRuleRows(rules: readonly FirewallRule[]): FirewallRow[] {
    return rules.map((r) => ({
        target: "(your firewall)",
        direction: r.direction,
        protocol: r.protocol,
        ports: portsText(r.protocol, r.fromPort, r.toPort),
        peer: r.peer,
        description: r.description,
    }));
}

export function table(headers: string[], rows: string[][]): string[] {
    const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
    const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd();
    return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

// ---- Kubernetes manifests ----

/** Kinds in the order `kubectl apply` needs them; anything else (custom resources) comes last. */
const APPLY_ORDER = [
    "Namespace", "CustomResourceDefinition", "PriorityClass", "ServiceAccount", "Secret", "ConfigMap",
    "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "Service", "DaemonSet", "Deployment",
    "StatefulSet", "Job", "CronJob",
];

export type ManifestDir = "manifests" | "secrets" | "patches" | "computed" | "helm";

export interface ManifestFile {
    /** File name inside its folder, numbered in apply order: `000-namespace-tailscale.yaml`. */
    file: string;
    /**
     * manifests/: objects to apply as written; secrets/: Secrets holding placeholders, kept out
     * of manifests/ so that re-applying it never puts a placeholder over a real secret (created
     * once, then set by hand); patches/: server-side-apply patches of objects
     * directpath doesn't own; computed/: objects holding values known only after deployment
     * (never applyable by hand); helm/: Helm releases (chart, version, values).
     */
    dir: ManifestDir;
    object: Record<string, unknown>;
    /** The resource it came from. */
    urn: string;
    type: string;
    /** Field paths holding a secret placeholder. */
    secretPaths: string[];
    /** Field paths holding "[computed]". */
    computedPaths: string[];
}

/** How a resource's inputs show in a manifest (see `manifestView` in runtime.ts). */
export interface ObjectView {
    object: Record<string, unknown>;
    secretPaths: string[];
    computedPaths: string[];
}

function isKubernetesObject(r: PlanResource): boolean {
    return r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("kubernetes:yaml");
}

function slug(text: string): string {
    return text.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Paths of "[computed]" leaves in a plain value. */
export function computedLeaves(value: unknown, path = ""): string[] {
    if (value === COMPUTED) return [path];
    if (Array.isArray(value)) return value.flatMap((v, i) => computedLeaves(v, indexPath(path, i)));
    if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => computedLeaves(v, keyPath(path, k)));
    return [];
}

/**
 * Every Kubernetes object as its own file, numbered in apply order. Server-side-apply patches
 * (`*Patch` types) go to patches/, objects with values known only after deployment to computed/,
 * Helm releases to helm/ (their chart, version and values). `views` (by URN) give the manifest
 * form of an object (secret placeholders that keep its shape); without one, its plain inputs.
 */
export function manifestFiles(resources: readonly PlanResource[], views: ReadonlyMap<string, ObjectView> = new Map()): ManifestFile[] {
    const viewOf = (r: PlanResource): ObjectView =>
        views.get(r.urn) ?? { object: { ...r.inputs }, secretPaths: [], computedPaths: computedLeaves(r.inputs) };
    const objects = resources.filter(isKubernetesObject).map((r, index) => ({ r, index }));
    const rank = (kind: string) => {
        const i = APPLY_ORDER.indexOf(kind);
        return i < 0 ? APPLY_ORDER.length : i;
    };
    const sorted = objects.sort((a, b) => rank(String(a.r.inputs.kind)) - rank(String(b.r.inputs.kind)) || a.index - b.index);
    const files: ManifestFile[] = [];
    const seq: Record<ManifestDir, number> = { manifests: 0, secrets: 0, patches: 0, computed: 0, helm: 0 };
    const next = (dir: ManifestDir) => String(seq[dir]++).padStart(3, "0");
    for (const { r } of sorted) {
        const view = viewOf(r);
        const object = view.object;
        const meta = (object.metadata ?? {}) as Record<string, unknown>;
        const kind = String(object.kind ?? r.type.split(":").pop());
        const nameParts = [kind, meta.namespace as string | undefined, (meta.name as string | undefined) ?? r.name].filter(Boolean) as string[];
        const dir: ManifestDir = view.computedPaths.length > 0 ? "computed"
            : r.type.endsWith("Patch") ? "patches"
            // A Secret with placeholders: never in manifests/, which is re-applied.
            : kind === "Secret" && view.secretPaths.length > 0 ? "secrets"
            : "manifests";
        files.push({ file: `${next(dir)}-${slug(nameParts.join("-"))}.yaml`, dir, object, urn: r.urn, type: r.type, secretPaths: view.secretPaths, computedPaths: view.computedPaths });
    }
    for (const r of resources.filter((x) => x.type.startsWith("kubernetes:helm.sh/"))) {
        const view = viewOf(r);
        files.push({ file: `${next("helm")}-${slug(r.name)}.yaml`, dir: "helm", object: view.object, urn: r.urn, type: r.type, secretPaths: view.secretPaths, computedPaths: view.computedPaths });
    }
    const dirOrder: ManifestDir[] = ["manifests", "secrets", "patches", "computed", "helm"];
    return files.sort((a, b) => dirOrder.indexOf(a.dir) - dirOrder.indexOf(b.dir) || a.file.localeCompare(b.file));
}

/** `Kind namespace/name` (or `Kind name` for cluster-scoped objects). */
export function objectRef(object: Record<string, unknown>): string {
    const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
    return `${String(object.kind)} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? "?"}`;
}

export function toYaml(object: unknown): string {
    return stringify(object, { lineWidth: 0, sortMapEntries: false });
}
