/**
 * CiliumInstall: installs Cilium from its Helm chart (pinned version, https://helm.cilium.io) with
 * the values directpath needs (./values.ts). A `k8s.helm.v3.Release`, not `helm.v3.Chart`: Helm
 * owns the install (hooks, upgrades, `helm history`), and to Pulumi it is one plain resource, so the
 * plan renders it offline.
 *
 * Already running Cilium? Don't install it twice: merge `ciliumValues(...)` into your own values
 * instead (see the README), and restart the agent and the operator after turning Local Redirect
 * Policies on (`kubectl -n kube-system rollout restart ds/cilium deploy/cilium-operator`): both read
 * the setting only at start-up.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { FirewallRule } from "../common/firewall";
import { CILIUM_CHART_VERSION, CILIUM_HELM_REPO, ciliumValues, type CiliumHelmValues, type CiliumValuesOptions } from "./values";

export * from "./values";

/** Arguments of {@link CiliumInstall}: the values' options plus where to install. */
export interface CiliumInstallArgs extends CiliumValuesOptions {
    /** Namespace of the release. Default `kube-system`. */
    namespace?: string;
    /** Helm release name. Default `cilium`. */
    releaseName?: string;
    /**
     * The chart: a local chart directory or `.tgz` (a path: absolute, or starting with `./` or
     * `../`; for air-gapped clusters, e.g. `install/kubernetes/cilium` of the Cilium source), or a
     * chart name in `repository`. Default `cilium`.
     */
    chart?: string;
    /** Helm repository URL for a chart name (ignored for a local chart). Default https://helm.cilium.io. */
    repository?: string;
}

/** Whether `chart` names a local chart (a path) rather than a chart in a repository. Pure. */
export function isLocalChart(chart: string): boolean {
    return chart.startsWith("/") || chart.startsWith("./") || chart.startsWith("../") || chart.endsWith(".tgz");
}

/** The rules Cilium needs open between nodes, for a set of values. Pure. */
export function ciliumFirewallRules(values: Pick<CiliumHelmValues, "tunnelProtocol" | "tunnelPort" | "hubble">): FirewallRule[] {
    const rules: FirewallRule[] = [
        { direction: "ingress", protocol: "udp", fromPort: values.tunnelPort, toPort: values.tunnelPort, peer: "self", description: `Cilium ${values.tunnelProtocol.toUpperCase()} overlay between nodes` },
        { direction: "ingress", protocol: "tcp", fromPort: 4240, toPort: 4240, peer: "self", description: "Cilium health checks between nodes" },
    ];
    if (values.hubble.enabled) {
        rules.push({ direction: "ingress", protocol: "tcp", fromPort: 4244, toPort: 4244, peer: "self", description: "Hubble server (Hubble Relay reaches every node)" });
    }
    return rules;
}

export class CiliumInstall extends pulumi.ComponentResource {
    /** The values the release was installed with. */
    readonly values: CiliumHelmValues;
    /** The chart version. */
    readonly chartVersion: string;
    /** Rules to open between nodes (the overlay port, health checks, Hubble). */
    readonly firewallRules: FirewallRule[];
    /** The Helm release's status (name, namespace, revision, ...). */
    readonly status: pulumi.Output<k8s.types.output.helm.v3.ReleaseStatus>;

    /** Throws a ValidationError (every problem at once, nothing registered) on bad args. */
    constructor(name: string, args: CiliumInstallArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { namespace, releaseName, chart, repository, ...valueOptions } = args;
        const values = ciliumValues(valueOptions);
        super("directpath:cilium:CiliumInstall", name, {}, opts);
        this.values = values;
        this.chartVersion = valueOptions.chartVersion ?? CILIUM_CHART_VERSION;
        this.firewallRules = ciliumFirewallRules(values);
        const release = new k8s.helm.v3.Release(name, {
            name: releaseName ?? "cilium",
            chart: chart ?? "cilium",
            version: this.chartVersion,
            ...(chart !== undefined && isLocalChart(chart) ? {} : { repositoryOpts: { repo: repository ?? CILIUM_HELM_REPO } }),
            namespace: namespace ?? "kube-system",
            values,
        }, { parent: this });
        this.status = release.status;
        this.registerOutputs({ values, chartVersion: this.chartVersion, firewallRules: this.firewallRules, status: this.status });
    }
}
