/**
 * What each overridden hostname answers, per DNS path, and why: the one rule set shared by the
 * validation (on raw args) and the renderers (on parsed, resolved endpoints). Pure.
 *
 * A DNS override redirects the *name*, never the port. A client that resolves registry.example.com
 * keeps connecting to the port in its URL (the external port). So the answer must serve that port:
 * - a Service backend (CoreDNS and NodeLocal DNSCache only): the name is rewritten to the Service's
 *   cluster name, so the Service's port (`targetPort`) must equal the external port;
 * - otherwise the internal address (`internalAddress`, or the address backend's IP), where the
 *   router's own port (`internalPort`) must equal the external port.
 * When those ports differ, the override may still pin the name to the endpoint's *external* IPs,
 * but only if the redirect half maps IP and port for the clients of that path: `iptables` mode and
 * `service-external-ips` mode do it for pods and host processes; `cilium-lrp` does it for pods, and
 * for host processes (the kubelet) only with Cilium's socket LB in the host namespace.
 */
import { joinPath, type Problem } from "../common/errors";
import { isIP } from "../common/net";
import { DEFAULT_CLUSTER_DOMAIN, HAIRPIN_MODES, internalAddressOf, internalPortOf, targetPortOf, type Endpoint, type HairpinMode, type ResolvedEndpoint } from "./model";
import { lrpCoversHost, redirectCoverage } from "./redirect-args";

/** The DNS paths: in-cluster DNS (CoreDNS, NodeLocal DNSCache) and the node's /etc/hosts. */
export type DnsPath = "cluster" | "hosts";

export type DnsAnswer =
    /** Answer these addresses (A/AAAA). `via` says whether they are the internal or the external ones. */
    | { kind: "address"; addresses: string[]; via: "internal" | "external" }
    /** Rewrite the name to this Service's cluster name, so a changed ClusterIP is followed. */
    | { kind: "service"; target: string };

export interface CoverageContext {
    /** Whether Cilium's socket LB serves the host namespace (so LRP covers the kubelet): `lrpCoversHost(args.redirect)`. */
    lrpCoversHost: boolean;
    /** Whether the cluster path also serves host processes (NodeLocal DNSCache on kubespray). */
    clusterPathServesHost: boolean;
}

/**
 * Whether the redirect half maps external IP *and port* for every client of a DNS path, on every
 * node (the contract's `redirectCoverage`): the hosts path needs host processes covered, the
 * cluster path pods (and host processes too when NodeLocal DNSCache serves the node's resolver).
 * LRP is node-local, so it counts only with a DaemonSet backend.
 */
export function redirectCovers(e: Pick<Endpoint, "mode" | "backend">, defaultMode: HairpinMode, path: DnsPath, ctx: CoverageContext): { covered: boolean; note: string } {
    const c = redirectCoverage(e, defaultMode, { lrpSocketLb: ctx.lrpCoversHost });
    const needsHost = path === "hosts" || ctx.clusterPathServesHost;
    const covered = c.mapsPort && c.everyNode && c.pods && (!needsHost || (c.kubelet && c.hostNetwork));
    return { covered, note: `mode '${c.mode}': ${c.note}` };
}

type Verdict =
    | { ok: true; answer: DnsAnswer }
    | { ok: false; problem: Problem };

/**
 * The answer for one endpoint on one path, or the problem that forbids it (path relative to the
 * args, e.g. `endpoints[0].internalAddress`). `e` must be a parsed endpoint whose externalIps are
 * resolved strings.
 */
