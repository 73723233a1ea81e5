import type { ProgramContext } from "../context";

/** Deploys HairpinBypass when `hairpin.enabled` is true. */
export function deployHairpin(_ctx: ProgramContext): void {
    // Filled in with the HairpinBypass component.
}
