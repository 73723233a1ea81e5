/**
 * The CoreDNS override as Corefile text. Pure: plain strings in, Corefile text out.
 *
 * One server block serves every overridden hostname as its own zone
 * (`registry.example.com:53 other.example.org:53 { ... }`), so the cluster's own `.:53` block is
 * never edited and none of its plugins (k3s's `hosts`, which may appear only once per block,
 * kubespray's `forward` options) is touched. CoreDNS picks the most specific zone, so only
 * questions for those names (and names below them) reach this block. Inside it:
 * - an address answer is a `template` per hostname and type that matches exactly the hostname,
 *   answers A (or AAAA) with the address, answers the other family with NOERROR and no records (so
 *   a dual-stack client can't pick up the public AAAA), and falls through otherwise;
 * - a Service answer is `rewrite stop name exact <host> <svc>.<ns>.svc.<domain>` (exact rewrites
 *   always map the answer back to the asked name) plus a `kubernetes` plugin for the cluster domain
 *   to answer it, so a changed ClusterIP is followed;
 * - everything else (sub-names, MX, TXT, HTTPS, ...) goes to `forward . <upstream>`, the same
 *   upstream the cluster's `.:53` block uses by default (/etc/resolv.conf).
 * Plugin order inside a block is fixed by CoreDNS's plugin.cfg (rewrite, template, kubernetes,
 * forward), not by the order of lines here; the lines are written in that order anyway.
 */
import { ipFamily } from "../common/net";

export interface CorefileAddressOverride {
    hostname: string;
    /** One or more addresses, all of one family or mixed. */
    addresses: string[];
}

export interface CorefileServiceOverride {
    hostname: string;
    /** The Service's cluster name, e.g. `ingress.ingress.svc.cluster.local`. */
    target: string;
}

export interface OverrideBlockInput {
    addresses: CorefileAddressOverride[];
    services: CorefileServiceOverride[];
    /** Port the server block listens on (53 in a cluster; tests use a high port). */
    port?: number;
    /** `forward . <upstream...>` for everything the overrides don't answer. */
    upstream: string[];
    /** TTL of the answers, in seconds. */
    ttl: number;
    /** The cluster domain, for the `kubernetes` plugin that answers Service rewrites. */
    clusterDomain: string;
    /** Addresses to `bind` (tests bind loopback); omitted, CoreDNS listens on all. */
    bind?: string[];
}

const ind = (n: number) => " ".repeat(n);

/** A Go regexp matching exactly `name.` (dots as `[.]`, which needs no escaping inside a Corefile). */
export function exactNameRegex(hostname: string): string {
    return `^${hostname.toLowerCase().split(".").join("[.]")}[.]$`;
}

function templateLines(hostname: string, type: "A" | "AAAA", addresses: string[], ttl: number): string[] {
    const lines = [`${ind(4)}template IN ${type} ${hostname} {`, `${ind(8)}match "${exactNameRegex(hostname)}"`];
    if (addresses.length === 0) {
        // NODATA: the name exists, but not with this type. rcode is explicit for CoreDNS < 1.11,
        // which required an answer or an rcode in every template.
        lines.push(`${ind(8)}rcode NOERROR`);
    } else {
        for (const a of addresses) lines.push(`${ind(8)}answer "{{ .Name }} ${ttl} IN ${type} ${a}"`);
    }
    lines.push(`${ind(8)}fallthrough`, `${ind(4)}}`);
    return lines;
}

/** The override server block, or "" when there is nothing to override. */
export function renderOverrideServerBlock(input: OverrideBlockInput): string {
    const port = input.port ?? 53;
    const all = [...input.addresses.map((a) => a.hostname), ...input.services.map((s) => s.hostname)];
    const hostnames = [...new Set(all)].sort();
    if (hostnames.length === 0) return "";
    if (hostnames.length !== all.length) throw new Error(`directpath: a hostname is overridden twice: ${all.join(", ")}`);
    const lines: string[] = [`${hostnames.map((h) => `${h}:${port}`).join(" ")} {`];
    if (input.bind && input.bind.length > 0) lines.push(`${ind(4)}bind ${input.bind.join(" ")}`);
    lines.push(`${ind(4)}errors`);
    const services = [...input.services].sort((a, b) => a.hostname.localeCompare(b.hostname));
    for (const s of services) lines.push(`${ind(4)}rewrite stop name exact ${s.hostname} ${s.target}`);
    const addresses = [...input.addresses].sort((a, b) => a.hostname.localeCompare(b.hostname));
    for (const a of addresses) {
        const v4 = a.addresses.filter((x) => ipFamily(x) === 4);
        const v6 = a.addresses.filter((x) => ipFamily(x) === 6);
        lines.push(...templateLines(a.hostname, "A", v4, input.ttl), ...templateLines(a.hostname, "AAAA", v6, input.ttl));
    }
    if (services.length > 0) {
        lines.push(`${ind(4)}kubernetes ${input.clusterDomain} {`, `${ind(8)}ttl ${input.ttl}`, `${ind(4)}}`);
    }
    lines.push(`${ind(4)}forward . ${input.upstream.join(" ")}`);
    lines.push("}");
    return lines.join("\n") + "\n";
}

// ---- the marked region inside a Corefile that directpath doesn't own ----

export const REGION_BEGIN = "# BEGIN directpath";
export const REGION_END = "# END directpath";

/** Wraps a block in directpath's markers, naming who wrote it. */
export function markRegion(id: string, block: string): string {
    if (block === "") return "";
    return `${REGION_BEGIN} ${id} (written by directpath HairpinBypass; edits here are overwritten)\n${block}${REGION_END} ${id}\n`;
}

/** Removes every directpath-marked region (so a Corefile pasted after a deploy is taken back to the cluster's own text). */
export function stripRegions(corefile: string): string {
    const out: string[] = [];
    let inside = false;
    const lines = corefile.split("\n");
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        const t = line.trim();
        if (!inside && t.startsWith(`${REGION_BEGIN} `)) {
            inside = true;
            continue;
        }
        if (inside) {
            if (t.startsWith(`${REGION_END} `) || t === REGION_END) inside = false;
            continue;
        }
        out.push(line);
    }
    if (inside) throw new Error("directpath: the Corefile has a '# BEGIN directpath' line without its '# END directpath' line; fix it by hand");
    return out.join("\n");
}

/**
 * The full Corefile for `corefile` delivery: directpath's marked region first, then the cluster's
 * own Corefile exactly as given (minus any earlier directpath region). With no overrides it is the
 * base Corefile itself.
 */
export function mergeCorefile(base: string, id: string, block: string): string {
    return markRegion(id, block) + stripRegions(base);
}
