/**
 * `npm run lab:nodes [-- --keep] [--build-only]`: directpath's workloads in real containers under
 * real kubelets. The default program is deployed by the real Pulumi engine (lab/deploy/engine.ts)
 * into a cluster whose two nodes are real: each a network namespace of the network lab's hairpin
 * topology (lab/hairpin.ts: a router that DNATs the external IPs to the nodes without SNAT), with
 * its own containerd + runc (Debian's), CNI bridge, kubelet and kube-proxy v1.33.13, in a mount and
 * UTS namespace and a cgroup root of its own (lab/nodes/node.ts). The control plane (etcd,
 * kube-apiserver, controller manager, scheduler) runs in a namespace on the same LAN; the machine's
 * 127.0.0.1:16443 is relayed to it for the engine and kubectl. Every image is assembled here and
 * imported (lab/nodes/images.ts); nothing can be pulled. One PASS/FAIL line per check, then
 * `N passed, N failed`. See docs/deploying.md ("Real nodes").
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { attachToLan, buildHairpin, LAN, natRules, REGISTRY, WEB_PORT } from "../hairpin";
import { agentArgv, describe, served, startDnsStub, type HttpResult } from "../lib/agent-client";
import { ensureGoBuild } from "../lib/gobuild";
import { checkRootLinux, COREDNS_VERSION, ensureCoreDNS, ensureSystemTools } from "../lib/prereqs";
import { exec, hasCommand, LabError, ROOT, run, sleep, waitFor, withTimeout } from "../lib/proc";
import { CheckLog } from "../lib/report";
import { LabSession } from "../lib/session";
import { buildSpecs, ensureLabBinaries } from "../deploy/build";
import { PORTS, seedCluster, SERVICE_CIDR, startCluster, type Cluster, type ControlPlaneBinaries } from "../deploy/cluster";
import { docsOf, engine, readStackConfig, runPlan, type Cfg } from "../deploy/engine";
import { VERSIONS } from "../tailscale/config";
import { buildImage, busyboxEntries, importedRefs, importImage, iptablesEntries, normalizeRef, type ImageSpec } from "./images";
import { machineDiff, machineState, labCgroups } from "./machine";
import { cgroupTree, inNode, PAUSE_IMAGE, removeCgroupRoot, startNode, type ClusterNet, type NodeDef, type RunningNode } from "./node";

const PREFIX = "dpn-";
const TEMP_PREFIX = "dpn-tmp-";
const STACK = "local-iptables";
const CP = { address: "192.168.10.10" };
const VXLAN_PORT = 8472;
const LIMITS = { nodeReadyMs: 180_000, podsMs: 240_000, upMs: 600_000, destroyMs: 300_000, checkMs: 300_000 };
const COREDNS_IMAGE = `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`;
const PAUSE_C = path.join(ROOT, "lab", "nodes", "pause.c");

const log = new CheckLog();
const info = (l: string) => log.info(l);

interface Bins extends ControlPlaneBinaries {
    kubelet: string;
    kubeProxy: string;
    coredns: string;
    /** The Tailscale image's three (absent: the image, the client pods and the check are left out, with --stop-after nodes only). */
    tailscaled?: string;
    tailscale?: string;
    containerboot?: string;
}

/** The cluster's binaries (etcd and the kubernetes module's six), CoreDNS, and the Tailscale image's three. */
function binaries(requireTailscale: boolean): Bins {
    const specs = buildSpecs().filter((s) => s.name === "etcd" || s.name === "kubernetes");
    const b: Record<string, string> = {};
    for (const spec of specs) {
        const r = ensureGoBuild(spec, info);
        info(`${spec.name}@${spec.version}: ${r.built ? `built in ${Math.round(r.seconds)} s` : "cached"}`);
        Object.assign(b, r.bins);
    }
    const coredns = ensureCoreDNS(info);
    // The Tailscale image's three, static (CGO off) as upstream's image has them: the Tailscale
    // lab's own tailscaled and tailscale are built with cgo for the machine, so not reused here.
    const containerboot = ensureGoBuild({ name: "containerboot", version: VERSIONS.tailscale, binaries: { containerboot: "tailscale.com/cmd/containerboot" } }, info).bins.containerboot!;
    let tailscaled: string | undefined;
    let tailscale: string | undefined;
    try {
        const ts = ensureGoBuild({ name: "tailscale-static", version: VERSIONS.tailscale, binaries: { tailscaled: "tailscale.com/cmd/tailscaled", tailscale: "tailscale.com/cmd/tailscale" } }, info).bins;
        tailscaled = ts.tailscaled;
        tailscale = ts.tailscale;
    } catch (e) {
        if (requireTailscale) throw e;
    }
    const haveTailscale = !!tailscaled && !!tailscale;
    return {
        etcd: b.etcd!, kubeApiserver: b["kube-apiserver"]!, kubeControllerManager: b["kube-controller-manager"]!, kubectl: b.kubectl!,
        kubeScheduler: b["kube-scheduler"]!, kubelet: b.kubelet!, kubeProxy: b["kube-proxy"]!, coredns,
        ...(haveTailscale ? { tailscaled, tailscale, containerboot } : {}),
    };
}

