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

// ---- reading a Corefile the way CoreDNS does ----
//
// CoreDNS reads its Corefile with a Caddyfile lexer and parser and then checks every server block
// key. These rules follow CoreDNS 1.14 (and node-cache, which is CoreDNS with fewer plugins):
// - tokens are separated by white space; `"..."` quotes a token (`\"` inside it); `#` starts a
//   comment anywhere outside quotes, up to the end of the line;
// - a server block is one or more keys (on one line, or continued with a trailing comma), then
//   `{`, directives, `}`; `{` and `}` count only as tokens of their own. A block without braces
//   runs to the end of the file. `(name) { ... }` defines a snippet; `import ...` on its own line
//   includes files or snippets (directpath can't see those, so it takes them on trust);
// - a directive is a plugin name with arguments up to the end of the line, where a `{` at the end
//   of the line opens a nested block spanning lines; a `}` on the directive's own line with
//   nothing open is an error, as is any directive that names no CoreDNS plugin;
// - a key is `[dns|tls|quic|grpc|https|https3|unix://]zone[:port]`; the zone must be a domain
//   name (no empty labels as in `a..b`, labels of at most 63 octets, at most 255 in all) or a
//   reverse CIDR (`10.0.0.0/8`); no two blocks may serve one zone on one port and address.
// Deliberately stricter than CoreDNS (which loads these, but they are always a mistake in a
// pasted Corefile): braces must balance (CoreDNS accepts a server block left open at the end of
// the file when its last nested block closed), a `{` needs a key in front of it, and a stray `}`
// at the top level is not taken for a zone named `}`.

/** The plugins of CoreDNS 1.14.7 (its plugin.cfg): the directives a Corefile may use. */
export const COREDNS_PLUGINS: readonly string[] = [
    "root", "metadata", "geoip", "cancel", "proxyproto", "quic", "grpc_server", "https", "https3", "timeouts", "multisocket",
    "reload", "nsid", "bufsize", "bind", "debug", "trace", "ready", "health", "pprof", "shed", "prometheus", "errors", "log",
    "dnstap", "local", "dns64", "any", "chaos", "loadbalance", "tsig", "rewrite", "autopath", "acl", "cache", "header", "dnssec",
    "tls", "minimal", "template", "transfer", "hosts", "route53", "azure", "clouddns", "k8s_external", "kubernetes", "file",
    "auto", "secondary", "etcd", "loop", "forward", "grpc", "erratic", "whoami", "on", "sign", "view", "nomad",
];

const TRANSPORTS = ["dns", "tls", "quic", "grpc", "https3", "https", "unix"] as const;

/** A problem with a Corefile, at a 1-based line. */
export class CorefileError extends Error {
    constructor(readonly line: number, readonly reason: string) {
        super(`line ${line}: ${reason}`);
        this.name = "CorefileError";
    }
}

/** One key of a server block, as CoreDNS normalizes it. */
export interface CorefileZoneKey {
    /** As written, e.g. `cluster.local:53`. */
    text: string;
    transport: (typeof TRANSPORTS)[number];
    /** Lowercase, fully qualified (`cluster.local.`, `.` for the root, `10.in-addr.arpa.` for a CIDR). */
    zones: string[];
    /** The port as written, or the transport's default (53 for dns). */
    port: string;
}

export interface CorefileDirective {
    name: string;
    /** Every token after the name, nested blocks included (`{` and `}` as tokens). */
    args: string[];
    line: number;
}

export interface CorefileServerBlock {
    keys: CorefileZoneKey[];
    directives: CorefileDirective[];
    line: number;
}

export interface ParsedCorefile {
    blocks: CorefileServerBlock[];
    /** `import` arguments (files or snippets), which directpath cannot check. */
    imports: string[];
    snippets: string[];
}

interface Token {
    text: string;
    line: number;
    /** Line of the token's last character (a quoted token may span lines). */
    endLine: number;
    quoted: boolean;
}

