/**
 * docs/config.md "Refused inputs" is the catalogue of dangerous inputs: every row is run here. The
 * value is set in the named stack file's config, the stack is resolved, and the problem (or
 * warning) must be at the key with the rule the row shows; `only` rows must be the one problem.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveStack, StackConfigError } from "../program/resolve";
import { ROOT, stackConfigRaw } from "./harness";

interface Row {
    stack: string;
    key: string;
    value: unknown;
    at: string;
    level: "error" | "warning" | "only";
    rule: string;
}

const unescape = (s: string) => s.replace(/\\\|/g, "|").trim();

function catalogue(): Row[] {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "config.md"), "utf8");
    const start = doc.indexOf("\n## Refused inputs");
    expect(start, "docs/config.md has a 'Refused inputs' section").toBeGreaterThan(-1);
    const end = doc.indexOf("\n## ", start + 1);
    const rows: Row[] = [];
    for (const line of doc.slice(start, end).split("\n")) {
        if (!line.startsWith("| ") || line.startsWith("| stack ") || line.startsWith("|---")) continue;
        const cells = line.slice(2, -2).split(/(?<!\\) \| /).map(unescape);
        expect(cells, line).toHaveLength(6);
        const [stack, key, value, at, level, rule] = cells as [string, string, string, string, string, string];
        rows.push({ stack, key: key.replace(/`/g, ""), value: JSON.parse(value.replace(/^`|`$/g, "")), at: at.replace(/`/g, ""), level: level as Row["level"], rule });
    }
    return rows;
}

/** Sets `a.b[0].c` in an object, creating nothing: the parent must exist. */
function set(root: Record<string, unknown>, dotted: string, value: unknown): void {
    const parts = dotted.split(/\.|(?=\[)/).map((p) => (p.startsWith("[") ? Number(p.slice(1, -1)) : p));
    let cur = root as Record<string | number, unknown>;
    for (const p of parts.slice(0, -1)) {
        if (cur[p] === undefined) cur[p] = {};
        cur = cur[p] as Record<string | number, unknown>;
    }
    cur[parts[parts.length - 1]!] = value;
}

describe("docs/config.md: every refused input in the catalogue is refused as it says", () => {
    const rows = catalogue();
    it("the catalogue has its rows", () => expect(rows.length).toBeGreaterThanOrEqual(25));
    it.each(rows.map((r) => [`${r.stack}: ${r.key} = ${JSON.stringify(r.value).slice(0, 50)}`, r] as const))("%s", (_name, r) => {
        const { raw, secretKeys } = stackConfigRaw(r.stack);
        set(raw, r.key, r.value);
        let problems: Array<{ path: string; rule: string }> = [];
        let warnings: Array<{ path: string; rule: string }> = [];
        try {
            warnings = [...resolveStack(raw, { secretKeys, source: `Pulumi.${r.stack}.yaml` }).warnings];
        } catch (e) {
            expect(e).toBeInstanceOf(StackConfigError);
            problems = [...(e as StackConfigError).problems];
            expect((e as Error).message).toContain(`Pulumi.${r.stack}.yaml: ${r.at}: `);
        }
        const list = r.level === "warning" ? warnings : problems;
        const hit = list.find((p) => p.path === r.at && (p.rule.startsWith(r.rule) || p.rule.includes(r.rule)));
        expect(hit, `${r.level} at ${r.at} with "${r.rule}"; got:\n${list.map((p) => `${p.path}: ${p.rule}`).join("\n")}`).toBeDefined();
        if (r.level === "warning") expect(problems).toEqual([]);
        if (r.level === "only") expect(problems.map((p) => p.path)).toEqual([r.at]);
    });
});
