/**
 * `plan --diff <old-out-dir>`: what changed against an earlier plan, like `pulumi preview --diff`.
 * Resources are matched by URN; for a changed one, every field that differs is listed with its
 * old and new value (multi-line strings as changed lines). Secret values never show: plan.json
 * holds "[secret]" in their place, and any field under a secret-holding path (a Secret's `data` /
 * `stringData`, or a value that reads "[secret]" on either side) prints as "(secret)".
 * List elements that carry a `name` (containers, env, ports, volumes, mounts) are matched and
 * named by it (`env[PORT].value`, `ports[tailscale].hostPort`), others by position; old values
 * come before new. {@link outsideChanges} says what a change means outside the cluster. Pure functions.
 */
import { indexPath, keyPath, namePath } from "./paths";
import type { PlanResource } from "./render";
import { SECRET } from "./markers";

export type Change =
    | { kind: "added"; path: string; after: unknown }
    | { kind: "removed"; path: string; before: unknown }
    | { kind: "changed"; path: string; before: unknown; after: unknown };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every leaf-level difference between two plain JSON values. */
export function diffValues(before: unknown, after: unknown, path = ""): Change[] {
    if (Object.is(before, after)) return [];
    if (isObj(before) && isObj(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
        return keys.flatMap((k) => {
            const p = keyPath(path, k);
            if (!(k in after) || after[k] === undefined) return before[k] === undefined ? [] : [{ kind: "removed" as const, path: p, before: before[k] }];
            if (!(k in before) || before[k] === undefined) return [{ kind: "added" as const, path: p, after: after[k] }];
            return diffValues(before[k], after[k], p);
        });
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        if (namedElements(before) && namedElements(after) && (before.length > 0 || after.length > 0)) {
            const out: Change[] = [];
            const old = new Map(before.map((x) => [(x as { name: string }).name, x]));
            const now = new Map(after.map((x) => [(x as { name: string }).name, x]));
            for (const [k, v] of old) if (!now.has(k)) out.push({ kind: "removed", path: namePath(path, k), before: v });
            for (const [k, v] of now) {
                if (!old.has(k)) out.push({ kind: "added", path: namePath(path, k), after: v });
                else out.push(...diffValues(old.get(k), v, namePath(path, k)));
            }
            return out;
        }
        const out: Change[] = [];
        for (let i = 0; i < Math.max(before.length, after.length); i++) {
            const p = indexPath(path, i);
            if (i >= after.length) out.push({ kind: "removed", path: p, before: before[i] });
            else if (i >= before.length) out.push({ kind: "added", path: p, after: after[i] });
            else out.push(...diffValues(before[i], after[i], p));
        }
        return out;
    }
    return [{ kind: "changed", path, before, after }];
}

/** Whether every element is an object with a `name` string, each name once: then elements are matched by name. */
function namedElements(list: unknown[]): boolean {
    const names = list.map((x) => (isObj(x) && typeof x.name === "string" ? x.name : undefined));
    return names.every((n) => n !== undefined) && new Set(names).size === names.length;
}

export interface ResourceDiff {
    added: PlanResource[];
    removed: PlanResource[];
    changed: Array<{ resource: PlanResource; changes: Change[] }>;
    unchanged: number;
}

export function diffResources(before: readonly PlanResource[], after: readonly PlanResource[]): ResourceDiff {
    const old = new Map(before.map((r) => [r.urn, r]));
    const now = new Set(after.map((r) => r.urn));
    const result: ResourceDiff = { added: [], removed: before.filter((r) => !now.has(r.urn)), changed: [], unchanged: 0 };
    for (const r of after) {
        const prev = old.get(r.urn);
        if (!prev) {
            result.added.push(r);
            continue;
        }
        const changes = [...diffValues(prev.inputs, r.inputs, "")];
        if ((prev.parent ?? null) !== (r.parent ?? null)) changes.push({ kind: "changed", path: "(parent)", before: prev.parent, after: r.parent });
        if (changes.length) result.changed.push({ resource: r, changes });
        else result.unchanged++;
    }
    return result;
}

/** Whether a field's value is secret: a Secret's data/stringData, or "[secret]" on either side. */
export function isSecretField(resourceType: string, path: string, values: unknown[]): boolean {
    if (values.some((v) => v === SECRET || (typeof v === "string" && v.includes(SECRET)))) return true;
    return /:Secret$/.test(resourceType) && /^(data|stringData)([.[]|$)/.test(path);
}

function show(v: unknown): string {
    if (v === undefined) return "(unset)";
    const s = JSON.stringify(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** Line changes between two multi-line strings (a plain LCS; Corefiles and scripts are small); in a changed run, old lines (-) come before new ones (+). */
export function lineDiff(before: string, after: string): string[] {
    const a = before.split("\n");
    const b = after.split("\n");
    const n = a.length;
    const m = b.length;
    const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] === b[j]) {
            i++;
            j++;
        } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`);
        else out.push(`+ ${b[j++]}`);
    }
    return out;
}

function changeLines(type: string, c: Change, indent: string): string[] {
    const values = c.kind === "changed" ? [c.before, c.after] : c.kind === "added" ? [c.after] : [c.before];
    if (isSecretField(type, c.path, values)) {
        const what = c.kind === "changed" ? "changed" : c.kind;
        return [`${indent}${c.kind === "added" ? "+" : c.kind === "removed" ? "-" : "~"} ${c.path}: (secret, ${what}; value not shown)`];
    }
    if (c.kind === "added") return [`${indent}+ ${c.path}: ${show(c.after)}`];
    if (c.kind === "removed") return [`${indent}- ${c.path}: ${show(c.before)}`];
    if (typeof c.before === "string" && typeof c.after === "string" && (c.before.includes("\n") || c.after.includes("\n"))) {
        return [`${indent}~ ${c.path}: (text)`, ...lineDiff(c.before, c.after).map((l) => `${indent}    ${l}`)];
    }
    return [`${indent}~ ${c.path}: ${show(c.before)} => ${show(c.after)}`];
}

export function formatDiff(d: ResourceDiff, against: string): string[] {
    const out = [`Changes against the plan in ${against}:`];
    for (const r of d.added) out.push(`  + ${r.type}  ${r.name}  (added)`);
    for (const r of d.removed) out.push(`  - ${r.type}  ${r.name}  (removed)`);
    for (const { resource: r, changes } of d.changed) {
        out.push(`  ~ ${r.type}  ${r.name}  (${changes.length} field${changes.length === 1 ? "" : "s"})`);
        for (const c of changes) out.push(...changeLines(r.type, c, "      "));
    }
    out.push(`  ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.unchanged} unchanged` +
        (d.added.length + d.removed.length + d.changed.length === 0 ? " (no changes)" : ""));
    return out;
}

// ---- what a change means outside the cluster ----

/** A plan.json as far as the outside view needs it (older plans may lack any of these). */
export interface PlanSnapshot {
    resources: readonly PlanResource[];
    outputs?: Record<string, unknown>;
    securityGroupRules?: ReadonlyArray<Record<string, unknown>>;
    summary?: { images?: ReadonlyArray<{ image: string; usedBy?: string[] }> };
}

export interface Replacement {
    urn: string;
    type: string;
    name: string;
    /** The fields whose change makes the object be deleted and created again. */
    fields: string[];
}

export interface OutsideChanges {
    /** Rules for the operator's own firewall (output firewallRules) or a security group, added or removed. */
    firewallAdded: string[];
    firewallRemoved: string[];
    /** Images to mirror (added) or no longer pulled (removed). */
    imagesAdded: string[];
    imagesRemoved: string[];
    /** Objects replaced (deleted, then created) rather than updated in place. */
    replaced: Replacement[];
}

function ruleText(r: Record<string, unknown>): string {
    const ports = r.ports ?? (r.fromPort === r.toPort ? r.fromPort : `${String(r.fromPort)}-${String(r.toPort)}`);
    return `${String(r.target ?? "your firewall")}: ${String(r.direction)} ${String(r.protocol)} ${String(ports)} from ${String(r.peer)} (${String(r.description ?? "")})`;
}

function rules(p: PlanSnapshot): string[] {
    const own = Array.isArray(p.outputs?.firewallRules) ? (p.outputs!.firewallRules as Array<Record<string, unknown>>) : [];
    // A stack with security groups opens the rules itself: its table is the list then.
    const list = (p.securityGroupRules ?? []).length > 0 ? (p.securityGroupRules ?? []) : own;
    return [...new Set(list.map(ruleText))];
}

/**
 * Fields Kubernetes (and so the Pulumi Kubernetes provider) can't change in place: a change
 * replaces the object. metadata.name/namespace, a workload's selector, a StatefulSet's fixed
 * fields, a Service's clusterIP, a Job's template, and the data of an immutable ConfigMap or Secret.
 */
export function replacingFields(type: string, changes: readonly Change[], after: Record<string, unknown>): string[] {
    const kind = type.split(":").pop() ?? "";
    const hits = new Set<string>();
    for (const c of changes) {
        const p = c.path;
        if (/^metadata\.(name|namespace)$/.test(p) || p === "kind" || p === "apiVersion") hits.add(p);
        if (["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"].includes(kind) && /^spec\.selector([.[]|$)/.test(p)) hits.add("spec.selector");
        if (kind === "StatefulSet" && /^spec\.(serviceName|volumeClaimTemplates|podManagementPolicy)([.[]|$)/.test(p)) hits.add(p.split(/[.[]/).slice(0, 2).join("."));
        if (kind === "Service" && /^spec\.(clusterIP|clusterIPs)([.[]|$)/.test(p)) hits.add("spec.clusterIP");
        if (kind === "Job" && /^spec\.template([.[]|$)/.test(p)) hits.add("spec.template");
        if ((kind === "ConfigMap" || kind === "Secret") && after.immutable === true && /^(data|stringData|binaryData)([.[]|$)/.test(p)) hits.add(`${p.split(/[.[]/)[0]} (immutable: true)`);
    }
    return [...hits];
}

export function outsideChanges(before: PlanSnapshot, after: PlanSnapshot, d: ResourceDiff): OutsideChanges {
    const oldRules = new Set(rules(before));
    const newRules = new Set(rules(after));
    const oldImages = new Set((before.summary?.images ?? []).map((i) => i.image));
    const newImages = new Set((after.summary?.images ?? []).map((i) => i.image));
    return {
        firewallAdded: [...newRules].filter((r) => !oldRules.has(r)),
        firewallRemoved: [...oldRules].filter((r) => !newRules.has(r)),
        imagesAdded: [...newImages].filter((i) => !oldImages.has(i)),
        imagesRemoved: [...oldImages].filter((i) => !newImages.has(i)),
        replaced: d.changed
            .map(({ resource: r, changes }) => ({ urn: r.urn, type: r.type, name: r.name, fields: replacingFields(r.type, changes, r.inputs) }))
            .filter((x) => x.fields.length > 0),
    };
}

export function formatOutside(o: OutsideChanges): string[] {
    const out = ["What this means outside the cluster:"];
    if (o.firewallAdded.length + o.firewallRemoved.length + o.imagesAdded.length + o.imagesRemoved.length + o.replaced.length === 0) {
        return [...out, "  nothing: no firewall rule, image or replaced object changes"];
    }
    if (o.firewallAdded.length || o.firewallRemoved.length) {
        out.push("  Firewall rules changed (open the new ones before applying; close the old ones after):");
        for (const r of o.firewallRemoved) out.push(`    - ${r}`);
        for (const r of o.firewallAdded) out.push(`    + ${r}`);
    }
    if (o.imagesAdded.length || o.imagesRemoved.length) {
        out.push("  Images changed (mirror the new ones for an air-gapped cluster):");
        for (const i of o.imagesRemoved) out.push(`    - ${i}`);
        for (const i of o.imagesAdded) out.push(`    + ${i}`);
    }
    if (o.replaced.length) {
        out.push("  Replaced, not updated (deleted and created again):");
        for (const r of o.replaced) out.push(`    ${r.type}  ${r.name}: ${r.fields.join(", ")}`);
    }
    return out;
}

/** The diff as one JSON document for CI (`plan --diff <dir> --json`); secret values never appear. */
export function diffJson(d: ResourceDiff, o: OutsideChanges, against: string): Record<string, unknown> {
    const change = (type: string, c: Change) => {
        const values = c.kind === "changed" ? [c.before, c.after] : c.kind === "added" ? [c.after] : [c.before];
        return isSecretField(type, c.path, values) ? { kind: c.kind, path: c.path, secret: true } : c;
    };
    return {
        against,
        added: d.added.map((r) => ({ urn: r.urn, type: r.type, name: r.name })),
        removed: d.removed.map((r) => ({ urn: r.urn, type: r.type, name: r.name })),
        changed: d.changed.map(({ resource: r, changes }) => ({ urn: r.urn, type: r.type, name: r.name, changes: changes.map((c) => change(r.type, c)) })),
        unchanged: d.unchanged,
        outside: o,
    };
}
