/**
 * The deploy lab's cluster: etcd, kube-apiserver and kube-controller-manager on loopback, with a
 * fresh data dir and certificates generated for this run (openssl), and the objects a kubespray
 * cluster like the `local` stack's already has before directpath is deployed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { kubeRequest, kubeTargetFromKubeconfig, type KubeTarget } from "../../components/hairpin/kube-api";
import { LabError, waitFor, type Daemon, type Daemons } from "../lib/proc";
import type { LabBinaries } from "./build";
import type { NodeSpec } from "./kubelet";

/** Loopback ports no other lab uses. */
export const PORTS = { etcdClient: 23790, etcdPeer: 23800, apiserver: 16443, controllerManager: 16444, scheduler: 16445 } as const;
export const SERVICE_CIDR = "10.233.0.0/18";

export interface Cluster {
    kubeconfig: string;
    kube: KubeTarget;
    daemons: Daemon[];
    kubectl(args: string[], input?: string, timeoutMs?: number): { code: number; stdout: string; stderr: string };
}

function openssl(args: string[], cwd: string): void {
    const r = spawnSync("openssl", args, { cwd, encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new LabError(`openssl ${args.join(" ")} failed: ${r.stderr}`);
}

/**
 * A CA, the API server's serving certificate (also for `extraIps`: the nodes lab's control-plane
 * address), an admin client certificate and the service-account key pair.
 */
export function makeCertificates(dir: string, extraIps: readonly string[] = []): void {
    fs.mkdirSync(dir, { recursive: true });
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=directpath-deploy-lab-ca"], dir);
    fs.writeFileSync(path.join(dir, "server.ext"), `subjectAltName=IP:127.0.0.1,IP:10.233.0.1,${extraIps.map((ip) => `IP:${ip},`).join("")}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n`);
    fs.writeFileSync(path.join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
    for (const [name, subj, ext] of [["apiserver", "/CN=kube-apiserver", "server.ext"], ["admin", "/O=system:masters/CN=deploy-lab-admin", "client.ext"]] as const) {
        openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subj], dir);
        openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", ext], dir);
    }
    openssl(["genrsa", "-out", "sa.key", "2048"], dir);
    openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

/**
 * One more certificate from the run's CA: `<name>.crt`/`<name>.key`, a client certificate for
 * `subject` (`/O=system:nodes/CN=system:node:node1`), or a serving one when `ips` are given.
 */
export function makeCertificate(dir: string, name: string, subject: string, ips: readonly string[] = []): void {
    if (!/^[a-z0-9-]+$/.test(name)) throw new LabError(`certificate name ${JSON.stringify(name)}: lower-case letters, digits and - only`);
    const ext = `${name}.ext`;
    fs.writeFileSync(path.join(dir, ext), ips.length
        ? `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}\nextendedKeyUsage=serverAuth\n`
        : "extendedKeyUsage=clientAuth\n");
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", ext], dir);
}

/** A kubeconfig for `user` (its `<user>.crt`/`.key` in `certDir`; default the admin) at `server`. */
export function writeKubeconfig(file: string, certDir: string, server = `https://127.0.0.1:${PORTS.apiserver}`, user = "admin"): void {
    const b64 = (f: string) => fs.readFileSync(path.join(certDir, f)).toString("base64");
    fs.writeFileSync(file, [
        "apiVersion: v1",
        "kind: Config",
        "current-context: deploy-lab",
        "clusters:",
        `- name: deploy-lab`,
        `  cluster: {server: "${server}", certificate-authority-data: ${b64("ca.crt")}}`,
        "users:",
        `- name: admin`,
        `  user: {client-certificate-data: ${b64(`${user}.crt`)}, client-key-data: ${b64(`${user}.key`)}}`,
        "contexts:",
        `- name: deploy-lab`,
        `  context: {cluster: deploy-lab, user: admin}`,
        "",
    ].join("\n"), { mode: 0o600 });
}

/**
 * Where the control plane runs for real nodes (the nodes lab): inside network namespace `ns` (the
 * lab's LAN), the API server advertising `address` (the kubernetes Service's endpoint, reconciled
 * by the API server), and kube-scheduler beside the controller manager, with the node lifecycle
 * controller on (real kubelets renew their leases). The lab relays 127.0.0.1:16443 of the machine
 * to it, so the engine and kubectl use the same kubeconfig as without `realNodes`.
 */
export interface RealNodesControlPlane {
    ns: string;
    address: string;
}

/** The binaries the control plane runs (kube-scheduler only with real nodes). */
export type ControlPlaneBinaries = Pick<LabBinaries, "etcd" | "kubeApiserver" | "kubeControllerManager" | "kubectl" | "kubeScheduler">;

/** Starts the daemons and waits until the API server is ready and the default ServiceAccount exists. */
export async function startCluster(work: string, bins: ControlPlaneBinaries, log: (l: string) => void, running: Daemons, realNodes?: RealNodesControlPlane): Promise<Cluster> {
    const certs = path.join(work, "pki");
    const logs = path.join(work, "logs");
    fs.mkdirSync(logs, { recursive: true });
    makeCertificates(certs, realNodes ? [realNodes.address] : []);
    const ns = realNodes?.ns;
    const kubeconfig = path.join(work, "kubeconfig");
    writeKubeconfig(kubeconfig, certs);
    const c = (f: string) => path.join(certs, f);
    const daemons: Daemon[] = [];
    const etcdUrl = `http://127.0.0.1:${PORTS.etcdClient}`;
    daemons.push(running.start("etcd", [
        bins.etcd, "--name", "lab", "--data-dir", path.join(work, "etcd"),
        "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
        "--listen-peer-urls", `http://127.0.0.1:${PORTS.etcdPeer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${PORTS.etcdPeer}`,
        "--initial-cluster", `lab=http://127.0.0.1:${PORTS.etcdPeer}`, "--listen-metrics-urls", "",
    ], { logFile: path.join(logs, "etcd.log"), ns }));
    daemons.push(running.start("kube-apiserver", [
        bins.kubeApiserver,
        "--etcd-servers", etcdUrl,
        "--secure-port", String(PORTS.apiserver),
        ...(realNodes
            ? ["--bind-address", "0.0.0.0", "--advertise-address", realNodes.address,
                // Real kubelets: the API server checks their serving certificates and authenticates to them.
                "--kubelet-certificate-authority", c("ca.crt"), "--kubelet-client-certificate", c("admin.crt"), "--kubelet-client-key", c("admin.key"),
                "--kubelet-preferred-address-types", "InternalIP"]
            // No other apiserver and no kubelet on loopback: don't reconcile the kubernetes Endpoints.
            : ["--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none"]),
        "--tls-cert-file", c("apiserver.crt"), "--tls-private-key-file", c("apiserver.key"), "--client-ca-file", c("ca.crt"),
        "--service-account-key-file", c("sa.pub"), "--service-account-signing-key-file", c("sa.key"), "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range", SERVICE_CIDR,
        "--authorization-mode", "Node,RBAC",
        // kubespray's default; the DaemonSets that need host access ask for it and Pod Security judges them.
        "--allow-privileged=true",
        "--profiling=false",
    ], { logFile: path.join(logs, "kube-apiserver.log"), ns }));
    const kube = kubeTargetFromKubeconfig(fs.readFileSync(kubeconfig, "utf8"), kubeconfig, work);
    const ready = await waitFor(async () => {
        try {
            const r = await kubeRequest(kube, "GET", "/readyz", undefined, undefined, 2000);
            return r.status === 200;
        } catch {
            return false;
        }
    }, 60_000, 250);
    if (!ready) throw new LabError(`kube-apiserver not ready after 60 s; see ${path.join(logs, "kube-apiserver.log")}:\n${daemons[1]!.log().split("\n").slice(-15).join("\n")}`);
    daemons.push(running.start("kube-controller-manager", [
        bins.kubeControllerManager,
        "--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
        "--bind-address", "127.0.0.1", "--secure-port", String(PORTS.controllerManager),
        "--service-account-private-key-file", c("sa.key"), "--root-ca-file", c("ca.crt"),
        "--service-cluster-ip-range", SERVICE_CIDR, "--leader-elect=false",
        // The stand-in kubelet reports the nodes Ready once; with no lease heartbeats the node
        // lifecycle controller would taint them unreachable, so it stays off (documented).
        "--controllers", realNodes ? "*" : "*,-node-lifecycle-controller",
    ], { logFile: path.join(logs, "kube-controller-manager.log"), ns }));
    if (realNodes) {
        daemons.push(running.start("kube-scheduler", [
            bins.kubeScheduler, "--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1", "--secure-port", String(PORTS.scheduler), "--leader-elect=false",
        ], { logFile: path.join(logs, "kube-scheduler.log"), ns }));
    }
    const kubectl = (args: string[], input?: string, timeoutMs = 60_000) => {
        const r = spawnSync(bins.kubectl, ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input, timeout: timeoutMs });
        return { code: r.status ?? 124, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? r.error.message : "") };
    };
    const sa = await waitFor(async () => (await kubeRequest(kube, "GET", "/api/v1/namespaces/default/serviceaccounts/default")).status === 200, 60_000, 500);
    if (!sa) throw new LabError(`the controller manager created no default ServiceAccount in 60 s:\n${daemons[2]!.log().split("\n").slice(-15).join("\n")}`);
    log(`cluster up: etcd ${etcdUrl}, kube-apiserver https://127.0.0.1:${PORTS.apiserver}, controller manager`);
    return { kubeconfig, kube, daemons, kubectl };
}