function lex(text: string): Token[] {
    const tokens: Token[] = [];
    let line = 1;
    let val = "";
    let start = 1;
    let quoted = false;
    let wasQuoted = false;
    let escaped = false;
    let comment = false;
    let inToken = false;
    const emit = () => {
        tokens.push({ text: val, line: start, endLine: line, quoted: wasQuoted });
        val = "";
        inToken = false;
        wasQuoted = false;
    };
    for (const ch of text) {
        if (quoted) {
            if (!escaped && ch === "\\") {
                escaped = true;
                continue;
            }
            if (!escaped && ch === "\"") {
                quoted = false;
                emit();
                continue;
            }
            if (ch === "\n") line++;
            if (escaped && ch !== "\"") val += "\\";
            val += ch;
            escaped = false;
            continue;
        }
        if (/\s/u.test(ch)) {
            if (ch === "\r") continue;
            if (inToken) emit();
            if (ch === "\n") {
                line++;
                comment = false;
            }
            continue;
        }
        if (ch === "#") comment = true;
        if (comment) continue;
        if (!inToken) {
            inToken = true;
            start = line;
            if (ch === "\"") {
                quoted = true;
                wasQuoted = true;
                continue;
            }
        }
        val += ch;
    }
    if (quoted) throw new CorefileError(start, "a quoted string (\") is never closed");
    if (inToken) emit();
    return tokens;
}

/** miekg/dns's IsDomainName, which CoreDNS uses for zones: liberal, but no empty labels and length limits. */
function isCorednsDomainName(s: string): boolean {
    if (s.length === 0) return false;
    const name = s.endsWith(".") && !s.endsWith("\\.") ? s : `${s}.`;
    let off = 0;
    let begin = 0;
    let wasDot = false;
    let escape = false;
    for (let i = 0; i < name.length; i++) {
        const c = name[i]!;
        if (c === "\\") {
            escape = !escape;
            if (/^[0-9]{3}/.test(name.slice(i + 1))) {
                i += 3;
                begin += 3;
            } else {
                i++;
                begin++;
            }
            wasDot = false;
        } else if (c === ".") {
            escape = false;
            if (i === 0 && name.length > 1) return false;
            if (wasDot) return false;
            wasDot = true;
            const labelLen = i - begin;
            if (labelLen >= 64) return false;
            off += 1 + labelLen;
            if (off > 256) return false;
            begin = i + 1;
        } else {
            escape = false;
            wasDot = false;
        }
    }
    return !escape;
}

const DEFAULT_PORTS: Record<CorefileZoneKey["transport"], string> = { dns: "53", tls: "853", quic: "853", grpc: "443", https: "443", https3: "443", unix: "" };

/** The reverse zones of an IPv4 or IPv6 CIDR, split on octet / nibble boundaries as CoreDNS does. */
function reverseZones(cidr: string): string[] | undefined {
    const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr);
    if (!m) return undefined;
    const ip = m[1]!;
    const prefix = Number(m[2]);
    if (ip.includes(":")) {
        if (prefix > 128) return undefined;
        const full = expandIpv6(ip);
        if (!full) return undefined;
        const nibbles = Math.floor(prefix / 4);
        const extra = prefix % 4 === 0 ? 0 : 4 - (prefix % 4);
        const out: string[] = [];
        const base = full.slice(0, nibbles + (extra ? 1 : 0));
        const count = 1 << extra;
        for (let k = 0; k < count; k++) {
            const digits = base.split("");
            if (extra) digits[digits.length - 1] = ((parseInt(digits[digits.length - 1]!, 16) & ~(count - 1)) + k).toString(16);
            out.push(`${digits.reverse().join(".")}${digits.length ? "." : ""}ip6.arpa.`);
        }
        return out;
    }
    const parts = ip.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255) || prefix > 32) return undefined;
    const octets = parts.map(Number);
    const whole = Math.floor(prefix / 8);
    const extra = prefix % 8 === 0 ? 0 : 8 - (prefix % 8);
    const count = 1 << extra;
    const out: string[] = [];
    for (let k = 0; k < count; k++) {
        const o = octets.slice(0, whole + (extra ? 1 : 0));
        if (extra) o[o.length - 1] = (o[o.length - 1]! & ~(count - 1) & 0xff) + k;
        out.push(`${o.reverse().join(".")}${o.length ? "." : ""}in-addr.arpa.`);
    }
    return out;
}

function expandIpv6(ip: string): string | undefined {
    const halves = ip.split("::");
    if (halves.length > 2) return undefined;
    const groups = (s: string) => (s === "" ? [] : s.split(":"));
    const head = groups(halves[0]!);
    const tail = halves.length === 2 ? groups(halves[1]!) : [];
    const fill = 8 - head.length - tail.length;
    if (halves.length === 1 ? head.length !== 8 : fill < 1) return undefined;
    const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...tail];
    if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return all.map((g) => g.padStart(4, "0").toLowerCase()).join("");
}

