/**
 * Options of HairpinBypass's DNS half (`dns:` in the args, `directpath:hairpin.dns` in a stack),
 * and its cross-field rules.
 *
 * Three overrides, one per DNS path a client takes (see the README's table):
 * - `coredns`: pods (and host-network pods with `ClusterFirstWithHostNet`) resolve through CoreDNS;
 * - `nodeLocalDns`: where NodeLocal DNSCache runs, pods ask it first, and on kubespray the node's
 *   own resolver (so the kubelet and containerd) asks it too;
 * - `hosts`: the kubelet, containerd and host-network pods with `dnsPolicy: Default` read the
 *   node's `/etc/hosts` before any DNS server.
 */
import { z } from "zod";
import { joinPath, type Problem } from "../common/errors";
import { imageReferenceSchema } from "../common/image";
import { dnsNameSchema, ipSchema, isDnsName, isIP, k8sNameSchema, labelsSchema } from "../common/net";
import { CorefileError, parseCorefile, rootZoneBlock, servedZones, stripRegions, type ParsedCorefile } from "./corefile";
import { corednsMissingPieces, nodeLocalMissingPieces, type MissingPiece } from "./corefile-content";
import { dnsTargetProblems } from "./dns-targets";
import { DEFAULT_CLUSTER_DOMAIN } from "./model";

/** CoreDNS delivery modes. See {@link corednsOptionsSchema}. */
export const COREDNS_DELIVERIES = ["coredns-custom", "corefile", "eks-addon"] as const;
export type CorednsDelivery = (typeof COREDNS_DELIVERIES)[number];

/** NodeLocal DNSCache delivery modes. See {@link nodeLocalDnsOptionsSchema}. */
export const NODELOCALDNS_DELIVERIES = ["corefile", "inventory"] as const;
export type NodeLocalDnsDelivery = (typeof NODELOCALDNS_DELIVERIES)[number];

/** Re-exported: the default is written once, in ./model. */
export { DEFAULT_CLUSTER_DOMAIN };

/** Kubespray's default node-local address (`nodelocaldns_ip`). */
export const KUBESPRAY_NODELOCAL_IP = "169.254.25.10";

/** An upstream for CoreDNS's `forward`: an IP, `IP:port`, `[IPv6]:port`, or an absolute resolv.conf path. */
export function isForwardTarget(v: string): boolean {
    if (v.startsWith("/")) return /^\/[A-Za-z0-9._/-]+$/.test(v);
    if (isIP(v)) return true;
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
    if (!m) return false;
    const port = Number(m[3]);
    return isIP(m[1] ?? m[2] ?? "") && port >= 1 && port <= 65535;
}

const forwardTargetSchema = z
    .string({ error: "must be a string" })
    .refine(isForwardTarget, { error: "must be an IP, IP:port, [IPv6]:port, or an absolute path to a resolv.conf-style file (e.g. /etc/resolv.conf)" });

const corefileTextSchema = z
    .string({ error: "must be the Corefile text as a string" })
    .refine((v) => v.trim().length > 0, { error: "must not be empty" });

