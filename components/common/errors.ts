import type { z } from "zod";

/** One thing wrong with an input: where it is, what it was, and the rule it broke. */
export interface Problem {
    /** Dotted path to the field, e.g. `endpoints[0].ports[1].port`. */
    path: string;
    /** The offending value, as given (`undefined` when the field is missing). */
    value: unknown;
    /** The rule the value breaks, phrased so the user knows what to write instead. */
    rule: string;
}

/**
 * Thrown by every directpath component (and by the default program's config loader) when its
 * input is invalid. It is thrown before any resource is registered, and it carries every problem
 * found, not just the first.
 */
export class ValidationError extends Error {
    readonly problems: readonly Problem[];

    constructor(subject: string, problems: readonly Problem[]) {
        super(`${subject}: ${problems.length} invalid input${problems.length === 1 ? "" : "s"}:\n` +
            problems.map((p) => `  - ${formatProblem(p)}`).join("\n"));
        this.name = "ValidationError";
        this.problems = problems;
    }
}

/** Renders a value for an error message without dumping huge objects or secrets. */
export function describeValue(value: unknown): string {
    if (value === undefined) return "(missing)";
    if (typeof value === "string") return JSON.stringify(value);
    try {
        const text = JSON.stringify(value);
        if (text === undefined) return String(value);
        return text.length > 80 ? `${text.slice(0, 77)}...` : text;
    } catch {
        return String(value);
    }
}

export function formatProblem(p: Problem): string {
    return `${p.path || "(root)"}: ${describeValue(p.value)} is invalid: ${p.rule}`;
}

/** Joins path segments the way users write them: `a.b[0].c`. */
export function joinPath(...segments: ReadonlyArray<string | number | symbol | undefined>): string {
    let out = "";
    for (const s of segments) {
        if (s === undefined || s === "") continue;
        if (typeof s === "number") out += `[${s}]`;
        else out += out ? `.${String(s)}` : String(s);
    }
    return out;
}

/** Reads the value at a zod issue path from the raw input, so the error can quote it. */
export function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
    let cur: unknown = root;
    for (const key of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = (cur as Record<PropertyKey, unknown>)[key];
    }
    return cur;
}

/** Converts zod issues into problems, quoting the raw value at each path. */
export function problemsFromZod(error: z.ZodError, raw: unknown, prefix = ""): Problem[] {
    const out: Problem[] = [];
    for (const issue of error.issues) {
        const value = valueAt(raw, issue.path);
        const path = joinPath(prefix, ...issue.path);
        if (issue.code === "unrecognized_keys") {
            for (const key of issue.keys) {
                out.push({ path: joinPath(path, key), value: valueAt(value, [key]), rule: "unknown key (check its spelling against the docs)" });
            }
            continue;
        }
        out.push({ path, value, rule: issue.message });
    }
    return out;
}

/**
 * Parses `raw` with `schema` and runs `crossChecks` (rules that span fields), collecting every
 * problem. Throws a {@link ValidationError} naming `subject` when anything is wrong; otherwise
 * returns the parsed value with defaults applied.
 *
 * Cross checks run on the raw input even when the schema fails, so the user sees every problem in
 * one go; they must therefore be tolerant of missing or malformed fields.
 */
export function parseOrThrow<S extends z.ZodType>(
    subject: string,
    schema: S,
    raw: unknown,
    options: { prefix?: string; crossChecks?: (raw: unknown) => Problem[] } = {},
): z.output<S> {
    const prefix = options.prefix ?? "";
    const result = schema.safeParse(raw);
    const problems: Problem[] = result.success ? [] : problemsFromZod(result.error, raw, prefix);
    if (options.crossChecks) {
        for (const p of options.crossChecks(raw)) problems.push({ ...p, path: joinPath(prefix, p.path) });
    }
    if (problems.length > 0 || !result.success) throw new ValidationError(subject, dedupe(problems));
    return result.data;
}

function dedupe(problems: Problem[]): Problem[] {
    const seen = new Set<string>();
    return problems.filter((p) => {
        const key = `${p.path}\u0000${p.rule}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
    });
}
