/**
 * The check's parsers on REAL tool outputs recorded by test/fixtures/check/record.sh (busybox 1.35
 * nc/nslookup/ping/netstat, bind9 nslookup, ss against dnsmasq in a namespace) and by a real
 * tailscaled/tailscale v1.98.10 (test/fixtures/check/README.md says how), plus malformed outputs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseFrame } from "../check/frame";
import { parseHosts, parseNslookup, parseResolve, parseResolvConf, parseTcp, parseUdpListeners } from "../check/parse";
import { parsePortCheck, parseTailscalePing, parseTailscaleStatus, portCheckFromListeners } from "../check/tailscale";

const FX = path.join(__dirname, "fixtures", "check");
const lines = (f: string) => fs.readFileSync(path.join(FX, f), "utf8").replace(/\n$/, "").split("\n");
const rc = (f: string) => Number(fs.readFileSync(path.join(FX, f.replace(/\.out$/, ".rc")), "utf8").trim());
const rec = (f: string) => [lines(f), rc(f)] as const;

describe("nslookup (busybox and bind9)", () => {
    for (const v of ["busybox", "bind"]) {
        it(`${v}: one answer, two answers, NXDOMAIN, refused, timeout`, () => {
            const ok = parseNslookup(...rec(`nslookup-${v}-ok.out`));
            expect(ok).toMatchObject({ status: "answer", server: "10.77.0.53", addresses: ["169.233.100.10"] });
            // The server's own address line (10.77.0.53:53 or #53) is not part of the answer.
            expect(parseNslookup(...rec(`nslookup-${v}-two.out`)).addresses.sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
            expect(parseNslookup(...rec(`nslookup-${v}-nxdomain.out`))).toMatchObject({ status: "nxdomain", addresses: [] });
            expect(parseNslookup(...rec(`nslookup-${v}-refused.out`)).status).toMatch(/^(unreachable|timeout)$/);
            expect(parseNslookup(...rec(`nslookup-${v}-timeout.out`))).toMatchObject({ status: "timeout", addresses: [] });
        });
    }
    it("garbage is unparsed, never an answer", () => {
        expect(parseNslookup(["segmentation fault"], 139).status).toBe("unparsed");
        expect(parseNslookup([], 0).status).toBe("unparsed");
        // A truncated answer (Name line without Address) is not an answer.
        expect(parseNslookup(["Server:\t\t10.0.0.1", "Address:\t10.0.0.1:53", "", "Name:\tregistry.example.com"], 0).status).toBe("nodata");
    });
});

describe("nc (busybox)", () => {
    it("refused, timed out, unreachable, bad name; killed by timeout", () => {
        expect(parseTcp(...rec("nc-busybox-refused.out")).status).toBe("refused");
        expect(parseTcp(...rec("nc-busybox-timeout.out")).status).toBe("timeout");
        expect(parseTcp(...rec("nc-busybox-unreachable.out")).status).toBe("unreachable");
        expect(parseTcp(...rec("nc-busybox-badname.out")).status).toBe("bad-name");
        expect(parseTcp([], 143).status).toBe("timeout");
        expect(parseTcp(["dpc-ok podb"], 0)).toMatchObject({ status: "connected", banner: "dpc-ok podb" });
        expect(parseTcp(["Segmentation fault"], 139).status).toBe("unparsed");
    });
});

describe("system resolver (ping), hosts, resolv.conf", () => {
    it("reads the address ping resolved, or that it did not", () => {
        expect(parseResolve(...rec("ping-busybox-resolved.out"))).toMatchObject({ status: "resolved", address: "127.0.0.1" });
        expect(parseResolve(...rec("ping-busybox-unresolved.out")).status).toBe("unresolved");
        expect(parseResolve(["ping: permission denied (are you root?)"], 1).status).toBe("unparsed");
    });
    it("hosts: exact name tokens only, comments ignored", () => {
        const l = ["192.168.10.100 registry.example.com # BEGIN?", "# 10.0.0.9 registry.example.com", "10.0.0.8 registry.example.com.evil", "::1 ip6-localhost"];
        expect(parseHosts(l, "registry.example.com")).toEqual(["192.168.10.100"]);
        expect(parseResolvConf(["search svc.cluster.local", "nameserver 10.233.0.3", "options ndots:5"])).toEqual(["10.233.0.3"]);
    });
});

describe("UDP listeners (ss, busybox netstat)", () => {
    it("tailscaled on its fixed port, and a second tailscaled on a random fallback", () => {
        expect(parseUdpListeners(lines("ss-udp-tailscaled.out"))).toContainEqual({ address: "0.0.0.0", port: 41641, process: "tailscaled" });
        const fb = lines("ss-udp-tailscaled-fallback.out");
        expect(portCheckFromListeners(fb, 41641).status).toBe("held");
        // Only the fallback's lines: tailscaled listens, but not on 41641.
        const onlyFallback = fb.filter((l) => !l.includes(":41641"));
        expect(portCheckFromListeners(onlyFallback, 41641)).toMatchObject({ status: "not-held" });
        expect(portCheckFromListeners(onlyFallback, 41641).detail).toMatch(/random fallback/);
        const nb = parseUdpListeners(lines("netstat-busybox-udp-tailscaled-fallback.out"));
        expect(nb?.map((l) => l.port).sort()).toEqual([38625, 41641, 41641, 45975]);
        // busybox netstat without -p names no process: the port check can't attribute the socket.
        expect(portCheckFromListeners(lines("netstat-busybox-udp-tailscaled-fallback.out"), 41641).status).toBe("unparsed");
        expect(parseUdpListeners(["netstat: invalid option -- 'p'"])).toBeUndefined();
    });
});

describe("tailscale status --json / ping / check-port", () => {
    it("a logged-out tailscaled (real v1.98.10 output)", () => {
        const r = parseTailscaleStatus(fs.readFileSync(path.join(FX, "tailscale-status-needslogin.json"), "utf8"));
        expect(r.ok && r.status.backendState).toBe("NeedsLogin");
        expect(r.ok && r.status.peers).toEqual([]);
        expect(parseTailscalePing(...rec("tailscale-ping-loggedout.out"))).toMatchObject({ status: "error", detail: "Logged out." });
    });
    it("malformed and truncated JSON are failures with a reason", () => {
        const full = fs.readFileSync(path.join(FX, "tailscale-status-needslogin.json"), "utf8");
        expect(parseTailscaleStatus(full.slice(0, full.length / 2))).toMatchObject({ ok: false });
        expect(parseTailscaleStatus("[]")).toMatchObject({ ok: false });
        expect(parseTailscaleStatus('{"Peer":{}}')).toMatchObject({ ok: false, reason: expect.stringMatching(/BackendState/) });
        expect(parseTailscaleStatus("")).toMatchObject({ ok: false });
    });
    it("check-port.sh OK / FAIL lines", () => {
        expect(parsePortCheck(["directpath check-port: OK: tailscaled owns UDP 41641 (2 socket(s))"]).status).toBe("held");
        expect(parsePortCheck(["directpath check-port: FAIL: UDP 41641 is held by another process"]).status).toBe("not-held");
        expect(parsePortCheck(["sh: can't open '/etc/directpath/check-port.sh'"]).status).toBe("unparsed");
    });
});

describe("probe frame", () => {
    const good = ["DPC-PROBE 1 probe", "@meta node=n1 vantage=pod", "@run h0 tcp 1.2.3.4 443", "| nc: timed out", "@rc h0 1", "@run h1 file /etc/resolv.conf", "@rc h1 0", "DPC-END 2"].join("\n");
    it("parses sections, meta and exit codes", () => {
        const r = parseFrame(good + "\n");
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.frame.meta).toEqual({ node: "n1", vantage: "pod" });
        expect(r.frame.sections.map((s) => [s.id, s.kind, s.args, s.lines, s.rc])).toEqual([["h0", "tcp", ["1.2.3.4", "443"], ["nc: timed out"], 1], ["h1", "file", ["/etc/resolv.conf"], [], 0]]);
    });
    it("every truncation or corruption is a failure with the reason", () => {
        const cut = good.split("\n");
        for (let n = 1; n < cut.length; n++) expect(parseFrame(cut.slice(0, n).join("\n")).ok, `cut after ${n} lines`).toBe(false);
        expect(parseFrame(good.replace("DPC-END 2", "DPC-END 3"))).toMatchObject({ ok: false, reason: expect.stringMatching(/counts 3/) });
        expect(parseFrame(good.replace("| nc: timed out", "nc: timed out"))).toMatchObject({ ok: false });
        expect(parseFrame(good.replace("DPC-PROBE 1", "DPC-PROBE 2"))).toMatchObject({ ok: false, reason: expect.stringMatching(/version 2/) });
        expect(parseFrame("")).toMatchObject({ ok: false, reason: expect.stringMatching(/empty/) });
        expect(parseFrame("Error from server (NotFound): pods \"x\" not found")).toMatchObject({ ok: false });
        expect(parseFrame(good + "\nextra")).toMatchObject({ ok: false });
    });
});
