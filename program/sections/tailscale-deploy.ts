import { TailscaleDirect } from "../../components/tailscale";
import type { StackSecrets } from "../config";
import type { ClusterHandle, StepResult } from "../handles";
import { TAILSCALE_COMPONENT_NAME, type TailscaleSpec } from "./tailscale";

export { TAILSCALE_COMPONENT_NAME };

/** Deploys TailscaleDirect (when the stack turns it on) with the cluster's provider and the stack's key. */
export function deployTailscale(spec: TailscaleSpec | undefined, cluster: ClusterHandle, secrets: StackSecrets): StepResult {
    if (!spec) return { firewallRules: [], outputs: {} };
    const { key, enabled: _enabled, ...settings } = spec;
    const ts = new TailscaleDirect(TAILSCALE_COMPONENT_NAME, {
        ...settings,
        // The resolver has checked that exactly one of the two is set; both stay secret Outputs.
        ...(key === "apiKey" ? { apiKey: secrets.tailscaleApiKey } : { authKey: secrets.tailscaleAuthKey }),
    }, { provider: cluster.provider });
    return {
        firewallRules: [...ts.firewallRules],
        outputs: {
            tailscale: {
                namespace: ts.namespace,
                workloadKind: ts.workloadKind,
                workloadName: ts.workloadName,
                port: ts.port,
                relayGrant: ts.relayGrant,
                confirmDirect: `kubectl -n ${settings.namespace} exec ${ts.workloadKind.toLowerCase()}/${TAILSCALE_COMPONENT_NAME} -- tailscale --socket=/tmp/tailscaled.sock ping <peer>   # expect "via <ip>:<port>", not "via DERP(...)"`,
            },
        },
    };
}
