/** Placeholder definitions for cases whose inputs are not integrated yet (reported SKIPPED). */
import { Skip, type CaseDef } from "./types";

export function pending(id: string, title: string, expected: string, reason: string): CaseDef {
    return { id, title, expected, timeoutMs: 1000, run: async () => { throw new Skip(reason); } };
}
