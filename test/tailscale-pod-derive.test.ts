/**
 * Pod mode's `tailscale.nodes` derived from what the environment knows: on an existing cluster
 * (`local`) from the `cluster.nodes` that have an `externalIp`; an explicit list wins; when nothing
 * can be derived (no external IPs; the aws environment, whose node IPs are assigned at launch) the
 * error names the key, the value and what to set. Runs the resolver directly and the default
 * program under runtime mocks (the per-node config files carry the derived addresses).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runDefaultProgram } from "../program/main";
import { resolveStack, type AwsStackSpec, type LocalStackSpec } from "../program/resolve";
import { capture, expectProblems, ROOT, type Recorder } from "./harness";

type Raw = Record<string, any>;

function stackRaw(file: string): Raw {
    const doc = parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
    const raw: Raw = {};
    for (const [k, v] of Object.entries(doc.config)) if (k.startsWith("directpath:")) raw[k.slice("directpath:".length)] = v;
    return raw;
}

/** Pulumi.local.yaml with TailscaleDirect switched to pod mode, `nodes` left out. */
function localPod(): Raw {
    const raw = stackRaw("Pulumi.local.yaml");
    raw.tailscale = { ...raw.tailscale, network: "pod", nodePort: 30641 };
    return raw;
}

const SECRET_SET = new Set(["tailscaleAuthKey"]);
const resolveWith = (raw: Raw) => resolveStack(raw, { secretKeys: SECRET_SET });

