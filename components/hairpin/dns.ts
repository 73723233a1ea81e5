/**
 * The DNS half of HairpinBypass: resource wiring over the pure renderers (dns-plan.ts,
 * corefile.ts, nodelocaldns.ts, hosts.ts). Endpoint fields may be Outputs (an Elastic IP, say), so
 * everything rendered from them is computed inside one `apply`; which resources exist depends only
 * on the plain options, never on an Output.
 *
 * Resources (each only when its override is on and some endpoint has hostnames):
 * - CoreDNS, `coredns-custom` delivery: a ConfigMapPatch owning the key `<id>.server` of the
 *   `coredns-custom` ConfigMap, and a DeploymentPatch owning one pod-template annotation (the
 *   block's sha256) on the CoreDNS Deployment, which rolls CoreDNS on change: the `reload` plugin
 *   checksums only the Corefile, never the files it imports. Deleting either removes only what it
 *   owns (the key, the annotation).
 * - CoreDNS, `corefile` delivery: a ConfigMapPatch that force-owns the `Corefile` key of the
 *   `coredns` ConfigMap (the base Corefile with the marked block in front). `reload` (in kubeadm's
 *   and kubespray's Corefiles) picks it up; `rollout: always` rolls as well. Deleting it restores
 *   the cluster's own Corefile byte for byte: a `beforeDelete` hook (dns-restore.ts) removes exactly
 *   directpath's marked region from the live text and hands the key to another field manager, so
 *   the provider's relinquish never removes the key (`pulumi destroy --run-program`; plain
 *   `pulumi destroy` refuses with the engine's error and changes nothing).
 * - NodeLocal DNSCache, `corefile` delivery: the same for the `Corefile` key of `nodelocaldns`.
 * - hosts: a ConfigMap (script + entries) and a DaemonSet, owned outright.
 */
import { recommendedLabels } from "../common/labels";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readAsset } from "../common/assets";
import type { ParsedHairpinArgs } from "./args";
import { planDns, regionId, type DnsPlan, type HostnameAnswer } from "./dns-plan";
import { corefilePatchDeleteOptions, corefileRestoreHook, engineSupportsHooks } from "./dns-restore";
import { hostsConfigMap, hostsDaemonSet, HOSTS_ENTRIES_KEY } from "./hosts";
import { resolveEndpoint, type Endpoint } from "./model";

