/**
 * The labs' result lines and closing summary: the network lab prints one line per case
 * ({@link formatCase}), the Tailscale lab one line per check ({@link CheckLog}); both end with
 * `N passed, N failed`.
 */

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

/** `N passed, N failed`, plus `, N skipped` when any were skipped. */
export function summaryLine(passed: number, failed: number, skipped = 0): string {
    return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`;
}

/** The closing line for a list of case results. */
export function summary(results: readonly CaseResult[]): string {
    const n = (s: Status) => results.filter((r) => r.status === s).length;
    return summaryLine(n("PASS"), n("FAIL"), n("SKIP"));
}

/** One `PASS  name (detail)` / `FAIL  name (detail)` line. */
export function formatCheck(name: string, ok: boolean, detail = ""): string {
    return `${ok ? "PASS" : "FAIL"}  ${name}${detail ? ` (${detail})` : ""}`;
}

/** The checks of one run, printed as they are made, counted for the summary. */
export class CheckLog {
    passed = 0;
    failed = 0;
    readonly lines: string[] = [];

    constructor(private readonly print: (line: string) => void = (l) => console.log(l)) {}

    /** Records and prints a check; returns `ok`. */
    check(name: string, ok: boolean, detail = ""): boolean {
        const line = formatCheck(name, ok, detail);
        this.print(line);
        this.lines.push(line);
        if (ok) this.passed++;
        else this.failed++;
        return ok;
    }

    /** An indented note under the checks. */
    info(message: string): void {
        this.print(`      ${message}`);
    }

    summary(): string {
        return summaryLine(this.passed, this.failed);
    }
}