export interface SeedInput {
    nodes: NodeSpec[];
    corednsCorefile: string;
    nodeLocalCorefile: string;
    /** Namespaces the stack's backends live in (they exist before directpath). */
    namespaces: string[];
    /** Cilium CRD YAML files of the pinned chart. */
    crdFiles: string[];
    /** The CoreDNS Deployment's image (default kubespray's; the nodes lab runs the pinned CoreDNS). */
    corednsImage?: string;
}

/** kubespray's CoreDNS and NodeLocal DNSCache objects (the shape its templates render), as YAML. */
export function kubesprayDnsObjects(input: Pick<SeedInput, "corednsCorefile" | "nodeLocalCorefile" | "corednsImage">): string {
    const indent = (text: string, n: number) => text.split("\n").map((l) => (l ? " ".repeat(n) + l : l)).join("\n");
    return `apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
  labels:
    addonmanager.kubernetes.io/mode: EnsureExists
data:
  Corefile: |
${indent(input.corednsCorefile, 4)}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/name: coredns
    addonmanager.kubernetes.io/mode: Reconcile
spec:
  replicas: 2
  selector:
    matchLabels:
      k8s-app: kube-dns
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 10%}
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: default
      tolerations:
        - key: node-role.kubernetes.io/control-plane
          effect: NoSchedule
      containers:
        - name: coredns
          image: ${input.corednsImage ?? "registry.k8s.io/coredns/coredns:v1.12.0"}
          args: ["-conf", "/etc/coredns/Corefile"]
          ports:
            - {containerPort: 53, name: dns, protocol: UDP}
            - {containerPort: 53, name: dns-tcp, protocol: TCP}
            - {containerPort: 9153, name: metrics, protocol: TCP}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
            readOnlyRootFilesystem: true
          volumeMounts:
            - {name: config-volume, mountPath: /etc/coredns}
      dnsPolicy: Default
      volumes:
        - name: config-volume
          configMap:
            name: coredns
            items:
              - {key: Corefile, path: Corefile}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: nodelocaldns
  namespace: kube-system
  labels:
    addonmanager.kubernetes.io/mode: EnsureExists
data:
  Corefile: |
${indent(input.nodeLocalCorefile, 4)}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: nodelocaldns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    addonmanager.kubernetes.io/mode: Reconcile
spec:
  selector:
    matchLabels:
      k8s-app: nodelocaldns
  template:
    metadata:
      labels:
        k8s-app: nodelocaldns
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: default
      hostNetwork: true
      dnsPolicy: Default
      tolerations:
        - effect: NoSchedule
          operator: Exists
        - effect: NoExecute
          operator: Exists
      containers:
        - name: node-cache
          image: registry.k8s.io/dns/k8s-dns-node-cache:1.25.0
          args: ["-localip", "169.254.25.10", "-conf", "/etc/coredns/Corefile", "-upstreamsvc", "coredns"]
          securityContext:
            privileged: true
          volumeMounts:
            - {name: config-volume, mountPath: /etc/coredns}
            - {name: xtables-lock, mountPath: /run/xtables.lock}
      volumes:
        - name: config-volume
          configMap:
            name: nodelocaldns
            items:
              - {key: Corefile, path: Corefile.base}
        - name: xtables-lock
          hostPath: {path: /run/xtables.lock, type: FileOrCreate}
`;
}

