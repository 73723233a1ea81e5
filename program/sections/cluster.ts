/**
 * `directpath:cluster`: the cluster the stack deploys into (the `local` environment describes an
 * existing kubespray-style cluster; `aws` environments build one).
 */
import { z } from "zod";
import { cidrSchema, dnsLabelSchema, ipSchema, ipv4Schema } from "../../components/common/net";

export const nodeSchema = z.strictObject({
    name: dnsLabelSchema,
    /** The node's address on the LAN or VPC. */
    internalIp: ipSchema,
    /** The public address the router DNATs to this node, if any. */
    externalIp: ipSchema.optional(),
});

export const clusterSectionSchema = z.strictObject({
    /** A short name for the cluster; prefixes cloud resource names. */
    name: dnsLabelSchema.default("directpath"),
    /** The CNI. directpath's Cilium features (LRP, Cilium values) need `cilium`. */
    cni: z.enum(["cilium", "other"], { error: "must be cilium or other" }).default("cilium"),
    clusterDomain: z.string().default("cluster.local"),
    /** Pod CIDRs (kubespray's default is 10.233.64.0/18). */
    podCidrs: z.array(cidrSchema).default([]),
    /** The Service CIDR (kubespray's default is 10.233.0.0/18). */
    serviceCidr: cidrSchema.optional(),
    /** Nodes of an existing cluster (the `local` environment). */
    nodes: z.array(nodeSchema).default([]),
    /** The ClusterIP of the cluster DNS Service (kubespray: 10.233.0.3). */
    dnsServiceIp: ipv4Schema.optional(),
});

export type ClusterSection = z.output<typeof clusterSectionSchema>;
