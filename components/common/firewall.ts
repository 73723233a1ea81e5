/**
 * A rule that some part of directpath needs opened in a cloud security group or host firewall.
 *
 * Components publish these as typed outputs (for example `TailscaleDirect.firewallRules`), and
 * firewall components such as `ClusterSecurity` consume them, so nobody copies a port number by hand.
 */
export interface FirewallRule {
    /** `ingress` is traffic arriving at the nodes; `egress` is traffic leaving them. */
    direction: "ingress" | "egress";
    /** IP protocol. `all` means every protocol (ports are then ignored). */
    protocol: "tcp" | "udp" | "icmp" | "icmpv6" | "all";
    /** First port of the range (for ICMP: the ICMP type, or -1 for all). */
    fromPort: number;
    /** Last port of the range (for ICMP: the ICMP code, or -1 for all). */
    toPort: number;
    /**
     * The peer: a CIDR (`0.0.0.0/0`, `::/0`, `10.0.0.0/16`), or `self` for "the nodes themselves"
     * (their own security group), or `controlPlane` for the cluster's control plane.
     */
    peer: string;
    /** Why the rule exists, shown in the plan and copied into the cloud rule's description. */
    description: string;
}

/** Ports that Kubernetes and Cilium already use on every node; nothing of directpath's may claim them. */
export const RESERVED_NODE_PORTS: ReadonlyArray<{ port: number; protocol: "tcp" | "udp" | "both"; use: string }> = [
    { port: 53, protocol: "both", use: "DNS" },
    { port: 4240, protocol: "tcp", use: "Cilium health" },
    { port: 4244, protocol: "tcp", use: "Hubble" },
    { port: 8472, protocol: "udp", use: "Cilium VXLAN" },
    { port: 10250, protocol: "tcp", use: "kubelet" },
];

/** The Kubernetes NodePort range; host ports in it can collide with Services. */
export const NODE_PORT_RANGE = { from: 30000, to: 32767 } as const;
