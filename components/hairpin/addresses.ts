/**
 * Which addresses HairpinBypass may redirect, or answer with in DNS and /etc/hosts: each key's
 * policy over the address classes (components/common/address-class.ts). What is deployed runs on
 * every node as root, so a class whose redirect or pin would break a node or the cluster is
 * refused; a class that is merely unusual draws a warning. Pure.
 */
import { z } from "zod";
import { checkAddress, type AddressContext, type AddressPolicy } from "../common/address-class";
import { joinPath, type Problem } from "../common/errors";
import { cidrSchema, ipSchema } from "../common/net";

/**
 * What HairpinBypass knows of the cluster's own addresses. Optional: without it only the
 * standards' classes (loopback, link-local, ...) are checked; with it, external IPs inside the
 * Service or pod CIDR or on a node are refused too. The default program fills it from
 * `directpath:cluster`.
 */
export const clusterAddressesSchema = z.strictObject({
    /** The pod CIDRs. */
    podCidrs: z.array(cidrSchema).default([]),
    /** The Service CIDRs (one per IP family). */
    serviceCidrs: z.array(cidrSchema).default([]),
    /** Every node's internal address. */
    nodeInternalIps: z.array(ipSchema).default([]),
});
export type ClusterAddresses = z.output<typeof clusterAddressesSchema>;

const NOT_UNICAST = "not a unicast address a client connects to over TCP or UDP";

/**
 * `endpoints[].externalIps`: an LRP, a Service externalIP or an iptables DNAT for the address
 * captures it on every node.
 */
export const EXTERNAL_IP_POLICY: AddressPolicy = {
    refuse: {
        unspecified: "it stands for every address of the node; a redirect for it would capture the node's traffic to all of them",
        loopback: "a redirect for it would capture every node's own local traffic (the kubelet, a control-plane node's API server, local DNS)",
        broadcast: `${NOT_UNICAST}; a redirect for it would capture broadcast traffic on every node`,
        multicast: `${NOT_UNICAST}; a redirect for it would capture multicast traffic (mDNS, routing protocols) on every node`,
        "link-local": "every node's link-local services live there (the cloud metadata service 169.254.169.254, NodeLocal DNSCache 169.254.25.10): a redirect for it would cut every pod off from them",
        reserved: `${NOT_UNICAST} (reserved, never routed)`,
        "node-internal": "redirecting it would capture the node's own traffic (the kubelet, SSH, the API server); list the public address the router DNATs to the node (its externalIp)",
        "service-cidr": "it is (or could become) a Service's ClusterIP, the Kubernetes API's own among them: redirecting it on every node would cut every pod off from that Service; list the cluster's external address",
        "pod-cidr": "it is (or could become) a pod's address: redirecting it on every node would cut that pod off; list the cluster's external address",
    },
    warn: {
        documentation: "no real client uses a documentation address; fine in a test stack, otherwise a placeholder left in",
    },
};

/**
 * `endpoints[].internalAddress` and an `address` backend's IP: DNS overrides, /etc/hosts and the
 * iptables DNAT send the endpoint's clients there.
 */
export const INTERNAL_ADDRESS_POLICY: AddressPolicy = {
    refuse: {
        unspecified: "not an address a client can connect to: DNS and /etc/hosts would answer with a non-address and every client of the endpoint would fail",
        loopback: "every client would connect to itself (its own pod or node), not to the backend: DNS and /etc/hosts would send the endpoint's traffic nowhere",
        broadcast: NOT_UNICAST,
        multicast: NOT_UNICAST,
        "link-local": "a link-local address is not reachable from other nodes, and the cloud metadata service lives there: clients on other nodes would fail or talk to the wrong service",
        reserved: `${NOT_UNICAST} (reserved, never routed)`,
    },
    warn: {
        documentation: "no real host has a documentation address; fine in a test stack, otherwise a placeholder left in",
        "service-cidr": "a ClusterIP is served only where kube-proxy or Cilium runs; fine if every client is in the cluster, but the router's internal address is what the hairpin needs",
        "pod-cidr": "a pod's address changes when the pod is rescheduled; the override would go stale",
    },
};

/** The cluster's addresses as the classifier takes them. */
export function addressContext(cluster: unknown): AddressContext {
    const c = typeof cluster === "object" && cluster !== null ? (cluster as Record<string, unknown>) : {};
    const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
    return { podCidrs: strings(c.podCidrs), serviceCidrs: strings(c.serviceCidrs), nodeInternalIps: strings(c.nodeInternalIps) };
}

/**
 * Every address-class verdict on the raw endpoints: `problems` (refused) and `warnings`. Paths are
 * relative to the args (`endpoints[0].externalIps[1]`). Tolerant of malformed input; entries that
 * are Outputs are checked when they resolve (see {@link checkResolvedAddress}).
 */
export function endpointAddressChecks(rawEndpoints: unknown, cluster: AddressContext): { problems: Problem[]; warnings: Problem[] } {
    const problems: Problem[] = [];
    const warnings: Problem[] = [];
    const put = (path: string, value: unknown, policy: AddressPolicy) => {
        const v = checkAddress(value, policy, cluster);
        if (v) (v.level === "error" ? problems : warnings).push({ path, value, rule: v.rule });
    };
    (Array.isArray(rawEndpoints) ? rawEndpoints : []).forEach((e, i) => {
        if (typeof e !== "object" || e === null) return;
        const ep = e as Record<string, unknown>;
        (Array.isArray(ep.externalIps) ? ep.externalIps : []).forEach((ip, k) => put(joinPath("endpoints", i, "externalIps", k), ip, EXTERNAL_IP_POLICY));
        put(joinPath("endpoints", i, "internalAddress"), ep.internalAddress, INTERNAL_ADDRESS_POLICY);
        const backend = ep.backend;
        const address = typeof backend === "object" && backend !== null ? (backend as Record<string, unknown>).address : undefined;
        if (typeof address === "object" && address !== null) {
            put(joinPath("endpoints", i, "backend", "address", "ip"), (address as Record<string, unknown>).ip, INTERNAL_ADDRESS_POLICY);
        }
    });
    return { problems, warnings };
}

/** An external IP that arrived as an Output, checked when it resolves: the error a construction-time check would give. */
export function resolvedAddressProblem(value: string, cluster: AddressContext): string | undefined {
    const v = checkAddress(value, EXTERNAL_IP_POLICY, cluster);
    return v?.level === "error" ? v.rule : undefined;
}
