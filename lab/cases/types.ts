import type { HairpinTopology } from "../hairpin";
import type { LabSession } from "../lib/session";
import type { Rendered } from "../lib/rendered";

/** What every case can use. */
export interface LabContext {
    /** The run: its namespaces, daemons and cleanup steps. */
    session: LabSession;
    work: string;
    logDir: string;
    hairpin: HairpinTopology;
    /** Rendered stacks by name; a string is why that stack could not be rendered (not landed yet). */
    stacks: Record<string, Rendered | string>;
    corednsBin: string;
    log: (line: string) => void;
}

export interface Outcome {
    observed: string;
    pass: boolean;
    notes?: string[];
}

/**
 * Thrown when a case's input has not landed yet (its stack file doesn't exist, or the program says
 * that environment is not implemented): the case is reported SKIPPED. Once a stack renders, a
 * missing object is a failure, so a renamed or dropped object can't hide behind a skip.
 */
export class Skip extends Error {}

export interface CaseDef {
    id: string;
    title: string;
    expected: string;
    timeoutMs: number;
    run: (ctx: LabContext) => Promise<Outcome>;
}

/** The rendered stack, or a Skip naming why it isn't there. */
export function stackOrSkip(ctx: LabContext, stack: string): Rendered {
    const s = ctx.stacks[stack];
    if (s === undefined || typeof s === "string") throw new Skip(s ?? `stack ${stack} was not rendered`);
    return s;
}
