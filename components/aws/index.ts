/**
 * directpath's AWS environment: a public-subnet VPC, the node and control-plane security groups,
 * an EKS cluster with Cilium as its CNI and public-IP nodes, and an optional ingress NLB with
 * Elastic IPs. Each component validates its whole input before registering anything.
 *
 * This barrel is the package's subpath entry `pulumi-directpath/aws` (package.json `exports`); it
 * needs the optional peer `@pulumi/aws`. The root entry does not re-export it, so a stack that only
 * uses the Kubernetes components never loads `@pulumi/aws`.
 */
export * from "./vpc";
export * from "./security";
export * from "./security-group-rules";
export * from "./eks";
export * from "./nlb";
export * from "./nlb-targets";
