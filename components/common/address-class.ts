/**
 * Address classes: what an IPv4/IPv6 address or CIDR is, against the cluster it is used in. One
 * function, {@link classifyAddress}, that every key naming an address directpath will redirect, pin
 * in DNS or /etc/hosts, or advertise runs through; each key then refuses or warns about the classes
 * that would break something there. Pure.
 */
import ipaddr from "ipaddr.js";
import { isIP, parseCidr } from "./net";

/**
 * The classes, most specific first. The first eight are fixed by the IP standards; `node-internal`,
 * `service-cidr` and `pod-cidr` depend on the cluster; `routable` is every other unicast address
 * (public or private).
 */
export const ADDRESS_CLASSES = [
    "unspecified",
    "loopback",
    "broadcast",
    "multicast",
    "link-local",
    "documentation",
    "reserved",
    "node-internal",
    "service-cidr",
    "pod-cidr",
    "routable",
] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** The classes fixed by the standards (everything but the cluster's own and `routable`). */
export type SpecialAddressClass = Exclude<AddressClass, "node-internal" | "service-cidr" | "pod-cidr" | "routable">;

/** What the cluster says about its own addresses. Every field is optional; CIDRs that don't parse are ignored. */
export interface AddressContext {
    /** The pod CIDRs (`directpath:cluster.podCidrs`). */
    podCidrs?: readonly string[];
    /** The Service CIDRs (`directpath:cluster.serviceCidr`; two on a dual-stack cluster). */
    serviceCidrs?: readonly string[];
    /** The nodes' internal addresses (`directpath:cluster.nodes[].internalIp`). */
    nodeInternalIps?: readonly string[];
}

export interface AddressClassification {
    /** The class: for a CIDR, that of the smallest range holding all of it, else of a cluster CIDR it overlaps, else `routable`. */
    class: AddressClass;
    family: 4 | 6;
    /** The range that decided the class (`127.0.0.0/8`, the Service CIDR `10.233.0.0/18`, a node's `192.168.10.11/32`); none for `routable`. */
    range?: string;
    /**
     * Every class it holds: for a CIDR, its own class and every class whose ranges it overlaps, in {@link ADDRESS_CLASSES} order (`::/0` includes
     * all of them). For an address: `[class]`.
     */
    includes: AddressClass[];
    /** One phrase for an error message: `loopback (127.0.0.0/8)`, `inside the Service CIDR 10.233.0.0/18`. */
    description: string;
}

/** The standards' ranges per class and family. IPv4-mapped IPv6 addresses are classified as their IPv4 address. */
const SPECIAL_RANGES: ReadonlyArray<{ cls: SpecialAddressClass; cidr: string; note?: string }> = [
    { cls: "unspecified", cidr: "0.0.0.0/8", note: "'this network' (RFC 1122)" },
    { cls: "unspecified", cidr: "::/128" },
    { cls: "loopback", cidr: "127.0.0.0/8" },
    { cls: "loopback", cidr: "::1/128" },
    { cls: "broadcast", cidr: "255.255.255.255/32", note: "limited broadcast" },
    { cls: "multicast", cidr: "224.0.0.0/4" },
    { cls: "multicast", cidr: "ff00::/8" },
    { cls: "link-local", cidr: "169.254.0.0/16", note: "the cloud metadata service and NodeLocal DNSCache live here" },
    { cls: "link-local", cidr: "fe80::/10" },
    { cls: "documentation", cidr: "192.0.2.0/24", note: "TEST-NET-1, RFC 5737" },
    { cls: "documentation", cidr: "198.51.100.0/24", note: "TEST-NET-2, RFC 5737" },
    { cls: "documentation", cidr: "203.0.113.0/24", note: "TEST-NET-3, RFC 5737" },
    { cls: "documentation", cidr: "2001:db8::/32", note: "RFC 3849" },
    { cls: "documentation", cidr: "3fff::/20", note: "RFC 9637" },
    { cls: "reserved", cidr: "240.0.0.0/4", note: "class E, RFC 1112" },
];

const LABELS: Record<AddressClass, string> = {
    unspecified: "the unspecified address",
    loopback: "loopback",
    broadcast: "broadcast",
    multicast: "multicast",
    "link-local": "link-local",
    documentation: "a documentation range",
    reserved: "reserved",
    "node-internal": "a node's internal address",
    "service-cidr": "inside the Service CIDR",
    "pod-cidr": "inside a pod CIDR",
    routable: "routable unicast",
};

interface Range {
    network: ipaddr.IPv4 | ipaddr.IPv6;
    prefix: number;
    text: string;
}

function toRange(cidr: string): Range | undefined {
    const p = parseCidr(cidr);
    if (!p) return undefined;
    return { network: ipaddr.parse(p.address), prefix: p.prefix, text: `${p.address}/${p.prefix}` };
}

/** The address as ipaddr parses it, with an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) turned into its IPv4 address. */
function unmap(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): { addr: ipaddr.IPv4 | ipaddr.IPv6; prefix: number } {
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
        return { addr: (addr as ipaddr.IPv6).toIPv4Address(), prefix: prefix - 96 };
    }
    return { addr, prefix };
}

