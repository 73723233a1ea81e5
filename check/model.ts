/** The check's data model: what a verdict is, shared by the verdicts, the report and the CLI. */

export const FAULTS = ["hairpin", "overlay", "tailscale"] as const;
export type Fault = (typeof FAULTS)[number];

/** present: the fault is there. absent: checked, not there. not-applicable: the stack has nothing to check. could-not-check: the probes did not give a usable answer. */
export const VERDICTS = ["present", "absent", "not-applicable", "could-not-check"] as const;
export type VerdictKind = (typeof VERDICTS)[number];

export interface Verdict {
    fault: Fault;
    verdict: VerdictKind;
    /** One line: what was found. */
    summary: string;
    /** The observations behind it, one line each (the failing ones first). */
    evidence: string[];
    /** The directpath setting that fixes it (or what to do when the fix is configured but has not taken). */
    fix: string;
}

/** Exit code of the CLI: 0 no fault present, 1 a fault present. (2, bad input or could not run, is the CLI's.) */
export function exitCodeOf(verdicts: readonly Verdict[]): 0 | 1 {
    return verdicts.some((v) => v.verdict === "present") ? 1 : 0;
}
