import { CiliumInstall, ciliumFirewallRules, ciliumValues } from "../../components/cilium";
import type { CiliumValuesOptions } from "../../components/cilium/values";
import type { CiliumHandle, ClusterHandle } from "../handles";
import type { StackSpec } from "../resolve";
import type { CiliumSpec } from "./cilium";

/** The options of `ciliumValues(...)` for a resolved Cilium block (existing clusters). Pure. */
export function ciliumValueOptions(c: CiliumSpec): CiliumValuesOptions {
    return {
        chartVersion: c.chartVersion,
        k8sServiceHost: c.k8sServiceHost!,
        k8sServicePort: c.k8sServicePort,
        tunnel: { protocol: c.tunnel.protocol, port: c.tunnel.port },
        hubble: c.hubble,
        localRedirectPolicies: c.localRedirectPolicies,
        lrpAddressMatcherIps: c.lrpAddressMatcherIps,
        allowServiceExternalIps: c.allowServiceExternalIps,
    };
}

/**
 * Existing clusters with a `directpath:cilium` block: renders directpath's Cilium values (stack
 * output `ciliumValues`), and installs Cilium with them when `install` is true. In aws the cluster
 * step installed Cilium already; its release is handed on.
 */
export function deployCilium(spec: StackSpec, cluster: ClusterHandle): CiliumHandle {
    if (spec.environment === "aws" || cluster.ciliumRelease) return { release: cluster.ciliumRelease, firewallRules: [], outputs: {} };
    const c = spec.cilium;
    if (!c) return { firewallRules: [], outputs: {} };
    const options = ciliumValueOptions(c);
    if (!c.install) return { firewallRules: [], outputs: { ciliumChartVersion: c.chartVersion, ciliumValues: ciliumValues(options) } };
    const release = new CiliumInstall(`${spec.cluster.name}-cilium`, { ...options, namespace: c.namespace, ...(c.chart !== undefined ? { chart: c.chart } : {}), ...(c.repository !== undefined ? { repository: c.repository } : {}) }, { provider: cluster.provider });
    // Cilium runs because we installed it: its node-to-node ports go into the firewall table.
    return { release, firewallRules: ciliumFirewallRules(release.values), outputs: { ciliumChartVersion: c.chartVersion, ciliumValues: release.values } };
}