/** The images: the plan's list for the stack, the check's probe image, the pause image, the cluster's CoreDNS. */
function imageSpecs(work: string, bins: Bins, planImages: string[]): ImageSpec[] {
    const pause = path.join(work, "pause");
    run(["clang-19", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", pause, PAUSE_C], { timeoutMs: 120_000 });
    const busybox = busyboxEntries();
    const known: Record<string, ImageSpec> = {
        "docker.io/rancher/klipper-lb:v0.4.17": {
            ref: "docker.io/rancher/klipper-lb:v0.4.17", entries: iptablesEntries(), cmd: ["sh"],
            differs: "upstream: Alpine with iptables (nft and legacy) and klipper-lb's entry script; lab: Debian's iptables 1.8.9 (xtables-nft-multi and xtables-legacy-multi with their libraries and extensions) on Debian's busybox and glibc; no entry script (the DaemonSet sets its command)",
        },
        "busybox:1.37.0": {
            ref: "busybox:1.37.0", entries: busybox, cmd: ["sh"],
            differs: "upstream: busybox 1.37.0; lab: Debian's busybox (1.35.0) with the glibc it loads, one link per applet",
        },
        "tailscale/tailscale:v1.102.3": {
            ref: "tailscale/tailscale:v1.102.3",
            entries: [...busybox, ...(["containerboot", "tailscaled", "tailscale"] as const).map((b) => ({ path: `usr/local/bin/${b}`, copyFrom: bins[b] ?? "(not built)", mode: 0o755 }))],
            entrypoint: ["/usr/local/bin/containerboot"],
            differs: "upstream: tailscale/alpine-base with containerboot, tailscaled and tailscale of v1.102.3; lab: the same three built from tailscale.com v1.102.3 (CGO off), containerboot the entrypoint, on Debian's busybox and glibc instead of Alpine (no iptables/nft tools inside)",
        },
    };
    const specs: ImageSpec[] = [
        { ref: PAUSE_IMAGE, entries: [{ path: "pause", copyFrom: pause, mode: 0o755 }], entrypoint: ["/pause"], differs: "upstream: Kubernetes' pause; lab: lab/nodes/pause.c (waits, reaps children, exits on SIGTERM), static, built with clang-19" },
        { ref: COREDNS_IMAGE, entries: [{ path: "coredns", copyFrom: bins.coredns, mode: 0o755 }, { path: "etc/passwd", content: "root:x:0:0:root:/:/sbin/nologin\n" }], entrypoint: ["/coredns"], differs: `upstream: CoreDNS ${COREDNS_VERSION} on distroless static, user nonroot with a file capability to bind :53; lab: the same release built from its module, runs as root with the Deployment's NET_BIND_SERVICE` },
    ];
    for (const ref of planImages) {
        const spec = known[ref];
        if (!spec) throw new LabError(`the plan lists image ${ref}, which the lab cannot assemble`);
        if (!specs.some((s) => s.ref === ref)) specs.push(spec);
    }
    return specs;
}

/** Runs `argv` in a pod's container (kubectl exec), with a time limit. */
async function kexec(cluster: Cluster, ns: string, pod: string, argv: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return exec([bin.kubectl, "--kubeconfig", cluster.kubeconfig, "-n", ns, "exec", pod, "--", ...argv], { allowFail: true, timeoutMs });
}
let bin: Bins;
/** --keep: the run's namespaces, daemons, dir and cgroups stay (for a look); the next run removes them. */
let keeping = false;

interface Clients {
    /** Each client's GET of `host` (default the external IP): whether it reached node1's backend, and what it saw. */
    probe(host?: string): Promise<Record<ClientName, { ok: boolean; detail: string }>>;
}
type ClientName = "pod" | "hostNetwork pod" | "node2's namespace";
const CLIENTS: ClientName[] = ["pod", "hostNetwork pod", "node2's namespace"];

/** The three clients on node2: a pod, a hostNetwork pod (both kept running, the probe image) and node2's own namespace. */
async function startClients(cluster: Cluster, node2: RunningNode, image: string): Promise<Clients> {
    const pod = (name: string, hostNetwork: boolean) => ({
        apiVersion: "v1", kind: "Pod",
        metadata: { name, namespace: "default", labels: { "app.kubernetes.io/name": "dpn-client" } },
        spec: {
            nodeName: node2.def.name, hostNetwork, dnsPolicy: hostNetwork ? "ClusterFirstWithHostNet" : "ClusterFirst", terminationGracePeriodSeconds: 1,
            containers: [{ name: "client", image, imagePullPolicy: "IfNotPresent", command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while sleep 1; do :; done"] }],
        },
    });
    for (const [name, hn] of [["client-pod", false], ["client-hostnet", true]] as const) {
        const r = cluster.kubectl(["apply", "-f", "-"], JSON.stringify(pod(name, hn)));
        if (r.code !== 0) throw new LabError(`client pod ${name}: ${r.stderr}`);
    }
    const w = cluster.kubectl(["-n", "default", "wait", "--for=condition=Ready", "pod/client-pod", "pod/client-hostnet", "--timeout=120s"], undefined, 130_000);
    if (w.code !== 0) throw new LabError(`client pods not Ready: ${w.stderr.trim()}`);
    const fromPod = async (name: string, host: string) => {
        // busybox nc, as the check's probes use.
        const r = await kexec(cluster, "default", name, ["sh", "-c", `printf 'GET / HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | nc -w 3 ${host} ${WEB_PORT}`], 15_000);
        const body = r.stdout.split(/\r?\n\r?\n/).slice(1).join("\n").trim();
        const s = r.code === 0 && body ? (() => {
            try {
                return JSON.parse(body) as { server: string; local: string };
            } catch {
                return undefined;
            }
        })() : undefined;
        return { ok: s?.server === "node1", detail: s ? `HTTP 200 from ${s.server} (${s.local})` : `no answer (nc exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split("\n").pop()}` : ""})` };
    };
    return {
        probe: async (host = REGISTRY.external) => {
            const url = `http://${host}:${WEB_PORT}/`;
            // Not httpGet (synchronous): the engine's inline program shares this event loop during up.
            const [p, h, nr] = await Promise.all([fromPod("client-pod", host), fromPod("client-hostnet", host),
                exec(agentArgv("http-get", url, 3000), { ns: node2.def.netns, timeoutMs: 15_000, allowFail: true })]);
            const n = JSON.parse(nr.stdout.trim().split("\n").pop() || "{}") as HttpResult;
            return { pod: p, "hostNetwork pod": h, "node2's namespace": { ok: served(n)?.server === "node1", detail: describe(n) } };
        },
    };
}

/** `directpath check --stack <stack>` (the CLI, as a user runs it) against the lab's cluster. */
async function directpathCheck(cluster: Cluster, stack: string): Promise<{ code: number; hairpin: string; overlay: string; out: string }> {
    const r = await exec([process.execPath, "--import", "tsx", path.join(ROOT, "check", "cli.ts"), "--stack", stack, "--kubeconfig", cluster.kubeconfig, "--json", "--timeout", "90"],
        { allowFail: true, timeoutMs: LIMITS.checkMs, cwd: ROOT, env: { ...process.env, KUBECONFIG: cluster.kubeconfig, PATH: `${path.dirname(bin.kubectl)}:${process.env.PATH ?? ""}` } });
    let hairpin = "?";
    let overlay = "?";
    let evidence = "";
    try {
        const doc = JSON.parse(r.stdout) as { verdicts?: Array<{ fault: string; verdict: string; summary: string }> };
        const v = (f: string) => doc.verdicts?.find((x) => x.fault === f);
        hairpin = v("hairpin") ? `${v("hairpin")!.verdict}` : "?";
        overlay = v("overlay") ? `${v("overlay")!.verdict}` : "?";
        evidence = doc.verdicts?.map((x) => `${x.fault}: ${x.verdict} (${x.summary})`).join("; ") ?? "";
    } catch {
        /* reported below */
    }
    return { code: r.code, hairpin, overlay, out: evidence || (r.stdout + r.stderr).slice(-1500) };
}

interface PodInfo {
    name: string;
    node: string;
    phase: string;
    ready: boolean;
    reason: string;
}
function podsOf(cluster: Cluster, ns: string, selector?: string): PodInfo[] {
    const r = cluster.kubectl(["-n", ns, "get", "pods", ...(selector ? ["-l", selector] : []), "-o", "json"]);
    if (r.code !== 0) return [];
    type P = { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ state?: { waiting?: { reason?: string } } }> } };
    return (JSON.parse(r.stdout) as { items: P[] }).items.map((p) => ({
        name: p.metadata.name, node: p.spec.nodeName ?? "", phase: p.status.phase ?? "?",
        ready: p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        reason: p.status.containerStatuses?.[0]?.state?.waiting?.reason ?? "",
    }));
}

