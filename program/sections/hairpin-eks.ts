/**
 * HairpinBypass's DNS deliveries by environment. On EKS (`aws`), CoreDNS is the EKS add-on: it
 * imports no `coredns-custom` (so that delivery is inert) and reverts edits of its `Corefile`, but
 * takes a whole Corefile in its `configurationValues`, so the CoreDNS override goes there
 * (`eks-addon`, derived on aws). NodeLocal DNSCache has no EKS add-on: `corefile` delivery patches
 * the one you installed; kubespray's `inventory` means nothing there. Pure.
 */
import type { Problem } from "../../components/common/errors";
import { key } from "../keys";
import type { HairpinSpec } from "./hairpin";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The DNS deliveries for the environment: `eks-addon` derived on aws unless written, and what can't work refused. */
export function hairpinDnsForEnvironment(hairpin: HairpinSpec, rawHairpin: unknown, environment: string): { hairpin: HairpinSpec; problems: Problem[]; derived: Record<string, string> } {
    const problems: Problem[] = [];
    const derived: Record<string, string> = {};
    const dns = isObj(rawHairpin) && isObj(rawHairpin.dns) ? rawHairpin.dns : {};
    const written = isObj(dns.coredns) ? dns.coredns.delivery : undefined;
    const paths = "the node-level paths dns.hosts (every node's /etc/hosts: the kubelet, containerd, host-network pods) and dns.nodeLocalDns (a NodeLocal DNSCache you run)";
    let coredns = hairpin.dns.coredns;
    if (environment === "aws" && coredns.enabled) {
        if (written === undefined) {
            coredns = { ...coredns, delivery: "eks-addon" };
            derived[key("hairpin.dns.coredns.delivery")] = "the aws environment: EKS's CoreDNS add-on takes the Corefile in its configurationValues (eks-addon)";
        } else if (written !== "eks-addon") {
            problems.push({
                path: key("hairpin.dns.coredns.delivery"),
                value: written,
                rule: written === "coredns-custom"
                    ? `does nothing on EKS: its CoreDNS add-on has no import of /etc/coredns/custom/*.server. Use eks-addon (the default on aws: the Corefile goes into the add-on's configurationValues), or ${paths}`
                    : `doesn't stick on EKS: the CoreDNS add-on manager reverts an edited Corefile. Use eks-addon (the default on aws: the Corefile goes into the add-on's configurationValues), or ${paths}`,
            });
        }
    } else if (environment !== "aws" && written === "eks-addon") {
        problems.push({ path: key("hairpin.dns.coredns.delivery"), value: written, rule: "is for EKS's CoreDNS add-on (directpath:environment aws); an existing cluster's CoreDNS takes coredns-custom (k3s, AKS) or corefile (kubeadm, kubespray)" });
    }
    const nodeLocal = hairpin.dns.nodeLocalDns;
    if (environment === "aws" && nodeLocal.enabled && nodeLocal.delivery === "inventory") {
        problems.push({ path: key("hairpin.dns.nodeLocalDns.delivery"), value: "inventory", rule: "is kubespray's (nodelocaldns_external_zones); EKS has no NodeLocal DNSCache add-on: use corefile delivery against the node-local-dns ConfigMap of the NodeLocal DNSCache you run (configMapName, bind and corednsAddress as you installed it)" });
    }
    return { hairpin: { ...hairpin, dns: { ...hairpin.dns, coredns } }, problems, derived };
}