export function dnsAnswerFor(e: ResolvedEndpoint, index: number, path: DnsPath, defaultMode: HairpinMode, ctx: CoverageContext, clusterDomain: string): Verdict {
    const at = (...rest: Array<string | number>) => joinPath("endpoints", index, ...rest);
    const service = "service" in e.backend ? e.backend.service : undefined;
    const internal = internalAddressOf(e);
    const where = path === "hosts" ? "node /etc/hosts entries" : "CoreDNS / NodeLocal DNSCache overrides";

    let preferred: DnsAnswer;
    let portOf: (j: number) => number;
    let portField: string;
    if (path === "cluster" && service) {
        preferred = { kind: "service", target: `${service.name}.${service.namespace}.svc.${clusterDomain}` };
        portOf = (j) => targetPortOf(e.ports[j]!);
        portField = "targetPort";
    } else if (internal !== undefined) {
        preferred = { kind: "address", addresses: [internal], via: "internal" };
        portOf = (j) => internalPortOf(e, e.ports[j]!);
        portField = "internalPort";
    } else {
        const why = service
            ? "a node's /etc/hosts can't follow a Service's ClusterIP"
            : "a pods backend has no fixed address to answer with";
        return {
            ok: false,
            problem: {
                path: at("internalAddress"),
                value: undefined,
                rule: `required for ${where} of endpoint '${e.name}' (it has hostnames): ${why}; set internalAddress to the address the router DNATs to (e.g. 192.168.10.100)` +
                    (path === "hosts" ? ", or turn dns.hosts off" : ", or turn dns.coredns and dns.nodeLocalDns off"),
            },
        };
    }

    const mismatched = e.ports.map((p, j) => ({ p, j, lands: portOf(j) })).filter((x) => x.lands !== x.p.port);
    if (mismatched.length === 0) return { ok: true, answer: preferred };
    const coverage = redirectCovers(e, defaultMode, path, ctx);
    if (coverage.covered) {
        return { ok: true, answer: { kind: "address", addresses: [...e.externalIps], via: "external" } };
    }
    const first = mismatched[0]!;
    return {
        ok: false,
        problem: {
            path: at("ports", first.j),
            value: { port: first.p.port, [portField]: first.lands },
            rule: `${where} redirect only the name, never the port: a client of ${e.hostnames.join(", ") || "this endpoint"} still connects to port ${first.p.port}, ` +
                `but ${preferred.kind === "service" ? `the Service listens on ${first.lands}` : `${(preferred as { addresses: string[] }).addresses[0]} serves it on ${first.lands}`}. ` +
                `Either make ${portField} equal port, or let the redirect half map the port for these clients (mode 'iptables' or 'service-external-ips', ` +
                `or 'cilium-lrp' with socket LB in the host namespace and a DaemonSet backend); the override then pins the name to the external IPs and the redirect half maps IP and port. ` +
                `Now: ${coverage.note}`,
        },
    };
}

// ---- on raw args (validation) ----

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A raw endpoint made just parseable enough for {@link dnsAnswerFor}; undefined when too malformed to judge. */
function coerceEndpoint(e: unknown): ResolvedEndpoint | undefined {
    if (!isObj(e) || !isObj(e.backend)) return undefined;
    const ports = arr(e.ports);
    if (ports.length === 0 || !ports.every((p) => isObj(p) && typeof p.port === "number")) return undefined;
    const b = e.backend;
    const kinds = ["pods", "service", "address"].filter((k) => isObj(b[k]));
    if (kinds.length !== 1) return undefined;
    if (kinds[0] === "address" && !(typeof (b.address as Raw).ip === "string" && isIP((b.address as Raw).ip as string))) return undefined;
    if (kinds[0] === "service" && !(typeof (b.service as Raw).name === "string" && typeof (b.service as Raw).namespace === "string")) return undefined;
    return {
        name: typeof e.name === "string" ? e.name : "?",
        hostnames: arr(e.hostnames).filter((h): h is string => typeof h === "string"),
        externalIps: arr(e.externalIps).filter((x): x is string => typeof x === "string"),
        ports: ports as Endpoint["ports"],
        backend: b as Endpoint["backend"],
        mode: (HAIRPIN_MODES as readonly unknown[]).includes(e.mode) ? (e.mode as HairpinMode) : undefined,
        internalAddress: typeof e.internalAddress === "string" && isIP(e.internalAddress) ? e.internalAddress : undefined,
    } as ResolvedEndpoint;
}

/** Problems with the answers of every endpoint that has hostnames, on every enabled path. */
export function dnsTargetProblems(raw: Raw, features: { coredns: boolean; nodeLocalDns: boolean; hosts: boolean }): Problem[] {
    const defaultMode = (HAIRPIN_MODES as readonly unknown[]).includes(raw.defaultMode) ? (raw.defaultMode as HairpinMode) : "cilium-lrp";
    const ctx: CoverageContext = { lrpCoversHost: lrpCoversHost(raw.redirect), clusterPathServesHost: features.nodeLocalDns };
    const paths: DnsPath[] = [];
    if (features.coredns || features.nodeLocalDns) paths.push("cluster");
    if (features.hosts) paths.push("hosts");
    const problems: Problem[] = [];
    arr(raw.endpoints).forEach((rawE, i) => {
        if (!isObj(rawE) || arr(rawE.hostnames).length === 0) return;
        if (rawE.mode !== undefined && !(HAIRPIN_MODES as readonly unknown[]).includes(rawE.mode)) return;
        const e = coerceEndpoint(rawE);
        if (!e) return;
        for (const path of paths) {
            const v = dnsAnswerFor(e, i, path, defaultMode, ctx, DEFAULT_CLUSTER_DOMAIN);
            if (!v.ok) problems.push(v.problem);
        }
    });
    return problems;
}
