/** The check's report: a table a person reads in ten seconds, and the JSON document for CI. Pure. */
import { exitCodeOf, type Verdict } from "./model";

const LABEL: Record<Verdict["verdict"], string> = { present: "PRESENT", absent: "absent", "not-applicable": "not applicable", "could-not-check": "COULD NOT CHECK" };

function wrap(text: string, width: number): string[] {
    const out: string[] = [];
    let line = "";
    const words = text.split(/\s+/).filter(Boolean).flatMap((w) => (w.length <= width ? [w] : w.match(new RegExp(`.{1,${width}}`, "g")) ?? [w]));
    for (const word of words) {
        if (line && line.length + 1 + word.length > width) {
            out.push(line);
            line = word;
        } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(line);
    return out.length > 0 ? out : [""];
}

/**
 * FAULT | VERDICT | EVIDENCE | FIX, one block per fault: the summary and up to `evidenceLines`
 * evidence lines (failing ones first), the fix wrapped beside them.
 */
export function formatTable(verdicts: readonly Verdict[], opts: { width?: number; evidenceLines?: number } = {}): string {
    const width = Math.max(100, opts.width ?? 140);
    const n = opts.evidenceLines ?? 4;
    const c1 = 10;
    const c2 = 16;
    const c4 = Math.floor((width - c1 - c2 - 9) * 0.38);
    const c3 = width - c1 - c2 - c4 - 9;
    const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(c1)} | ${b.padEnd(c2)} | ${c.padEnd(c3)} | ${d}`.trimEnd();
    const lines = [row("FAULT", "VERDICT", "EVIDENCE", "FIX"), `${"-".repeat(c1)}-+-${"-".repeat(c2)}-+-${"-".repeat(c3)}-+-${"-".repeat(c4)}`];
    for (const v of verdicts) {
        const ev = [v.summary, ...v.evidence.slice(0, n).map((e) => `- ${e}`), ...(v.evidence.length > n ? [`(+${v.evidence.length - n} more: --json)`] : [])].flatMap((e) => wrap(e, c3));
        const fix = wrap(v.fix, c4);
        const rows = Math.max(ev.length, fix.length);
        for (let i = 0; i < rows; i++) lines.push(row(i === 0 ? v.fault : "", i === 0 ? LABEL[v.verdict] : "", ev[i] ?? "", fix[i] ?? ""));
        lines.push(row("", "", "", ""));
    }
    const code = exitCodeOf(verdicts);
    const present = verdicts.filter((v) => v.verdict === "present").map((v) => v.fault);
    const unknown = verdicts.filter((v) => v.verdict === "could-not-check").map((v) => v.fault);
    lines.push(code === 1 ? `RESULT: fault present (${present.join(", ")})${unknown.length ? `; could not check: ${unknown.join(", ")}` : ""}` : unknown.length ? `RESULT: could not check ${unknown.join(", ")} (no fault found in the rest)` : "RESULT: no fault present");
    return lines.join("\n");
}

export interface JsonReport {
    format: "directpath-check/v1";
    stack?: string;
    source: string;
    startedAt: string;
    durationMs: number;
    exitCode: number;
    verdicts: Verdict[];
    /** What the run did and saw, for the record (nodes, namespaces, sampling, cleanup). */
    notes: string[];
}

export function jsonReport(r: Omit<JsonReport, "format" | "exitCode">): JsonReport {
    return { format: "directpath-check/v1", ...r, exitCode: exitCodeOf(r.verdicts) };
}
