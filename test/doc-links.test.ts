/**
 * Every link and section reference a reader can follow resolves: markdown links in README.md and
 * docs/ (the file exists in the repo; a `#fragment` is a heading of that file, slugged as GitHub
 * does), and the references the stack files' comments make (`docs/hairpin.md "DNS half"`,
 * `README "..."`): the file exists and has a heading with that title. No link may point at
 * `../shared`, and the README (figures included) may not name it: a user's clone doesn't have it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness";

/** GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'. */
export function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/`/g, "")
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The text outside fenced code blocks (links in code are examples, not links). */
function prose(markdown: string): string {
    let inFence = false;
    return markdown.split("\n").map((line) => {
        if (/^\s*(```|~~~)/.test(line)) {
            inFence = !inFence;
            return "";
        }
        return inFence ? "" : line;
    }).join("\n");
}

/** Headings of a markdown file (outside code), as titles and their anchors (duplicates get -1, -2). */
function headings(file: string): { titles: Set<string>; anchors: Set<string> } {
    const titles = new Set<string>();
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    for (const line of prose(fs.readFileSync(file, "utf8")).split("\n")) {
        const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!m) continue;
        const title = m[1]!.replace(/`/g, "");
        titles.add(title);
        const base = slug(m[1]!);
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    return { titles, anchors };
}

const tracked = (rel: string) => fs.existsSync(path.join(ROOT, rel));

function markdownFiles(): string[] {
    const docs = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
    return ["README.md", ...docs];
}

/** Every broken `[text](target)` link of a markdown file: `file: target (why)`. */
export function brokenLinks(rel: string): string[] {
    const broken: string[] = [];
    const text = prose(fs.readFileSync(path.join(ROOT, rel), "utf8"));
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [file, fragment] = target.split("#", 2) as [string, string | undefined];
        const resolved = file === "" ? rel : path.posix.normalize(path.posix.join(path.posix.dirname(rel), file));
        if (resolved.startsWith("..") || resolved.startsWith("shared/")) {
            broken.push(`${rel}: ${target} (outside the repository: a user's clone doesn't have it)`);
            continue;
        }
        if (!tracked(resolved)) {
            broken.push(`${rel}: ${target} (no file ${resolved})`);
            continue;
        }
        if (fragment !== undefined && resolved.endsWith(".md") && !headings(path.join(ROOT, resolved)).anchors.has(fragment)) {
            broken.push(`${rel}: ${target} (no heading #${fragment} in ${resolved})`);
        }
    }
    return broken;
}

/** Every broken `README "Section"` / `docs/x.md "Section"` reference in a text. */
export function brokenSectionRefs(rel: string, text: string): string[] {
    const broken: string[] = [];
    for (const m of text.matchAll(/\b(README|docs\/[\w.-]+\.md)\s+"([^"]+)"/g)) {
        const file = m[1] === "README" ? "README.md" : m[1]!;
        if (!tracked(file)) {
            broken.push(`${rel}: ${m[0]} (no file ${file})`);
            continue;
        }
        // A reference may wrap across lines of prose or comments.
        const title = m[2]!.replace(/\s+/g, " ");
        if (!headings(path.join(ROOT, file)).titles.has(title)) broken.push(`${rel}: ${m[0].replace(/\s+/g, " ")} (no heading "${title}" in ${file})`);
    }
    for (const m of text.matchAll(/\b(docs\/[\w.-]+\.md)\b/g)) {
        if (!tracked(m[1]!)) broken.push(`${rel}: ${m[1]} (no such file)`);
    }
    return broken;
}

/** Whether a text (code blocks and figure captions included) names ../shared, which a user's clone doesn't have. */
export function namesShared(rel: string, text: string): string[] {
    return /(^|[\s("'])(\.\.\/)?shared\/(seeds|upstream)\b/m.test(text) ? [`${rel}: names shared/, which a user's clone doesn't have`] : [];
}

/** The comment text of a stack file (everything after a `#` that starts a comment). */
function comments(yamlText: string): string {
    return yamlText.split("\n").map((l) => {
        const m = /(?:^|\s)#(.*)$/.exec(l);
        return m ? m[1]! : "";
    }).join("\n");
}

describe("links and section references resolve", () => {
    it("slugs headings as GitHub does", () => {
        expect(slug("Which mode")).toBe("which-mode");
        expect(slug("Options (`redirect:`)")).toBe("options-redirect");
        expect(slug("TailscaleProxyClass (for users of the Tailscale operator)")).toBe("tailscaleproxyclass-for-users-of-the-tailscale-operator");
    });

    it("finds a broken link, a missing heading and a stale section reference (the checker itself)", () => {
        const dir = fs.mkdtempSync(path.join(ROOT, "docs", ".links-"));
        const rel = `docs/${path.basename(dir)}/x.md`;
        try {
            fs.writeFileSync(path.join(ROOT, rel), "# X\n\n[a](../tailscale.md#no-such-heading) [b](../nope.md) [c](#x) [d](../../../shared/seeds/000.txt)\n```\n[in code](nowhere.md)\n```\n");
            expect(brokenLinks(rel)).toEqual([
                `${rel}: ../tailscale.md#no-such-heading (no heading #no-such-heading in docs/tailscale.md)`,
                `${rel}: ../nope.md (no file docs/nope.md)`,
                `${rel}: ../../../shared/seeds/000.txt (outside the repository: a user's clone doesn't have it)`,
            ]);
            expect(brokenSectionRefs("Pulumi.x.yaml", comments('a: 1 # see README "DNS half" and docs/hairpin.md "DNS half"\n# docs/gone.md'))).toEqual([
                'Pulumi.x.yaml: README "DNS half" (no heading "DNS half" in README.md)',
                "Pulumi.x.yaml: docs/gone.md (no such file)",
            ]);
            expect(namesShared("README.md", "```\n fig (shared/seeds/000):\n```\n")).toEqual(["README.md: names shared/, which a user's clone doesn't have"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it.each(markdownFiles())("%s: every link and section reference resolves", (rel) => {
        const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
        expect([...brokenLinks(rel), ...brokenSectionRefs(rel, prose(text)), ...(rel === "README.md" ? namesShared(rel, text) : [])]).toEqual([]);
    });

    const stacks = fs.readdirSync(ROOT).filter((f) => /^Pulumi(\.[\w-]+)?\.yaml$/.test(f)).sort();
    it("covers every stack file", () => {
        expect(stacks).toEqual(expect.arrayContaining(["Pulumi.yaml", "Pulumi.local.yaml", "Pulumi.local-iptables.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"]));
    });
    it.each(stacks)("%s: every section reference in its comments resolves", (rel) => {
        expect(brokenSectionRefs(rel, comments(fs.readFileSync(path.join(ROOT, rel), "utf8")))).toEqual([]);
    });
});