export const corednsOptionsSchema = z.strictObject({
    /** Override the endpoints' hostnames in the cluster's CoreDNS. */
    enabled: z.boolean().default(true),
    /**
     * How the override reaches CoreDNS.
     * - `coredns-custom` (default): keys `directpath-<name>.server` in the `coredns-custom`
     *   ConfigMap, which k3s and AKS import (`import /etc/coredns/custom/*.server`). directpath
     *   owns only its own keys (server-side apply), so other keys in that ConfigMap are untouched.
     * - `corefile`: kubeadm and kubespray have no import hook and mount only the `Corefile` key, so
     *   the server block has to be inside the `Corefile` key of the `coredns` ConfigMap itself.
     *   directpath writes `baseCorefile` (your cluster's Corefile) with its own marked server block
     *   in front, forcing ownership of that one key.
     * - `eks-addon`: EKS's CoreDNS add-on imports no `coredns-custom` and reverts edits of its
     *   ConfigMap, but takes a whole Corefile in its `configurationValues` (`corefile`). The DNS
     *   half then registers nothing itself; its `corednsCorefile` output (EKS's default Corefile,
     *   or `baseCorefile`, with the marked block in front) goes to the add-on (`EksCilium`'s
     *   `coreDnsCorefile`). The default program picks it on aws.
     */
    delivery: z.enum(COREDNS_DELIVERIES, { error: `must be one of ${COREDNS_DELIVERIES.join(", ")}` }).default("coredns-custom"),
    namespace: k8sNameSchema.default("kube-system"),
    /** The ConfigMap to patch. Default: `coredns-custom` or `coredns`, by delivery. */
    configMapName: k8sNameSchema.optional(),
    /** The CoreDNS Deployment (rolled on change in `coredns-custom` delivery). */
    deploymentName: k8sNameSchema.default("coredns"),
    /**
     * Where the override block sends every other question in the overridden zones (sub-names,
     * MX, TXT, ...). Default `/etc/resolv.conf`: the upstream of kubeadm's, k3s's and kubespray's
     * default `.:53` block. Set it to your `.:53` block's `forward` targets if they differ.
     */
    upstream: z.array(forwardTargetSchema).min(1, { error: "must list at least one upstream" }).max(15, { error: "CoreDNS's forward takes at most 15 upstreams" }).default(["/etc/resolv.conf"]),
    /** TTL (seconds) of the override answers. */
    ttl: z.number({ error: "must be a number of seconds" }).int({ error: "must be an integer" }).min(0, { error: "must be 0-3600" }).max(3600, { error: "must be 0-3600" }).default(30),
    /**
     * `corefile` delivery only, and required there: your cluster's current Corefile, as in
     * `kubectl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}'`.
     */
    baseCorefile: corefileTextSchema.optional(),
    /**
     * Roll the CoreDNS Deployment (a checksum annotation on its pod template) when the override
     * changes. `auto`: roll in `coredns-custom` delivery (the `reload` plugin only checksums the
     * Corefile itself, never the files it imports), rely on `reload` in `corefile` delivery.
     */
    rollout: z.enum(["auto", "always", "never"], { error: "must be auto, always or never" }).default("auto"),
});

export const nodeLocalDnsOptionsSchema = z.strictObject({
    /** Add a server block per overridden name to NodeLocal DNSCache's config. Off by default. */
    enabled: z.boolean().default(false),
    /**
     * - `corefile` (default): patch the `Corefile` key of kubespray's `nodelocaldns` ConfigMap
     *   (its DaemonSet mounts only that key, and node-cache reads only that file), writing
     *   `baseCorefile` with directpath's marked blocks in front. node-cache's `reload` picks it up.
     * - `inventory`: deploy nothing; the `dns.nodeLocalDnsInventory` output holds the
     *   `nodelocaldns_external_zones` value to put into your kubespray inventory, so kubespray stays
     *   the only writer of its ConfigMap.
     */
    delivery: z.enum(NODELOCALDNS_DELIVERIES, { error: `must be one of ${NODELOCALDNS_DELIVERIES.join(", ")}` }).default("corefile"),
    namespace: k8sNameSchema.default("kube-system"),
    /** kubespray: `nodelocaldns`; the upstream addon: `node-local-dns`. */
    configMapName: k8sNameSchema.default("nodelocaldns"),
    /**
     * Addresses the blocks `bind` to: the node-local address (kubespray's `nodelocaldns_ip`,
     * 169.254.25.10). Add the cluster DNS Service IP too where node-cache binds it (the upstream
     * addon in iptables mode); kubespray binds only the node-local address.
     */
    bind: z.array(ipSchema).min(1, { error: "must list at least one address" }).default([KUBESPRAY_NODELOCAL_IP]),
    /**
     * Where the blocks forward to: CoreDNS's Service ClusterIP (kubespray: 10.233.0.3, its
     * `forwardTarget`). Required when enabled. With the upstream addon, which binds the kube-dns IP
     * itself, use its `kube-dns-upstream` Service IP instead, or the blocks loop.
     */
    corednsAddress: ipSchema.optional(),
    /** `corefile` delivery only, and required there: the current `nodelocaldns` Corefile. */
    baseCorefile: corefileTextSchema.optional(),
    /** Cache seconds in the added blocks (kubespray's external zones default to 30). */
    cache: z.number({ error: "must be a number of seconds" }).int({ error: "must be an integer" }).min(0, { error: "must be 0-3600" }).max(3600, { error: "must be 0-3600" }).default(30),
    /** node-cache's metrics port (kubespray `nodelocaldns_prometheus_port`); 0 leaves metrics out. */
    prometheusPort: z.number({ error: "must be a port number" }).int({ error: "must be an integer" }).min(0, { error: "must be 0-65535" }).max(65535, { error: "must be 0-65535" }).default(9253),
});

