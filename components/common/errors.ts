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

/** One entry of the Pulumi engine's per-property error list (`pulumi.InputPropertyErrorDetails`). */
export interface PropertyProblem {
    propertyPath: string;
    reason: string;
}

/** The per-property form of a problem: the path, and the value with the rule as the reason. */
export function propertyProblem(p: Problem): PropertyProblem {
    return { propertyPath: p.path, reason: `${describeValue(p.value)} is invalid: ${p.rule}` };
}

type InputPropertiesErrorLike = new (args: { message: string; errors: PropertyProblem[] }) => Error & { errors: PropertyProblem[] };

/**
 * `pulumi.InputPropertiesError` (in @pulumi/pulumi since early 2025; 3.248 here), loaded from its own module so the pure
 * validation code doesn't load the whole SDK. The engine pretty-prints it per property when a
 * component is served by a component provider. On an older SDK without it, a plain Error with the
 * same `errors` list stands in.
 */
function inputPropertiesErrorBase(): InputPropertiesErrorLike {
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require("@pulumi/pulumi/errors") as { InputPropertiesError?: InputPropertiesErrorLike };
        if (typeof mod.InputPropertiesError === "function") return mod.InputPropertiesError;
    } catch {
        // No @pulumi/pulumi at all: the fallback below.
    }
    return class extends Error {
        errors: PropertyProblem[];
        constructor(args: { message: string; errors: PropertyProblem[] }) {
            super(args.message);
            this.errors = args.errors;
        }
    };
}

/**
 * Thrown by every directpath component (and by the default program's config loader) when its
 * input is invalid. It is thrown before any resource is registered, and it carries every problem
 * found, not just the first.
 *
 * It is a `pulumi.InputPropertiesError`: `errors` lists each problem as `{ propertyPath, reason }`
 * (the path as the user writes it, e.g. `nodeGroups[0].minSize`), which the Pulumi engine shows
 * per property; `message` keeps the full text with the subject and every problem.
 */
export class ValidationError extends inputPropertiesErrorBase() {
    readonly problems: readonly Problem[];

    constructor(subject: string, problems: readonly Problem[]) {
        const message = `${subject}: ${problems.length} invalid input${problems.length === 1 ? "" : "s"}:\n` +
            problems.map((p) => `  - ${formatProblem(p)}`).join("\n");
        super({ message, errors: problems.map(propertyProblem) });
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
