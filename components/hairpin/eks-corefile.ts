/**
 * The Corefile of EKS's CoreDNS add-on (`coredns`, v1.11 and v1.12 eksbuilds), which the add-on
 * renders when `configurationValues` sets no `corefile`. `eks-addon` delivery writes it back with
 * directpath's marked server block in front, so the cluster keeps EKS's own behaviour for every
 * other name. https://docs.aws.amazon.com/eks/latest/userguide/coredns-add-on-create.html
 */
export function eksAddonCorefile(clusterDomain: string): string {
    return [
        ".:53 {",
        "    errors",
        "    health {",
        "        lameduck 5s",
        "      }",
        "    ready",
        `    kubernetes ${clusterDomain} in-addr.arpa ip6.arpa {`,
        "      pods insecure",
        "      fallthrough in-addr.arpa ip6.arpa",
        "    }",
        "    prometheus :9153",
        "    forward . /etc/resolv.conf",
        "    cache 30",
        "    loop",
        "    reload",
        "    loadbalance",
        "}",
        "",
    ].join("\n");
}
