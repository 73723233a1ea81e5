/** The lab's result lines and closing summary. */

export type Status = "PASS" | "FAIL" | "SKIP";

export interface CaseResult {
    id: string;
    title: string;
    expected: string;
    observed: string;
    status: Status;
    /** Extra lines printed under the case (substitutions made, evidence). */
    notes?: string[];
}

/** One line per case: `case <id> <title> | expected: ... | observed: ... | PASS`. */
export function formatCase(r: CaseResult): string {
    const status = r.status === "SKIP" ? "SKIPPED" : r.status;
    return `case ${r.id}  ${r.title} | expected: ${r.expected} | observed: ${r.observed} | ${status}`;
}

/** The closing line: `N passed, N failed` (plus `, N skipped` when any were skipped). */
export function summary(results: readonly CaseResult[]): string {
    const n = (s: Status) => results.filter((r) => r.status === s).length;
    const skipped = n("SKIP");
    return `${n("PASS")} passed, ${n("FAIL")} failed${skipped ? `, ${skipped} skipped` : ""}`;
}