/** Creates what the cluster already has: Nodes, kubespray's DNS objects, Cilium's CRDs, the backend namespaces. */
export async function seedCluster(cluster: Cluster, input: SeedInput, fakeNodesReady: () => Promise<void>): Promise<void> {
    const apply = (what: string, args: string[], yaml?: string) => {
        const r = cluster.kubectl(args, yaml);
        if (r.code !== 0) throw new LabError(`seeding ${what}: kubectl ${args.join(" ")}: ${r.stderr.trim()}`);
    };
    const nodes = input.nodes.map((n) => `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${n.name}\n  labels:\n    kubernetes.io/hostname: ${n.name}\n    kubernetes.io/os: linux\n    kubernetes.io/arch: amd64\n`).join("---\n");
    // Real kubelets (the nodes lab) register their Nodes themselves: none to create then.
    if (input.nodes.length > 0) apply("Nodes", ["create", "-f", "-"], nodes);
    await fakeNodesReady();
    // kubespray applies its addons with `kubectl apply` (client-side): the same field managers here.
    apply("CoreDNS and NodeLocal DNSCache", ["apply", "-f", "-"], kubesprayDnsObjects(input));
    for (const f of input.crdFiles) apply(`CRD ${path.basename(f)}`, ["apply", "--server-side", "-f", f]);
    if (input.crdFiles.length > 0) apply("CRDs established", ["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
    for (const ns of input.namespaces) apply(`namespace ${ns}`, ["create", "namespace", ns]);
}
