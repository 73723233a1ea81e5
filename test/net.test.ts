import { describe, expect, it } from "vitest";
import { cidrContains, cidrsOverlap, isDnsLabel, isDnsName, isIP, isIPv4, isIPv6, parseCidr } from "../components/common/net";

describe("address helpers", () => {
    it("accepts dotted-quad IPv4 only", () => {
        expect(isIPv4("192.168.10.100")).toBe(true);
        for (const bad of ["169.233.100.999", "10", "0x0a.0.0.1", "10.0.0", "10.0.0.1/32", " 10.0.0.1", ""]) expect(isIPv4(bad), bad).toBe(false);
    });
    it("accepts IPv6", () => {
        expect(isIPv6("fd00::1")).toBe(true);
        expect(isIPv6("::ffff:10.0.0.1")).toBe(true);
        expect(isIPv6("fd00:::1")).toBe(false);
        expect(isIP("10.0.0.1")).toBe(true);
        expect(isIP("registry.example.com")).toBe(false);
    });
    it("parses CIDRs and rejects host bits", () => {
        expect(parseCidr("10.0.0.0/16")).toEqual({ address: "10.0.0.0", prefix: 16, family: 4 });
        expect(parseCidr("fd00::/64")).toEqual({ address: "fd00::", prefix: 64, family: 6 });
        expect(parseCidr("10.0.0.1/16")).toBeUndefined();
        expect(parseCidr("10.0.0.0/33")).toBeUndefined();
        expect(parseCidr("10.0.0.0")).toBeUndefined();
        expect(parseCidr("10.0.0.0/x")).toBeUndefined();
    });
    it("tests containment and overlap", () => {
        expect(cidrContains("10.0.0.0/16", "10.0.255.1")).toBe(true);
        expect(cidrContains("10.0.0.0/16", "10.1.0.1")).toBe(false);
        expect(cidrsOverlap("10.0.0.0/16", "10.0.128.0/20")).toBe(true);
        expect(cidrsOverlap("10.0.0.0/16", "10.1.0.0/16")).toBe(false);
    });
    it("validates DNS labels and names", () => {
        expect(isDnsLabel("node-1")).toBe(true);
        for (const bad of ["-a", "a-", "A", "a_b", "x".repeat(64), ""]) expect(isDnsLabel(bad), bad).toBe(false);
        expect(isDnsName("registry.example.com")).toBe(true);
        for (const bad of ["registry", "registry..example.com", "registry.example.com.", "10.0.0.1", "Registry.example.com", "a.b.123"]) {
            expect(isDnsName(bad), bad).toBe(false);
        }
    });
});
