/**
 * The lab toolkit's building blocks that both labs share (lab/lib): commands with time limits
 * (sync and async, same results and errors), waits that name what they waited for, the daemon
 * registry, the check log, and the ICMP / ICMPv6 side of the one firewall translator. No
 * namespaces here (lab-session.test.ts has the cleanup guarantees with real ones).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { FirewallRule } from "../components/common/firewall";
import { FirewallRuleError, iptablesFromFirewallRules, protocolMatch } from "../lab/lib/firewall";
import { Daemons, exec, LabError, run, stopDaemon, waitUntil, withTimeout } from "../lab/lib/proc";
import { CheckLog, formatCheck, summaryLine } from "../lab/lib/report";

describe("run and exec", () => {
    it("return the same result for the same command, async or not", async () => {
        for (const r of [run(["sh", "-c", "echo out; echo err >&2"]), await exec(["sh", "-c", "echo out; echo err >&2"])]) {
            expect(r).toEqual({ code: 0, stdout: "out\n", stderr: "err\n", timedOut: false });
        }
        expect((await exec(["cat"], { input: "piped" })).stdout).toBe("piped");
    });

    it("throw a LabError naming the command and its exit code, unless allowFail", async () => {
        await expect(exec(["sh", "-c", "echo boom >&2; exit 3"])).rejects.toThrow(LabError);
        await expect(exec(["sh", "-c", "echo boom >&2; exit 3"])).rejects.toThrow(/command failed \(exit 3\): sh -c echo boom >&2; exit 3\nboom/);
        expect(() => run(["sh", "-c", "exit 4"])).toThrow(/command failed \(exit 4\)/);
        expect((await exec(["sh", "-c", "exit 3"], { allowFail: true })).code).toBe(3);
        expect((await exec(["/nonexistent/binary"], { allowFail: true })).code).toBe(127);
    });

    it("kill a command at its time limit and say so", async () => {
        const started = Date.now();
        const r = await exec(["sleep", "30"], { timeoutMs: 300, allowFail: true });
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(r).toMatchObject({ code: 124, timedOut: true });
        await expect(exec(["sleep", "30"], { timeoutMs: 300 })).rejects.toThrow(/command failed \(timed out\): sleep 30/);
        expect(run(["sleep", "30"], { timeoutMs: 300, allowFail: true })).toMatchObject({ code: 124, timedOut: true });
    });

    it("run commands inside a namespace through ip netns exec", async () => {
        await expect(exec(["true"], { ns: "dpst-does-not-exist" })).rejects.toThrow(/ip netns exec dpst-does-not-exist true/);
    });
});

describe("waits and time limits", () => {
    it("waitUntil returns the first truthy value, and names what it waited for when time is up", async () => {
        let n = 0;
        expect(await waitUntil("n to reach 3", 5000, () => (++n >= 3 ? n : undefined), 10)).toBe(3);
        await expect(waitUntil("the impossible", 100, () => false, 10)).rejects.toThrow(new LabError("timed out after 100 ms waiting for the impossible"));
    });

    it("withTimeout rejects with the step's name", async () => {
        await expect(withTimeout('step "x"', 50, () => new Promise(() => undefined))).rejects.toThrow(/step "x" timed out after 0.05s/);
        expect(await withTimeout("quick", 1000, async () => 7)).toBe(7);
    });
});

describe("Daemons", () => {
    it("tracks what it started until it exits, and killAll ends the rest", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpst-daemons-"));
        try {
            const daemons = new Daemons();
            const a = daemons.start("a", ["sleep", "600"], { logFile: path.join(dir, "a.log") });
            const b = daemons.start("b", ["sh", "-c", "echo hello; sleep 600"], { logFile: path.join(dir, "b.log") });
            expect(daemons.list().map((d) => d.name)).toEqual(["a", "b"]);
            expect(await stopDaemon(a, "SIGTERM", 5000)).toBe("SIGTERM");
            expect(daemons.list().map((d) => d.name)).toEqual(["b"]);
            await waitUntil("b's log", 5000, () => b.log().includes("hello"), 20);
            daemons.killAll();
            expect(await b.exited).toBe("SIGKILL");
            expect(daemons.list()).toEqual([]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("CheckLog", () => {
    it("prints one PASS/FAIL line per check and counts them for the summary", () => {
        const printed: string[] = [];
        const log = new CheckLog((l) => printed.push(l));
        expect(log.check("a works", true, "detail")).toBe(true);
        expect(log.check("b works", false)).toBe(false);
        log.info("a note");
        expect(printed).toEqual(["PASS  a works (detail)", "FAIL  b works", "      a note"]);
        expect(log.lines).toEqual(["PASS  a works (detail)", "FAIL  b works"]);
        expect(log.summary()).toBe("1 passed, 1 failed");
        expect(formatCheck("x", true)).toBe("PASS  x");
        expect(summaryLine(2, 0, 1)).toBe("2 passed, 0 failed, 1 skipped");
    });
});

describe("the one firewall translator: ICMP and the IP family", () => {
    it("matches ICMPv6 for ip6tables and refuses a protocol of the other family", () => {
        expect(protocolMatch({ protocol: "icmpv6", ports: "type 128 code 0" }, 6)).toEqual(["-p", "ipv6-icmp", "--icmpv6-type", "128/0"]);
        expect(protocolMatch({ protocol: "icmpv6", ports: "type -1 code -1" }, 6)).toEqual(["-p", "ipv6-icmp"]);
        expect(() => protocolMatch({ protocol: "icmpv6", ports: "all" })).toThrow(new FirewallRuleError("icmpv6 is not an IPv4 protocol"));
        expect(() => protocolMatch({ protocol: "icmp", ports: "all" }, 6)).toThrow(/icmp is not an IPv6 protocol/);
    });

    it("translates firewallRules' ICMP rules with the same matcher as the security groups", () => {
        const rules: FirewallRule[] = [
            { direction: "ingress", protocol: "icmp", fromPort: 8, toPort: 0, peer: "10.0.0.0/8", description: "echo" },
            { direction: "ingress", protocol: "icmp", fromPort: 3, toPort: -1, peer: "10.0.0.0/8", description: "unreachable" },
            { direction: "ingress", protocol: "icmp", fromPort: -1, toPort: -1, peer: "10.0.0.0/8", description: "any icmp" },
            { direction: "ingress", protocol: "icmpv6", fromPort: 128, toPort: 0, peer: "10.0.0.0/8", description: "v6 echo" },
        ];
        const t = iptablesFromFirewallRules(rules, { chain: "C", family: 4, direction: "ingress" });
        expect(t.rules.map((r) => r.slice(4, -6))).toEqual([["-p", "icmp", "--icmp-type", "8/0"], ["-p", "icmp", "--icmp-type", "3"], ["-p", "icmp"]]);
        expect(t.rules.map((r) => r.slice(4, -6))).toEqual(
            [{ protocol: "icmp", ports: "type 8 code 0" }, { protocol: "icmp", ports: "type 3 code -1" }, { protocol: "icmp", ports: "type -1 code -1" }].map((row) => protocolMatch(row)));
        expect(t.skipped.map((s) => s.reason)).toEqual(["icmpv6 is not an IPv4 protocol"]);
    });
});
