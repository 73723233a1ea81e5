/**
 * A real node of the nodes lab: containerd (Debian's) with runc, the CNI reference plugins, the
 * kubelet and kube-proxy v1.33.13, in the node's network namespace (the network lab's topology)
 * and a mount and UTS namespace of its own (lab/nodes/node.sh), under a cgroup root of its own in
 * every cgroup v1 hierarchy. The config texts are pure functions (test/nodes-config.test.ts); what
 * this machine needs, found by a probe on it:
 * - `nsenter --net`, not `ip netns exec` (which remounts /sys and hides the cgroup mounts);
 * - the cgroup root existing in every v1 hierarchy, the named `systemd` one included, with the
 *   cpuset's cpus and mems copied from the parent;
 * - `restrict_oom_score_adj = true` (root here lacks CAP_SYS_RESOURCE: a lowered oom_score_adj
 *   fails every sandbox with "can't get final child's PID from pipe: EOF");
 * - runc's state, the shims' sockets, containerd's opt dir, /var/lib/kubelet and the CNI's IPAM
 *   kept inside the node's mount namespace (its /run, /var/lib, /opt are the node's own dirs);
 * - a veth address as the node IP (the kubelet refuses loopback) and a hostname of its own.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { makeCertificate, PORTS, writeKubeconfig } from "../deploy/cluster";
import type { Daemon, Daemons } from "../lib/proc";
import { LabError, ROOT } from "../lib/proc";

export const NODE_SCRIPT = path.join(ROOT, "lab", "nodes", "node.sh");
export const CGROUP_FS = "/sys/fs/cgroup";
/** The pause image every pod sandbox runs (containerd's `sandbox_image`). */
export const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
export const CNI_BIN = "/usr/lib/cni";

export interface NodeDef {
    name: string;
    /** The node's address on the LAN (its veth): the kubelet's --node-ip. */
    ip: string;
    /** The node's network namespace. */
    netns: string;
    /** This node's pod range (host-local IPAM on the bridge). */
    podCidr: string;
    /** The cgroup root of this node in every hierarchy (`/dpn-node1`). */
    cgroupRoot: string;
}

export interface ClusterNet {
    clusterCidr: string;
    serviceCidr: string;
    dnsServiceIp: string;
    clusterDomain: string;
    /** The API server's address on the LAN. */
    apiserver: string;
}

export function containerdConfig(dir: string): string {
    return `# The nodes lab's containerd (lab/nodes/node.ts): state of its own, CRI with the lab's pause image.
version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "/run/containerd/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "/opt/containerd"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # Root here lacks CAP_SYS_RESOURCE: never ask runc to lower a process's oom_score_adj.
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${dir}/etc/cni"
`;
}