function pulumiConfig(raw: Raw): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) out[`directpath:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
}

async function run(raw: Raw): Promise<{ r: Recorder; outputs: Record<string, any> }> {
    const { r, value } = await capture(() => runDefaultProgram(), { stack: "local", config: pulumiConfig(raw), secretKeys: ["directpath:tailscaleAuthKey"] });
    return { r, outputs: value as Record<string, any> };
}

describe("pod mode: tailscale.nodes derived from cluster.nodes (local)", () => {
    it("every cluster node with an externalIp becomes { name, publicIps: [externalIp] }, recorded in derived", () => {
        const spec = resolveWith(localPod()) as LocalStackSpec;
        expect(spec.tailscale!.nodes).toEqual([
            { name: "node1", publicIps: ["169.233.100.10"] },
            { name: "node2", publicIps: ["169.233.100.11"] },
        ]);
        expect(spec.derived["directpath:tailscale.nodes"]).toBe("the externalIp of each directpath:cluster.nodes entry that has one (node1 169.233.100.10, node2 169.233.100.11)");
    });

    it("nodes without an externalIp are skipped, and the derived note names them", () => {
        const raw = localPod();
        raw.cluster.nodes.push({ name: "cp1", internalIp: "192.168.10.99" });
        const spec = resolveWith(raw) as LocalStackSpec;
        expect(spec.tailscale!.nodes!.map((n) => n.name)).toEqual(["node1", "node2"]);
        expect(spec.derived["directpath:tailscale.nodes"]).toMatch(/; skipped, no externalIp: cp1 \(no tailscaled pod runs there\)$/);
    });

    it("an explicit tailscale.nodes wins, and nothing is recorded as derived", () => {
        const raw = localPod();
        raw.tailscale.nodes = [{ name: "node2", publicIps: ["198.51.100.7"] }];
        const spec = resolveWith(raw) as LocalStackSpec;
        expect(spec.tailscale!.nodes).toEqual([{ name: "node2", publicIps: ["198.51.100.7"] }]);
        expect(spec.derived).not.toHaveProperty("directpath:tailscale.nodes");
    });

    it("host mode derives no nodes (they are a pod-mode option)", () => {
        const spec = resolveWith(stackRaw("Pulumi.local.yaml")) as LocalStackSpec;
        expect(spec.tailscale!.nodes).toBeUndefined();
        expect(spec.derived).not.toHaveProperty("directpath:tailscale.nodes");
    });

    it("no cluster node has an externalIp: one error naming the key, the value and what to set (not the generic 'required')", () => {
        const raw = localPod();
        for (const n of raw.cluster.nodes) delete n.externalIp;
        delete raw.hairpin;
        const problems = expectProblems(() => resolveWith(raw), [{
            path: "directpath:tailscale.nodes",
            value: undefined,
            rule: /cannot be derived: no node in directpath:cluster\.nodes has an externalIp \(node1, node2\)\. Set directpath:cluster\.nodes\[\]\.externalIp .* or list tailscale\.nodes as \{ name, publicIps \}/,
        }]);
        expect(problems.filter((p) => p.path === "directpath:tailscale.nodes")).toHaveLength(1);
        let message = "";
        try {
            resolveWith(raw);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toContain("directpath:tailscale.nodes: (missing) is invalid: is required with network: pod and cannot be derived");
    });

    it("no cluster.nodes at all says so", () => {
        const raw = localPod();
        delete raw.hairpin;
        raw.cluster.nodes = [];
        expectProblems(() => resolveWith(raw), [{ path: "directpath:tailscale.nodes", value: undefined, rule: /directpath:cluster\.nodes lists no nodes/ }]);
    });

    it("another bad tailscale key doesn't turn derivable nodes into a 'required' error (every problem at once)", () => {
        const raw = localPod();
        raw.tailscale.image = { tag: "latest" };
        const problems = expectProblems(() => resolveWith(raw), [{ path: "directpath:tailscale.image.tag", value: "latest" }]);
        expect(problems.filter((p) => p.path === "directpath:tailscale.nodes")).toEqual([]);
        // ... and when nothing can be derived, the environment's explanation is the only one.
        for (const n of raw.cluster.nodes) delete n.externalIp;
        delete raw.hairpin;
        const more = expectProblems(() => resolveWith(raw), [
            { path: "directpath:tailscale.image.tag", value: "latest" },
            { path: "directpath:tailscale.nodes", value: undefined, rule: /cannot be derived: no node in directpath:cluster\.nodes has an externalIp/ },
        ]);
        expect(more.filter((p) => p.path === "directpath:tailscale.nodes")).toHaveLength(1);
    });

    it("the plan's per-node config files and the NodePort Service's nodes carry the derived addresses", async () => {
        const { r, outputs } = await run(localPod());
        const cm = r.ofType("kubernetes:core/v1:ConfigMap").find((c) => (r.inputs(c).metadata as any).name === "tailscale-tailscaled")!;
        const data = r.inputs(cm).data as Record<string, string>;
        expect(Object.keys(data).sort()).toEqual(["node1.hujson", "node2.hujson"]);
        expect(JSON.parse(data["node1.hujson"]!)).toMatchObject({ Hostname: "local-node1", StaticEndpoints: ["169.233.100.10:30641"] });
        expect(JSON.parse(data["node2.hujson"]!)).toMatchObject({ Hostname: "local-node2", StaticEndpoints: ["169.233.100.11:30641"] });
        const ds = r.ofType("kubernetes:apps/v1:DaemonSet").find((d) => d.name === "tailscale-daemonset")!;
        const terms = (r.inputs(ds).spec as any).template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
        expect(terms).toEqual([
            { matchFields: [{ key: "metadata.name", operator: "In", values: ["node1"] }] },
            { matchFields: [{ key: "metadata.name", operator: "In", values: ["node2"] }] },
        ]);
        expect(outputs.resolved.derived["directpath:tailscale.nodes"]).toMatch(/node1 169\.233\.100\.10, node2 169\.233\.100\.11/);
        // The firewall table: exactly the NodePort.
        expect((outputs.firewallRules as any[]).filter((f) => /Tailscale/.test(f.description)).map((f) => [f.protocol, f.fromPort, f.peer]))
            .toEqual([["udp", 30641, "0.0.0.0/0"], ["udp", 30641, "::/0"]]);
    });
});

describe("pod mode in the aws environment: no nodes to derive", () => {
    const awsPod = (tailscale: Record<string, unknown> = {}) => {
        const raw = stackRaw("Pulumi.dev.yaml");
        raw.tailscale = { enabled: true, network: "pod", nodePort: 30641, ...tailscale };
        raw.tailscaleAuthKey = "x";
        return raw;
    };

    it("says the node groups' public IPs are assigned at launch and suggests network: host", () => {
        expectProblems(() => resolveWith(awsPod()), [{
            path: "directpath:tailscale.nodes",
            value: undefined,
            rule: /cannot be derived in the aws environment: its nodes are EKS managed node groups \(directpath:aws\.nodeGroups\) whose public IPs EC2 assigns when each instance launches \(not Elastic IPs\), so no node's public IP is known at deploy time.*Use network: host instead \(the aws environment allows hostNetwork, and directpath opens tailscale's UDP port in the node security group\)/,
        }]);
    });

    it("explicit nodes still win there (addresses the user pinned)", () => {
        const spec = resolveWith(awsPod({ nodes: [{ name: "ip-10-10-0-7.eu-central-1.compute.internal", publicIps: ["203.0.113.7"] }] })) as AwsStackSpec;
        expect(spec.tailscale!.nodes).toEqual([{ name: "ip-10-10-0-7.eu-central-1.compute.internal", publicIps: ["203.0.113.7"] }]);
        expect(spec.derived).not.toHaveProperty("directpath:tailscale.nodes");
    });
});
