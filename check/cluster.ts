/**
 * The cluster runner: runs the probes in short-lived pods of a namespace of its own, collects their
 * logs, execs the Tailscale probe in the TailscaleDirect pods, and removes everything it created
 * (also on Ctrl-C and on failure). It creates only objects labelled
 * `app.kubernetes.io/managed-by=directpath-check` + `directpath.io/check-run=<run id>` and deletes
 * only those (or the namespace, when this run created it). Every step has a time limit.
 */
import { createHash, randomBytes } from "node:crypto";
import { hairpinChecks, observe, overlayChecks, OVERLAY_PORT, type OverlayPeer, type PlannedCheck, type ProbeRun, type Vantage } from "./checks";
import { kubeReason, type Kube } from "./kube";
import type { Verdict } from "./model";
import { probeEnv, probeText, tailscaleProbeCommand } from "./probes";
import { runTailscaleProbe, tailscaleInputFromProbe, tailscaleVerdict, type TailscalePodInput } from "./tailscale";
import { DEFAULT_PROBE_IMAGE, type CheckTargets } from "./targets";
import { hairpinVerdict, overlayVerdict } from "./verdict";
import { clashNote, hasLrpEndpoints, lrpFrontendClashes, type ServiceLike } from "./lrp-frontends";

export const MANAGED_BY = "directpath-check";
export const DEFAULT_NAMESPACE = "directpath-check";
/** How long a run waits for an earlier run's namespace to finish Terminating. */
export const NAMESPACE_GONE_S = 120;
export const CLUSTER_DNS_NAME = "kubernetes.default.svc.cluster.local";
/** Seconds per probe check (nc, nslookup, one `tailscale ping`) unless the caller says otherwise. */
export const DEFAULT_PROBE_TIMEOUT_S = 3;

/** The run could not happen (API unreachable, forbidden, bad --nodes): the CLI exits 2. */
export class CheckRunError extends Error {}

export interface ClusterCheckOptions {
    targets: CheckTargets;
    kube: Kube;
    /** Only these nodes (--nodes). */
    nodes?: string[];
    namespace?: string;
    /** Probe image (default: the stack's Tailscale image). */
    image?: string;
    /** Limit for the probe pods to finish, seconds (default 120). */
    timeoutSeconds?: number;
    /** Per check, seconds (default {@link DEFAULT_PROBE_TIMEOUT_S}). */
    probeTimeoutSeconds?: number;
    /** Overlay: at most this many nodes, all pairs among them (default 10). */
    maxNodes?: number;
    log: (line: string) => void;
    /** Aborted on Ctrl-C: the runner stops waiting and cleans up. */
    signal?: AbortSignal;
}

export interface ClusterCheckResult {
    verdicts: Verdict[];
    notes: string[];
}

interface NodeInfo {
    name: string;
    ready: boolean;
    internalIp?: string;
}

interface PodState {
    name: string;
    phase: string;
    podIp?: string;
    nodeName?: string;
    /** Waiting/terminated reason (ErrImagePull, ...). */
    reason?: string;
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
    }, { once: true });
});

/** A DNS-1123 name part for a node: readable, bounded, unique (hash of the full name). */
export function nodeSlug(node: string): string {
    const h = createHash("sha256").update(node).digest("hex").slice(0, 5);
    return `${node.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 30)}-${h}`;
}

function json<T>(text: string, what: string): T {
    try {
        return JSON.parse(text) as T;
    } catch {
        throw new CheckRunError(`${what}: kubectl printed no JSON: ${text.slice(0, 120)}`);
    }
}

