/**
 * pulumi-directpath: Pulumi components that fix the three network faults that keep biting
 * Kubernetes on AWS and on regional clouds: relayed Tailscale, hairpin NAT, and a blocked overlay.
 *
 * This barrel is the package's entry point. It only exports; it never registers resources.
 */
export * from "./common/errors";
export * from "./common/firewall";
export * from "./common/net";
export * from "./hairpin";
export * from "./cilium";
export * from "./tailscale";
export * from "./aws";
