/**
 * `directpath:cluster`: the cluster the stack deploys into (the `local` environment describes an
 * existing kubespray-style cluster; `aws` environments build one), and the rules between its
 * fields. Pure.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { Problem } from "../../components/common/errors";
import { cidrContains, cidrSchema, cidrsOverlap, dnsLabelSchema, dnsNameSchema, ipSchema, ipv4Schema, parseCidr } from "../../components/common/net";
import { DEFAULT_CLUSTER_DOMAIN } from "../../components/hairpin/dns-args";
import { key } from "../keys";

export const nodeSchema = z.strictObject({
    name: dnsLabelSchema,
    /** The node's address on the LAN or VPC. */
    internalIp: ipSchema,
    /** The public address the router DNATs to this node, if any. */
    externalIp: ipSchema.optional(),
});

export const clusterSectionSchema = z.strictObject({
    /** A short name for the cluster; prefixes resource names. */
    name: dnsLabelSchema.default("directpath"),
    /** The CNI. directpath's Cilium features (LRP, Cilium values) need `cilium`. */
    cni: z.enum(["cilium", "other"], { error: "must be cilium or other" }).default("cilium"),
    /** The cluster DNS domain; HairpinBypass inherits it unless its own keys set one. */
    clusterDomain: dnsNameSchema.default(DEFAULT_CLUSTER_DOMAIN),
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
export type ClusterNode = z.output<typeof nodeSchema>;

/**
 * Rules between the cluster's own fields, on the parsed section (with the environment's default
 * CIDRs filled in). Paths are full config keys.
 */
export function clusterProblems(cluster: ClusterSection, environment: string, explicit: { podCidrs: boolean; serviceCidr: boolean }): Problem[] {
    const problems: Problem[] = [];
    const svc = cluster.serviceCidr;
    const svcKey = explicit.serviceCidr ? "directpath:cluster.serviceCidr" : "the default Service CIDR";
    cluster.podCidrs.forEach((pod, i) => {
        const path = explicit.podCidrs ? key(`cluster.podCidrs[${i}]`) : key("cluster.podCidrs");
        if (svc && parseCidr(pod)?.family === parseCidr(svc)?.family && cidrsOverlap(pod, svc)) {
            problems.push({ path, value: pod, rule: `overlaps ${svcKey} ${svc}: a pod address and a Service ClusterIP would collide; pod and Service CIDRs must be disjoint` });
        }
        cluster.podCidrs.slice(0, i).forEach((other, j) => {
            if (parseCidr(pod)?.family === parseCidr(other)?.family && cidrsOverlap(pod, other)) {
                problems.push({ path, value: pod, rule: `overlaps directpath:cluster.podCidrs[${j}] ${other}; list each pod CIDR once, disjoint` });
            }
        });
    });
    if (cluster.dnsServiceIp !== undefined && svc !== undefined && !cidrContains(svc, cluster.dnsServiceIp)) {
        problems.push({
            path: key("cluster.dnsServiceIp"),
            value: cluster.dnsServiceIp,
            rule: `is outside ${svcKey} ${svc}: the cluster DNS Service's ClusterIP is taken from the Service CIDR`,
        });
    } else if (cluster.dnsServiceIp !== undefined && svc !== undefined) {
        const edge = serviceCidrEdge(svc, cluster.dnsServiceIp);
        if (edge) {
            problems.push({
                path: key("cluster.dnsServiceIp"),
                value: cluster.dnsServiceIp,
                rule: `is the ${edge} of ${svcKey} ${svc}, which the API server never allocates as a ClusterIP: no DNS Service has it, so every DNS pin and NodeLocal DNSCache upstream derived from it would point nowhere (kubespray and kubeadm use the third and tenth address, e.g. 10.233.0.3)`,
            });
        }
    }
    const seen = { name: new Map<string, number>(), internalIp: new Map<string, number>(), externalIp: new Map<string, number>() };
    cluster.nodes.forEach((n, i) => {
        for (const field of ["name", "internalIp", "externalIp"] as const) {
            const v = n[field];
            if (v === undefined) continue;
            const first = seen[field].get(v);
            if (first !== undefined) {
                problems.push({ path: key(`cluster.nodes[${i}].${field}`), value: v, rule: `is also node '${cluster.nodes[first]!.name}'s ${field} (directpath:cluster.nodes[${first}]); every node has its own` });
            } else seen[field].set(v, i);
        }
    });
    cluster.nodes.forEach((n, i) => {
        const other = cluster.nodes.findIndex((m) => m.internalIp === n.externalIp);
        if (n.externalIp !== undefined && other !== -1) {
            problems.push({ path: key(`cluster.nodes[${i}].externalIp`), value: n.externalIp, rule: `is node '${cluster.nodes[other]!.name}'s internalIp (directpath:cluster.nodes[${other}]); an external IP is the public address the router DNATs to a node` });
        }
    });
    if (environment === "aws" && cluster.nodes.length > 0) {
        problems.push({ path: key("cluster.nodes"), value: cluster.nodes.map((n) => n.name), rule: "describes the nodes of an existing cluster (environment local); the aws environment creates its nodes from directpath:aws.nodeGroups" });
    }
    return problems;
}

/** `network address` or `broadcast address` when `ip` is that edge of the IPv4/IPv6 CIDR `cidr` (the API server allocates neither). */
export function serviceCidrEdge(cidr: string, ip: string): string | undefined {
    const c = parseCidr(cidr);
    if (!c || !cidrContains(cidr, ip)) return undefined;
    const parsed = ipaddr.parse(ip).toString();
    if (parsed === c.address) return "network address";
    if (c.family === 4 && parsed === ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString()) return "broadcast address";
    return undefined;
}
