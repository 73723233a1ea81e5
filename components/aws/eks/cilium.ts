/**
 * EksCilium: Cilium as the CNI and kube-proxy of an {@link EksCluster}, then CoreDNS as an EKS
 * add-on once Cilium is up (EKS creates the cluster without a CNI, so CoreDNS can't run before).
 * The values come from `eksCiliumValueOptions` (the cluster's endpoint on 443, VXLAN on the
 * security group's port, Hubble as the security group allows, cluster-pool IPAM on the pod
 * CIDR) and `ciliumValues`, the one definition of directpath's Cilium values.
 *
 * On an EKS cluster made elsewhere, use `eksCiliumValueOptions` with `CiliumInstall` and that
 * cluster's provider instead.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CILIUM_HELM_REPO, ciliumValues, type CiliumHelmValues, type CiliumValuesOptions } from "../../cilium/values";
import type { EksCluster } from ".";
import type { EksNodeGroup } from "./node-group";
import { eksCiliumValueOptions, validateEksCiliumOptions, type EksCiliumOptionsInput } from "./args";

/** The name of the EKS add-on that follows Cilium. */
export const COREDNS_ADDON = "coredns";

/** The Cilium options that follow from the hairpin setup (see `CiliumValuesOptions`). */
export type EksCiliumOptions = Pick<CiliumValuesOptions, "localRedirectPolicies" | "lrpAddressMatcherIps" | "allowServiceExternalIps">;

/**
 * Arguments of {@link EksCilium}: the cluster and its node groups, the plain options of
 * `eksCiliumOptionsSchema` (`chartVersion`, `extraValues`, `coreDnsVersion`), and the hairpin
 * options of the Cilium values (`localRedirectPolicies`, `lrpAddressMatcherIps`,
 * `allowServiceExternalIps`).
 */
export interface EksCiliumArgs extends EksCiliumOptionsInput, EksCiliumOptions {
    /**
     * A whole Corefile for the CoreDNS add-on (its `configurationValues` key `corefile`), e.g.
     * `hairpinEksAddonCorefile(...)` for HairpinBypass's `eks-addon` DNS delivery. EKS's add-on
     * imports no `coredns-custom` and reverts edits of its ConfigMap; this is the one way in.
     * Unset or "": the add-on's own Corefile.
     */
    coreDnsCorefile?: pulumi.Input<string>;
    /** The cluster: its provider installs the chart; its endpoint, pod CIDR and security group fix the values. */
    cluster: EksCluster;
    /** The node groups CoreDNS waits for (its pods need nodes with a running Cilium agent). */
    nodeGroups: EksNodeGroup[];
}

/**
 * The CoreDNS add-on's `configurationValues` for a Corefile: `{"corefile": "..."}` (the add-on's
 * JSON schema, `aws eks describe-addon-configuration --addon-name coredns`), or undefined for "".
 */
export function coreDnsConfigurationValues(corefile: pulumi.Input<string>): pulumi.Output<string | undefined> {
    return pulumi.output(corefile).apply((c) => (c ? JSON.stringify({ corefile: c }) : undefined));
}

export class EksCilium extends pulumi.ComponentResource {
    /** The Helm release; anything that needs a working pod network (or Cilium's CRDs) can depend on it. */
    readonly release: k8s.helm.v3.Release;
    readonly coreDns: aws.eks.Addon;
    /** The values given to the release. */
    readonly values: CiliumHelmValues;
    readonly chartVersion: string;

    constructor(name: string, args: EksCiliumArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const { cluster, nodeGroups, localRedirectPolicies, lrpAddressMatcherIps, allowServiceExternalIps, coreDnsCorefile, ...plain } = args;
        const o = validateEksCiliumOptions(plain);
        // Validated (ciliumValues throws a ValidationError) before anything is registered.
        const values = ciliumValues(eksCiliumValueOptions({
            endpoint: cluster.endpoint,
            podCidr: cluster.podCidr,
            tunnelPort: cluster.security.tunnelPort,
            hubble: cluster.security.hubble,
            chartVersion: o.chartVersion,
            extraValues: o.extraValues,
        }, { localRedirectPolicies, lrpAddressMatcherIps, allowServiceExternalIps }));
        super("directpath:aws:EksCilium", name, {}, opts);
        this.values = values;
        this.chartVersion = o.chartVersion;
        // Both were the cluster's children (`<cluster>-cilium`, `<cluster>-coredns`) before Cilium
        // was its own component: the aliases keep a deployed release and add-on in place.
        const moved = (old: string, now: string) => [{ ...(old === now ? {} : { name: old }), parent: cluster }];

        this.release = new k8s.helm.v3.Release(name, {
            name: "cilium",
            chart: "cilium",
            version: o.chartVersion,
            repositoryOpts: { repo: CILIUM_HELM_REPO },
            namespace: "kube-system",
            values,
            // The agents start as the nodes join, which happens in parallel: give it time.
            timeout: 900,
        }, { parent: this, provider: cluster.provider, aliases: moved(`${cluster.name}-cilium`, name) });
        this.coreDns = new aws.eks.Addon(`${name}-${COREDNS_ADDON}`, {
            clusterName: cluster.clusterName,
            addonName: COREDNS_ADDON,
            addonVersion: o.coreDnsVersion,
            ...(coreDnsCorefile !== undefined ? { configurationValues: coreDnsConfigurationValues(coreDnsCorefile) } : {}),
            resolveConflictsOnCreate: "OVERWRITE",
            resolveConflictsOnUpdate: "OVERWRITE",
            tags: cluster.tags,
        }, { parent: this, dependsOn: [this.release, ...nodeGroups.map((g) => g.nodeGroup)], aliases: moved(`${cluster.name}-${COREDNS_ADDON}`, `${name}-${COREDNS_ADDON}`) });
        this.registerOutputs({ chartVersion: this.chartVersion });
    }
}