export async function runClusterCheck(o: ClusterCheckOptions): Promise<ClusterCheckResult> {
    const { kube, targets: t, log } = o;
    const ns = o.namespace ?? DEFAULT_NAMESPACE;
    const run = randomBytes(3).toString("hex");
    const timeoutS = o.timeoutSeconds ?? 120;
    const probeT = o.probeTimeoutSeconds ?? DEFAULT_PROBE_TIMEOUT_S;
    const image = o.image ?? t.probeImage ?? DEFAULT_PROBE_IMAGE;
    const notes: string[] = [`run ${run}; namespace ${ns}; probe image ${image}`];
    const labels = { "app.kubernetes.io/managed-by": MANAGED_BY, "directpath.io/check-run": run };
    const aborted = () => o.signal?.aborted === true;
    const step = (n: number, total: number, text: string) => log(`[${n}/${total}] ${text}`);
    const TOTAL = 7;

    // 1. The API server, and who we are there.
    step(1, TOTAL, `API server (${kube.describe()})`);
    const ver = await kube.run(["version", "-o", "json"], { timeoutMs: 20_000 });
    if (ver.code !== 0 || !/"serverVersion"/.test(ver.stdout)) throw new CheckRunError(`could not reach the API server: ${kubeReason(ver)}`);
    const server = json<{ serverVersion?: { gitVersion?: string } }>(ver.stdout, "kubectl version").serverVersion?.gitVersion ?? "?";
    log(`      server ${server}`);

    // 2. Nodes.
    step(2, TOTAL, "nodes");
    const nr = await kube.run(["get", "nodes", "-o", "json"]);
    if (nr.code !== 0) throw new CheckRunError(`could not list nodes (RBAC: get/list nodes): ${kubeReason(nr)}`);
    const allNodes: NodeInfo[] = json<{ items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }>; addresses?: Array<{ type: string; address: string }> } }> }>(nr.stdout, "nodes").items.map((n) => ({
        name: n.metadata.name,
        ready: n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        internalIp: n.status?.addresses?.find((a) => a.type === "InternalIP")?.address,
    }));
    if (o.nodes) {
        const unknown = o.nodes.filter((n) => !allNodes.some((x) => x.name === n));
        if (unknown.length > 0) throw new CheckRunError(`--nodes: no such node ${unknown.join(", ")} (the cluster has ${allNodes.map((n) => n.name).join(", ") || "no nodes"})`);
    }
    const chosen = allNodes.filter((n) => !o.nodes || o.nodes.includes(n.name));
    const nodes = chosen.filter((n) => n.ready);
    const notReady = chosen.filter((n) => !n.ready).map((n) => n.name);
    if (notReady.length > 0) notes.push(`not Ready, skipped: ${notReady.join(", ")}`);
    log(`      ${nodes.length} Ready node(s)${notReady.length ? `, skipped not Ready: ${notReady.join(", ")}` : ""}`);
    if (nodes.length === 0) throw new CheckRunError("no Ready node to run the probes on");
    const maxNodes = o.maxNodes ?? 10;
    const overlayNodes = [...nodes].sort((a, b) => a.name.localeCompare(b.name)).slice(0, maxNodes);
    const sampled = overlayNodes.length < nodes.length ? `sampled ${overlayNodes.length} of ${nodes.length} nodes (--max-nodes ${maxNodes}), every pair among them` : undefined;
    if (sampled) notes.push(`overlay: ${sampled}`);

    // Services that already serve a cilium-lrp endpoint's address (Cilium then skips the LRP).
    if (hasLrpEndpoints(t)) {
        const sr = await kube.run(["get", "services", "--all-namespaces", "-o", "json"]);
        if (sr.code !== 0) notes.push(`could not list Services to compare with the cilium-lrp addresses (RBAC: list services): ${kubeReason(sr)}`);
        else {
            const clashes = lrpFrontendClashes(t, json<{ items: ServiceLike[] }>(sr.stdout, "services").items);
            for (const c of clashes) {
                notes.push(clashNote(c));
                log(`      WARNING: ${clashNote(c)}`);
            }
        }
    }

    // 3. Our namespace (created when missing) and what of ours is already in it.
    step(3, TOTAL, `namespace ${ns}`);
    let createdNamespace = false;
    const created: string[] = [];
    const cleanup = async () => {
        if (createdNamespace) {
            log(`      cleanup: deleting namespace ${ns} (created by this run)`);
            const d = await kube.run(["delete", "namespace", ns, "--ignore-not-found", "--wait=false"], { timeoutMs: 30_000 });
            if (d.code !== 0) notes.push(`cleanup FAILED: kubectl delete namespace ${ns}: ${kubeReason(d)}`);
            else notes.push(`cleanup: namespace ${ns} deleted (with everything this run created in it)`);
        } else if (created.length > 0) {
            log(`      cleanup: deleting ${created.length} object(s) of run ${run}`);
            const d = await kube.run(["-n", ns, "delete", ...created, "--ignore-not-found", "--wait=false", "--grace-period=1"], { timeoutMs: 30_000 });
            if (d.code !== 0) notes.push(`cleanup FAILED: kubectl -n ${ns} delete ${created.join(" ")}: ${kubeReason(d)}`);
            else notes.push(`cleanup: deleted ${created.join(", ")}`);
        }
        created.length = 0;
        createdNamespace = false;
    };
    const create = async (obj: Record<string, unknown>) => {
        const meta = obj.metadata as { name: string };
        const r = await kube.run(["create", "-f", "-", "-o", "name"], { input: JSON.stringify(obj), timeoutMs: 30_000 });
        if (r.code !== 0) throw new CheckRunError(`could not create ${String(obj.kind)} ${meta.name}: ${kubeReason(r)}`);
        if (obj.kind !== "Namespace") created.push(`${String(obj.kind).toLowerCase()}/${meta.name}`);
    };
    try {
        let g = await kube.run(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
        // A namespace an earlier run deleted (--wait=false) is still Terminating while the namespace
        // controller empties it: its objects are on their way out, and nothing can be created in it.
        // Wait for it to be gone (bounded), then create it afresh.
        for (let waited = 0; g.code === 0 && g.stdout.trim() === "Terminating"; waited += 2) {
            if (waited === 0) log(`      namespace ${ns} is still being deleted by an earlier run: waiting for it to go (up to ${NAMESPACE_GONE_S} s)`);
            if (waited >= NAMESPACE_GONE_S) throw new CheckRunError(`namespace ${ns} has been Terminating for over ${NAMESPACE_GONE_S} s (an earlier run deleted it; is the namespace controller running?)`);
            await sleep(2000, o.signal);
            if (aborted()) throw new CheckRunError("interrupted");
            g = await kube.run(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
        }
        if (g.code !== 0 && /NotFound|not found/.test(g.stderr)) {
            await create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ...labels, "pod-security.kubernetes.io/enforce": "privileged" } } });
            createdNamespace = true;
            log(`      created (removed at the end)`);
        } else if (g.code !== 0 && !/forbidden/i.test(g.stderr)) {
            throw new CheckRunError(`could not read namespace ${ns}: ${kubeReason(g)}`);
        } else {
            // Forbidden to read namespaces: the least-privilege RBAC pre-creates this one; go on (listing its pods says if it exists).
            const mine = await kube.run(["-n", ns, "get", "pods,configmaps", "-l", "app.kubernetes.io/managed-by=directpath-check", "-o", "json"]);
            if (mine.code !== 0) throw new CheckRunError(`could not list pods/configmaps in ${ns}: ${kubeReason(mine)}`);
            // Objects already being deleted (an earlier run's pods still terminating) are not in the way.
            const live = json<{ items: Array<{ kind: string; metadata: { name: string; deletionTimestamp?: string } }> }>(mine.stdout, "probe objects").items
                .filter((x) => !x.metadata.deletionTimestamp).map((x) => `${x.kind.toLowerCase()}/${x.metadata.name}`);
            if (live.length > 0) {
                throw new CheckRunError(`namespace ${ns} already holds probe objects (${live.join(", ")}): another check is running, or a killed one left them. When no check runs: kubectl -n ${ns} delete pods,configmaps -l app.kubernetes.io/managed-by=directpath-check`);
            }
            log("      exists: only this run's objects will be created and deleted");
        }
        if (aborted()) throw new CheckRunError("interrupted");

        const cm = `dpc-${run}-probes`;
        await create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: cm, namespace: ns, labels }, data: { "probe.sh": probeText("probe.sh"), "listen.sh": probeText("listen.sh") } });
        const pod = (name: string, node: string, role: string, hostNetwork: boolean, script: string, env: Record<string, string>) => ({
            apiVersion: "v1", kind: "Pod",
            metadata: { name, namespace: ns, labels: { ...labels, "directpath.io/check-role": role } },
            spec: {
                nodeName: node, restartPolicy: "Never", hostNetwork, dnsPolicy: hostNetwork ? "Default" : "ClusterFirst",
                tolerations: [{ operator: "Exists" }], automountServiceAccountToken: false, enableServiceLinks: false,
                terminationGracePeriodSeconds: 1, activeDeadlineSeconds: timeoutS + 60,
                containers: [{
                    name: "probe", image, imagePullPolicy: "IfNotPresent", command: ["/bin/sh", `/dpc/${script}`],
                    env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
                    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"], add: ["NET_RAW"] } },
                    volumeMounts: [{ name: "probes", mountPath: "/dpc", readOnly: true }],
                }],
                volumes: [{ name: "probes", configMap: { name: cm } }],
            },
        });
        const states = async (): Promise<Map<string, PodState>> => {
            const r = await kube.run(["-n", ns, "get", "pods", "-l", `directpath.io/check-run=${run}`, "-o", "json"]);
            const m = new Map<string, PodState>();
            if (r.code !== 0) return m;
            type P = { metadata: { name: string }; spec?: { nodeName?: string }; status?: { phase?: string; podIP?: string; reason?: string; containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string } } }> } };
            for (const p of json<{ items: P[] }>(r.stdout, "pods").items) {
                const cs = p.status?.containerStatuses?.[0]?.state;
                m.set(p.metadata.name, { name: p.metadata.name, phase: p.status?.phase ?? "Unknown", podIp: p.status?.podIP, nodeName: p.spec?.nodeName, reason: cs?.waiting?.reason ?? p.status?.reason ?? cs?.terminated?.reason });
            }
            return m;
        };
        const BAD_WAIT = /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError|CreateContainerError|RunContainerError/;
        /** Waits until every pod in `names` satisfies `done`, or fails (bad state), or the deadline. */
        const waitPods = async (names: string[], done: (s: PodState) => boolean, deadline: number, what: string) => {
            let last = new Map<string, PodState>();
            let shown = -1;
            while (!aborted()) {
                last = await states();
                const finished = names.filter((n) => { const s = last.get(n); return s && (done(s) || s.phase === "Failed" || BAD_WAIT.test(s.reason ?? "")); });
                if (finished.length !== shown) {
                    log(`      ${what}: ${finished.length}/${names.length}`);
                    shown = finished.length;
                }
                if (finished.length === names.length || Date.now() > deadline) break;
                await sleep(2000, o.signal);
            }
            return last;
        };
        const logsOf = async (name: string, s: PodState | undefined, deadline: number): Promise<{ output: string; error?: string }> => {
            if (!s) return { output: "", error: "pod vanished" };
            if (s.phase !== "Succeeded" && s.phase !== "Failed") return { output: "", error: `pod ${name} ${s.phase}${s.reason ? ` (${s.reason})` : ""} after ${Math.round((Date.now() - (deadline - timeoutS * 1000)) / 1000)}s: did not finish in time` };
            const l = await kube.run(["-n", ns, "logs", name], { timeoutMs: 20_000 });
            if (l.code !== 0) return { output: "", error: `kubectl logs ${name}: ${kubeReason(l)}` };
            return { output: l.stdout };
        };

        // 4. Hairpin probes (pod + host-network pod per node) and overlay servers, together.
        step(4, TOTAL, "probe pods");
        const hp = (t.hairpin?.endpoints ?? []).some((e) => e.externalIps.length > 0 || e.hostnames.length > 0);
        const hairpinPods: Array<{ name: string; node: string; vantage: Vantage; checks: PlannedCheck[] }> = [];
        if (hp) {
            for (const n of nodes) for (const v of ["pod", "hostnet"] as const) {
                const checks = hairpinChecks(t, v);
                const name = `dpc-${run}-hp-${v === "pod" ? "p" : "h"}-${nodeSlug(n.name)}`;
                hairpinPods.push({ name, node: n.name, vantage: v, checks });
                await create(pod(name, n.name, `hairpin-${v}`, v === "hostnet", "probe.sh", probeEnv(checks, { node: n.name, vantage: v }, probeT)));
            }
        }
        const servers = overlayNodes.length >= 2 ? overlayNodes.map((n) => ({ node: n.name, name: `dpc-${run}-ov-s-${nodeSlug(n.name)}`, id: nodeSlug(n.name) })) : [];
        for (const s of servers) await create(pod(s.name, s.node, "overlay-server", false, "listen.sh", { DPC_PORT: String(OVERLAY_PORT), DPC_ID: s.id }));
        log(`      created ${hairpinPods.length} hairpin probe pod(s), ${servers.length} overlay server pod(s)`);
        const deadline = Date.now() + timeoutS * 1000;

        // 5. Overlay clients, once the servers have addresses; CoreDNS pods and the tunnel from the cluster.
        step(5, TOTAL, "overlay");
        const clientPods: Array<{ name: string; node: string; checks: PlannedCheck[] }> = [];
        let tunnel = t.overlay.tunnel ? { ...t.overlay.tunnel, source: "the stack's config" } : undefined;
        const cc = await kube.run(["-n", "kube-system", "get", "configmap", "cilium-config", "-o", "json"]);
        if (cc.code === 0) {
            const d = json<{ data?: Record<string, string> }>(cc.stdout, "cilium-config").data ?? {};
            const mode = d["routing-mode"] ?? (d.tunnel === "disabled" ? "native" : "tunnel");
            const proto = d["tunnel-protocol"] ?? (d.tunnel && d.tunnel !== "disabled" ? d.tunnel : "vxlan");
            if (mode === "native") tunnel = { protocol: "native routing (no tunnel)", port: 0, source: "kube-system/cilium-config" };
            else tunnel = { protocol: proto, port: Number(d["tunnel-port"] || (proto === "geneve" ? 6081 : 8472)), source: "kube-system/cilium-config" };
        } else notes.push(`tunnel: kube-system/cilium-config not readable (${kubeReason(cc)}); from the stack: ${tunnel ? `${tunnel.protocol} ${tunnel.port}` : "unknown"}`);
        let dnsPods: OverlayPeer[] = [];
        const dr = await kube.run(["-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o", "json"]);
        if (dr.code === 0) {
            dnsPods = json<{ items: Array<{ spec?: { nodeName?: string }; status?: { podIP?: string; phase?: string } }> }>(dr.stdout, "CoreDNS pods").items
                .filter((p) => p.status?.phase === "Running" && p.status.podIP && p.spec?.nodeName).map((p) => ({ node: p.spec!.nodeName!, ip: p.status!.podIP! }));
            log(`      CoreDNS pods: ${dnsPods.map((d) => `${d.ip}@${d.node}`).join(", ") || "none Running"}`);
        } else notes.push(`CoreDNS pods (kube-system, k8s-app=kube-dns) not listed: ${kubeReason(dr)}`);
        if (servers.length > 0) {
            const st = await waitPods(servers.map((s) => s.name), (s) => s.phase === "Running" && !!s.podIp, deadline, "overlay servers running");
            const up: OverlayPeer[] = servers.filter((s) => st.get(s.name)?.podIp).map((s) => ({ node: s.node, ip: st.get(s.name)!.podIp!, id: s.id }));
            for (const s of servers.filter((x) => !st.get(x.name)?.podIp)) notes.push(`overlay server ${s.name} on ${s.node}: ${st.get(s.name)?.phase ?? "missing"} ${st.get(s.name)?.reason ?? ""}`.trim());
            if (up.length > 0) {
                for (const n of overlayNodes) {
                    const checks = overlayChecks(up, dnsPods.filter((d) => overlayNodes.some((x) => x.name === d.node)), CLUSTER_DNS_NAME);
                    const name = `dpc-${run}-ov-c-${nodeSlug(n.name)}`;
                    clientPods.push({ name, node: n.name, checks });
                    await create(pod(name, n.name, "overlay-client", false, "probe.sh", probeEnv(checks, { node: n.name, vantage: "pod" }, probeT)));
                }
            }
        }

        // 6. Collect every probe's log.
        step(6, TOTAL, "collecting probe output");
        const terminal = (s: PodState) => s.phase === "Succeeded" || s.phase === "Failed";
        const allProbe = [...hairpinPods.map((p) => p.name), ...clientPods.map((p) => p.name)];
        const st = await waitPods(allProbe, terminal, deadline, "probes finished");
        const hairpinRuns: ProbeRun[] = [];
        for (const p of hairpinPods) hairpinRuns.push({ node: p.node, vantage: p.vantage, checks: p.checks, ...(await logsOf(p.name, st.get(p.name), deadline)) });
        const overlayRuns: ProbeRun[] = [];
        for (const p of clientPods) overlayRuns.push({ node: p.node, vantage: "pod", checks: p.checks, ...(await logsOf(p.name, st.get(p.name), deadline)) });
        for (const r of [...hairpinRuns, ...overlayRuns]) if (r.error) notes.push(`probe on ${r.node} (${r.vantage}): ${r.error}`);

        // 7. Tailscale: exec the probe in each TailscaleDirect pod (read-only: status, port check, ping).
        step(7, TOTAL, "tailscale");
        const tsInputs: TailscalePodInput[] = [];
        const ts = t.tailscale;
        if (ts && !aborted()) {
            const sel = Object.entries(ts.selector).map(([k, v]) => `${k}=${v}`).join(",");
            const pr = await kube.run(["-n", ts.namespace, "get", "pods", ...(sel ? ["-l", sel] : []), "-o", "json"]);
            if (pr.code !== 0) notes.push(`tailscale pods in ${ts.namespace} not listed: ${kubeReason(pr)}`);
            const pods = pr.code === 0 ? json<{ items: Array<{ metadata: { name: string }; spec?: { nodeName?: string }; status?: { phase?: string } }> }>(pr.stdout, "tailscale pods").items
                .filter((p) => p.status?.phase === "Running" && (!o.nodes || o.nodes.includes(p.spec?.nodeName ?? ""))) : [];
            const exec = async (p: string, peers: string[]) => {
                const c = tailscaleProbeCommand({ socket: ts.socket, checkPortScript: ts.checkPortScript, peers, timeoutSeconds: probeT, pod: p });
                return kube.run(["-n", ts.namespace, "exec", p, "-c", ts.container, "--", ...c.argv], { timeoutMs: c.timeoutMs });
            };
            for (const p of pods) {
                const node = p.spec?.nodeName ?? "?";
                log(`      ${ts.namespace}/${p.metadata.name} on ${node}`);
                const { first, last } = await runTailscaleProbe((peers) => exec(p.metadata.name, peers));
                if (first.code !== 0 && !first.stdout.includes("DPC-PROBE")) {
                    tsInputs.push({ pod: p.metadata.name, node, pings: {}, error: `kubectl exec (RBAC: create pods/exec in ${ts.namespace}): ${kubeReason(first)}` });
                    continue;
                }
                tsInputs.push(tailscaleInputFromProbe(last.stdout, p.metadata.name, node));
            }
        }
        if (aborted()) throw new CheckRunError("interrupted (Ctrl-C): cleaned up, no verdict");

        const verdicts: Verdict[] = [
            hairpinVerdict(t, hairpinRuns.flatMap(observe)),
            overlayVerdict({ nodes: overlayNodes.map((n) => n.name), ...(tunnel ? { tunnel } : {}), environment: t.environment, ...(sampled ? { sampled } : {}) }, overlayRuns.flatMap(observe)),
            tailscaleVerdict({ ...(ts ? { configured: { namespace: ts.namespace, workloadName: ts.workloadName, port: ts.port } } : {}), pods: tsInputs }),
        ];
        return { verdicts, notes };
    } finally {
        await cleanup();
    }
}