/** Builds the topology, the control plane, the nodes and the images; returns the running cluster. */
async function cluster(session: LabSession, work: string, planImages: string[]): Promise<{ cluster: Cluster; nodes: RunningNode[]; node2: RunningNode; probeImage: string }> {
    const logDir = path.join(work, "logs");
    fs.mkdirSync(logDir, { recursive: true });
    // The network lab's hairpin LAN: router DNAT without SNAT, node1 serving HTTP on 443 (answers "node1").
    const t = await buildHairpin(session, logDir, [WEB_PORT]);
    const cp = session.netns.add("cp");
    attachToLan(session.netns, t.ns.lan, "p-cp", cp, "eth0", CP.address, true);
    // The internet's DNS for the lab (the upstream host): the registry's public name -> its external IP.
    await startDnsStub(session.daemons, t.ns.upstream, LAN.upstream, 53, { [REGISTRY.hostname]: REGISTRY.external }, path.join(logDir, "dns-upstream.log"));
    const net: ClusterNet = { clusterCidr: "10.233.64.0/18", serviceCidr: SERVICE_CIDR, dnsServiceIp: "10.233.0.3", clusterDomain: "cluster.local", apiserver: CP.address };
    const defs: NodeDef[] = [
        { name: "node1", ip: LAN.node1, netns: t.ns.node1, podCidr: "10.233.64.0/24", cgroupRoot: `/${PREFIX}node1` },
        { name: "node2", ip: LAN.node2, netns: t.ns.node2, podCidr: "10.233.65.0/24", cgroupRoot: `/${PREFIX}node2` },
    ];
    // Pod networking between the nodes: a kernel VXLAN device on the overlay port (as the network
    // lab's overlay case), and the usual CNI masquerade for traffic leaving the cluster's pod range.
    for (const [i, d] of defs.entries()) {
        const peer = defs[1 - i]!;
        session.netns.sysctl(d.netns, "net.ipv4.ip_forward", 1);
        session.netns.ip(d.netns,
            `link add vxlan0 type vxlan id 1 local ${d.ip} remote ${peer.ip} dstport ${VXLAN_PORT} dev eth0`,
            `addr add 10.233.127.${i + 1}/24 dev vxlan0`, "link set vxlan0 mtu 1450", "link set vxlan0 up",
            `route add ${peer.podCidr} via 10.233.127.${2 - i} dev vxlan0 onlink`);
        run(["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", d.podCidr, "!", "-d", net.clusterCidr, "-m", "comment", "--comment", "dpn pod masquerade (CNI)", "-j", "MASQUERADE"], { ns: d.netns });
    }
    // The machine's 127.0.0.1:16443 -> a unix socket -> the API server in its namespace.
    const sock = path.join(work, "apiserver.sock");
    session.daemons.start("relay (control plane side)", ["socat", `UNIX-LISTEN:${sock},fork,mode=600`, `TCP:127.0.0.1:${PORTS.apiserver}`], { ns: cp, logFile: path.join(logDir, "relay-cp.log") });
    await waitFor(() => fs.existsSync(sock), 10_000);
    session.daemons.start("relay (machine side)", ["socat", `TCP-LISTEN:${PORTS.apiserver},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${sock}`], { logFile: path.join(logDir, "relay-machine.log") });
    const c = await withTimeout("control plane start", 180_000, () => startCluster(path.join(work, "cluster"), bin, info, session.daemons, { ns: cp, address: CP.address }));

    const images = path.join(work, "images");
    fs.mkdirSync(images);
    const probeImage = "tailscale/tailscale:v1.102.3";
    const specs = imageSpecs(images, bin, [...new Set([...planImages, ...(bin.tailscaled ? [probeImage] : [])])]);
    const built = specs.map((s) => ({ spec: s, ...buildImage(s, images) }));
    for (const b of built) info(`image ${b.spec.ref} (${normalizeRef(b.spec.ref)}): layer sha256:${b.digest.slice(0, 12)}; ${b.spec.differs}`);

    const hosts = (d: NodeDef) => `127.0.0.1\tlocalhost\n${d.ip}\t${d.name}\n`;
    const nodes = defs.map((d) => startNode(work, path.join(work, "cluster", "pki"), d, net, { kubelet: bin.kubelet, kubeProxy: bin.kubeProxy }, session.daemons, hosts(d)));
    for (const n of nodes) {
        fs.writeFileSync(path.join(n.dir, "resolv.conf"), `nameserver ${LAN.upstream}\n`);
        session.onCleanup(() => {
            if (keeping) return;
            const left = removeCgroupRoot(n.def.cgroupRoot);
            if (left.length) process.stderr.write(`cgroups left: ${left.join(", ")}\n`);
        });
    }
    for (const n of nodes) {
        const up = await waitFor(() => fs.existsSync(n.socket), 30_000, 200);
        if (!up) throw new LabError(`containerd of ${n.def.name} did not start:\n${n.log("containerd").split("\n").slice(-10).join("\n")}\n${n.daemon.log()}`);
        for (const b of built) importImage(n.socket, b.archive);
        const refs = importedRefs(n.socket);
        const want = specs.map((s) => normalizeRef(s.ref)).sort();
        log.check(`${n.def.name}: its containerd holds exactly the lab's images, under the manifests' references`, JSON.stringify(refs) === JSON.stringify(want), refs.join(", "));
    }
    const ready = await waitFor(() => {
        const r = c.kubectl(["get", "nodes", "-o", "json"]);
        if (r.code !== 0) return false;
        const items = (JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string }; status: { conditions?: Array<{ type: string; status: string }> } }> }).items;
        return defs.every((d) => items.some((i) => i.metadata.name === d.name && i.status.conditions?.some((x) => x.type === "Ready" && x.status === "True")));
    }, LIMITS.nodeReadyMs, 1000);
    const nodeList = c.kubectl(["get", "nodes", "-o", "wide"]).stdout.trim();
    log.check("both nodes register and are Ready (real kubelets, containerd, CNI)", !!ready, nodeList.split("\n").slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(" ")).join("; "));
    if (!ready) {
        for (const n of nodes) info(`${n.def.name} kubelet: ${n.log("kubelet").split("\n").filter((l) => /^E/.test(l)).slice(-5).join(" | ")}`);
        throw new LabError("the nodes are not Ready");
    }
    return { cluster: c, nodes, node2: nodes[1]!, probeImage };
}

