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

/**
 * Exit code of the CLI: 1 a fault present; else 2 when a fault could not be checked (the check could
 * not run for it: CI must not read that as healthy); else 0. (Bad input is 2 as well, from the CLI.)
 */
export function exitCodeOf(verdicts: readonly Verdict[]): 0 | 1 | 2 {
    if (verdicts.some((v) => v.verdict === "present")) return 1;
    return verdicts.some((v) => v.verdict === "could-not-check") ? 2 : 0;
}
