/**
 * A stand-in for the kubelet and the scheduler, through the API only: the lab's cluster has an API
 * server and a controller manager but no node agents, so without this no pod would ever run and
 * every DaemonSet would wait out the provider's timeout. It does what those two would report, and
 * nothing else:
 * - Nodes: a Ready condition and the nodes' addresses in status (what a kubelet posts);
 * - pods the controllers created: bound to the node their DaemonSet's affinity names (what the
 *   scheduler does for DaemonSet pods), or to the first node for other pods;
 * - bound pods: Running and Ready, every container started (what a kubelet reports once the
 *   containers run). Nothing is executed: the pods' behaviour is proven elsewhere (the network labs).
 * Pod Security admission and the controllers' own checks run for real before any of this.
 * The decisions are pure functions (test/deploy-kubelet.test.ts); `FakeKubelet` applies them.
 */
import { kubeRequest, type KubeTarget } from "../../components/hairpin/kube-api";

export interface NodeSpec {
    name: string;
    internalIp: string;
    externalIp?: string;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The node a pending pod belongs on: its nodeName, or the single name its required node affinity pins (DaemonSet pods). */
export function nodeForPod(pod: Obj, nodes: readonly string[]): string | undefined {
    if (pod.spec?.nodeName) return pod.spec.nodeName;
    const terms: Obj[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const t of terms) {
        for (const f of (t.matchFields ?? []) as Obj[]) {
            if (f.key === "metadata.name" && f.operator === "In" && Array.isArray(f.values) && f.values.length === 1 && nodes.includes(f.values[0])) return f.values[0];
        }
    }
    // Not a DaemonSet pod: any node will do (the lab's nodes are interchangeable).
    return terms.length === 0 ? nodes[0] : undefined;
}

/** Whether the pod already reports Ready. */
export function podReady(pod: Obj): boolean {
    return (pod.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
}

/** The status a kubelet would post for a pod whose containers all started. */
export function readyPodStatus(pod: Obj, node: NodeSpec, podIp: string, now: string): Obj {
    const hostNetwork = pod.spec?.hostNetwork === true;
    const ip = hostNetwork ? node.internalIp : podIp;
    const cond = (type: string) => ({ type, status: "True", lastTransitionTime: now, lastProbeTime: null });
    const running = (c: Obj) => ({ name: c.name, image: c.image, imageID: `lab://${c.image}`, containerID: `lab://${pod.metadata.name}/${c.name}`, ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } });
    const done = (c: Obj) => ({ name: c.name, image: c.image, imageID: `lab://${c.image}`, containerID: `lab://${pod.metadata.name}/${c.name}`, ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } } });
    return {
        phase: "Running",
        hostIP: node.internalIp,
        hostIPs: [{ ip: node.internalIp }],
        podIP: ip,
        podIPs: [{ ip }],
        startTime: now,
        conditions: ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"].map(cond),
        initContainerStatuses: (pod.spec?.initContainers ?? []).map(done),
        containerStatuses: (pod.spec?.containers ?? []).map(running),
    };
}

/** A Node's status as its kubelet would post it. */
export function readyNodeStatus(node: NodeSpec, now: string): Obj {
    const addresses = [{ type: "InternalIP", address: node.internalIp }, ...(node.externalIp ? [{ type: "ExternalIP", address: node.externalIp }] : []), { type: "Hostname", address: node.name }];
    const c = (type: string, status: string, reason: string) => ({ type, status, reason, message: "reported by the deploy lab's stand-in kubelet", lastHeartbeatTime: now, lastTransitionTime: now });
    return {
        addresses,
        conditions: [c("MemoryPressure", "False", "KubeletHasSufficientMemory"), c("DiskPressure", "False", "KubeletHasNoDiskPressure"), c("PIDPressure", "False", "KubeletHasSufficientPID"), c("Ready", "True", "KubeletReady")],
        capacity: { cpu: "2", memory: "4Gi", pods: "110" },
        allocatable: { cpu: "2", memory: "4Gi", pods: "110" },
        nodeInfo: { kubeletVersion: "v1.33.13", architecture: "amd64", operatingSystem: "linux", containerRuntimeVersion: "lab://none", kernelVersion: "", osImage: "deploy lab", kubeProxyVersion: "", machineID: "", systemUUID: "", bootID: "" },
    };
}

/** Applies the decisions above in a loop until stopped. */
export class FakeKubelet {
    private timer?: NodeJS.Timeout;
    private busy = false;
    private ipSeq = 10;
    readonly bound: string[] = [];
    readonly errors: string[] = [];

    constructor(private readonly kube: KubeTarget, private readonly nodes: readonly NodeSpec[]) {}

    async markNodesReady(): Promise<void> {
        const now = new Date().toISOString();
        for (const n of this.nodes) {
            const r = await kubeRequest(this.kube, "PATCH", `/api/v1/nodes/${n.name}/status`, { status: readyNodeStatus(n, now) }, "application/merge-patch+json");
            if (r.status !== 200) throw new Error(`marking node ${n.name} Ready: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
    }

    start(intervalMs = 500): void {
        this.timer = setInterval(() => void this.tick(), intervalMs);
    }

    stop(): void {
        if (this.timer) clearInterval(this.timer);
    }

    async tick(): Promise<void> {
        if (this.busy) return;
        this.busy = true;
        try {
            const list = await kubeRequest(this.kube, "GET", "/api/v1/pods");
            if (list.status !== 200) return;
            const names = this.nodes.map((n) => n.name);
            for (const pod of ((list.body as Obj).items ?? []) as Obj[]) {
                if (pod.metadata.deletionTimestamp) {
                    // No kubelet to finish the graceful deletion: do what it would once containers stopped.
                    await kubeRequest(this.kube, "DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 });
                    continue;
                }
                const ns = pod.metadata.namespace as string;
                const name = pod.metadata.name as string;
                if (!pod.spec.nodeName) {
                    const node = nodeForPod(pod, names);
                    if (!node) continue;
                    const r = await kubeRequest(this.kube, "POST", `/api/v1/namespaces/${ns}/pods/${name}/binding`, { apiVersion: "v1", kind: "Binding", metadata: { name, namespace: ns }, target: { apiVersion: "v1", kind: "Node", name: node } });
                    if (r.status === 201 || r.status === 200) this.bound.push(`${ns}/${name} -> ${node}`);
                    else this.errors.push(`bind ${ns}/${name}: HTTP ${r.status}`);
                    continue;
                }
                if (podReady(pod)) continue;
                const node = this.nodes.find((n) => n.name === pod.spec.nodeName);
                if (!node) continue;
                const status = readyPodStatus(pod, node, `10.233.64.${this.ipSeq++ % 250}`, new Date().toISOString());
                const r = await kubeRequest(this.kube, "PATCH", `/api/v1/namespaces/${ns}/pods/${name}/status`, { status }, "application/merge-patch+json");
                if (r.status !== 200) this.errors.push(`status ${ns}/${name}: HTTP ${r.status}`);
            }
        } catch (e) {
            this.errors.push((e as Error).message);
        } finally {
            this.busy = false;
        }
    }
}
