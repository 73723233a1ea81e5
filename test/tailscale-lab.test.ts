/**
 * The pure parts of the direct-connection lab (lab/tailscale/model.ts, and lab/lib/firewall.ts for
 * the firewallRules translation): what it reads out of the rendered DaemonSet and plan, how it
 * turns firewallRules into iptables rules, how it parses tailscale's output, and the checks it
 * prints. The lab itself runs with `npm run lab:tailscale`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { FirewallRule } from "../components/common/firewall";
import { iptablesFromFirewallRules } from "../lab/lib/firewall";
import {
    checkPairs, checkRelay, classifyPeer, classifyVia, configFileFacts, derpMapYaml, expectedRelayRttMs, fixedPortFromDaemonSet, labPolicy, labTailscaledConfig,
    ManifestError, markdownTable, median, parseGoDuration, parsePingOutput, peerFromStatus, peerRelayAddr, percentile, portFromArgs, relayMarkdownTable, setupOf,
    splitArgs, tailscaleVariantStack, viaKind, withinLinkFactor, type Expectation, type PairResult, type RelayResult,
} from "../lab/tailscale/model";
import { ROOT } from "./harness";

function daemonSet(opts: { envPort?: unknown; extraArgs?: unknown; containerPort?: number; hostPort?: number | null; protocol?: string } = {}): string {
    const env: Array<Record<string, unknown>> = [{ name: "TS_USERSPACE", value: "false" }];
    if (opts.envPort !== null) env.push({ name: "PORT", value: opts.envPort ?? "41641" });
    if (opts.extraArgs !== null) env.push({ name: "TS_TAILSCALED_EXTRA_ARGS", value: opts.extraArgs ?? "--port=41641 --no-logs-no-support" });
    const port: Record<string, unknown> = { name: "wg", containerPort: opts.containerPort ?? 41641, protocol: opts.protocol ?? "UDP" };
    if (opts.hostPort !== null) port.hostPort = opts.hostPort ?? opts.containerPort ?? 41641;
    return [
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tailscale\n",
        JSON.stringify({
            apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "ts-direct", namespace: "tailscale" },
            spec: { template: { spec: { hostNetwork: true, containers: [{ name: "tailscale", image: "tailscale/tailscale:v1.98.0", env, ports: [port] }] } } },
        }),
    ].join("---\n");
}

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        expect(e).toBeInstanceOf(ManifestError);
        return (e as ManifestError).problems;
    }
    throw new Error("expected a ManifestError");
}

describe("fixedPortFromDaemonSet", () => {
    it("reads the port from PORT, --port and the UDP containerPort/hostPort when they agree", () => {
        const p = fixedPortFromDaemonSet(daemonSet({ envPort: "41000", extraArgs: "--port=41000 --no-logs-no-support", containerPort: 41000 }));
        expect(p).toMatchObject({ port: 41000, envPort: 41000, argPort: 41000, containerPort: 41000, hostPort: 41000, workload: "ts-direct", container: "tailscale", hostNetwork: true });
        expect(p.extraArgs).toEqual(["--port=41000", "--no-logs-no-support"]);
    });

    it("accepts --port N as two words", () => {
        expect(fixedPortFromDaemonSet(daemonSet({ extraArgs: "--port 41641" })).argPort).toBe(41641);
    });

    it("names every disagreement at once", () => {
        const problems = problemsOf(() => fixedPortFromDaemonSet(daemonSet({ envPort: "41641", extraArgs: "--port=41642", containerPort: 41643 })));
        expect(problems.join("\n")).toMatch(/PORT=41641 but --port=41642/);
        expect(problems.join("\n")).toMatch(/PORT=41641 but the UDP containerPort is 41643/);
    });

    it("rejects a missing --port, a non-literal PORT, a hostPort that differs, and a TCP-only port", () => {
        expect(problemsOf(() => fixedPortFromDaemonSet(daemonSet({ extraArgs: "--no-logs-no-support" })))[0]).toMatch(/TS_TAILSCALED_EXTRA_ARGS .*want --port=N/);
        expect(problemsOf(() => fixedPortFromDaemonSet(daemonSet({ envPort: "[computed]" })))[0]).toMatch(/env PORT is "\[computed\]"/);
        expect(problemsOf(() => fixedPortFromDaemonSet(daemonSet({ hostPort: 40000 })))[0]).toMatch(/hostPort 40000, want the same port/);
        expect(problemsOf(() => fixedPortFromDaemonSet(daemonSet({ hostPort: null })))[0]).toMatch(/hostPort undefined/);
        expect(problemsOf(() => fixedPortFromDaemonSet(daemonSet({ protocol: "TCP" })))[0]).toMatch(/no UDP containerPort/);
    });

    it("says so when there is no DaemonSet at all", () => {
        expect(problemsOf(() => fixedPortFromDaemonSet("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"))).toEqual(["no document of kind DaemonSet"]);
    });
});

describe("args", () => {
    it("splits like a shell for words and quotes, and takes the last --port like Go's flag package", () => {
        expect(splitArgs(` --port=1  --tun "a b" 'c' `)).toEqual(["--port=1", "--tun", "a b", "c"]);
        expect(portFromArgs(["--port=1", "-port", "2"])).toBe(2);
        expect(portFromArgs(["--portal=3"])).toBeUndefined();
        expect(portFromArgs(["--port=70000"])).toBeUndefined();
    });
});

describe("iptablesFromFirewallRules", () => {
    const rules: FirewallRule[] = [
        { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale direct connections (IPv4)" },
        { direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "::/0", description: "Tailscale direct connections (IPv6)" },
        { direction: "ingress", protocol: "udp", fromPort: 8472, toPort: 8472, peer: "self", description: "VXLAN" },
        { direction: "ingress", protocol: "tcp", fromPort: 1000, toPort: 2000, peer: "10.0.0.0/16", description: "range" },
        { direction: "egress", protocol: "all", fromPort: 0, toPort: 0, peer: "0.0.0.0/0", description: "all out" },
    ];

    it("accepts exactly the IPv4 ingress rules, peer as source, and skips the rest with reasons", () => {
        const t = iptablesFromFirewallRules(rules, { chain: "DPT-SG", family: 4, direction: "ingress" });
        expect(t.rules).toEqual([
            ["-A", "DPT-SG", "-s", "0.0.0.0/0", "-p", "udp", "--dport", "41641", "-m", "comment", "--comment", "Tailscale direct connections (IPv4)", "-j", "ACCEPT"],
            ["-A", "DPT-SG", "-s", "10.0.0.0/16", "-p", "tcp", "--dport", "1000:2000", "-m", "comment", "--comment", "range", "-j", "ACCEPT"],
        ]);
        expect(t.skipped.map((s) => s.reason)).toEqual(["peer ::/0 is not an IPv4 CIDR", "peer self is not an IPv4 CIDR", "direction egress, translating ingress"]);
    });

    it("translates the IPv6 rule for ip6tables, and egress rules with the peer as destination", () => {
        expect(iptablesFromFirewallRules(rules, { chain: "C", family: 6, direction: "ingress" }).rules).toEqual([
            ["-A", "C", "-s", "::/0", "-p", "udp", "--dport", "41641", "-m", "comment", "--comment", "Tailscale direct connections (IPv6)", "-j", "ACCEPT"],
        ]);
        expect(iptablesFromFirewallRules(rules, { chain: "O", family: 4, direction: "egress" }).rules).toEqual([
            ["-A", "O", "-d", "0.0.0.0/0", "-m", "comment", "--comment", "all out", "-j", "ACCEPT"],
        ]);
    });

    it("never widens a rule with a bad port range", () => {
        const t = iptablesFromFirewallRules([{ direction: "ingress", protocol: "udp", fromPort: 5, toPort: 1, peer: "0.0.0.0/0", description: "x" }], { chain: "C", family: 4, direction: "ingress" });
        expect(t.rules).toEqual([]);
        expect(t.skipped[0]!.reason).toMatch(/port range 5-1/);
    });
});

describe("derpMapYaml", () => {
    it("writes one region per derper with tailcfg's lower-cased field names, IPv4 only, cert pinned", () => {
        const text = derpMapYaml([
            { id: 900, code: "lab-a", ip: "203.0.113.10", certName: "sha256-raw:ab", stunPort: 3478, derpPort: 443 },
            { id: 901, code: "lab-b", ip: "203.0.113.11", certName: "sha256-raw:cd", stunPort: 3478, derpPort: 443 },
        ]);
        const doc = parse(text) as { regions: Record<string, { regionid: number; regioncode: string; nodes: Array<Record<string, unknown>> }> };
        expect(Object.keys(doc.regions)).toEqual(["900", "901"]);
        expect(doc.regions["901"]!.regioncode).toBe("lab-b");
        expect(doc.regions["900"]!.nodes).toEqual([{
            name: "900a", regionid: 900, hostname: "203.0.113.10", certname: "sha256-raw:ab", ipv4: "203.0.113.10", ipv6: "none", stunport: 3478, derpport: 443,
        }]);
        // Region ids are YAML integers: headscale's yaml.v3 refuses a quoted "900" for tailcfg's int key.
        expect(text).toMatch(/^ {2}900:$/m);
        expect(text).not.toMatch(/"900"/);
        // Nothing that would send clients elsewhere: no STUN-only nodes, no test-only TLS bypass.
        expect(text).not.toMatch(/stunonly|insecurefortests/);
    });
});

describe("tailscale output", () => {
    it("classifies via: DERP and peer relays are relayed, ip:port is direct", () => {
        expect(classifyVia("DERP(lab)")).toBe("relayed");
        expect(classifyVia("peer-relay(192.0.2.1:7777:vni:3)")).toBe("relayed");
        expect(classifyVia("192.0.2.10:41641")).toBe("direct");
        expect(classifyVia("[2001:db8::1]:41641")).toBe("direct");
        expect(classifyVia("TSMP")).toBeUndefined();
    });

    it("parses Go durations", () => {
        expect(parseGoDuration("12ms")).toBe(12);
        expect(parseGoDuration("1.5s")).toBe(1500);
        expect(parseGoDuration("1m2.5s")).toBe(62500);
        expect(parseGoDuration("0s")).toBe(0);
        expect(parseGoDuration("12 ms")).toBeUndefined();
    });

    it("parses pongs and ignores timeouts", () => {
        const out = [
            "pong from node-a (100.64.0.2) via DERP(lab) in 83ms",
            'ping "100.64.0.2" timed out',
            "pong from node-a (100.64.0.2, 38333) via 192.0.2.10:41641 in 11ms",
        ].join("\n");
        expect(parsePingOutput(out)).toEqual([
            { peer: "node-a", ip: "100.64.0.2", via: "DERP(lab)", path: "relayed", rttMs: 83 },
            { peer: "node-a", ip: "100.64.0.2", via: "192.0.2.10:41641", path: "direct", rttMs: 11 },
        ]);
    });

    it("finds a peer in status --json and reads CurAddr", () => {
        const status = { Peer: {
            "nodekey:1": { HostName: "node-a", TailscaleIPs: ["100.64.0.2", "fd7a::2"], CurAddr: "192.0.2.10:41641", Relay: "lab" },
            "nodekey:2": { HostName: "node-b", TailscaleIPs: ["100.64.0.3"], CurAddr: "", Relay: "lab" },
        } };
        const a = peerFromStatus(status, { ip: "100.64.0.2" })!;
        expect(a).toEqual({ hostName: "node-a", ips: ["100.64.0.2", "fd7a::2"], curAddr: "192.0.2.10:41641", relay: "lab", peerRelay: "" });
        expect(classifyPeer(a)).toBe("direct");
        expect(classifyPeer(peerFromStatus(status, { hostName: "node-b" })!)).toBe("relayed");
        expect(peerFromStatus(status, { ip: "100.64.0.9" })).toBeUndefined();
    });
});

describe("statistics", () => {
    it("median and nearest-rank p95", () => {
        expect(median([3, 1, 2])).toBe(2);
        expect(median([4, 1, 2, 3])).toBe(2.5);
        const xs = Array.from({ length: 20 }, (_, i) => i + 1);
        expect(percentile(xs, 95)).toBe(19);
        expect(percentile(xs, 100)).toBe(20);
        expect(percentile([7], 95)).toBe(7);
        expect(() => median([])).toThrow(/empty/);
        expect(() => percentile([1], 0)).toThrow(/not in/);
    });
});

describe("expectations", () => {
    const base: PairResult = { from: "laptop", to: "node-a", setup: "directpath", path: "direct", timeToDirectMs: 900, rttMedianMs: 11, rttP95Ms: 14, linkRttMs: 10.2, derpPathRttMs: 80.5 };

    it("passes a direct pair near the link RTT and a relayed pair near the DERP path", () => {
        const lines = checkPairs([base, { ...base, to: "node-b", setup: "default", path: "relayed", timeToDirectMs: null, rttMedianMs: 84 }],
            [{ from: "laptop", to: "node-a", path: "direct" }, { from: "laptop", to: "node-b", path: "relayed" }]);
        expect(lines.map((l) => [l.name, l.ok])).toEqual([
            ["laptop -> node-a: path direct", true],
            ["laptop -> node-a: RTT near the link", true],
            ["laptop -> node-b: path relayed", true],
            ["laptop -> node-b: RTT near the DERP path", true],
        ]);
    });

    it("fails a pair that was relayed when it should be direct, one whose RTT is far off, and a missing one", () => {
        const lines = checkPairs([{ ...base, path: "relayed", rttMedianMs: 80 }],
            [{ from: "laptop", to: "node-a", path: "direct" }, { from: "node-a", to: "node-b", path: "direct" }]);
        expect(lines.map((l) => l.ok)).toEqual([false, false, false]);
        expect(lines[1]!.detail).toMatch(/median 80 ms .* vs link 10.2 ms/);
        expect(lines[2]!.name).toBe("node-a -> node-b: measured");
    });

    it("labels a pair directpath when one end is the directpath node", () => {
        expect(setupOf("laptop", "node-a", ["node-a", "node-p"])).toBe("directpath");
        expect(setupOf("node-a", "node-b", ["node-a", "node-p"])).toBe("directpath");
        expect(setupOf("laptop", "node-b", ["node-a", "node-p"])).toBe("default");
    });

    it("renders the Markdown table", () => {
        expect(markdownTable([base]).split("\n")[2]).toBe("| laptop | node-a | directpath | direct | 900 ms | 11 ms | 14 ms | 10.2 ms | 80.5 ms |");
    });
});

describe("committed results", () => {
    const file = path.join(ROOT, "bench", "results", "direct-connection.json");
    it.skipIf(!fs.existsSync(file))("have the documented shape and meet the lab's expectations", () => {
        const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { pairs: PairResult[] };
        expect(doc.pairs.length).toBeGreaterThanOrEqual(3);
        for (const p of doc.pairs) {
            expect(Object.keys(p)).toEqual(expect.arrayContaining(["from", "to", "setup", "path", "timeToDirectMs", "rttMedianMs", "rttP95Ms", "linkRttMs"]));
            expect(["directpath", "default", "control"]).toContain(p.setup);
            expect(["direct", "relayed"]).toContain(p.path);
        }
        // The control (node P without its static endpoint) shares its from/to with a directpath pair: check each set on its own.
        const main = doc.pairs.filter((p) => p.setup !== "control");
        const expected: Expectation[] = main.filter((p) => p.setup === "directpath").map((p) => ({ from: p.from, to: p.to, path: "direct" }));
        expected.push({ from: "laptop", to: "node-b", path: "relayed" });
        expect(checkPairs(main, expected).filter((l) => !l.ok)).toEqual([]);
        const control = doc.pairs.filter((p) => p.setup === "control");
        expect(checkPairs(control, control.map((p) => ({ from: p.from, to: p.to, path: "relayed" as const }))).filter((l) => !l.ok)).toEqual([]);
        // Issue 14: every pair with the pod-mode node within 1.5x the link RTT.
        for (const p of doc.pairs.filter((x) => x.to === "node-p" && x.setup === "directpath")) expect(withinLinkFactor(p, 1.5).ok).toBe(true);
        const relay = (doc as { relay?: RelayResult | null }).relay;
        if (relay) expect(viaKind(relay.via)).toBe("peer-relay");
        // directpath check's verdicts in the lab (issue 15), when the run recorded them.
        const check = (doc as { check?: Array<{ device: string; when: string; verdict: string; peers: Array<{ peer: string; path?: string }> }> }).check ?? [];
        const before = (d: string) => check.find((c) => c.device === d && c.when === "before the relay grant");
        if (check.length > 0) {
            expect(before("laptop")).toMatchObject({ verdict: "present" });
            expect(before("laptop")!.peers.find((p) => p.peer === "node-b")?.path).toBe("derp");
            expect(before("laptop")!.peers.find((p) => p.peer === "node-a")?.path).toBe("direct");
            expect(before("node-a")?.verdict).toBe("absent");
            expect(before("node-b")?.verdict).toBe("present");
        }
    });
});

describe("variant stacks", () => {
    const stack = "config:\n  directpath:environment: local\n  directpath:tailscale:\n    enabled: true\n    port: 41641\n    tolerations:\n      - operator: Exists\n";

    it("merges the overrides into the tailscale section only, and removes keys set to undefined", () => {
        const out = parse(tailscaleVariantStack(stack, { network: "pod", nodePort: 30641, tolerations: undefined, nodes: [{ name: "node1", publicIps: ["198.18.2.10"] }] })) as { config: Record<string, unknown> };
        expect(out.config["directpath:environment"]).toBe("local");
        expect(out.config["directpath:tailscale"]).toEqual({ enabled: true, port: 41641, network: "pod", nodePort: 30641, nodes: [{ name: "node1", publicIps: ["198.18.2.10"] }] });
    });

    it("refuses a stack without a tailscale section", () => {
        expect(() => tailscaleVariantStack("config:\n  directpath:environment: local\n", {})).toThrow(/no directpath:tailscale section/);
    });
});

describe("configFileFacts", () => {
    const conf = (extra: Record<string, unknown>) => JSON.stringify({ Version: "alpha0", AuthKey: "file:/etc/directpath/auth/TS_AUTHKEY", Hostname: "local-node1", ...extra });
    const objects = (o: { staticEp?: string[]; nodePort?: number; targetPort?: number; envPort?: string; relay?: boolean } = {}) => [
        {
            kind: "DaemonSet", metadata: { name: "tailscale" }, spec: { template: { spec: {
                hostNetwork: false,
                initContainers: [{ name: "select-config", command: ["/bin/sh", "/etc/directpath/checks/select-config.sh"], env: [{ name: "NODE_NAME", valueFrom: {} }, { name: "DIRECTPATH_CONFIG_FILE", value: "cap-142.hujson" }] }],
                containers: [{ name: "tailscale", env: [{ name: "PORT", value: o.envPort ?? "41641" }, { name: "TS_USERSPACE", value: "true" }, { name: "TS_TAILSCALED_EXTRA_ARGS", value: "--port=41641" }, { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tailscaled" }] }],
            } } },
        },
        { kind: "ConfigMap", metadata: { name: "tailscale-tailscaled" }, data: { "node1.hujson": conf({ StaticEndpoints: o.staticEp ?? ["198.18.2.10:30641"], ...(o.relay ? { RelayServerPort: 40000, RelayServerStaticEndpoints: ["198.18.2.10:30640"] } : {}) }) } },
        { kind: "ConfigMap", metadata: { name: "tailscale-checks" }, data: { "select-config.sh": "#!/bin/sh\n" } },
        { kind: "Service", metadata: { name: "tailscale-udp" }, spec: { ports: [
            { name: "tailscale", protocol: "UDP", port: 41641, targetPort: o.targetPort ?? 41641, nodePort: o.nodePort ?? 30641 },
            ...(o.relay ? [{ name: "relay", protocol: "UDP", port: 40000, targetPort: 40000, nodePort: 30640 }] : []),
        ] } },
    ];

    it("reads the config file, NodePorts, userspace flag and the init container's script and env", () => {
        const f = configFileFacts(objects({ relay: true }), "node1.hujson");
        expect(f.config.StaticEndpoints).toEqual(["198.18.2.10:30641"]);
        expect(f.nodePorts).toEqual({ tailscale: { nodePort: 30641, targetPort: 41641 }, relay: { nodePort: 30640, targetPort: 40000 } });
        expect(f).toMatchObject({ port: 41641, extraArgs: ["--port=41641"], userspace: true, hostNetwork: false, configMap: "tailscale-tailscaled", selectScript: "#!/bin/sh\n" });
        expect(f.initEnv).toEqual({ DIRECTPATH_CONFIG_FILE: "cap-142.hujson" });
        expect(Object.keys(f.sources)).toEqual(["node1.hujson"]);
    });

    it("names every disagreement between the file, the Service and the pod", () => {
        const problems = problemsOf(() => configFileFacts(objects({ staticEp: ["198.18.2.10:30999"], targetPort: 41000, envPort: "41642" }), "node1.hujson"));
        expect(problems).toEqual([
            'env PORT=41642 but TS_TAILSCALED_EXTRA_ARGS is "--port=41641"; they must agree',
            "StaticEndpoints 198.18.2.10:30999 but the Service's tailscale nodePort is 30641",
            "the Service's tailscale targetPort is 41000 but the pod's port is 41642",
        ]);
        expect(problemsOf(() => configFileFacts(objects(), "node2.hujson"))).toEqual(["want exactly one ConfigMap with the key node2.hujson, found 0"]);
    });

    it("points AuthKey at the lab's key, and drops StaticEndpoints only for the control", () => {
        const c = { AuthKey: "file:/etc/directpath/auth/TS_AUTHKEY", Hostname: "h", StaticEndpoints: ["1.2.3.4:30641"] };
        expect(labTailscaledConfig(c, "/x/authkey", { staticEndpoints: true })).toEqual({ AuthKey: "file:/x/authkey", Hostname: "h", StaticEndpoints: ["1.2.3.4:30641"] });
        expect(labTailscaledConfig(c, "/x/authkey", { staticEndpoints: false })).toEqual({ AuthKey: "file:/x/authkey", Hostname: "h" });
        expect(c.AuthKey).toBe("file:/etc/directpath/auth/TS_AUTHKEY");
    });
});

describe("peer relay", () => {
    it("tells a peer relay from DERP and direct, and reads the relay's address", () => {
        expect(viaKind("peer-relay(192.0.2.10:40000:vni:3)")).toBe("peer-relay");
        expect(viaKind("DERP(lab-a)")).toBe("derp");
        expect(viaKind("198.18.2.10:30641")).toBe("direct");
        expect(viaKind("somewhere")).toBeUndefined();
        expect(peerRelayAddr("peer-relay(192.0.2.10:40000:vni:3)")).toBe("192.0.2.10:40000");
        expect(peerRelayAddr("DERP(lab-a)")).toBeUndefined();
    });

    it("writes the lab policy: access for all, tag owners, and the rendered relay grants", () => {
        const grant = { src: ["*"], dst: ["tag:k8s"], app: { "tailscale.com/cap/relay": [] } };
        expect(labPolicy("lab", ["tag:k8s"], [grant])).toEqual({
            tagOwners: { "tag:k8s": ["lab@"] },
            grants: [{ src: ["*"], dst: ["*"], ip: ["*"] }, grant],
        });
        expect(labPolicy("lab", []).grants).toHaveLength(1);
    });

    const r: RelayResult = { from: "laptop", to: "node-b", relay: "node-a", via: "peer-relay(192.0.2.10:40000:vni:1)", rttMedianMs: 22, rttP95Ms: 30, expectedMs: expectedRelayRttMs([10.6, 10.2]), linkRttMs: 11, derpPathRttMs: 83, derpMeasuredMs: 84 };

    it("expects the sum of the two legs, and checks path, RTT and that it beats DERP", () => {
        expect(r.expectedMs).toBe(20.8);
        expect(checkRelay(r, "192.0.2.10:40000").map((l) => l.ok)).toEqual([true, true, true]);
        const bad = checkRelay({ ...r, via: "DERP(lab-a)", rttMedianMs: 85 }, "192.0.2.10:40000");
        expect(bad.map((l) => l.ok)).toEqual([false, false, false]);
        expect(checkRelay(r, "192.0.2.99:40000")[0]!.ok).toBe(false);
        expect(relayMarkdownTable([r]).split("\n")[2]).toBe("| laptop | node-b | node-a | `peer-relay(192.0.2.10:40000:vni:1)` | 22 ms | 30 ms | 20.8 ms | 11 ms | 84 ms | 83 ms |");
    });

    it("holds a direct pair to 1.5x the link RTT", () => {
        const d: PairResult = { from: "laptop", to: "node-p", setup: "directpath", path: "direct", timeToDirectMs: 100, rttMedianMs: 15, rttP95Ms: 20, linkRttMs: 10, derpPathRttMs: 80 };
        expect(withinLinkFactor(d, 1.5).ok).toBe(true);
        expect(withinLinkFactor({ ...d, rttMedianMs: 15.1 }, 1.5).ok).toBe(false);
        expect(withinLinkFactor({ ...d, path: "relayed" }, 1.5).ok).toBe(false);
    });
});

const hasGofmt = spawnSync("gofmt", ["-h"], { encoding: "utf8" }).error === undefined;

describe("WAN emulator source", () => {
    it.skipIf(!hasGofmt)("is gofmt-clean Go (the lab builds it with go build)", () => {
        const gofmt = spawnSync("gofmt", ["-l", "-e", path.join(ROOT, "lab", "tailscale", "wanem")], { encoding: "utf8" });
        expect(gofmt.status).toBe(0);
        expect(gofmt.stdout).toBe("");
    });
});
