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
 *   and kubespray's Corefiles) picks it up; `rollout: always` rolls as well. Created with
 *   `retainOnDelete`, because deleting a patch that solely owns `Corefile` would remove the key and
 *   break cluster DNS; to remove the override, deploy with no hostnames first (the key goes back
 *   to the base Corefile), then delete.
 * - NodeLocal DNSCache, `corefile` delivery: the same for the `Corefile` key of `nodelocaldns`.
 * - hosts: a ConfigMap (script + entries) and a DaemonSet, owned outright.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readAsset } from "../common/assets";
import type { ParsedHairpinArgs } from "./args";
import { planDns, regionId, type DnsPlan, type HostnameAnswer } from "./dns-plan";
import { hostsConfigMap, hostsDaemonSet, HOSTS_ENTRIES_KEY } from "./hosts";
import { resolveEndpoint, type Endpoint } from "./model";

export interface DnsOutputs {
    /** What each hostname answers on each enabled path. */
    answers: pulumi.Output<HostnameAnswer[]>;
    /** The CoreDNS override server block ("" when CoreDNS is off or there is nothing to override). */
    corednsServerBlock: pulumi.Output<string>;
    /** Where the CoreDNS override went: ConfigMap namespace/name and key. */
    corednsTarget?: { namespace: string; configMap: string; key: string; delivery: string };
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

export function deployDns(parent: pulumi.ComponentResource, name: string, args: ParsedHairpinArgs): DnsOutputs {
    const dns = args.dns;
    const opts: pulumi.CustomResourceOptions = { parent };
    const labels = { "app.kubernetes.io/managed-by": "directpath", "app.kubernetes.io/part-of": "hairpin-bypass" };

    // Resolve every Input inside the endpoints (Outputs from other resources), then plan purely.
    const plan: pulumi.Output<DnsPlan> = pulumi
        .all(args.endpoints.map((e, i) => resolveEndpoint(e, i)))
        .apply((endpoints) => planDns(name, args, endpoints));

    const out: DnsOutputs = {
        answers: plan.answers,
        corednsServerBlock: plan.corednsBlock,
        nodeLocalDnsBlocks: plan.nodeLocalBlocks,
        hostsEntries: plan.hostsEntries,
    };
    if (!hasHostnames(args.endpoints)) return out;
    const id = regionId(name);

    if (dns.coredns.enabled) {
        const c = dns.coredns;
        if (c.delivery === "coredns-custom") {
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
            }, { ...opts, retainOnDelete: true });
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
            }, { ...opts, retainOnDelete: true });
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
