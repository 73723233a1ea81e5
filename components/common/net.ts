import ipaddr from "ipaddr.js";
import { z } from "zod";

/** True for a dotted-quad IPv4 address such as `192.168.10.100` (no octal, hex or short forms). */
export function isIPv4(text: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** True for an IPv6 address in any standard textual form (`fd00::1`, `::ffff:10.0.0.1`). */
export function isIPv6(text: string): boolean {
    return text.includes(":") && ipaddr.IPv6.isValid(text);
}

export function isIP(text: string): boolean {
    return isIPv4(text) || isIPv6(text);
}

/** The IP family of a valid address. */
export function ipFamily(text: string): 4 | 6 {
    return isIPv4(text) ? 4 : 6;
}

export interface ParsedCidr {
    address: string;
    prefix: number;
    family: 4 | 6;
}

/**
 * Parses `a.b.c.d/n` or an IPv6 CIDR. Returns `undefined` when the text is not a CIDR, or when host
 * bits are set (`10.0.0.1/16`): a network written that way is almost always a typo.
 */
export function parseCidr(text: string): ParsedCidr | undefined {
    const slash = text.indexOf("/");
    if (slash < 0) return undefined;
    const addr = text.slice(0, slash);
    const bits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || !isIP(addr)) return undefined;
    const family = ipFamily(addr);
    const prefix = Number(bits);
    if (prefix > (family === 4 ? 32 : 128)) return undefined;
    const parsed = ipaddr.parse(addr);
    const network = family === 4
        ? ipaddr.IPv4.networkAddressFromCIDR(text).toString()
        : ipaddr.IPv6.networkAddressFromCIDR(text).toString();
    if (network !== parsed.toString()) return undefined;
    return { address: parsed.toString(), prefix, family };
}

/** True when `ip` lies inside `cidr`. Both must be valid and of one family. */
export function cidrContains(cidr: string, ip: string): boolean {
    const c = parseCidr(cidr);
    if (!c || !isIP(ip) || ipFamily(ip) !== c.family) return false;
    return ipaddr.parse(ip).match(ipaddr.parseCIDR(cidr));
}

/** True when two CIDRs of the same family overlap. */
export function cidrsOverlap(a: string, b: string): boolean {
    const pa = parseCidr(a);
    const pb = parseCidr(b);
    if (!pa || !pb || pa.family !== pb.family) return false;
    return pa.prefix <= pb.prefix ? cidrContains(a, pb.address) : cidrContains(b, pa.address);
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** An RFC 1123 label: lowercase letters, digits and `-`, 1-63 characters, no leading or trailing `-`. */
export function isDnsLabel(text: string): boolean {
    return DNS_LABEL.test(text);
}

/**
 * A fully qualified DNS name such as `registry.example.com`: at least two RFC 1123 labels, at most
 * 253 characters, lowercase, no trailing dot, and not an IP address.
 */
export function isDnsName(text: string): boolean {
    if (text.length > 253 || isIP(text)) return false;
    const labels = text.split(".");
    return labels.length >= 2 && labels.every(isDnsLabel) && !/^\d+$/.test(labels[labels.length - 1]!);
}

// ---- zod building blocks, shared by every component's args schema and the stack config ----

export const portSchema = z
    .number({ error: "must be a port number (an integer 1-65535)" })
    .int({ error: "must be an integer 1-65535" })
    .min(1, { error: "must be a port number 1-65535" })
    .max(65535, { error: "must be a port number 1-65535" });

export const ipv4Schema = z
    .string({ error: "must be an IPv4 address as a string, e.g. \"192.168.10.100\"" })
    .refine(isIPv4, { error: "must be a dotted-quad IPv4 address, e.g. 192.168.10.100" });

export const ipSchema = z
    .string({ error: "must be an IP address as a string" })
    .refine(isIP, { error: "must be an IPv4 (e.g. 192.168.10.100) or IPv6 (e.g. fd00::1) address" });

export const cidrSchema = z
    .string({ error: "must be a CIDR as a string, e.g. \"10.0.0.0/16\"" })
    .refine((v) => parseCidr(v) !== undefined, {
        error: "must be a CIDR such as 10.0.0.0/16 or fd00::/64, written as its network address (no host bits set)",
    });

export const dnsNameSchema = z
    .string({ error: "must be a DNS name as a string" })
    .refine(isDnsName, {
        error: "must be a lowercase fully qualified DNS name such as registry.example.com (RFC 1123 labels of 1-63 letters, digits or '-', no trailing dot)",
    });

export const dnsLabelSchema = z
    .string({ error: "must be a DNS label as a string" })
    .refine(isDnsLabel, { error: "must be an RFC 1123 DNS label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit" });

/** A Kubernetes object name (RFC 1123 subdomain). */
export const k8sNameSchema = z
    .string({ error: "must be a Kubernetes name as a string" })
    .refine((v) => v.length <= 253 && v.split(".").every(isDnsLabel), {
        error: "must be a Kubernetes name: lowercase letters, digits, '-' and '.', at most 253 characters",
    });

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const LABEL_KEY_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function isLabelKey(key: string): boolean {
    const slash = key.lastIndexOf("/");
    const name = slash < 0 ? key : key.slice(slash + 1);
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    if (prefix !== undefined && !(prefix.length <= 253 && prefix.split(".").every(isDnsLabel))) return false;
    return LABEL_KEY_NAME.test(name);
}

/** A Kubernetes label selector map (`matchLabels`). */
export const labelsSchema = z
    .record(z.string(), z.string().regex(LABEL_VALUE, { error: "label values are at most 63 characters of letters, digits, '-', '_' and '.'" }))
    .refine((m) => Object.keys(m).every(isLabelKey), { error: "label keys must be [prefix/]name with a DNS-subdomain prefix and a name of at most 63 characters" });

/**
 * A resource-name key for an IP address: its canonical form with separators turned into `-`
 * (`169.233.100.10` -> `169-233-100-10`, `fd00::1` -> `fd00-0-0-0-0-0-0-1`). Two spellings of one
 * address give one key, so a name keyed by an IP survives reordering and rewriting the list.
 * Lowercase letters, digits and `-` only; never starts or ends with `-` (a Kubernetes name part).
 */
export function ipKey(ip: string): string {
    if (!isIP(ip)) throw new Error(`not an IP address: ${ip}`);
    const parsed = ipaddr.parse(ip);
    const text = parsed.kind() === "ipv6" ? (parsed as ipaddr.IPv6).toNormalizedString() : parsed.toString();
    return text.toLowerCase().replace(/[.:]/g, "-");
}