/** Checks one server block key the way CoreDNS does when it loads the Corefile. */
export function parseZoneKey(text: string, line = 1): CorefileZoneKey {
    let transport: CorefileZoneKey["transport"] = "dns";
    let rest = text;
    for (const t of TRANSPORTS) {
        if (rest.startsWith(`${t}://`)) {
            transport = t;
            rest = rest.slice(t.length + 3);
            break;
        }
    }
    const colon = rest.lastIndexOf(":");
    if (colon !== -1 && colon === rest.length - 1) throw new CorefileError(line, `server block key ${JSON.stringify(text)} ends with ':' and no port`);
    let port = "";
    if (colon !== -1 && /^[+-]?\d+$/.test(rest.slice(colon + 1))) {
        port = String(Number(rest.slice(colon + 1)));
        rest = rest.slice(0, colon);
    }
    if (rest.length > 255) throw new CorefileError(line, `zone ${JSON.stringify(rest)} is too long (${rest.length} > 255)`);
    if (!isCorednsDomainName(rest)) {
        throw new CorefileError(line, `zone ${JSON.stringify(rest)} in server block key ${JSON.stringify(text)} is not a valid domain name (empty labels as in 'a..b', a leading '.', labels over 63 characters and a missing zone are refused)`);
    }
    const reverse = rest.includes("/") ? reverseZones(rest) : undefined;
    if (reverse && (rest.startsWith(":") || (rest.startsWith("0") && rest.includes(":")))) throw new CorefileError(line, `invalid CIDR ${rest}`);
    const fqdn = (z: string) => (z.endsWith(".") ? z : `${z}.`).toLowerCase();
    return { text, transport, zones: reverse ?? [fqdn(rest)], port: port || DEFAULT_PORTS[transport] };
}

/**
 * Parses a Corefile as CoreDNS would, and throws a {@link CorefileError} (with its line) for
 * anything CoreDNS refuses to load. Pure.
 */