export interface DnsOutputs {
    /** What each hostname answers on each enabled path. */
    answers: pulumi.Output<HostnameAnswer[]>;
    /** The CoreDNS override server block ("" when CoreDNS is off or there is nothing to override). */
    corednsServerBlock: pulumi.Output<string>;
    /** Where the CoreDNS override went: ConfigMap namespace/name and key. */
    corednsTarget?: { namespace: string; configMap: string; key: string; delivery: string };
    /** `eks-addon` delivery: the Corefile for the CoreDNS add-on's `configurationValues` ("" with nothing to override). */
    corednsCorefile?: pulumi.Output<string>;
    /** The NodeLocal DNSCache server blocks ("" when off). */
    nodeLocalDnsBlocks: pulumi.Output<string>;
    /** `inventory` delivery: the `nodelocaldns_external_zones` YAML for your kubespray inventory. */
    nodeLocalDnsInventory?: pulumi.Output<string>;
    /** The `<address> <hostname>` lines kept in every node's /etc/hosts ("" when off). */
    hostsEntries: pulumi.Output<string>;
    /** The hosts DaemonSet's namespace/name, when deployed. */
    hostsDaemonSet?: { namespace: string; name: string };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Kubernetes object names derived from the component's name. */
export function objectName(componentName: string, suffix: string): string {
    const base = componentName.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "hairpin";
    return `${base}-${suffix}`.slice(0, 63).replace(/-+$/, "");
}

function hasHostnames(endpoints: readonly Endpoint[]): boolean {
    // The list itself is plain (Inputs are its elements), so this is known at construction time.
    return endpoints.some((e) => e.hostnames.length > 0);
}

/** The DNS plan of parsed args whose endpoints may hold Outputs: every Input resolved, then planned purely. */
export function dnsPlanOutput(name: string, args: ParsedHairpinArgs): pulumi.Output<DnsPlan> {
    return pulumi.all(args.endpoints.map((e, i) => resolveEndpoint(e, i))).apply((endpoints) => planDns(name, args, endpoints));
}

/**
 * `eks-addon` delivery: the Corefile the CoreDNS add-on must carry for HairpinBypass `name` with
 * these args ("" with nothing to override). The same value as that component's
 * `dns.corednsCorefile`, available before it exists (the add-on is created with the cluster).
 */
export function eksAddonCorefileOutput(name: string, args: ParsedHairpinArgs): pulumi.Output<string> {
    return dnsPlanOutput(name, args).apply((p) => p.corednsCorefile ?? "");
}

export function deployDns(parent: pulumi.ComponentResource, name: string, args: ParsedHairpinArgs): DnsOutputs {
    const dns = args.dns;
    const opts: pulumi.CustomResourceOptions = { parent };
    const labels = { ...recommendedLabels("hairpin-bypass", name), "directpath.io/hairpin": name };

    // Resolve every Input inside the endpoints (Outputs from other resources), then plan purely.
    const plan: pulumi.Output<DnsPlan> = dnsPlanOutput(name, args);

    const out: DnsOutputs = {
        answers: plan.answers,
        corednsServerBlock: plan.corednsBlock,
        nodeLocalDnsBlocks: plan.nodeLocalBlocks,
        hostsEntries: plan.hostsEntries,
    };
    const id = regionId(name);
    // The restore hooks are registered whenever a `corefile` delivery is on, patch or not: a later
    // run that drops the patch (no hostnames any more) must still find its delete hook by name.
    // (Where the engine runs no hooks, the patches fall back to retainOnDelete: see dns-restore.ts.)
    const hooks = engineSupportsHooks();
    const corefileHook = (role: string, namespace: string, configMap: string) =>
        hooks ? corefileRestoreHook(`${name}-${role}-restore`, { namespace, configMap, key: "Corefile", regionId: id }) : undefined;
    const corednsHook = dns.coredns.enabled && dns.coredns.delivery === "corefile" ? corefileHook("coredns-corefile", dns.coredns.namespace, dns.coredns.configMapName ?? "coredns") : undefined;
    const nodeLocalHook = dns.nodeLocalDns.enabled && dns.nodeLocalDns.delivery === "corefile" ? corefileHook("nodelocaldns", dns.nodeLocalDns.namespace, dns.nodeLocalDns.configMapName) : undefined;
    if (!hasHostnames(args.endpoints)) return out;

    if (dns.coredns.enabled) {
        const c = dns.coredns;
        if (c.delivery === "eks-addon") {
            // Nothing registered here: the CoreDNS add-on carries the Corefile (EksCilium's coreDnsCorefile).
            out.corednsTarget = { namespace: c.namespace, configMap: "coredns", key: "Corefile", delivery: c.delivery };
            out.corednsCorefile = plan.apply((p) => p.corednsCorefile ?? "");
        } else if (c.delivery === "coredns-custom") {
            const configMap = c.configMapName ?? "coredns-custom";
            const key = `directpath-${id}.server`;
            const patch = new k8s.core.v1.ConfigMapPatch(`${name}-coredns-custom`, {
                metadata: { name: configMap, namespace: c.namespace },
                data: { [key]: plan.corednsBlock },
            }, opts);
            out.corednsTarget = { namespace: c.namespace, configMap, key, delivery: c.delivery };
            if (c.rollout !== "never") rollCoredns(name, c.namespace, c.deploymentName, plan.corednsBlock, opts, [patch]);
        } else {
            const configMap = c.configMapName ?? "coredns";
            const patch = new k8s.core.v1.ConfigMapPatch(`${name}-coredns-corefile`, {
                metadata: { name: configMap, namespace: c.namespace, annotations: { "pulumi.com/patchForce": "true" } },
                data: { Corefile: plan.apply((p) => p.corednsCorefile ?? "") },
            }, { ...opts, ...corefilePatchDeleteOptions(corednsHook) });
            out.corednsTarget = { namespace: c.namespace, configMap, key: "Corefile", delivery: c.delivery };
            if (c.rollout === "always") rollCoredns(name, c.namespace, c.deploymentName, plan.corednsBlock, opts, [patch]);
        }
    }

    if (dns.nodeLocalDns.enabled) {
        const n = dns.nodeLocalDns;
        if (n.delivery === "corefile") {
            new k8s.core.v1.ConfigMapPatch(`${name}-nodelocaldns`, {
                metadata: { name: n.configMapName, namespace: n.namespace, annotations: { "pulumi.com/patchForce": "true" } },
                data: { Corefile: plan.apply((p) => p.nodeLocalCorefile ?? "") },
            }, { ...opts, ...corefilePatchDeleteOptions(nodeLocalHook) });
        } else {
            out.nodeLocalDnsInventory = plan.apply((p) => p.nodeLocalInventory ?? "");
        }
    }

    if (dns.hosts.enabled) {
        const h = dns.hosts;
        const objName = objectName(name, "hosts");
        const script = readAsset(__dirname, "scripts/hosts-sync.sh");
        const input = {
            name: objName,
            namespace: h.namespace,
            labels,
            image: h.image,
            intervalSeconds: h.intervalSeconds,
            hostPath: h.hostPath,
            blockId: id,
            script,
            entries: "",
            nodeSelector: h.nodeSelector,
        };
        const cmObj = hostsConfigMap(input);
        const cm = new k8s.core.v1.ConfigMap(`${name}-hosts`, {
            ...cmObj,
            data: { ...cmObj.data, [HOSTS_ENTRIES_KEY]: plan.hostsEntries },
        }, opts);
        new k8s.apps.v1.DaemonSet(`${name}-hosts`, hostsDaemonSet(input), { ...opts, dependsOn: [cm] });
        out.hostsDaemonSet = { namespace: h.namespace, name: objName };
    }
    return out;
}

/** Rolls the CoreDNS Deployment when `content` changes: one pod-template annotation, owned by this patch alone. */
function rollCoredns(name: string, namespace: string, deployment: string, content: pulumi.Output<string>, opts: pulumi.CustomResourceOptions, dependsOn: pulumi.Resource[]): void {
    new k8s.apps.v1.DeploymentPatch(`${name}-coredns-rollout`, {
        metadata: { name: deployment, namespace },
        spec: { template: { metadata: { annotations: { "directpath.io/hairpin-dns-sha256": content.apply(sha256) } } } },
    }, { ...opts, dependsOn });
}