/** kubespray's DNS objects with the pinned CoreDNS, the `coredns` Service on dnsServiceIp and CoreDNS's RBAC. */
async function seed(c: Cluster): Promise<void> {
    const local = readStackConfig("local").plain["directpath:hairpin"] as { dns: { coredns: { baseCorefile: string }; nodeLocalDns: { baseCorefile: string } } };
    await seedCluster(c, { nodes: [], corednsCorefile: local.dns.coredns.baseCorefile, nodeLocalCorefile: local.dns.nodeLocalDns.baseCorefile, namespaces: [], crdFiles: [], corednsImage: COREDNS_IMAGE }, async () => undefined);
    const extra = `apiVersion: v1
kind: Service
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: 10.233.0.3
  selector: {k8s-app: kube-dns}
  ports:
    - {name: dns, port: 53, protocol: UDP}
    - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
  - {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: default, namespace: kube-system}]
`;
    const r = c.kubectl(["apply", "-f", "-"], extra);
    if (r.code !== 0) throw new LabError(`seeding the coredns Service and RBAC: ${r.stderr}`);
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    checkRootLinux();
    // Commands whose Debian package has their name (ctr comes with containerd).
    ensureSystemTools(info, ["socat", "containerd", "runc"]);
    for (const cmd of ["ctr", "nsenter", "unshare", "tar", "ldd"]) if (!hasCommand(cmd)) throw new LabError(`${cmd} is missing (containerd, util-linux, tar, libc-bin)`);
    if (!fs.existsSync(path.join("/usr/lib/cni", "bridge"))) throw new LabError("the CNI reference plugins are missing: apt-get install containernetworking-plugins");
    if (!hasCommand("clang-19")) throw new LabError("clang-19 is missing (it builds the pause image): apt-get install clang-19");
    console.log("== binaries (built once, cached by version outside the repo)");
    const stopAfter = argv.includes("--stop-after") ? argv[argv.indexOf("--stop-after") + 1] : undefined;
    bin = binaries(stopAfter !== "nodes" || argv.includes("--build-only"));
    if (argv.includes("--build-only")) {
        ensureLabBinaries(info);
        return 0;
    }

    const start = Date.now();
    // A run killed with SIGKILL once its nodes are up (a child run of this lab): what it leaves is
    // removed by the next run's start, and the machine is then as it was before the killed run.
    let killedBefore: ReturnType<typeof machineState> | undefined;
    if (!argv.includes("--hold") && !argv.includes("--no-kill-test")) {
        // An earlier run's leftovers first (a --keep run's), so the snapshot is the machine's own.
        LabSession.open({ prefix: PREFIX, tempPrefix: TEMP_PREFIX }).close();
        removeLeftovers();
        killedBefore = machineState(PREFIX, TEMP_PREFIX);
        const killed = await killedRun();
        log.check("a run killed with SIGKILL once its nodes are Ready", killed.ok, killed.detail);
    }
    const session = LabSession.open({ prefix: PREFIX, tempPrefix: TEMP_PREFIX });
    const removed = [...session.removed, ...removeLeftovers()];
    if (removed.length) info(`removed a killed run's leftovers: ${removed.join(", ")}`);
    const before = machineState(PREFIX, TEMP_PREFIX);
    if (killedBefore) {
        const d = machineDiff(killedBefore, before);
        for (const k of Object.keys(killedBefore)) log.check(`after a killed run and the next start: the machine is as before: ${k}`, !d.includes(k), d.includes(k) ? "differs" : "identical");
    }
    // The run's dir: removed at the end unless --keep (then the next run's start removes it).
    const work = fs.mkdtempSync(path.join(os.tmpdir(), TEMP_PREFIX));
    session.onCleanup(() => {
        if (!keeping) fs.rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
    });
    let code = 1;
    try {
        code = await stages(session, work, stopAfter);
    } catch (e) {
        log.check("the lab's run completes", false, (e as Error).message.split("\n").slice(0, 6).join(" | "));
    }
    if (argv.includes("--hold")) {
        // The killed-run test's child: hold everything running until killed.
        console.log("HOLDING");
        await new Promise(() => undefined);
    }
    if (argv.includes("--keep")) {
        keeping = true;
        session.keep();
        info(`kept ${work} and the namespaces (the next run removes them); the machine checks are left out`);
        session.close();
    } else {
        session.close();
        const after = machineState(PREFIX, TEMP_PREFIX);
        const diff = machineDiff(before, after);
        for (const k of Object.keys(before)) log.check(`the machine is untouched: ${k}`, !diff.includes(k), diff.includes(k) ? "differs after the run" : "identical before and after");
    }
    console.log(`\n${log.summary()} (${Math.round((Date.now() - start) / 1000)} s)`);
    return log.failed === 0 ? code : 1;
}

