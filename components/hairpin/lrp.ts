/**
 * Mode `cilium-lrp`: the CiliumLocalRedirectPolicy objects for one endpoint. Pure.
 *
 * One policy per external IP (an `addressMatcher` has exactly one IP), in the backend pods' own
 * namespace (Cilium only selects backends in the policy's namespace). Ports are strings, as the
 * CRD demands; with several ports every port carries a name on both sides, and the backend names
 * must equal the pods' container port names (Cilium pairs frontend and backend ports by name).
 *
 * Limits, by design of LRP: the redirect goes to a backend pod on the client's OWN node. On a node
 * without one, the policy doesn't apply (Cilium 1.18+ fails open: traffic goes to the original
 * IP, through the router, and hairpin NAT breaks it again). So the backend must run on every node
 * that has clients, e.g. an ingress gateway DaemonSet. Backends must be ordinary pods: Cilium
 * ignores host-network pods as LRP backends.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ipKey } from "../common/net";
import type { Endpoint, EndpointPort } from "./model";
import { targetPortOf } from "./model";

export const LRP_API_VERSION = "cilium.io/v2";
export const LRP_KIND = "CiliumLocalRedirectPolicy";

export interface LrpPort {
    port: string;
    protocol: "TCP" | "UDP";
    name?: string;
}

/** A rendered CiliumLocalRedirectPolicy (the Kubernetes object, minus status). */
export interface LrpObject {
    apiVersion: typeof LRP_API_VERSION;
    kind: typeof LRP_KIND;
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: {
        description: string;
        redirectFrontend: { addressMatcher: { ip: pulumi.Input<string>; toPorts: LrpPort[] } };
        redirectBackend: { localEndpointSelector: { matchLabels: Record<string, string> }; toPorts: LrpPort[] };
        skipRedirectFromBackend?: true;
    };
}

export interface LrpRenderOptions {
    /** Prefix of the object names (the component's name). */
    prefix: string;
    /** Labels put on every object. */
    labels: Record<string, string>;
    /** `redirect.lrp.skipRedirectFromBackend`. */
    skipRedirectFromBackend: boolean;
}

/**
 * The key that names the policy for one external IP: the IP itself (`169-233-100-10`, see
 * `ipKey`) when it is written out, so reordering `externalIps` renames nothing. An IP that is an
 * Output (an Elastic IP, known only after deployment) can't name anything at registration time:
 * it is keyed by its position in the list, which the environment hands over in a fixed order
 * (the ingress load balancer's subnets).
 */
export function lrpKey(ip: pulumi.Input<string>, index: number): string {
    return typeof ip === "string" ? ipKey(ip) : String(index);
}

/** The object name of the policy for one external IP of an endpoint (see {@link lrpKey}). */
export function lrpName(prefix: string, endpoint: string, key: string): string {
    return `${prefix}-${endpoint}-${key}`;
}

function ports(list: readonly EndpointPort[], side: "frontend" | "backend"): LrpPort[] {
    const named = list.length > 1;
    return list.map((p) => ({
        port: String(side === "frontend" ? p.port : targetPortOf(p)),
        protocol: p.protocol,
        ...(named && p.name !== undefined ? { name: p.name } : {}),
    }));
}

/** The policies for an endpoint with a `pods` backend, one per external IP, in order, each named by {@link lrpKey}. */
export function renderLrps(e: Endpoint, opts: LrpRenderOptions): LrpObject[] {
    if (!("pods" in e.backend)) throw new Error(`directpath: endpoint '${e.name}': mode cilium-lrp needs a pods backend`);
    const pods = e.backend.pods;
    return e.externalIps.map((ip, i) => ({
        apiVersion: LRP_API_VERSION,
        kind: LRP_KIND,
        metadata: { name: lrpName(opts.prefix, e.name, lrpKey(ip, i)), namespace: pods.namespace, labels: { ...opts.labels } },
        spec: {
            description: `directpath hairpin bypass: endpoint ${e.name}, external IP ${typeof ip === "string" ? ip : `#${i}`}, to local pods ${Object.entries(pods.selector).map(([k, v]) => `${k}=${v}`).join(",")}`,
            redirectFrontend: { addressMatcher: { ip, toPorts: ports(e.ports, "frontend") } },
            redirectBackend: { localEndpointSelector: { matchLabels: { ...pods.selector } }, toPorts: ports(e.ports, "backend") },
            ...(opts.skipRedirectFromBackend ? { skipRedirectFromBackend: true as const } : {}),
        },
    }));
}
