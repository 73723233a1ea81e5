/**
 * TailscaleProxyClass: for users of the Tailscale Kubernetes operator. A `ProxyClass`
 * (tailscale.com/v1alpha1) whose `spec.staticEndpoints.nodePort.ports` are exactly the UDP ports
 * directpath opens ({@link TailscaleProxyClass.firewallRules}), so ProxyGroups that use it get
 * direct connections through NodePorts that the security groups really let in.
 *
 * The operator (v1.86+) creates one UDP NodePort Service per ProxyGroup replica, with a port taken
 * from these ranges, and advertises `<node ExternalIP>:<nodePort>` of the nodes matched by
 * `selector` as the device's static endpoints (cmd/k8s-operator/proxygroup.go, v1.102.3). It
 * leaves the cloud firewall to the user: that is what this component's firewallRules close.
 *
 * Point a ProxyGroup at it with `spec.proxyClass: <proxyClassName>`. Needs the operator's CRDs.
 */
import { recommendedLabels } from "../common/labels";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { parseOrThrow, type Problem } from "../common/errors";
import { NODE_PORT_RANGE, type FirewallRule } from "../common/firewall";
import { k8sNameSchema, labelsSchema, portSchema } from "../common/net";
import { nodePortRangeOf, portRangeSchema } from "./args";

export const proxyClassArgsSchema = z.strictObject({
    /** The ProxyClass's name (cluster-scoped). Default: the component's name. */
    proxyClassName: k8sNameSchema.optional(),
    /** The NodePort ranges the operator picks from: one port per ProxyGroup replica. */
    nodePorts: z.array(z.strictObject({
        port: portSchema,
        /** Last port of the range (inclusive); unset for a single port. */
        endPort: portSchema.optional(),
    }), { error: "must be a list of { port, endPort? }" }).min(1, { error: "must list at least one port range" }),
    /** Nodes whose ExternalIP addresses are advertised (`staticEndpoints.nodePort.selector`). */
    selector: labelsSchema.optional(),
    /** The cluster's NodePort range, if not the Kubernetes default 30000-32767. */
    clusterNodePortRange: portRangeSchema.optional(),
});

export type TailscaleProxyClassArgs = z.input<typeof proxyClassArgsSchema>;
export type ProxyClassSettings = z.output<typeof proxyClassArgsSchema>;

/** Ranges in the cluster's NodePort range, each with endPort >= port, none overlapping (the operator's own rules). */
export function proxyClassCrossChecks(raw: unknown): Problem[] {
    const problems: Problem[] = [];
    const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const range = nodePortRangeOf(r.clusterNodePortRange);
    const source = r.clusterNodePortRange === undefined ? ` (the Kubernetes default ${NODE_PORT_RANGE.from}-${NODE_PORT_RANGE.to}; set clusterNodePortRange if yours differs)` : " (clusterNodePortRange)";
    if (!Array.isArray(r.nodePorts)) return problems;
    const spans: Array<{ i: number; from: number; to: number }> = [];
    r.nodePorts.forEach((p, i) => {
        if (typeof p !== "object" || p === null) return;
        const { port, endPort } = p as Record<string, unknown>;
        if (typeof port !== "number") return;
        const end = typeof endPort === "number" ? endPort : port;
        if (end < port) problems.push({ path: `nodePorts[${i}].endPort`, value: endPort, rule: `must be at least port (${port})` });
        for (const [field, v] of [["port", port], ["endPort", endPort]] as const) {
            if (typeof v === "number" && (v < range.from || v > range.to)) {
                problems.push({ path: `nodePorts[${i}].${field}`, value: v, rule: `must be in the cluster's NodePort range ${range.from}-${range.to}${source}` });
            }
        }
        if (end >= port) spans.push({ i, from: port, to: end });
    });
    for (const a of spans) {
        for (const b of spans) {
            if (b.i > a.i && a.from <= b.to && b.from <= a.to) {
                problems.push({ path: `nodePorts[${b.i}]`, value: r.nodePorts[b.i], rule: `overlaps nodePorts[${a.i}] (${a.from}-${a.to}); the operator rejects overlapping ranges` });
            }
        }
    }
    return problems;
}

export function validateProxyClassArgs(name: string, args: TailscaleProxyClassArgs): ProxyClassSettings {
    return parseOrThrow("TailscaleProxyClass args", proxyClassArgsSchema, args, {
        crossChecks: (raw) => {
            const extra: Problem[] = [];
            const explicit = (raw as Record<string, unknown> | undefined)?.proxyClassName;
            if (explicit === undefined && !k8sNameSchema.safeParse(name).success) {
                extra.push({ path: "name", value: name, rule: "names the ProxyClass when proxyClassName is unset: it must be a Kubernetes name (lowercase letters, digits, '-', '.')" });
            }
            return [...proxyClassCrossChecks(raw), ...extra];
        },
    });
}

/** The ProxyClass object (validated against the operator's CRD schema in the tests). */
export function renderProxyClass(name: string, settings: ProxyClassSettings) {
    const nodePort: Record<string, unknown> = {
        ports: settings.nodePorts.map((p) => (p.endPort !== undefined && p.endPort !== p.port ? { port: p.port, endPort: p.endPort } : { port: p.port })),
    };
    if (settings.selector) nodePort.selector = { ...settings.selector };
    return {
        apiVersion: "tailscale.com/v1alpha1" as const,
        kind: "ProxyClass" as const,
        metadata: {
            name: settings.proxyClassName ?? name,
            labels: recommendedLabels("tailscale-proxyclass", name),
        },
        spec: { staticEndpoints: { nodePort } },
    };
}

/** Inbound UDP on every range, from anywhere (IPv4 and IPv6). */
export function proxyClassFirewallRules(settings: ProxyClassSettings): FirewallRule[] {
    return settings.nodePorts.flatMap((p) => {
        const to = p.endPort ?? p.port;
        const text = p.port === to ? `${p.port}` : `${p.port}-${to}`;
        const description = `Tailscale operator ProxyGroup static endpoints: UDP NodePort(s) ${text}`;
        return [
            { direction: "ingress" as const, protocol: "udp" as const, fromPort: p.port, toPort: to, peer: "0.0.0.0/0", description: `${description} (IPv4)` },
            { direction: "ingress" as const, protocol: "udp" as const, fromPort: p.port, toPort: to, peer: "::/0", description: `${description} (IPv6)` },
        ];
    });
}

/** A ProxyClass for the Tailscale operator's ProxyGroups, with the firewall rules its NodePorts need. */
export class TailscaleProxyClass extends pulumi.ComponentResource {
    /** The ProxyClass's name: set a ProxyGroup's `spec.proxyClass` to it. */
    readonly proxyClassName: string;
    /** Inbound UDP on exactly the ProxyClass's NodePort ranges. */
    readonly firewallRules: FirewallRule[];

    constructor(name: string, args: TailscaleProxyClassArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const settings = validateProxyClassArgs(name, args);
        super("directpath:tailscale:TailscaleProxyClass", name, {}, opts);
        const rendered = renderProxyClass(name, settings);
        this.proxyClassName = rendered.metadata.name;
        this.firewallRules = proxyClassFirewallRules(settings);
        new k8s.apiextensions.CustomResource(`${name}-proxyclass`, rendered, { parent: this });
        this.registerOutputs({ proxyClassName: this.proxyClassName, firewallRules: this.firewallRules });
    }
}