/**
 * What a killed run leaves outside its namespaces, removed: processes started from its temp dir
 * (the machine-side API relay; the pods' processes, which live in the node's cgroups) and its cgroups.
 * (Namespaces, /etc/netns entries and temp dirs are the session's: LabSession.open removes them.)
 */
function removeLeftovers(): string[] {
    const removed: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((f) => /^\d+$/.test(f) && Number(f) !== process.pid)) {
        let cmd = "";
        try {
            cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        } catch {
            continue;
        }
        if (!cmd.includes(`/${TEMP_PREFIX}`) || cmd.includes("lab/nodes/run.ts")) continue;
        try {
            process.kill(Number(pid), "SIGKILL");
            removed.push(`process ${pid} (${cmd.split("\0").slice(0, 2).join(" ")})`);
        } catch {
            /* gone */
        }
    }
    for (const cg of labCgroups(PREFIX)) {
        const root = `/${path.basename(cg)}`;
        if (cgroupTree(root).length === 0) continue;
        const left = removeCgroupRoot(root);
        removed.push(`cgroups ${root}${left.length ? ` (left: ${left.join(", ")})` : ""}`);
    }
    return removed;
}

/** Starts this lab as a child (`--stop-after nodes --hold`), and SIGKILLs it once its nodes are Ready. */
async function killedRun(): Promise<{ ok: boolean; detail: string }> {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "lab", "nodes", "run.ts"), "--stop-after", "nodes", "--hold"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (out += String(d)));
    const held = await waitFor(() => out.includes("HOLDING") || child.exitCode !== null, 300_000, 500);
    const ready = held && out.includes("PASS  both nodes register and are Ready");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    return { ok: !!ready, detail: ready ? `killed pid ${child.pid} with nodes, pods and the control plane running` : `the child run did not get its nodes Ready: ${out.split("\n").filter((l) => /FAIL|rror/.test(l)).slice(0, 3).join(" | ")}` };
}