/** The CNI network: a bridge with this node's range; the route to the other node's range is the VXLAN device's. */
export function cniConfig(node: NodeDef, mtu: number): string {
    return JSON.stringify({
        cniVersion: "1.0.0",
        name: "dpn-pods",
        plugins: [
            {
                type: "bridge", bridge: "cni0", isGateway: true, ipMasq: false, hairpinMode: true, mtu,
                ipam: { type: "host-local", ranges: [[{ subnet: node.podCidr }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: "/var/lib/cni/networks" },
            },
            { type: "portmap", capabilities: { portMappings: true } },
        ],
    }, null, 2) + "\n";
}

export function kubeletConfig(dir: string, node: NodeDef, net: ClusterNet): string {
    return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${node.ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${dir}/etc/pki/kubelet.crt
tlsPrivateKeyFile: ${dir}/etc/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ${dir}/etc/pki/ca.crt}
authorization:
  mode: AlwaysAllow
cgroupDriver: cgroupfs
cgroupRoot: ${node.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS: [${net.dnsServiceIp}]
clusterDomain: ${net.clusterDomain}
resolvConf: /etc/resolv.conf
failSwapOn: false
podLogsDir: /var/log/pods
volumePluginDir: /var/lib/kubelet/volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "1Mi", nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
serializeImagePulls: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
shutdownGracePeriod: 0s
# Root here lacks CAP_SYS_RESOURCE: the default -999 can't be set (and would only be logged).
oomScoreAdj: 0
`;
}

export function kubeProxyConfig(dir: string, net: ClusterNet): string {
    return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${dir}/etc/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: ${net.clusterCidr}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# The machine's conntrack table is not the lab's: leave its size and timeouts alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
oomScoreAdj: 0
`;
}

/** The v1 hierarchies (every mount under /sys/fs/cgroup but the v2 `unified` one). */
export function v1Hierarchies(): string[] {
    return fs.readdirSync(CGROUP_FS).filter((h) => h !== "unified" && fs.existsSync(path.join(CGROUP_FS, h, "cgroup.procs"))).sort();
}

/** Creates the node's cgroup root in every v1 hierarchy (cpuset: cpus and mems from the parent). */
export function makeCgroupRoot(root: string): string[] {
    const made: string[] = [];
    for (const h of v1Hierarchies()) {
        const p = path.join(CGROUP_FS, h, root);
        fs.mkdirSync(p, { recursive: true });
        made.push(p);
        if (h === "cpuset") {
            for (const f of ["cpuset.cpus", "cpuset.mems"]) fs.writeFileSync(path.join(p, f), fs.readFileSync(path.join(CGROUP_FS, h, f), "utf8").trim() || "0");
        }
    }
    return made;
}

/** Every cgroup directory under `root` in every hierarchy (v2 included: runc may make them there), deepest first. */
export function cgroupTree(root: string): string[] {
    const out: string[] = [];
    const walk = (p: string) => {
        for (const e of fs.readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(p, e.name));
        out.push(p);
    };
    for (const h of fs.readdirSync(CGROUP_FS)) {
        const p = path.join(CGROUP_FS, h, root);
        if (fs.existsSync(p)) walk(p);
    }
    return out;
}

/** Kills every process in the node's cgroups (pods' containers live in other namespaces) and removes the cgroups. Returns what is left. */
export function removeCgroupRoot(root: string): string[] {
    for (let round = 0; round < 20; round++) {
        const dirs = cgroupTree(root);
        if (dirs.length === 0) return [];
        for (const d of dirs) {
            let pids: string[] = [];
            try {
                pids = fs.readFileSync(path.join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
            } catch {
                /* gone */
            }
            for (const pid of pids) {
                try {
                    process.kill(Number(pid), "SIGKILL");
                } catch {
                    /* gone */
                }
            }
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
        for (const d of cgroupTree(root)) {
            try {
                fs.rmdirSync(d);
            } catch {
                /* busy: next round */
            }
        }
    }
    return cgroupTree(root);
}

export interface NodeBinaries {
    kubelet: string;
    kubeProxy: string;
}

export interface RunningNode {
    def: NodeDef;
    dir: string;
    daemon: Daemon;
    /** containerd's socket, from the machine's side (the node's /run is `<dir>/run`). */
    socket: string;
    hostsFile: string;
    log(name: "containerd" | "kubelet" | "kube-proxy"): string;
}

/**
 * Prepares `<work>/<node>` (configs, certificates from the cluster's CA, the node's own hosts and
 * resolv.conf files) and starts node.sh in the node's namespaces.
 */
export function startNode(work: string, certDir: string, node: NodeDef, net: ClusterNet, bins: NodeBinaries, daemons: Daemons, hosts: string): RunningNode {
    const dir = path.join(work, node.name);
    for (const d of ["etc/cni", "etc/pki", "run", "var-lib", "var-log", "opt", "log", "bin", "containerd", "tmp"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const pki = path.join(dir, "etc", "pki");
    for (const f of ["ca.crt", "ca.key"]) fs.copyFileSync(path.join(certDir, f), path.join(pki, f));
    makeCertificate(pki, "kubelet", `/CN=${node.name}`, [node.ip]);
    makeCertificate(pki, "node", `/O=system:nodes/CN=system:node:${node.name}`);
    makeCertificate(pki, "kube-proxy", "/CN=system:kube-proxy");
    fs.rmSync(path.join(pki, "ca.key"));
    const server = `https://${net.apiserver}:${PORTS.apiserver}`;
    writeKubeconfig(path.join(dir, "etc", "kubelet.kubeconfig"), pki, server, "node");
    writeKubeconfig(path.join(dir, "etc", "kube-proxy.kubeconfig"), pki, server, "kube-proxy");
    fs.writeFileSync(path.join(dir, "etc", "containerd.toml"), containerdConfig(dir));
    fs.writeFileSync(path.join(dir, "etc", "cni", "10-dpn-pods.conflist"), cniConfig(node, 1450));
    fs.writeFileSync(path.join(dir, "etc", "kubelet.yaml"), kubeletConfig(dir, node, net));
    fs.writeFileSync(path.join(dir, "etc", "kube-proxy.yaml"), kubeProxyConfig(dir, net));
    fs.writeFileSync(path.join(dir, "etc", "node-ip"), node.ip);
    fs.writeFileSync(path.join(dir, "hosts"), hosts);
    // The node's resolver: no DNS server on the lab's LAN answers the machine's names.
    fs.writeFileSync(path.join(dir, "resolv.conf"), "nameserver 127.0.0.1\n");
    fs.symlinkSync(bins.kubelet, path.join(dir, "bin", "kubelet"));
    fs.symlinkSync(bins.kubeProxy, path.join(dir, "bin", "kube-proxy"));
    makeCgroupRoot(node.cgroupRoot);
    const argv = ["nsenter", `--net=/run/netns/${node.netns}`, "unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", NODE_SCRIPT, dir, node.name];
    const daemon = daemons.start(`node ${node.name}`, argv, { logFile: path.join(dir, "log", "node.log") });
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return {
        def: node, dir, daemon,
        socket: path.join(dir, "run", "containerd", "containerd.sock"),
        hostsFile: path.join(dir, "hosts"),
        log: (name) => read(path.join(dir, "log", `${name}.log`)),
    };
}

/** argv that runs `argv` inside a running node's network, mount and UTS namespaces (its hosts file, its /run). */
export function inNode(node: RunningNode, argv: readonly string[]): string[] {
    const pid = node.daemon.child.pid;
    if (!pid) throw new LabError(`node ${node.def.name} is not running`);
    return ["nsenter", `--net=/run/netns/${node.def.netns}`, `--mount=/proc/${pid}/ns/mnt`, `--uts=/proc/${pid}/ns/uts`, "--", ...argv];
}
