/**
 * docs/config.md is the config reference: its table for each object key lists exactly the
 * fields the program's schema accepts, no more, no less.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SECTIONS } from "../program/resolve";
import { ROOT } from "./harness";

type Zod = { _zod?: { def?: { type?: string; innerType?: Zod; shape?: Record<string, Zod>; element?: Zod } } };

function unwrap(s: Zod): Zod {
    for (;;) {
        const t = s._zod?.def?.type;
        if (t === "default" || t === "optional" || t === "nullable" || t === "prefault") s = s._zod!.def!.innerType!;
        else return s;
    }
}

/** Leaf field paths of a schema: `a.b`, `list[].c`. */
function fieldPaths(schema: Zod, prefix = ""): string[] {
    const s = unwrap(schema);
    const def = s._zod?.def;
    if (def?.type === "object") return Object.entries(def.shape!).flatMap(([k, v]) => fieldPaths(v, prefix ? `${prefix}.${k}` : k));
    if (def?.type === "array" && unwrap(def.element!)._zod?.def?.type === "object") return fieldPaths(def.element!, `${prefix}[]`);
    return [prefix];
}

/** The first-column paths of the table under `## \`directpath:<section>\``. */
function documented(doc: string, section: string): string[] {
    const start = doc.indexOf(`## \`directpath:${section}\``);
    expect(start, `docs/config.md has a section for directpath:${section}`).toBeGreaterThan(-1);
    const next = doc.indexOf("\n## ", start + 1);
    const body = doc.slice(start, next === -1 ? undefined : next);
    return [...body.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

describe("docs/config.md matches the schema", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "config.md"), "utf8");
    for (const [section, schema] of Object.entries(SECTIONS)) {
        it(`directpath:${section}: every field documented, nothing documented that doesn't exist`, () => {
            expect(documented(doc, section).sort()).toEqual(fieldPaths(schema as Zod).sort());
        });
    }
});