/** True when range `inner` lies inside range `outer` (same family). */
function within(inner: Range, outer: Range): boolean {
    return inner.network.kind() === outer.network.kind() && inner.prefix >= outer.prefix && inner.network.match(outer.network, outer.prefix);
}

function overlaps(a: Range, b: Range): boolean {
    return within(a, b) || within(b, a);
}

const SPECIAL = SPECIAL_RANGES.map((r) => ({ ...r, range: toRange(r.cidr)! }));

/**
 * Classifies an IPv4/IPv6 address (`10.233.0.1`, `::1`) or CIDR (`10.0.0.0/16`, `::/0`) against the
 * cluster. Returns `undefined` for text that is neither (the schemas report that).
 *
 * Order: the standards' classes first (a loopback address is loopback whatever the cluster says),
 * then a node's internal address, then the Service CIDR, then the pod CIDRs, then `routable`.
 * A CIDR takes the class of the first range that holds all of it; one that only overlaps a
 * special range (`0.0.0.0/0`, `::/0`, `10.0.0.0/8` around the pod CIDR) lists it in `includes`.
 */
export function classifyAddress(text: string, cluster: AddressContext = {}): AddressClassification | undefined {
    let input: Range | undefined;
    if (text.includes("/")) input = toRange(text);
    else if (isIP(text)) {
        const addr = ipaddr.parse(text);
        input = { network: addr, prefix: addr.kind() === "ipv4" ? 32 : 128, text };
    }
    if (!input) return undefined;
    const family: 4 | 6 = input.network.kind() === "ipv4" ? 4 : 6;
    const unmapped = unmap(input.network, input.prefix);
    const probe: Range = { network: unmapped.addr, prefix: unmapped.prefix, text: input.text };

    const clusterRanges: Array<{ cls: AddressClass; range: Range }> = [];
    for (const ip of cluster.nodeInternalIps ?? []) {
        if (!isIP(ip)) continue;
        const a = unmap(ipaddr.parse(ip), ip.includes(":") ? 128 : 32);
        clusterRanges.push({ cls: "node-internal", range: { network: a.addr, prefix: a.prefix, text: ip } });
    }
    for (const [cls, list] of [["service-cidr", cluster.serviceCidrs], ["pod-cidr", cluster.podCidrs]] as const) {
        for (const c of list ?? []) {
            const r = toRange(c);
            if (r) clusterRanges.push({ cls, range: r });
        }
    }

    const includes = new Set<AddressClass>();
    let found: { cls: AddressClass; range?: Range; note?: string } | undefined;
    for (const s of SPECIAL) {
        if (within(probe, s.range)) {
            if (!found) {
                found = { cls: s.cls, range: s.range, note: s.note };
                includes.add(s.cls);
            }
        } else if (within(s.range, probe)) includes.add(s.cls);
    }
    for (const c of clusterRanges) {
        if (within(probe, c.range)) {
            if (!found) {
                found = { cls: c.cls, range: c.range };
                includes.add(c.cls);
            }
        } else if (overlaps(probe, c.range)) {
            includes.add(c.cls);
        }
    }
    // Nothing holds all of it: routable itself, with whatever it overlaps in `includes`.
    if (!found) {
        found = { cls: "routable" };
        includes.add("routable");
    }
    const ordered = ADDRESS_CLASSES.filter((c) => includes.has(c));
    return {
        class: found.cls,
        family,
        ...(found.range ? { range: found.range.text } : {}),
        includes: ordered,
        description: describe(found.cls, found.range?.text, found.note),
    };
}

function describe(cls: AddressClass, range: string | undefined, note: string | undefined): string {
    switch (cls) {
        case "routable":
            return LABELS.routable;
        case "node-internal":
            return `${LABELS[cls]} (${range})`;
        case "service-cidr":
        case "pod-cidr":
            return `${LABELS[cls]} ${range}`;
        default:
            return `${LABELS[cls]} (${range}${note ? `, ${note}` : ""})`;
    }
}

/** True for the classes the standards fix (not the cluster's own, not `routable`). */
export function isSpecialClass(cls: AddressClass): cls is SpecialAddressClass {
    return cls !== "routable" && cls !== "node-internal" && cls !== "service-cidr" && cls !== "pod-cidr";
}
