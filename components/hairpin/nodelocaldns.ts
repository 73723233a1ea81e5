/**
 * NodeLocal DNSCache (node-local-dns, node-cache) server blocks for the overridden names. Pure.
 *
 * node-local-dns forwards only the cluster domain, `in-addr.arpa` and `ip6.arpa` to CoreDNS and
 * sends everything else (`.:53`) straight to the node's upstream resolvers, so a CoreDNS override
 * of registry.example.com is never asked. Each overridden name therefore gets its own block that
 * forwards to CoreDNS, in the shape kubespray renders for `nodelocaldns_external_zones`: bound to
 * the node-local address, cached, with `reload` and `loop`, metrics on node-cache's port.
 */
import { stringify } from "yaml";

export interface NodeLocalBlocksInput {
    hostnames: string[];
    /** Addresses node-cache binds (kubespray: 169.254.25.10). */
    bind: string[];
    /** CoreDNS's Service ClusterIP (kubespray: 10.233.0.3). */
    corednsAddress: string;
    cache: number;
    /** Metrics port; 0 leaves the prometheus plugin out. */
    prometheusPort: number;
    /** Listening port (53 on nodes; tests use a high port). */
    port?: number;
}

const ind = (n: number) => " ".repeat(n);

/** One server block per hostname, sorted, each ending with a newline; "" when there are none. */
export function renderNodeLocalBlocks(input: NodeLocalBlocksInput): string {
    const port = input.port ?? 53;
    const names = [...new Set(input.hostnames)].sort();
    return names
        .map((h) => {
            const lines = [
                `${h}:${port} {`,
                `${ind(4)}errors`,
                `${ind(4)}cache ${input.cache}`,
                `${ind(4)}reload`,
                `${ind(4)}loop`,
                `${ind(4)}bind ${input.bind.join(" ")}`,
                // force_tcp as in node-local-dns's own cluster-domain block: TCP to CoreDNS avoids
                // conntrack races of UDP through the Service IP.
                `${ind(4)}forward . ${input.corednsAddress} {`,
                `${ind(8)}force_tcp`,
                `${ind(4)}}`,
            ];
            if (input.prometheusPort > 0) lines.push(`${ind(4)}prometheus :${input.prometheusPort}`);
            lines.push("}");
            return lines.join("\n") + "\n";
        })
        .join("");
}

/**
 * The same overrides as kubespray inventory: the value of `nodelocaldns_external_zones`
 * (group_vars/k8s_cluster/k8s-cluster.yml), for `inventory` delivery.
 */
export function kubesprayExternalZones(input: Pick<NodeLocalBlocksInput, "hostnames" | "corednsAddress" | "cache">): Array<{ zones: string[]; nameservers: string[]; cache: number }> {
    return [...new Set(input.hostnames)].sort().map((h) => ({ zones: [h], nameservers: [input.corednsAddress], cache: input.cache }));
}

/** {@link kubesprayExternalZones} as a YAML snippet to paste into the inventory. */
export function kubesprayExternalZonesYaml(input: Pick<NodeLocalBlocksInput, "hostnames" | "corednsAddress" | "cache">): string {
    return stringify({ nodelocaldns_external_zones: kubesprayExternalZones(input) });
}