async function stages(session: LabSession, work: string, stopAfter: string | undefined): Promise<number> {
    const plan = runPlan(STACK, path.join(work, "plan"));
    const planDoc = JSON.parse(fs.readFileSync(path.join(plan.dir, "plan.json"), "utf8")) as { summary: { images: Array<{ image: string }> } };
    const planImages = planDoc.summary.images.map((i) => i.image);
    info(`plan ${STACK}: ${plan.resources.length} resources; images: ${planImages.join(", ")}`);
    const { cluster: c, nodes, node2, probeImage } = await cluster(session, work, planImages);
    await seed(c);
    const dns = await waitFor(() => podsOf(c, "kube-system", "k8s-app=kube-dns").filter((p) => p.ready).length === 2, LIMITS.podsMs, 2000);
    const dnsPods = podsOf(c, "kube-system", "k8s-app=kube-dns");
    log.check("kubespray's CoreDNS Deployment runs the pinned CoreDNS in real pods (2/2 Ready)", !!dns, dnsPods.map((p) => `${p.name}@${p.node} ${p.phase}${p.reason ? ` ${p.reason}` : ""}`).join(", "));
    const nld = podsOf(c, "kube-system", "k8s-app=nodelocaldns");
    log.check("a pod whose image the lab did not import does not start (NodeLocal DNSCache's k8s-dns-node-cache)", nld.length === 2 && nld.every((p) => !p.ready && /ErrImage|ImagePull/.test(p.reason)), nld.map((p) => `${p.name}@${p.node} ${p.reason || p.phase}`).join(", "));

    if (stopAfter === "nodes") return 0;
    // 1. Before up: the three clients on node2 fail; the check sees the hairpin fault.
    const clients = await startClients(c, node2, probeImage);
    const base = await clients.probe(REGISTRY.internal);
    for (const name of CLIENTS) log.check(`baseline: ${name} on node2 -> ${REGISTRY.internal}:${WEB_PORT} (the internal address) reaches node1's backend`, base[name].ok, base[name].detail);
    const pre = await clients.probe();
    for (const name of CLIENTS) log.check(`before up: ${name} on node2 -> ${REGISTRY.external}:${WEB_PORT} fails (hairpin NAT)`, !pre[name].ok, pre[name].detail);
    const natBefore = natRules(node2.def.netns);
    const hostsBefore = nodes.map((n) => fs.readFileSync(n.hostsFile, "utf8"));
    const chk1 = await directpathCheck(c, STACK);
    log.check("before up: directpath check --stack local-iptables runs its probe pods, reports hairpin present and exits 1", chk1.code === 1 && chk1.hairpin === "present", `exit ${chk1.code}, hairpin ${chk1.hairpin}, overlay ${chk1.overlay}${chk1.code === 1 ? "" : `: ${chk1.out.replace(/\s+/g, " ").slice(-400)}`}`);

    if (stopAfter === "before-up") return 0;
    // 2. pulumi up (the real engine), timing each client's first success.
    const cfg = readStackConfig(STACK);
    const engineBins = ensureLabBinaries(info);
    const { stack } = await engine(path.join(work, "engine"), c, STACK, engineBins, cfg as { plain: Cfg; secretKeys: string[] }, async () => {
        const { runDefaultProgram } = await import("../../program/main");
        return runDefaultProgram();
    });
    const t0 = Date.now();
    const cured: Partial<Record<ClientName, number>> = {};
    let upDone = false;
    const poll = (async () => {
        while (!upDone || CLIENTS.some((n) => cured[n] === undefined)) {
            const r = await clients.probe();
            for (const n of CLIENTS) if (r[n].ok && cured[n] === undefined) cured[n] = (Date.now() - t0) / 1000;
            if (Date.now() - t0 > LIMITS.upMs) break;
            await sleep(500);
        }
    })();
    let upOk = false;
    try {
        const up = await withTimeout("pulumi up", LIMITS.upMs, () => stack.up({ onOutput: () => undefined }));
        upOk = up.summary.result === "succeeded";
        log.check("pulumi up succeeds (the DaemonSet rolls out on real nodes)", upOk, `${JSON.stringify(up.summary.resourceChanges)} in ${Math.round((Date.now() - t0) / 1000)} s`);
    } catch (e) {
        log.check("pulumi up succeeds (the DaemonSet rolls out on real nodes)", false, (e as Error).message.split("\n").filter((l) => /error|timed out/i.test(l)).slice(0, 4).join(" | "));
    }
    upDone = true;
    await withTimeout("clients after up", 120_000, () => poll).catch(() => undefined);
    const dsDocs = plan.manifests.flatMap(docsOf).filter((d) => d.kind === "DaemonSet");
    for (const ds of dsDocs) {
        const m = ds.metadata as { name: string; namespace: string };
        const sel = Object.entries(((ds.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)).map(([k, v]) => `${k}=${v}`).join(",");
        const ok = await waitFor(() => {
            const p = podsOf(c, m.namespace, sel);
            return p.length === 2 && p.every((x) => x.ready);
        }, 120_000, 2000);
        const p = podsOf(c, m.namespace, sel);
        log.check(`after up: DaemonSet ${m.namespace}/${m.name} runs Ready on both nodes, in the real image`, !!ok, p.map((x) => `${x.name}@${x.node} ${x.phase}${x.ready ? " Ready" : ""}${x.reason ? ` ${x.reason}` : ""}`).join(", "));
        const l = c.kubectl(["-n", m.namespace, "logs", "-l", sel, "--tail", "5", "--prefix"]);
        info(`logs: ${l.stdout.trim().split("\n").slice(-4).join(" | ")}`);
    }
    const post = await clients.probe();
    for (const name of CLIENTS) log.check(`after up: ${name} on node2 -> ${REGISTRY.external}:${WEB_PORT} reaches node1's backend`, post[name].ok, `${post[name].detail}${cured[name] !== undefined ? `; first success ${cured[name]!.toFixed(1)} s after up started` : ""}`);
    const timings = Object.fromEntries(CLIENTS.map((n) => [n, cured[n]]));
    info(`timings (s from pulumi up start to first success): ${JSON.stringify(timings)}`);
    const chk2 = await directpathCheck(c, STACK);
    log.check("after up: directpath check reports hairpin absent and exits 0", chk2.code === 0 && chk2.hairpin === "absent", `exit ${chk2.code}, hairpin ${chk2.hairpin}, overlay ${chk2.overlay}${chk2.code === 0 ? "" : `: ${chk2.out.replace(/\s+/g, " ").slice(-400)}`}`);

    // 3. destroy --run-program: the pods go, node2's nat table and the hosts files are as before.
    try {
        const d = await withTimeout("destroy", LIMITS.destroyMs, () => stack.destroy({ runProgram: true }));
        log.check("pulumi destroy --run-program succeeds", d.summary.result === "succeeded", JSON.stringify(d.summary.resourceChanges));
    } catch (e) {
        log.check("pulumi destroy --run-program succeeds", false, (e as Error).message.split("\n").filter((l) => /error/i.test(l)).slice(0, 4).join(" | "));
    }
    const gone = await waitFor(() => dsDocs.every((ds) => podsOf(c, (ds.metadata as { namespace: string }).namespace, `app.kubernetes.io/managed-by=directpath`).length === 0), 120_000, 2000);
    log.check("after destroy: directpath's pods are gone", !!gone);
    // The DaemonSet's SIGTERM handler removes its rules; kube-proxy's chains are the cluster's.
    const natAfter = await waitFor(() => natRules(node2.def.netns) === natBefore, 30_000, 1000);
    log.check("after destroy: node2's nat table is byte for byte as before up", !!natAfter, natAfter ? "identical" : diffLines(natBefore, natRules(node2.def.netns)));
    const hostsAfter = nodes.map((n) => fs.readFileSync(n.hostsFile, "utf8"));
    log.check("after destroy: the nodes' hosts files are byte for byte as before up", JSON.stringify(hostsAfter) === JSON.stringify(hostsBefore));
    const post2 = await clients.probe();
    log.check("after destroy: the hairpin fault is back for node2's namespace", !post2["node2's namespace"].ok, post2["node2's namespace"].detail);
    return 0;
}

function diffLines(a: string, b: string): string {
    const A = new Set(a.split("\n"));
    const B = new Set(b.split("\n"));
    return [...[...A].filter((l) => !B.has(l)).map((l) => `-${l}`), ...[...B].filter((l) => !A.has(l)).map((l) => `+${l}`)].slice(0, 6).join(" | ");
}

main().then((code) => process.exit(code)).catch((e) => {
    console.error(`lab:nodes: ${(e as Error).stack ?? e}`);
    console.log(`\n${log.passed} passed, ${log.failed + 1} failed`);
    process.exit(1);
});