/** `/etc/hosts`, or an absolute path whose last part is `hosts`, with no `.` or `..` parts. */
export function isHostsFilePath(p: string): boolean {
    const parts = p.split("/").slice(1);
    return p.startsWith("/") && parts.length >= 1 && parts[parts.length - 1] === "hosts" && parts.every((x) => x !== "" && x !== "." && x !== "..");
}

export const hostsOptionsSchema = z.strictObject({
    /** Keep a marked block of `<address> <hostname>` lines in every node's /etc/hosts. Off by default. */
    enabled: z.boolean().default(false),
    namespace: k8sNameSchema.default("kube-system"),
    /** A small image with a POSIX sh, awk, cmp, tail and sleep (busybox). */
    image: imageReferenceSchema.default("busybox:1.37.0"),
    /** Seconds between reconciles. */
    intervalSeconds: z.number({ error: "must be a number of seconds" }).int({ error: "must be an integer" }).min(5, { error: "must be 5-86400" }).max(86400, { error: "must be 5-86400" }).default(60),
    /**
     * The hosts file on the node: `/etc/hosts`, or another file named `hosts` (a chroot's, say).
     * The root DaemonSet writes its block into this file on every node, so nothing else is taken.
     */
    hostPath: z.string({ error: "must be an absolute path" })
        .regex(/^\/[A-Za-z0-9._/-]+$/, { error: "must be an absolute path such as /etc/hosts" })
        .refine(isHostsFilePath, {
            error: "must be a hosts file: /etc/hosts, or a path whose last part is 'hosts' (no '..'); a root DaemonSet writes a block of '<address> <hostname>' lines into this file on every node, which would corrupt any other file (/etc/passwd, a kubelet config)",
        })
        .default("/etc/hosts"),
    /** Restrict the DaemonSet to some nodes (default: every Linux node). */
    nodeSelector: labelsSchema.optional(),
});

export const dnsOptionsSchema = z.strictObject({
    /** The cluster's DNS domain; Service backends are rewritten to `<svc>.<ns>.svc.<clusterDomain>`. */
    clusterDomain: dnsNameSchema.default(DEFAULT_CLUSTER_DOMAIN),
    coredns: corednsOptionsSchema.default(corednsOptionsSchema.parse({})),
    nodeLocalDns: nodeLocalDnsOptionsSchema.default(nodeLocalDnsOptionsSchema.parse({})),
    hosts: hostsOptionsSchema.default(hostsOptionsSchema.parse({})),
});

export type DnsOptions = z.output<typeof dnsOptionsSchema>;
export type CorednsOptions = z.output<typeof corednsOptionsSchema>;
export type NodeLocalDnsOptions = z.output<typeof nodeLocalDnsOptionsSchema>;
export type HostsOptions = z.output<typeof hostsOptionsSchema>;

// ---- cross-field rules ----

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Which DNS features the raw args turn on (schema defaults applied). */
export function rawDnsFeatures(raw: Raw): { coredns: boolean; nodeLocalDns: boolean; hosts: boolean } {
    const dns = isObj(raw.dns) ? raw.dns : {};
    const on = (section: unknown, dflt: boolean) => (isObj(section) && typeof section.enabled === "boolean" ? section.enabled : dflt);
    return { coredns: on(dns.coredns, true), nodeLocalDns: on(dns.nodeLocalDns, false), hosts: on(dns.hosts, false) };
}

/**
 * The zones a Corefile's server blocks serve (`registry.example.com:53 {` gives
 * `registry.example.com`; `.` for the root), read as CoreDNS reads them; [] when it doesn't parse
 * (the baseCorefile rules report that).
 */
