/**
 * The deploy lab's stand-in kubelet (lab/deploy/kubelet.ts): which node a pending pod is bound to,
 * and the statuses it reports. The lab runs it against the real API server.
 */
import { describe, expect, it } from "vitest";
import { nodeForPod, podReady, readyNodeStatus, readyPodStatus } from "../lab/deploy/kubelet";

const dsPod = (node: string) => ({
    metadata: { name: "p", namespace: "ns" },
    spec: {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] }] } } },
        containers: [{ name: "a", image: "img:1" }],
        initContainers: [{ name: "init", image: "img:0" }],
    },
});

describe("nodeForPod", () => {
    it("binds a DaemonSet pod to the node its affinity pins, and nowhere else", () => {
        expect(nodeForPod(dsPod("node2"), ["node1", "node2"])).toBe("node2");
        expect(nodeForPod(dsPod("node9"), ["node1", "node2"])).toBeUndefined();
    });
    it("keeps a pod's nodeName; other pods go to the first node", () => {
        expect(nodeForPod({ spec: { nodeName: "node2" } }, ["node1", "node2"])).toBe("node2");
        expect(nodeForPod({ spec: {} }, ["node1", "node2"])).toBe("node1");
    });
});

describe("statuses", () => {
    const node = { name: "node1", internalIp: "192.168.10.100", externalIp: "169.233.100.10" };
    it("a Ready pod: Running, every container started and ready, init containers completed; hostNetwork pods on the node's address", () => {
        const s = readyPodStatus(dsPod("node1"), node, "10.233.64.9", "2026-12-01T00:00:00Z");
        expect(s.phase).toBe("Running");
        expect(s.podIP).toBe("10.233.64.9");
        expect(s.containerStatuses).toEqual([expect.objectContaining({ name: "a", ready: true, started: true, state: { running: { startedAt: "2026-12-01T00:00:00Z" } } })]);
        expect(s.initContainerStatuses[0].state.terminated.exitCode).toBe(0);
        expect(podReady({ status: s })).toBe(true);
        const host = { ...dsPod("node1"), spec: { ...dsPod("node1").spec, hostNetwork: true } };
        expect(readyPodStatus(host, node, "10.233.64.9", "t").podIP).toBe("192.168.10.100");
        expect(podReady({ status: { conditions: [{ type: "Ready", status: "False" }] } })).toBe(false);
    });
    it("a Ready node with its internal and external addresses", () => {
        const s = readyNodeStatus(node, "t");
        expect(s.addresses).toEqual([{ type: "InternalIP", address: "192.168.10.100" }, { type: "ExternalIP", address: "169.233.100.10" }, { type: "Hostname", address: "node1" }]);
        expect(s.conditions.find((c: { type: string }) => c.type === "Ready").status).toBe("True");
    });
});
