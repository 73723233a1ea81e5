/**
 * Mode `service-external-ips`: put the endpoint's external IPs on a Service. Pure.
 *
 * kube-proxy installs rules for a Service's `spec.externalIPs` in KUBE-SERVICES, which hangs off
 * both nat PREROUTING (pods) and nat OUTPUT (host processes, the kubelet), so traffic to
 * externalIP:port is DNATed to a backend on EVERY node, before it can reach the router. Cilium's
 * kube-proxy replacement does the same only with `bpf.disableExternalIPMitigation: true`.
 *
 * - A `pods` backend gets a new ClusterIP Service (selector, ports, externalIPs) owned by directpath.
 * - A `service` backend keeps its Service; directpath patches `spec.externalIPs` onto it with
 *   server-side apply (field manager `directpath`), owning only that field.
 *
 * Trade-off (CVE-2020-8554): anyone who may create or edit Services can claim any external IP this
 * way and intercept the cluster's traffic to it. Clusters that close that hole with the
 * `DenyServiceExternalIPs` admission plugin (or an admission policy) refuse this mode.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Endpoint } from "./model";
import { targetPortOf } from "./model";

export const FIELD_MANAGER = "directpath";

export interface ServicePortSpec {
    name?: string;
    port: number;
    targetPort: number;
    protocol: "TCP" | "UDP";
}

/** The Service directpath creates for a `pods` backend. */
export interface ExternalIpsService {
    apiVersion: "v1";
    kind: "Service";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: {
        type: "ClusterIP";
        selector: Record<string, string>;
        ports: ServicePortSpec[];
        externalIPs: pulumi.Input<string>[];
    };
}

/** The server-side apply patch for an existing Service (a `service` backend). */
export interface ExternalIpsPatch {
    apiVersion: "v1";
    kind: "Service";
    metadata: { name: string; namespace: string; annotations: Record<string, string> };
    spec: { externalIPs: pulumi.Input<string>[] };
}

/** The name of the Service directpath creates for a pods backend. */
export function externalIpsServiceName(prefix: string, endpoint: string): string {
    return `${prefix}-${endpoint}`;
}

/** The Service for an endpoint with a `pods` backend. */
export function renderExternalIpsService(e: Endpoint, prefix: string, labels: Record<string, string>): ExternalIpsService {
    if (!("pods" in e.backend)) throw new Error(`directpath: endpoint '${e.name}': renderExternalIpsService needs a pods backend`);
    const pods = e.backend.pods;
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: externalIpsServiceName(prefix, e.name), namespace: pods.namespace, labels: { ...labels } },
        spec: {
            type: "ClusterIP",
            selector: { ...pods.selector },
            ports: e.ports.map((p) => ({
                ...(p.name !== undefined ? { name: p.name } : {}),
                port: p.port,
                targetPort: targetPortOf(p),
                protocol: p.protocol,
            })),
            externalIPs: [...e.externalIps],
        },
    };
}

/** The patch that adds the external IPs to an existing Service (`service` backend). */
export function renderExternalIpsPatch(e: Endpoint): ExternalIpsPatch {
    if (!("service" in e.backend)) throw new Error(`directpath: endpoint '${e.name}': renderExternalIpsPatch needs a service backend`);
    const svc = e.backend.service;
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: svc.name,
            namespace: svc.namespace,
            // Pulumi's *Patch resources use server-side apply; these pick the field manager.
            annotations: { "pulumi.com/patchFieldManager": FIELD_MANAGER },
        },
        spec: { externalIPs: [...e.externalIps] },
    };
}