export function corefileZones(corefile: string): string[] {
    try {
        return servedZones(parseCorefile(corefile));
    } catch {
        return [];
    }
}

/** Cross-field rules of the DNS half, on the raw HairpinBypass args. Tolerant of malformed input. */
export function dnsCrossChecks(raw: Raw): Problem[] {
    const problems: Problem[] = [];
    const dns = isObj(raw.dns) ? raw.dns : {};
    const features = rawDnsFeatures(raw);
    const clusterDomain = typeof dns.clusterDomain === "string" ? dns.clusterDomain : DEFAULT_CLUSTER_DOMAIN;

    // Every literal hostname we would override.
    const hostnames: Array<{ path: string; name: string }> = [];
    arr(raw.endpoints).forEach((e, i) => {
        if (!isObj(e)) return;
        arr(e.hostnames).forEach((h, k) => {
            if (typeof h === "string") hostnames.push({ path: joinPath("endpoints", i, "hostnames", k), name: h });
        });
    });
    const anyOn = features.coredns || features.nodeLocalDns || features.hosts;
    // The DNS half writes its patches when any endpoint has hostnames, plain or pulumi.Inputs alike.
    const patches = arr(raw.endpoints).some((e) => isObj(e) && arr(e.hostnames).length > 0);

    if (anyOn) {
        for (const h of hostnames) {
            if (isDnsName(clusterDomain) && (h.name === clusterDomain || h.name.endsWith(`.${clusterDomain}`))) {
                problems.push({ path: h.path, value: h.name, rule: `is inside the cluster domain ${clusterDomain}, which CoreDNS already serves; DNS overrides are for external names` });
            }
        }
        problems.push(...dnsTargetProblems(raw, features));
    }

    const zoneNames = hostnames.map((h) => h.name);
    const coredns = isObj(dns.coredns) ? dns.coredns : {};
    if (features.coredns && patches) {
        const delivery = coredns.delivery ?? "coredns-custom";
        if (delivery === "corefile" && coredns.baseCorefile === undefined) {
            problems.push({
                path: "dns.coredns.baseCorefile",
                value: undefined,
                rule: "required with dns.coredns.delivery 'corefile': paste your cluster's Corefile (kubectl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}'); directpath writes it back with its own server block in front",
            });
        }
        if (delivery === "coredns-custom" && coredns.baseCorefile !== undefined) {
            problems.push({ path: "dns.coredns.baseCorefile", value: "(Corefile text)", rule: "only used with dns.coredns.delivery 'corefile'; the coredns-custom delivery never touches the Corefile" });
        }
        if (typeof coredns.baseCorefile === "string") {
            problems.push(...baseCorefileProblems("dns.coredns.baseCorefile", coredns.baseCorefile, zoneNames, "CoreDNS", (c) => (isDnsName(clusterDomain) ? corednsMissingPieces(c, clusterDomain) : [])));
        }
    }

    const nodeLocal = isObj(dns.nodeLocalDns) ? dns.nodeLocalDns : {};
    if (features.nodeLocalDns && patches) {
        if (nodeLocal.corednsAddress === undefined) {
            problems.push({
                path: "dns.nodeLocalDns.corednsAddress",
                value: undefined,
                rule: "required when dns.nodeLocalDns is enabled: the ClusterIP node-local-dns forwards the overridden names to (CoreDNS's Service, kubespray: 10.233.0.3)",
            });
        }
        const delivery = nodeLocal.delivery ?? "corefile";
        if (delivery === "corefile" && nodeLocal.baseCorefile === undefined) {
            problems.push({
                path: "dns.nodeLocalDns.baseCorefile",
                value: undefined,
                rule: "required with dns.nodeLocalDns.delivery 'corefile': paste the current config (kubectl -n kube-system get configmap nodelocaldns -o jsonpath='{.data.Corefile}'), or use delivery 'inventory' to let kubespray write it",
            });
        }
        const bindAddresses = (nodeLocal.bind === undefined ? [KUBESPRAY_NODELOCAL_IP] : arr(nodeLocal.bind)).filter((a): a is string => typeof a === "string" && isIP(a));
        if (typeof nodeLocal.baseCorefile === "string") {
            problems.push(...baseCorefileProblems("dns.nodeLocalDns.baseCorefile", nodeLocal.baseCorefile, zoneNames, "NodeLocal DNSCache", (c) => (isDnsName(clusterDomain) ? nodeLocalMissingPieces(c, clusterDomain, bindAddresses) : [])));
        }
        if (!features.coredns) {
            problems.push({
                path: "dns.nodeLocalDns.enabled",
                value: true,
                rule: "node-local-dns only forwards the overridden names to CoreDNS, which answers them only with dns.coredns enabled; turn dns.coredns on (or use kubespray's own zones)",
            });
        }
        const bind = nodeLocal.bind === undefined ? [KUBESPRAY_NODELOCAL_IP] : arr(nodeLocal.bind);
        const upstream = isObj(dns.coredns) && Array.isArray(dns.coredns.upstream) ? dns.coredns.upstream : [];
        const hostOf = (u: string) => (u.startsWith("[") ? u.slice(1, u.indexOf("]")) : isIP(u) ? u : u.replace(/:\d+$/, ""));
        upstream.forEach((u, k) => {
            if (typeof u !== "string") return;
            const host = hostOf(u);
            if (typeof nodeLocal.corednsAddress === "string" && host === nodeLocal.corednsAddress) {
                problems.push({ path: joinPath("dns.coredns.upstream", k), value: u, rule: "is CoreDNS's own Service address (dns.nodeLocalDns.corednsAddress): the override block would forward to itself (a loop); use the upstream of your .:53 block" });
            } else if (bind.includes(host)) {
                problems.push({ path: joinPath("dns.coredns.upstream", k), value: u, rule: "is a node-local-dns address (dns.nodeLocalDns.bind), whose block for the overridden names forwards back to CoreDNS (a loop for names below them); use the real upstream resolvers (kubespray: upstream_dns_servers)" });
            }
        });
        if (typeof nodeLocal.corednsAddress === "string" && bind.includes(nodeLocal.corednsAddress)) {
            problems.push({
                path: "dns.nodeLocalDns.corednsAddress",
                value: nodeLocal.corednsAddress,
                rule: "is also in dns.nodeLocalDns.bind: node-local-dns would forward to itself (a loop); forward to an address it doesn't bind (the upstream addon's kube-dns-upstream Service IP)",
            });
        }
    }
    return problems;
}

