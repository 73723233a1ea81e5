import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ADDRESS_CLASSES, classifyAddress, isSpecialClass, type AddressClass } from "../components/common/address-class";

const cluster = {
    podCidrs: ["10.233.64.0/18", "fd85:ee78:d8a6:8607::1:0/112"],
    serviceCidrs: ["10.233.0.0/18"],
    nodeInternalIps: ["192.168.10.11", "192.168.10.12"],
};

describe("classifyAddress", () => {
    const cases: Array<[string, AddressClass, string?]> = [
        ["0.0.0.0", "unspecified", "0.0.0.0/8"],
        ["0.1.2.3", "unspecified", "0.0.0.0/8"],
        ["::", "unspecified", "::/128"],
        ["127.0.0.1", "loopback", "127.0.0.0/8"],
        ["127.255.0.9", "loopback", "127.0.0.0/8"],
        ["::1", "loopback", "::1/128"],
        ["::ffff:127.0.0.1", "loopback", "127.0.0.0/8"],
        ["255.255.255.255", "broadcast", "255.255.255.255/32"],
        ["224.0.0.251", "multicast", "224.0.0.0/4"],
        ["239.1.2.3", "multicast", "224.0.0.0/4"],
        ["ff02::1", "multicast", "ff00::/8"],
        ["169.254.169.254", "link-local", "169.254.0.0/16"],
        ["169.254.25.10", "link-local", "169.254.0.0/16"],
        ["fe80::1", "link-local", "fe80::/10"],
        ["192.0.2.1", "documentation", "192.0.2.0/24"],
        ["198.51.100.7", "documentation", "198.51.100.0/24"],
        ["203.0.113.10", "documentation", "203.0.113.0/24"],
        ["2001:db8::1", "documentation", "2001:db8::/32"],
        ["3fff::1", "documentation", "3fff::/20"],
        ["240.0.0.1", "reserved", "240.0.0.0/4"],
        ["192.168.10.11", "node-internal", "192.168.10.11"],
        ["10.233.0.1", "service-cidr", "10.233.0.0/18"],
        ["10.233.0.3", "service-cidr", "10.233.0.0/18"],
        ["10.233.64.5", "pod-cidr", "10.233.64.0/18"],
        ["fd85:ee78:d8a6:8607::1:5", "pod-cidr", "fd85:ee78:d8a6:8607::1:0/112"],
        ["169.233.100.10", "routable"],
        ["192.168.10.100", "routable"],
        ["10.0.0.1", "routable"],
        ["fd00::1", "routable"],
        ["2a01:4f8::1", "routable"],
        ["8.8.8.8", "routable"],
    ];
    it.each(cases)("%s is %s", (text, cls, range) => {
        const c = classifyAddress(text, cluster)!;
        expect(c.class).toBe(cls);
        expect(c.range).toBe(range);
        expect(c.includes).toEqual([cls]);
        expect(c.family).toBe(text.includes(":") ? 6 : 4);
    });

    it("describes the class and the range in one phrase", () => {
        expect(classifyAddress("127.0.0.1")!.description).toBe("loopback (127.0.0.0/8)");
        expect(classifyAddress("169.254.169.254")!.description).toBe("link-local (169.254.0.0/16, the cloud metadata service and NodeLocal DNSCache live here)");
        expect(classifyAddress("10.233.0.1", cluster)!.description).toBe("inside the Service CIDR 10.233.0.0/18");
        expect(classifyAddress("10.233.64.9", cluster)!.description).toBe("inside a pod CIDR 10.233.64.0/18");
        expect(classifyAddress("192.168.10.12", cluster)!.description).toBe("a node's internal address (192.168.10.12)");
        expect(classifyAddress("8.8.8.8")!.description).toBe("routable unicast");
    });

    it("without a cluster, the cluster's own classes are routable", () => {
        for (const ip of ["10.233.0.1", "10.233.64.5", "192.168.10.11"]) expect(classifyAddress(ip)!.class).toBe("routable");
    });

    it("the standards' classes win over the cluster's (a pod CIDR written over loopback is still loopback)", () => {
        expect(classifyAddress("127.0.0.1", { podCidrs: ["127.0.0.0/8"] })!.class).toBe("loopback");
        expect(classifyAddress("10.233.0.5", { serviceCidrs: ["10.233.0.0/18"], nodeInternalIps: ["10.233.0.5"] })!.class).toBe("node-internal");
    });

    it("classifies CIDRs by the range that holds all of them, and lists what they overlap", () => {
        expect(classifyAddress("127.0.0.0/8")).toMatchObject({ class: "loopback", includes: ["loopback"] });
        expect(classifyAddress("169.254.0.0/24")).toMatchObject({ class: "link-local", range: "169.254.0.0/16" });
        expect(classifyAddress("198.51.100.0/24")).toMatchObject({ class: "documentation", range: "198.51.100.0/24" });
        expect(classifyAddress("2001:db8:1::/48")).toMatchObject({ class: "documentation" });
        expect(classifyAddress("0.0.0.0/8")).toMatchObject({ class: "unspecified" });
        expect(classifyAddress("10.233.64.0/24", cluster)).toMatchObject({ class: "pod-cidr", includes: ["pod-cidr"] });
        expect(classifyAddress("10.0.0.0/8", cluster)).toMatchObject({ class: "routable", includes: ["service-cidr", "pod-cidr", "routable"] });
        expect(classifyAddress("10.0.0.0/16", cluster)).toMatchObject({ class: "routable", includes: ["routable"] });
        const all4 = classifyAddress("0.0.0.0/0", cluster)!;
        expect(all4.class).toBe("routable");
        expect(all4.includes).toEqual(["unspecified", "loopback", "broadcast", "multicast", "link-local", "documentation", "reserved", "node-internal", "service-cidr", "pod-cidr", "routable"]);
        const all6 = classifyAddress("::/0", cluster)!;
        expect(all6.class).toBe("routable");
        expect(all6.family).toBe(6);
        expect(all6.includes).toEqual(["unspecified", "loopback", "multicast", "link-local", "documentation", "pod-cidr", "routable"]);
        expect(classifyAddress("::/127")).toMatchObject({ class: "routable", includes: ["unspecified", "loopback", "routable"] });
    });

    it("returns undefined for text that is neither an address nor a CIDR", () => {
        for (const bad of ["", "10.0.0", "10.0.0.1/16", "10.0.0.0/33", "registry.example.com", "fd00:::1", "::/129"]) expect(classifyAddress(bad), bad).toBeUndefined();
    });

    it("ignores cluster CIDRs that don't parse", () => {
        expect(classifyAddress("10.233.0.1", { serviceCidrs: ["nope", "10.233.0.1/18"] })!.class).toBe("routable");
    });

    it("isSpecialClass: the standards' classes only", () => {
        expect(ADDRESS_CLASSES.filter(isSpecialClass)).toEqual(["unspecified", "loopback", "broadcast", "multicast", "link-local", "documentation", "reserved"]);
    });

    it("property: every IPv4 address gets exactly the class its first octets say", () => {
        fc.assert(fc.property(fc.ipV4(), (ip) => {
            const c = classifyAddress(ip)!;
            const [a, b] = ip.split(".").map(Number) as [number, number];
            const expected: AddressClass =
                a === 0 ? "unspecified" : a === 127 ? "loopback" : ip === "255.255.255.255" ? "broadcast" : a >= 224 && a <= 239 ? "multicast" :
                a === 169 && b === 254 ? "link-local" : /^(192\.0\.2|198\.51\.100|203\.0\.113)\./.test(ip) ? "documentation" : a >= 240 ? "reserved" : "routable";
            expect(c.class).toBe(expected);
            expect(c.includes).toEqual([expected]);
        }), { numRuns: 2000 });
    });

    it("property: an IPv4-mapped IPv6 address has its IPv4 address's class", () => {
        fc.assert(fc.property(fc.ipV4(), (ip) => {
            expect(classifyAddress(`::ffff:${ip}`, cluster)!.class).toBe(classifyAddress(ip, cluster)!.class);
        }), { numRuns: 500 });
    });
});
