/**
 * pulumi-directpath: Pulumi components that fix the three network faults that keep biting
 * Kubernetes on AWS and on regional clouds: relayed Tailscale, hairpin NAT, and a blocked overlay.
 *
 * This barrel is the package's root entry point (`pulumi-directpath`): the Kubernetes components and
 * their pure helpers. It only exports; it never registers resources. It loads neither `@pulumi/aws`
 * nor `@pulumi/tailscale` (both optional peers): the AWS components are the subpath
 * `pulumi-directpath/aws` (./aws/index.ts), and TailscaleDirect loads the Tailscale provider only in
 * API-key mode.
 */
export * from "./common/errors";
export * from "./common/firewall";
export * from "./common/net";
export * from "./hairpin";
export * from "./cilium";
export * from "./tailscale";
