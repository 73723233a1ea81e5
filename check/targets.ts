/**
 * What a stack asks the check to look at, read from the files `npm run plan` writes (plan.json and
 * the rendered manifests): the hairpin endpoints (external IPs, ports, hostnames, internal
 * address), the overlay's tunnel, and the TailscaleDirect workload. Pure: {@link targetsFromPlan}
 * takes the parsed files. A `--targets` JSON file of the same shape ({@link targetsSchema}) stands
 * in for a plan (a library user's own program, or values computed at deploy time).
 */
import { z } from "zod";

const port = z.number().int().min(1).max(65535);
const ip = z.string().regex(/^[0-9A-Fa-f:.]+$/, { error: "must be an IP address" });

export const endpointSchema = z.strictObject({
    name: z.string().min(1),
    mode: z.string().default("unknown"),
    externalIps: z.array(ip),
    ports: z.array(z.strictObject({ port, protocol: z.enum(["TCP", "UDP"]).default("TCP") })).min(1),
    hostnames: z.array(z.string().min(1)).default([]),
    /** Where the backend really is (the bypass target), for the baseline path. */
    internal: z.array(z.strictObject({ address: ip, port })).default([]),
    /** The objects that implement the fix, named in the report's fix column. */
    objects: z.array(z.string()).default([]),
});

export const targetsSchema = z.strictObject({
    version: z.literal(1),
    source: z.string().default("targets file"),
    environment: z.string().default("unknown"),
    hairpin: z.strictObject({
        endpoints: z.array(endpointSchema),
        nodeLocalDns: z.array(ip).default([]),
        hostsDaemonSet: z.string().optional(),
        /** Values only known at deploy time: what could not be checked from the plan. */
        computed: z.array(z.string()).default([]),
    }).optional(),
    overlay: z.strictObject({
        tunnel: z.strictObject({ protocol: z.string(), port }).optional(),
    }).default({}),
    tailscale: z.strictObject({
        namespace: z.string(), workloadName: z.string(), port, socket: z.string().default("/tmp/tailscaled.sock"),
        selector: z.record(z.string(), z.string()).default({}), container: z.string().default("tailscale"),
        checkPortScript: z.string().optional(), image: z.string().optional(),
    }).optional(),
    /** Image the probe pods run; the stack's own Tailscale (or busybox) image when it has one. */
    probeImage: z.string().optional(),
});

export type CheckTargets = z.output<typeof targetsSchema>;
export type EndpointTarget = z.output<typeof endpointSchema>;

/** The default probe image: the Tailscale image TailscaleDirect pins (Alpine busybox inside). */
export const DEFAULT_PROBE_IMAGE = "tailscale/tailscale:v1.102.3";

export type K8s = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

const COMPUTED = "[computed]";
const isComputed = (v: unknown) => v === COMPUTED || (Array.isArray(v) && v.some((x) => x === COMPUTED));

