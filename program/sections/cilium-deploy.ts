import type { ProgramContext } from "../context";

/** Installs Cilium with directpath's values when `cilium.install` is true. */
export function deployCilium(_ctx: ProgramContext): void {
    // Filled in with the Cilium values / CiliumInstall component.
}
