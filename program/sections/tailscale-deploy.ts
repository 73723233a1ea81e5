import type { ProgramContext } from "../context";

/** Deploys TailscaleDirect when `tailscale.enabled` is true, and adds its firewall rules to the context. */
export function deployTailscale(_ctx: ProgramContext): void {
    // Filled in with the TailscaleDirect component.
}
