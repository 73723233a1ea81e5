/**
 * `plan --diff <old-out-dir>`: what changed against an earlier plan, like `pulumi preview --diff`.
 * Resources are matched by URN; for a changed one, every field that differs is listed with its
 * old and new value (multi-line strings as changed lines). Secret values never show: plan.json
 * holds "[secret]" in their place, and any field under a secret-holding path (a Secret's `data` /
 * `stringData`, or a value that reads "[secret]" on either side) prints as "(secret)". Pure functions.
 */
import { indexPath, keyPath } from "./paths";
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

/** Line changes between two multi-line strings (a plain LCS; Corefiles and scripts are small). */
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
        } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
        else out.push(`- ${a[i++]}`);
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
