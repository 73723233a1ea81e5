/**
 * Pure comparisons the deploy lab makes (unit-tested in test/deploy-compare.test.ts): the
 * resources `plan` lists against the steps the real engine previews, a rendered object against
 * the live one, and which resources a config change should update (two plans' inputs compared).
 */

/** A resource as plan.json lists it (its documented fields). */
export interface PlanResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    inputs?: unknown;
}

/** One step of an engine preview/update (from the Automation API's engine events). */
export interface EngineStep {
    op: string;
    urn: string;
    type: string;
}

export interface SetDiff {
    missing: string[];
    extra: string[];
}

/** The URN with the stack and project parts dropped: `<type chain>::<name>`. */
export function urnTail(urn: string): string {
    const parts = urn.split("::");
    return parts.slice(2).join("::");
}

/**
 * What a first preview must plan: every resource plan.json lists (plus the stack itself, which
 * plan's mocks don't register), each as a `create`. Compared on URN tails so the stack and
 * project names of the two runs don't matter.
 */
export function comparePlanToPreview(plan: readonly PlanResource[], steps: readonly EngineStep[]): SetDiff & { notCreate: string[] } {
    const want = new Set(plan.map((r) => urnTail(r.urn)));
    const stackTail = steps.find((s) => s.type === "pulumi:pulumi:Stack");
    if (stackTail) want.add(urnTail(stackTail.urn));
    const got = new Set(steps.map((s) => urnTail(s.urn)));
    return {
        missing: [...want].filter((u) => !got.has(u)).sort(),
        extra: [...got].filter((u) => !want.has(u)).sort(),
        notCreate: steps.filter((s) => s.op !== "create").map((s) => `${s.op} ${urnTail(s.urn)}`).sort(),
    };
}

/** The steps that change something (not `same`, not reads). */
export function changingSteps(steps: readonly EngineStep[]): EngineStep[] {
    return steps.filter((s) => !["same", "read", "refresh"].includes(s.op));
}

/** Stable JSON (sorted keys) for comparing inputs. */
export function canonical(v: unknown): string {
    if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
    if (v && typeof v === "object") {
        return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
    }
    return JSON.stringify(v);
}

/**
 * The resources whose inputs differ between two plans of the same stack (before and after a
 * config change), as URN tails: exactly the updates (or replaces) a preview of the change must
 * show. Resources only in one plan are creates/deletes and listed separately.
 */
export function expectedChanges(before: readonly PlanResource[], after: readonly PlanResource[]): { changed: string[]; added: string[]; removed: string[] } {
    const a = new Map(before.map((r) => [urnTail(r.urn), canonical(r.inputs ?? null)]));
    const b = new Map(after.map((r) => [urnTail(r.urn), canonical(r.inputs ?? null)]));
    return {
        changed: [...b].filter(([u, v]) => a.has(u) && a.get(u) !== v).map(([u]) => u).sort(),
        added: [...b.keys()].filter((u) => !a.has(u)).sort(),
        removed: [...a.keys()].filter((u) => !b.has(u)).sort(),
    };
}

/** Values plan writes where it can't know the real one. */
export const PLACEHOLDERS = new Set(["[secret]", "[computed]", "[unknown]"]);

/**
 * Where `rendered` is not contained in `live`: every field the manifest sets must be in the live
 * object with the same value (the server may add defaults, status, metadata). Placeholder values
 * (`[secret]`, `[computed]`) and secret-looking plan markers only need the field to exist. Lists
 * are compared item by item in order (the API server keeps the order it was given); an empty
 * string may read back absent. Numbers and
 * strings compare as the API returns them (`"8443"` is not `8443`).
 */
export function subsetDiff(rendered: unknown, live: unknown, at = ""): string[] {
    if (typeof rendered === "string" && (PLACEHOLDERS.has(rendered) || /^\[(secret|computed)\]$/.test(rendered))) {
        return live === undefined ? [`${at || "."}: missing (rendered ${rendered})`] : [];
    }
    if (Array.isArray(rendered)) {
        if (!Array.isArray(live)) return [`${at}: rendered a list, live has ${JSON.stringify(live)?.slice(0, 80)}`];
        if (live.length !== rendered.length) return [`${at}: rendered ${rendered.length} items, live has ${live.length}`];
        return rendered.flatMap((r, i) => subsetDiff(r, live[i], `${at}[${i}]`));
    }
    if (rendered && typeof rendered === "object") {
        if (!live || typeof live !== "object" || Array.isArray(live)) return [`${at}: rendered an object, live has ${JSON.stringify(live)?.slice(0, 80)}`];
        return Object.entries(rendered as Record<string, unknown>).flatMap(([k, v]) => subsetDiff(v, (live as Record<string, unknown>)[k], `${at}.${k}`));
    }
    if (rendered === null || rendered === undefined) return [];
    // The API server stores no empty strings in omitempty fields (`env[].value: ""` reads back
    // absent, and the container still gets the empty variable).
    if (rendered === "" && live === undefined) return [];
    return rendered === live ? [] : [`${at}: rendered ${JSON.stringify(rendered).slice(0, 120)}, live ${JSON.stringify(live)?.slice(0, 120)}`];
}


/**
 * Rendered content that must be in the live object. Secret values are the lab's dummies (plan
 * writes placeholders), so a Secret's data is compared by key only, or just for being there.
 */
export function comparable(doc: Record<string, unknown>): Record<string, unknown> {
    if (doc.kind !== "Secret") return doc;
    const { stringData, data, ...rest } = doc;
    const keys = (m: unknown) => (m && typeof m === "object" ? Object.keys(m as object) : []);
    const names = [...keys(data), ...keys(stringData)];
    // The API server folds stringData into data.
    return { ...rest, data: names.length ? Object.fromEntries(names.map((k) => [k, "[secret]"])) : "[secret]" };
}

/** The parts of a pre-existing object destroy must leave as they were. */
export function ownedState(obj: Record<string, unknown> | undefined): unknown {
    if (!obj) return undefined;
    const m = (obj.metadata ?? {}) as Record<string, unknown>;
    return { labels: m.labels ?? {}, annotations: m.annotations ?? {}, data: obj.data, binaryData: obj.binaryData, spec: obj.spec };
}