export function parseCorefile(text: string): ParsedCorefile {
    const toks = lex(text);
    const out: ParsedCorefile = { blocks: [], imports: [], snippets: [] };
    let i = 0;
    const newLine = (k: number) => k === 0 || toks[k - 1]!.endLine < toks[k]!.line;
    const isBrace = (k: number, b: "{" | "}") => toks[k] !== undefined && toks[k]!.text === b;
    const lastLine = () => (toks.length ? toks[toks.length - 1]!.endLine : 1);
    /** Skips `import` and its arguments (to the end of its line); returns the index after. */
    const skipImport = (k: number): number => {
        const at = toks[k]!;
        let j = k + 1;
        if (j >= toks.length || newLine(j)) throw new CorefileError(at.line, "import needs a file or snippet name");
        while (j < toks.length && !newLine(j)) out.imports.push(toks[j++]!.text);
        return j;
    };
    const served = new Map<string, { line: number; bind: string[]; view: boolean }>();

    while (i < toks.length) {
        // ---- keys ----
        const keys: Token[] = [];
        let expectingAnother = false;
        const startLine = toks[i]!.line;
        for (;;) {
            const t = toks[i]!;
            if (t.text === "import" && newLine(i)) {
                i = skipImport(i);
                if (i >= toks.length) break;
                continue;
            }
            if (t.text === "{") {
                if (expectingAnother) throw new CorefileError(t.line, "expected another server block key after the trailing ',', found '{'");
                break;
            }
            if (t.text === "}") throw new CorefileError(t.line, "unexpected '}': no server block is open");
            if (t.text !== "") {
                expectingAnother = t.text.endsWith(",");
                keys.push({ ...t, text: expectingAnother ? t.text.slice(0, -1) : t.text });
            }
            i++;
            if (i >= toks.length) {
                if (expectingAnother) throw new CorefileError(t.line, "the file ends after a trailing ',' in the server block keys");
                break;
            }
            if (!expectingAnother && newLine(i)) break;
        }
        if (keys.length === 0) {
            if (i < toks.length) throw new CorefileError(toks[i]!.line, "a '{' with no server block key (zone) in front of it");
            break;
        }
        // Keys alone at the end of the file: an empty server block.
        const atEnd = i >= toks.length;

        // ---- a snippet definition ----
        if (keys.length === 1 && keys[0]!.text.startsWith("(") && keys[0]!.text.endsWith(")") && !atEnd && isBrace(i, "{")) {
            const name = keys[0]!.text.slice(1, -1);
            if (out.snippets.includes(name)) throw new CorefileError(keys[0]!.line, `snippet ${name} is defined twice`);
            out.snippets.push(name);
            let depth = 0;
            for (; i < toks.length; i++) {
                if (isBrace(i, "{")) depth++;
                else if (isBrace(i, "}") && --depth === 0) break;
            }
            if (depth !== 0) throw new CorefileError(keys[0]!.line, `snippet ${keys[0]!.text} has no closing '}'`);
            i++;
            continue;
        }

        const block: CorefileServerBlock = { keys: keys.map((k) => parseZoneKey(k.text, k.line)), directives: [], line: startLine };

        // ---- directives ----
        let braced = false;
        if (!atEnd) {
            braced = isBrace(i, "{");
            if (braced) i++;
            let closed = false;
            while (i < toks.length) {
                const t = toks[i]!;
                if (t.text === "}") {
                    if (!braced) throw new CorefileError(t.line, "unexpected '}': this server block has no opening '{'");
                    closed = true;
                    i++;
                    break;
                }
                if (t.text === "import") {
                    i = skipImport(i);
                    continue;
                }
                if (t.text === "{") throw new CorefileError(t.line, "unexpected '{': a directive (a plugin name) must come first");
                const name = t.text;
                if (!name.includes("{$") && !name.includes("{%") && !COREDNS_PLUGINS.includes(name)) {
                    throw new CorefileError(t.line, `unknown directive ${JSON.stringify(name)}: CoreDNS has no such plugin (is a '}' or a line break missing?)`);
                }
                const directive: CorefileDirective = { name, args: [], line: t.line };
                let nesting = 0;
                i++;
                while (i < toks.length) {
                    const a = toks[i]!;
                    if (a.text === "{" && nesting === 0 && newLine(i)) {
                        // Caddy's parser would take it, but every plugin's setup refuses it ("Unexpected token '{'").
                        throw new CorefileError(a.line, `a '{' on a line of its own: the block of directive ${JSON.stringify(name)} (line ${t.line}) must open at the end of its line`);
                    }
                    if (a.text === "{") nesting++;
                    else if (newLine(i) && nesting === 0) break;
                    else if (a.text === "}" && nesting > 0) nesting--;
                    else if (a.text === "}") throw new CorefileError(a.line, `unexpected '}' on the line of directive ${JSON.stringify(name)}: put it on a line of its own`);
                    else if (a.text === "import" && newLine(i)) {
                        i = skipImport(i);
                        continue;
                    }
                    directive.args.push(a.text);
                    i++;
                }
                if (nesting > 0) throw new CorefileError(t.line, `directive ${JSON.stringify(name)} opens a '{' that is never closed`);
                block.directives.push(directive);
            }
            if (braced && !closed) throw new CorefileError(startLine, `the server block ${keys.map((k) => k.text).join(" ")} opened with '{' is never closed with '}' (line ${lastLine()} is the last)`);
        }

        // ---- one zone per port and listen address ----
        const bind = block.directives.filter((d) => d.name === "bind").flatMap((d) => d.args.filter((a) => a !== "{" && a !== "}"));
        const view = block.directives.some((d) => d.name === "view");
        for (const k of block.keys) {
            for (const zone of k.zones) {
                const id = `${k.transport}://${zone}:${k.port}`;
                const seen = served.get(id);
                if (seen && !seen.view && !view && (seen.bind.length === 0 || bind.length === 0 || seen.bind.some((b) => bind.includes(b)))) {
                    throw new CorefileError(startLine, `zone ${zone} on port ${k.port} is served twice (also by the block at line ${seen.line}); CoreDNS refuses to start: cannot serve ${id} - it is already defined`);
                }
                if (!seen) served.set(id, { line: startLine, bind, view });
            }
        }
        out.blocks.push(block);
    }
    return out;
}

/** The server block for the root zone `.` on `port` (the cluster's main block), if there is one. */
export function rootZoneBlock(corefile: ParsedCorefile, port = "53"): CorefileServerBlock | undefined {
    return corefile.blocks.find((b) => b.keys.some((k) => k.transport === "dns" && k.port === port && k.zones.includes(".")));
}

/** Every zone the Corefile serves (lowercase, no trailing dot; `.` for the root). */
export function servedZones(corefile: ParsedCorefile): string[] {
    return corefile.blocks.flatMap((b) => b.keys.flatMap((k) => k.zones.map((z) => (z === "." ? "." : z.replace(/\.$/, "")))));
}
