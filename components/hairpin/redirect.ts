/**
 * The redirect half of HairpinBypass: resource wiring over the pure renderers in ./lrp.ts,
 * ./external-ips.ts and ./iptables.ts. Every object gets `{ parent }` and a name derived from the
 * component's name.
 */
import { recommendedLabels } from "../common/labels";
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readAsset } from "../common/assets";
import type { ParsedHairpinArgs } from "./args";
import { renderExternalIpsPatch, renderExternalIpsService } from "./external-ips";
import {
    IPTABLES_RULES_KEY,
    IPTABLES_SCRIPT_KEY,
    iptablesNames,
    iptablesRules,
    renderIptablesDaemonSet,
    renderRulesConf,
} from "./iptables";
import { lrpKey, renderLrps } from "./lrp";
import { DEFAULT_CLUSTER_DOMAIN, effectiveMode, resolveEndpoint, resolvedIp, type Endpoint, type HairpinMode } from "./model";

export interface RedirectOutputs {
    /** The mode that applies to each endpoint, by endpoint name. */
    modes: Record<string, HairpinMode>;
    /** `namespace/name` of every CiliumLocalRedirectPolicy. */
    localRedirectPolicies: pulumi.Output<string>[];
    /** `namespace/name` of every Service that carries external IPs (created or patched). */
    externalIpServices: pulumi.Output<string>[];
    /** The iptables DaemonSet and its ConfigMap, when an endpoint uses mode `iptables`. */
    iptables?: {
        daemonSet: pulumi.Output<string>;
        configMap: pulumi.Output<string>;
        /** The rules file the node script reads. */
        rulesConf: pulumi.Output<string>;
    };
}

/** The node script, as shipped in the package. */
export function hairpinRedirectScript(): string {
    return readAsset(__dirname, "scripts/hairpin-redirect.sh");
}

const qualified = (md: pulumi.Output<{ namespace?: string; name?: string } | undefined>) =>
    md.apply((m) => `${m?.namespace ?? ""}/${m?.name ?? ""}`);

/** The endpoint with Output externalIps checked at deploy time (plain ones were checked at construction). */
function withCheckedIps(e: Endpoint, index: number): Endpoint {
    return { ...e, externalIps: e.externalIps.map((ip, k) => (typeof ip === "string" ? ip : resolvedIp(ip, `endpoints[${index}].externalIps[${k}]`))) };
}

export function deployRedirect(parent: pulumi.ComponentResource, name: string, args: ParsedHairpinArgs): RedirectOutputs {
    const opts = { parent };
    const labels = { ...recommendedLabels("hairpin-bypass", name), "directpath.io/hairpin": name };
    const modes: Record<string, HairpinMode> = {};
    const localRedirectPolicies: pulumi.Output<string>[] = [];
    const externalIpServices: pulumi.Output<string>[] = [];
    const iptablesEndpoints: Array<{ e: Endpoint; index: number }> = [];

    args.endpoints.forEach((raw, index) => {
        const e = withCheckedIps(raw, index);
        const mode = effectiveMode(e, args.defaultMode);
        modes[e.name] = mode;

        if (mode === "cilium-lrp") {
            const workload = "pods" in e.backend ? e.backend.pods.workload : "unknown";
            if (workload === "Deployment" || workload === "StatefulSet") {
                pulumi.log.warn(
                    `hairpin endpoint '${e.name}': its backend is a ${workload}, but a CiliumLocalRedirectPolicy only redirects to a backend pod on the client's own node; ` +
                    "on nodes without one, traffic to the external IP goes to the router again and hairpin NAT breaks it. Run the backend as a DaemonSet on every node with clients, or use mode 'service-external-ips'.",
                    parent,
                );
            }
            renderLrps(e, { prefix: name, labels, skipRedirectFromBackend: args.redirect.lrp.skipRedirectFromBackend }).forEach((obj, i) => {
                // Named by the IP (lrpKey), not its position; the alias carries a policy deployed
                // under its old position name (same list order) over to the new name.
                const lrpResourceName = `${name}-${e.name}-lrp-${lrpKey(e.externalIps[i]!, i)}`;
                const oldName = `${name}-${e.name}-lrp-${i}`;
                const lrp = new k8s.apiextensions.CustomResource(lrpResourceName, obj, {
                    ...opts,
                    aliases: oldName === lrpResourceName ? [] : [{ name: oldName }],
                    // The CRD makes skipRedirectFromBackend immutable; the fixed name needs delete-first.
                    replaceOnChanges: ["spec.skipRedirectFromBackend"],
                    deleteBeforeReplace: true,
                });
                localRedirectPolicies.push(qualified(lrp.metadata));
            });
        } else if (mode === "service-external-ips") {
            if ("pods" in e.backend) {
                const svc = new k8s.core.v1.Service(`${name}-${e.name}-extips`, renderExternalIpsService(e, name, labels), opts);
                externalIpServices.push(qualified(svc.metadata));
            } else {
                const patch = new k8s.core.v1.ServicePatch(`${name}-${e.name}-extips`, renderExternalIpsPatch(e), opts);
                externalIpServices.push(qualified(patch.metadata));
            }
        } else {
            iptablesEndpoints.push({ e: raw, index });
        }
    });

    let iptables: RedirectOutputs["iptables"];
    if (iptablesEndpoints.length > 0) {
        const o = args.redirect.iptables;
        const domain = o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
        const names = iptablesNames(name);
        const script = hairpinRedirectScript();
        const rulesConf = pulumi
            .all(iptablesEndpoints.map(({ e, index }) => resolveEndpoint(e, index)))
            .apply((list) => renderRulesConf(list.flatMap((e) => iptablesRules(e, domain))));
        const cm = new k8s.core.v1.ConfigMap(names.configMap, {
            metadata: { name: names.configMap, namespace: o.namespace, labels },
            data: { [IPTABLES_SCRIPT_KEY]: script, [IPTABLES_RULES_KEY]: rulesConf },
        }, opts);
        const ds = new k8s.apps.v1.DaemonSet(names.daemonSet, renderIptablesDaemonSet({
            prefix: name,
            namespace: o.namespace,
            labels,
            image: o.image,
            options: o,
            scriptHash: createHash("sha256").update(script).digest("hex"),
        }), { ...opts, dependsOn: [cm] });
        iptables = { daemonSet: qualified(ds.metadata), configMap: qualified(cm.metadata), rulesConf };
    }

    return { modes, localRedirectPolicies, externalIpServices, iptables };
}
