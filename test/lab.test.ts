/**
 * The network lab's pure parts (lab/lib): the security-group -> iptables generator that builds the
 * overlay's cloud firewall, the DNS wire codec of the stub upstream, the DaemonSet -> local process
 * adapter, and the result lines. The lab itself (`npm run lab`) runs them in real namespaces.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeMessage, encodeQuery, encodeResponse, RCODE, TYPE } from "../lab/lib/dns";
import { localizeDaemonSet, LocalizeError } from "../lab/lib/k8s-local";
import { formatCase, summary } from "../lab/lib/report";
import { FirewallRuleError, generateFirewall, isOverlayRule, protocolMatch, type LabNode, type SgRow } from "../lab/lib/firewall";
import { renderedServerBlocks } from "../lab/cases/dns";
import { hostsDaemonSet, nodeFieldRefs } from "../lab/cases/hosts";
import { nodeGroupOf } from "../lab/cases/overlay";
import { redirectObjects } from "../lab/cases/redirect";
import { readRendered } from "../lab/lib/rendered";
import { ROOT, sharedPlanRun } from "./harness";

const rows = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "lab", "dev-security-group-rules.json"), "utf8")) as SgRow[];
const nodes: LabNode[] = [
    { name: "a", address: "10.0.1.10", fwInterface: "fw-a", groups: ["sg:dev-node"] },
    { name: "b", address: "10.0.2.10", fwInterface: "fw-b", groups: ["sg:dev-node"] },
];

describe("security groups -> firewall iptables rules", () => {
    it("turns self-referencing ingress rules into 'from the other node' and CIDR peers into CIDRs", () => {
        const fw = generateFirewall(rows, nodes);
        const inA = fw.restore.split("\n").filter((l) => l.startsWith("-A DPL-SG-IN-0 "));
        expect(inA).toEqual([
            '-A DPL-SG-IN-0 -s 10.0.2.10/32 -p udp --dport 8472 -m comment --comment "sg:dev-node ingress: Cilium VXLAN overlay between nodes (UDP 8472)" -j ACCEPT',
            '-A DPL-SG-IN-0 -s 10.0.2.10/32 -p tcp --dport 4240 -m comment --comment "sg:dev-node ingress: Cilium health checks between nodes (TCP 4240)" -j ACCEPT',
            '-A DPL-SG-IN-0 -s 10.0.2.10/32 -p icmp --icmp-type 8/0 -m comment --comment "sg:dev-node ingress: ICMP echo between nodes (Cilium health probes)" -j ACCEPT',
            '-A DPL-SG-IN-0 -s 10.0.2.10/32 -p udp --dport 53 -m comment --comment "sg:dev-node ingress: Cluster DNS between nodes (UDP 53)" -j ACCEPT',
            '-A DPL-SG-IN-0 -s 0.0.0.0/0 -p udp --dport 41641 -m comment --comment "sg:dev-node ingress: Tailscale direct UDP" -j ACCEPT',
        ]);
        // Node b's chain mirrors it with node a as the peer.
        expect(fw.restore).toContain('-A DPL-SG-IN-1 -s 10.0.1.10/32 -p udp --dport 8472 ');
        // Stateful, default deny, egress checked before ingress, and egress allowed only by a rule.
        const lines = fw.restore.split("\n");
        expect(lines).toContain(":FORWARD DROP [0:0]");
        expect(lines.indexOf("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")).toBeLessThan(lines.indexOf("-A FORWARD -i fw-a -j DPL-SG-OUT-0"));
        expect(lines.indexOf("-A FORWARD -i fw-a -j DPL-SG-OUT-0")).toBeLessThan(lines.indexOf("-A FORWARD -o fw-a -j DPL-SG-IN-0"));
        expect(lines).toContain('-A DPL-SG-OUT-0 -d 0.0.0.0/0 -m comment --comment "sg:dev-node egress: Nodes to anywhere over IPv4" -j RETURN');
        expect(lines[lines.indexOf('-A DPL-SG-OUT-0 -d 0.0.0.0/0 -m comment --comment "sg:dev-node egress: Nodes to anywhere over IPv4" -j RETURN') + 1]).toBe("-A DPL-SG-OUT-0 -j DROP");
        expect(lines.slice(-2)).toEqual(["COMMIT", ""]);
    });

    it("lists what the lab can't express instead of dropping it silently", () => {
        const fw = generateFirewall(rows, nodes);
        const skipped = fw.skipped.map((s) => `${s.row.target} ${s.row.ports} ${s.row.peer}: ${s.reason}`);
        expect(skipped).toEqual([
            "sg:dev-node 10250 sg:dev-cluster: peer sg:dev-cluster: no such host in the lab (it models the nodes only)",
            "sg:dev-node 41641 ::/0: IPv6 peer (the lab's underlay is IPv4)",
            "sg:dev-cluster 443 sg:dev-node: sg:dev-cluster belongs to no host in the lab (it models the nodes only)",
        ]);
        expect(fw.applied.filter((a) => a.node === "a")).toHaveLength(6);
    });

    it("without the node-to-node UDP 8472 rule, nothing opens 8472 between the nodes", () => {
        const kept = rows.filter((r) => !isOverlayRule(r, "sg:dev-node", 8472));
        expect(rows.length - kept.length).toBe(1);
        const fw = generateFirewall(kept, nodes);
        expect(fw.restore).not.toMatch(/--dport 8472/);
        expect(fw.restore).toContain("--dport 4240");
    });

    it("recognises the overlay rule by group, peer, protocol and port range", () => {
        const base: SgRow = { target: "sg:n", direction: "ingress", protocol: "udp", ports: "8472", peer: "sg:n", description: "" };
        expect(isOverlayRule(base, "sg:n", 8472)).toBe(true);
        expect(isOverlayRule({ ...base, ports: "8000-9000" }, "sg:n", 8472)).toBe(true);
        expect(isOverlayRule({ ...base, ports: "4789" }, "sg:n", 8472)).toBe(false);
        expect(isOverlayRule({ ...base, protocol: "tcp" }, "sg:n", 8472)).toBe(false);
        expect(isOverlayRule({ ...base, peer: "0.0.0.0/0" }, "sg:n", 8472)).toBe(false);
        expect(isOverlayRule({ ...base, direction: "egress" }, "sg:n", 8472)).toBe(false);
    });

    it("maps protocols and port texts to iptables matches, and rejects what it can't read", () => {
        expect(protocolMatch({ protocol: "tcp", ports: "1024-65535" })).toEqual(["-p", "tcp", "--dport", "1024:65535"]);
        expect(protocolMatch({ protocol: "udp", ports: "all" })).toEqual(["-p", "udp"]);
        expect(protocolMatch({ protocol: "all", ports: "all" })).toEqual([]);
        expect(protocolMatch({ protocol: "icmp", ports: "type -1 code -1" })).toEqual(["-p", "icmp"]);
        expect(protocolMatch({ protocol: "icmp", ports: "type 3 code -1" })).toEqual(["-p", "icmp", "--icmp-type", "3"]);
        expect(() => protocolMatch({ protocol: "sctp", ports: "1" })).toThrow(FirewallRuleError);
        expect(() => protocolMatch({ protocol: "tcp", ports: "[computed]" })).toThrow(/ports "\[computed\]"/);
    });
});

describe("DNS codec (stub upstream and query client)", () => {
    it("round-trips a query and an A answer with name compression", () => {
        const q = decodeMessage(encodeQuery(0x1234, "registry.example.com", TYPE.A));
        expect(q).toMatchObject({ id: 0x1234, questions: [{ name: "registry.example.com", type: TYPE.A, klass: 1 }], answers: [] });
        expect(q.flags & 0x0100).toBe(0x0100); // recursion desired
        const r = decodeMessage(encodeResponse(q, ["192.168.10.100", "10.0.0.1"]));
        expect(r.id).toBe(0x1234);
        expect(r.flags & 0x8000).toBe(0x8000);
        expect(r.rcode).toBe(RCODE.NOERROR);
        expect(r.answers).toEqual([
            { name: "registry.example.com", type: TYPE.A, ttl: 30, data: "192.168.10.100" },
            { name: "registry.example.com", type: TYPE.A, ttl: 30, data: "10.0.0.1" },
        ]);
    });

    it("answers NXDOMAIN with no records", () => {
        const q = decodeMessage(encodeQuery(7, "nope.example.org"));
        const r = decodeMessage(encodeResponse(q, [], RCODE.NXDOMAIN));
        expect(r.rcode).toBe(RCODE.NXDOMAIN);
        expect(r.answers).toEqual([]);
    });

    it("rejects truncated messages and over-long labels", () => {
        expect(() => decodeMessage(Buffer.alloc(5))).toThrow(/too short/);
        expect(() => encodeQuery(1, `${"a".repeat(64)}.example.com`)).toThrow(/label too long/);
    });
});

describe("DaemonSet -> local process", () => {
    const ds = {
        kind: "DaemonSet",
        metadata: { name: "redirect", namespace: "directpath" },
        spec: { template: { spec: {
            hostNetwork: true,
            containers: [{
                name: "redirect",
                command: ["/bin/sh", "/scripts/redirect.sh"],
                args: ["--config", "$(CONFIG_DIR)/rules"],
                env: [
                    { name: "CONFIG_DIR", value: "/etc/directpath" },
                    { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                    { name: "INTERVAL", value: "10" },
                    { name: "CHAIN", valueFrom: { configMapKeyRef: { name: "redirect-config", key: "chain" } } },
                ],
                volumeMounts: [
                    { name: "scripts", mountPath: "/scripts" },
                    { name: "config", mountPath: "/etc/directpath" },
                    { name: "lock", mountPath: "/run/xtables.lock" },
                ],
            }],
            volumes: [
                { name: "scripts", configMap: { name: "redirect-script", defaultMode: 0o755 } },
                { name: "config", configMap: { name: "redirect-config", items: [{ key: "rules", path: "rules" }] } },
                { name: "lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            ],
        } } },
    };
    const configMaps = [
        { kind: "ConfigMap", metadata: { name: "redirect-script", namespace: "directpath" }, data: { "redirect.sh": "#!/bin/sh\necho hi\n" } },
        { kind: "ConfigMap", metadata: { name: "redirect-config", namespace: "directpath" }, data: { rules: "169.233.100.10 443 tcp 192.168.10.100 443\n", chain: "DIRECTPATH-HAIRPIN" } },
    ];

    it("keeps values, resolves fieldRefs and ConfigMap keys, materialises volumes and remaps mount paths", () => {
        const p = localizeDaemonSet(ds, { root: "/lab", fieldRefs: { "spec.nodeName": "node2" }, hostPaths: { "/run/xtables.lock": "/run/xtables.lock" }, configMaps });
        expect(p.argv).toEqual(["/bin/sh", "/lab/configmap-scripts/redirect.sh", "--config", "/lab/configmap-config/rules"]);
        expect(p.env).toEqual({ CONFIG_DIR: "/lab/configmap-config", NODE_NAME: "node2", INTERVAL: "10", CHAIN: "DIRECTPATH-HAIRPIN" });
        expect(p.files).toEqual([
            { path: "/lab/configmap-scripts/redirect.sh", content: "#!/bin/sh\necho hi\n", mode: 0o755 },
            { path: "/lab/configmap-config/rules", content: "169.233.100.10 443 tcp 192.168.10.100 443\n", mode: 0o644 },
        ]);
        expect(p.substitutions).toContain("env NODE_NAME from fieldRef spec.nodeName -> node2");
        expect(p.substitutions).toContain('env CONFIG_DIR: "/etc/directpath" -> "/lab/configmap-config"');
        expect(p.substitutions).toContain("hostPath /run/xtables.lock kept as is (at /run/xtables.lock)");
    });

    it("rewrites each mount path once: a local dir under /tmp is not taken for a container mount at /tmp", () => {
        const withTmp = structuredClone(ds);
        const spec = withTmp.spec.template.spec;
        spec.containers[0]!.env.push({ name: "TMPDIR", value: "/tmp" } as never);
        spec.containers[0]!.volumeMounts.push({ name: "tmp", mountPath: "/tmp" });
        spec.volumes.push({ name: "tmp", emptyDir: {} } as never);
        const p = localizeDaemonSet(withTmp, { root: "/tmp/lab", fieldRefs: { "spec.nodeName": "node2" }, hostPaths: { "/run/xtables.lock": "/run/xtables.lock" }, configMaps });
        expect(p.env.TMPDIR).toBe("/tmp/lab/emptydir-tmp");
        expect(p.env.CONFIG_DIR).toBe("/tmp/lab/configmap-config");
        expect(p.argv[1]).toBe("/tmp/lab/configmap-scripts/redirect.sh");
        expect(p.dirs).toContain("/tmp/lab/emptydir-tmp");
    });

    it("refuses what it can't reproduce instead of guessing", () => {
        expect(() => localizeDaemonSet(ds, { root: "/lab", fieldRefs: {}, hostPaths: { "/run/xtables.lock": "/run/xtables.lock" }, configMaps })).toThrow(/fieldRef spec.nodeName has no lab value/);
        expect(() => localizeDaemonSet(ds, { root: "/lab", fieldRefs: { "spec.nodeName": "n" }, configMaps })).toThrow(/hostPath \/run\/xtables.lock .* has no lab substitute/);
        expect(() => localizeDaemonSet(ds, { root: "/lab", fieldRefs: { "spec.nodeName": "n" }, hostPaths: { "/run/xtables.lock": "/x" }, configMaps: configMaps.slice(1) })).toThrow(LocalizeError);
        const withSecret = structuredClone(ds);
        withSecret.spec.template.spec.containers[0]!.env.push({ name: "KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } } as never);
        expect(() => localizeDaemonSet(withSecret, { root: "/lab", fieldRefs: { "spec.nodeName": "n" }, hostPaths: { "/run/xtables.lock": "/x" }, configMaps })).toThrow(/env KEY: secretKeyRef can't be reproduced/);
    });
});

describe("result lines", () => {
    it("prints one line per case and the closing summary", () => {
        const r = [
            { id: "1", title: "t", expected: "e", observed: "o", status: "PASS" as const },
            { id: "2", title: "t", expected: "e", observed: "o", status: "FAIL" as const },
            { id: "7", title: "t", expected: "e", observed: "o", status: "SKIP" as const },
        ];
        expect(formatCase(r[0]!)).toBe("case 1  t | expected: e | observed: o | PASS");
        expect(formatCase(r[2]!)).toBe("case 7  t | expected: e | observed: o | SKIPPED");
        expect(summary(r)).toBe("1 passed, 1 failed, 1 skipped");
        expect(summary(r.slice(0, 2))).toBe("1 passed, 1 failed");
    });
});

describe("plan.json -> the lab's firewall (the contract between plan and lab)", () => {
    it("the dev stack's plan.json carries the SG table with group names, and the generator opens VXLAN from the other node only", () => {
        const run = sharedPlanRun("dev");
        expect(run.status, run.stderr).toBe(0);
        const plan = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as { securityGroupRules: SgRow[] };
        const sg = plan.securityGroupRules;
        const nodeGroup = nodeGroupOf(sg);
        expect(nodeGroup).toMatch(/^sg:.*node/);
        expect(sg.filter((r) => isOverlayRule(r, nodeGroup, 8472))).toEqual([
            expect.objectContaining({ target: nodeGroup, direction: "ingress", protocol: "udp", ports: "8472", peer: nodeGroup }),
        ]);
        const fw = generateFirewall(sg, [
            { name: "a", address: "10.0.1.10", fwInterface: "fw-a", groups: [nodeGroup] },
            { name: "b", address: "10.0.2.10", fwInterface: "fw-b", groups: [nodeGroup] },
        ]);
        const vxlan = fw.restore.split("\n").filter((l) => l.includes("--dport 8472"));
        expect(vxlan.map((l) => l.split(" -m comment")[0])).toEqual([
            "-A DPL-SG-IN-0 -s 10.0.2.10/32 -p udp --dport 8472",
            "-A DPL-SG-IN-1 -s 10.0.1.10/32 -p udp --dport 8472",
        ]);
        // Nothing in the generated set is [computed]: every row was readable.
        expect(fw.restore).not.toContain("[computed]");
    });
});

describe("the rendered objects the lab runs (so a renamed object fails here, not as a lab skip)", () => {
    it("local: the CoreDNS override block and the hosts DaemonSet, runnable outside Kubernetes", () => {
        const run = sharedPlanRun("local");
        expect(run.status, run.stderr).toBe(0);
        const r = readRendered("local", run.outDir);
        const blocks = renderedServerBlocks(r);
        expect(blocks).toBeDefined();
        const text = Object.values(blocks!.files).join("\n");
        expect(text).toMatch(/^registry\.example\.com:53 \{/m);
        expect(text).toContain("192.168.10.100");
        expect(text).not.toContain("# BEGIN directpath");
        const hosts = hostsDaemonSet(r);
        expect(hosts?.hostPath).toBe("/etc/hosts");
        const configMaps = r.objects.filter((o) => o.object.kind === "ConfigMap").map((o) => o.object);
        const p = localizeDaemonSet(hosts!.ds, { root: "/lab", fieldRefs: nodeFieldRefs("node2", "192.168.10.101", hosts!.ds), hostPaths: { "/etc/hosts": "/lab/hosts" }, configMaps });
        expect(p.argv[0]).toBe("/bin/sh");
        expect(p.argv[1]).toMatch(/^\/lab\/configmap-[a-z-]+\/hosts-sync\.sh$/);
        expect(Object.values(p.env)).toContain("/lab/hosts");
        expect(p.files.map((f) => f.content).join("")).toContain("192.168.10.100 registry.example.com");
    });

    it("local-iptables: the redirect DaemonSet and its rules file", () => {
        const run = sharedPlanRun("local-iptables");
        expect(run.status, run.stderr).toBe(0);
        const o = redirectObjects(readRendered("local-iptables", run.outDir));
        expect(o?.rules).toEqual([{ name: expect.any(String), protocol: "tcp", externalIp: "169.233.100.10", externalPort: 443, target: "192.168.10.100", targetPort: 443 }]);
        const p = localizeDaemonSet(o!.ds, { root: "/lab", fieldRefs: nodeFieldRefs("node2", "192.168.10.101", o!.ds), hostPaths: { "/run/xtables.lock": "/run/xtables.lock" }, configMaps: o!.configMaps });
        expect(p.argv.join(" ")).toMatch(/^\/bin\/sh \/lab\/configmap-[a-z-]+\/[a-z-]+\.sh$/);
    });
});