/** Targets from plan.json (`plan`) and the rendered manifests (`objects`). */
export function targetsFromPlan(plan: { outputs?: Record<string, unknown>; securityGroupRules?: unknown; stack?: string }, objects: readonly K8s[], source = "npm run plan"): CheckTargets {
    const out = (plan.outputs ?? {}) as Record<string, any>;
    const modes = (out.hairpinModes ?? {}) as Record<string, string>;
    const endpoints = new Map<string, EndpointTarget>();
    const computed: string[] = [];
    const ep = (name: string): EndpointTarget => {
        let e = endpoints.get(name);
        if (!e) {
            e = { name, mode: modes[name] ?? "unknown", externalIps: [], ports: [], hostnames: [], internal: [], objects: [] };
            endpoints.set(name, e);
        }
        return e;
    };
    const addPort = (e: EndpointTarget, p: number, protocol: string) => {
        const proto = protocol.toUpperCase() === "UDP" ? "UDP" : "TCP";
        if (!e.ports.some((x) => x.port === p && x.protocol === proto)) e.ports.push({ port: p, protocol: proto });
    };
    const addIp = (e: EndpointTarget, a: unknown) => {
        if (typeof a !== "string" || a === COMPUTED) computed.push(`${e.name}: external IP`);
        else if (!e.externalIps.includes(a)) e.externalIps.push(a);
    };
    const byPrefix = (rule: string) => Object.keys(modes).sort((a, b) => b.length - a.length).find((n) => rule.startsWith(`${n}-`)) ?? rule.replace(/-[^-]+-\d+$/, "");
    let tailscale: CheckTargets["tailscale"];
    let probeImage: string | undefined;
    let hostsImage: string | undefined;
    const iptablesDaemonSets: string[] = [];
    for (const o of objects) {
        const spec = (o.spec ?? {}) as Record<string, any>;
        const name = `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata?.name ?? "?"}`;
        if (o.kind === "CiliumLocalRedirectPolicy") {
            const m = /endpoint (\S+?),/.exec(String(spec.description ?? ""));
            const e = ep(m?.[1] ?? String(o.metadata?.name));
            const fe = spec.redirectFrontend?.addressMatcher ?? {};
            addIp(e, fe.ip);
            for (const p of fe.toPorts ?? []) addPort(e, Number(p.port), String(p.protocol ?? "TCP"));
            e.objects.push(`CiliumLocalRedirectPolicy ${name}`);
        } else if (o.kind === "ConfigMap" && typeof (o.data as Record<string, string> | undefined)?.["rules.conf"] === "string") {
            for (const line of String((o.data as Record<string, string>)["rules.conf"]).split("\n")) {
                const f = line.replace(/#.*/, "").trim().split(/\s+/);
                if (f.length < 6) continue;
                const e = ep(byPrefix(f[0]!));
                addIp(e, f[2]);
                addPort(e, Number(f[3]), f[1]!);
                if (/^[0-9.]+$/.test(f[4]!) && !e.internal.some((x) => x.address === f[4] && x.port === Number(f[5]))) e.internal.push({ address: f[4]!, port: Number(f[5]) });
            }
        } else if (o.kind === "DaemonSet" && /hairpin-iptables/.test(String(o.metadata?.name))) {
            iptablesDaemonSets.push(name);
        } else if (o.kind === "Service" && Array.isArray(spec.externalIPs)) {
            const e = ep(Object.keys(modes).find((n) => String(o.metadata?.name).includes(n)) ?? String(o.metadata?.name));
            for (const a of spec.externalIPs) addIp(e, a);
            for (const p of spec.ports ?? []) addPort(e, Number(p.port), String(p.protocol ?? "TCP"));
            e.objects.push(`Service ${name}`);
        } else if (o.kind === "DaemonSet" && (o.metadata?.labels ?? {})["app.kubernetes.io/name"] === "tailscale-direct") {
            const pod = spec.template?.spec ?? {};
            const c = (pod.containers ?? [])[0] ?? {};
            const env = Object.fromEntries(((c.env ?? []) as Array<{ name: string; value?: string }>).map((x) => [x.name, x.value ?? ""]));
            const probe = (c.readinessProbe?.exec?.command ?? []) as string[];
            tailscale = {
                namespace: o.metadata?.namespace ?? "default", workloadName: o.metadata?.name ?? "tailscale", port: Number(env.PORT),
                socket: env.TS_SOCKET || "/tmp/tailscaled.sock", selector: spec.selector?.matchLabels ?? {}, container: c.name ?? "tailscale",
                checkPortScript: probe.find((x) => x.endsWith("check-port.sh")), image: c.image,
            };
            probeImage ??= c.image;
        } else if (o.kind === "DaemonSet" && /hosts/.test(String(o.metadata?.name))) {
            hostsImage = ((spec.template?.spec?.containers ?? [])[0] ?? {}).image;
        }
    }
    const dns = out.hairpinDns as Record<string, any> | undefined;
    if (dns) {
        if (isComputed(dns.answers)) computed.push("hairpin DNS answers (hostnames)");
        for (const a of Array.isArray(dns.answers) ? dns.answers : []) {
            const e = ep(String(a.endpoint));
            if (typeof a.hostname === "string" && !e.hostnames.includes(a.hostname)) e.hostnames.push(a.hostname);
            if (a.cluster?.kind === "address" && a.cluster?.via === "internal") {
                for (const addr of a.cluster.addresses ?? []) for (const p of e.ports) if (!e.internal.some((x) => x.address === addr)) e.internal.push({ address: addr, port: p.port });
            }
        }
    }
    for (const [n, mode] of Object.entries(modes)) {
        const e = ep(n);
        if (mode === "iptables") for (const d of iptablesDaemonSets) e.objects.push(`DaemonSet ${d}`);
    }
    const nodeLocalDns = typeof dns?.nodeLocalDnsBlocks === "string" ? [...new Set([...String(dns.nodeLocalDnsBlocks).matchAll(/^\s*bind\s+(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/)))] : [];
    const cv = out.ciliumValues as Record<string, any> | undefined;
    let tunnel: { protocol: string; port: number } | undefined;
    if (cv && cv.routingMode !== "native" && typeof cv.tunnelPort === "number") tunnel = { protocol: String(cv.tunnelProtocol ?? "vxlan"), port: cv.tunnelPort };
    if (!tunnel && Array.isArray(plan.securityGroupRules)) {
        const row = (plan.securityGroupRules as Array<Record<string, string>>).find((r) => r.protocol === "udp" && /vxlan|geneve|tunnel|overlay/i.test(r.description ?? "") && /^\d+$/.test(r.ports ?? ""));
        if (row) tunnel = { protocol: /geneve/i.test(row.description ?? "") ? "geneve" : "vxlan", port: Number(row.ports) };
    }
    const list = [...endpoints.values()].map((e) => ({ ...e, externalIps: e.externalIps, ports: e.ports.length > 0 ? e.ports : [{ port: 443, protocol: "TCP" as const }] }));
    return targetsSchema.parse({
        version: 1, source, environment: String(out.environment ?? "unknown"),
        ...(Object.keys(modes).length > 0 || endpoints.size > 0 ? { hairpin: { endpoints: list, nodeLocalDns, ...(dns?.hostsDaemonSet ? { hostsDaemonSet: `${dns.hostsDaemonSet.namespace}/${dns.hostsDaemonSet.name}` } : {}), computed: [...new Set(computed)] } } : {}),
        overlay: tunnel ? { tunnel } : {},
        ...(tailscale ? { tailscale } : {}),
        probeImage: probeImage ?? hostsImage ?? DEFAULT_PROBE_IMAGE,
    });
}