/**
 * A pasted Corefile (CoreDNS's or NodeLocal DNSCache's): it must be one CoreDNS loads, with the
 * root zone block (`.:53`) that directpath's block goes in front of, everything the cluster's DNS
 * needs (`missing`: ./corefile-content.ts), and no block of its own for an overridden name.
 */
function baseCorefileProblems(path: string, corefile: string, names: string[], what: string, missing: (c: ParsedCorefile) => MissingPiece[]): Problem[] {
    let own: string;
    try {
        own = stripRegions(corefile);
    } catch (e) {
        return [{ path, value: "(Corefile text)", rule: (e as Error).message.replace(/^directpath: /, "") }];
    }
    let parsed: ParsedCorefile;
    try {
        parsed = parseCorefile(own);
    } catch (e) {
        if (!(e instanceof CorefileError)) throw e;
        return [{
            path,
            value: "(Corefile text)",
            rule: `is not a Corefile ${what} would load: ${e.message}; directpath would write it over the cluster's own DNS configuration, so fix it first (paste it again from the cluster)`,
        }];
    }
    const problems: Problem[] = [];
    if (!rootZoneBlock(parsed, "53")) {
        problems.push({
            path,
            value: "(Corefile text)",
            rule: `has no server block for the root zone on port 53 ('.:53 { ... }'): this is not the cluster's whole ${what} Corefile (directpath writes its block in front of it and the rest of the file as given); paste all of it from the cluster`,
        });
    }
    for (const m of missing(parsed)) problems.push({ path, value: "(Corefile text)", rule: m.rule });
    const served = new Set(servedZones(parsed));
    for (const n of names.filter((n) => served.has(n))) {
        problems.push({
            path,
            value: n,
            rule: `already has a server block for ${n}; CoreDNS refuses two blocks for one zone and port, so remove it (or the hostname) first`,
        });
    }
    return problems;
}
