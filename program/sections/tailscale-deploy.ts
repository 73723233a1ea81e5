import { TailscaleDirect } from "../../components/tailscale";
import type { ProgramContext } from "../context";

/** The TailscaleDirect component's name in the default program (also its workload's name). */
export const TAILSCALE_COMPONENT_NAME = "tailscale";

/** Deploys TailscaleDirect when `tailscale.enabled` is true, and adds its firewall rules to the context. */
export function deployTailscale(ctx: ProgramContext): TailscaleDirect | undefined {
    const section = ctx.config.tailscale;
    if (!section?.enabled) return undefined;
    if (!ctx.k8sProvider) throw new Error("directpath: TailscaleDirect needs a Kubernetes provider, and the program has none at this step");
    const { enabled: _enabled, ...settings } = section;
    const ts = new TailscaleDirect(TAILSCALE_COMPONENT_NAME, {
        ...settings,
        // config.ts has checked that exactly one of the two is set; both stay secret Outputs.
        authKey: ctx.config.secrets.tailscaleAuthKey,
        apiKey: ctx.config.secrets.tailscaleApiKey,
    }, { provider: ctx.k8sProvider });
    ctx.firewallRules.push(...ts.firewallRules);
    ctx.outputs.tailscale = {
        namespace: ts.namespace,
        workloadKind: ts.workloadKind,
        workloadName: ts.workloadName,
        port: ts.port,
        relayGrant: ts.relayGrant,
        confirmDirect: `kubectl -n ${settings.namespace} exec ${ts.workloadKind.toLowerCase()}/${TAILSCALE_COMPONENT_NAME} -- tailscale --socket=/tmp/tailscaled.sock ping <peer>   # expect "via <ip>:<port>", not "via DERP(...)"`,
    };
    return ts;
}
