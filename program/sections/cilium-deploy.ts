import { CiliumInstall, ciliumFirewallRules, ciliumValues } from "../../components/cilium";
import type { ProgramContext } from "../context";
import { ciliumValueOptions } from "./cilium";

/**
 * Renders directpath's Cilium values (stack output `ciliumValues`) when the `cilium` section is
 * present, and installs Cilium with them when `cilium.install` is true, unless the environment step
 * already installed it (`ctx.ciliumRelease`, the aws environment).
 */
export function deployCilium(ctx: ProgramContext): void {
    const section = ctx.config.cilium;
    if (!section) return;
    const options = ciliumValueOptions(ctx.config);
    ctx.outputs.ciliumChartVersion = section.chartVersion;
    if (!section.install || ctx.ciliumRelease) {
        ctx.outputs.ciliumValues = ciliumValues(options);
        return;
    }
    const cilium = new CiliumInstall(`${ctx.config.cluster.name}-cilium`, { ...options, namespace: section.namespace }, { provider: ctx.k8sProvider });
    ctx.ciliumRelease = cilium;
    ctx.outputs.ciliumValues = cilium.values;
    // Cilium runs because we installed it: its node-to-node ports go into the firewall table.
    ctx.firewallRules.push(...ciliumFirewallRules(cilium.values));
}
