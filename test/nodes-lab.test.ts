/**
 * The nodes lab's pure parts (lab/nodes/): image references as containerd's CRI stores them, the
 * OCI documents of an assembled image, the node's containerd/kubelet/kube-proxy/CNI configs, and
 * the binary cache's reuse of a spec's existing binaries when one is added (lab/lib/gobuild.ts).
 * The lab itself (npm run lab:nodes) runs them on real nodes.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { reusable, type GoBuildSpec } from "../lab/lib/gobuild";
import { normalizeRef, ociDocs } from "../lab/nodes/images";
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, PAUSE_IMAGE, type ClusterNet, type NodeDef } from "../lab/nodes/node";

const made: string[] = [];
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("image references", () => {
    it("normalises as Docker does: docker.io, library/ for one-part names, :latest when untagged", () => {
        expect(normalizeRef("busybox:1.37.0")).toBe("docker.io/library/busybox:1.37.0");
        expect(normalizeRef("tailscale/tailscale:v1.102.3")).toBe("docker.io/tailscale/tailscale:v1.102.3");
        expect(normalizeRef("docker.io/rancher/klipper-lb:v0.4.17")).toBe("docker.io/rancher/klipper-lb:v0.4.17");
        expect(normalizeRef("registry.k8s.io/pause:3.10")).toBe("registry.k8s.io/pause:3.10");
        expect(normalizeRef("localhost:5000/x")).toBe("localhost:5000/x:latest");
        expect(normalizeRef("busybox")).toBe("docker.io/library/busybox:latest");
        expect(() => normalizeRef("Bad Ref")).toThrow(/not a valid reference/);
    });
});

describe("OCI documents", () => {
    it("chain by digest: index -> manifest -> config and layer; the index names the image as the CRI looks it up", () => {
        const layer = { digest: sha("layer"), size: 5 };
        const d = ociDocs({ ref: "busybox:1.37.0", entrypoint: ["/bin/sh"] }, layer);
        const index = JSON.parse(d.index);
        const manifest = JSON.parse(d.manifest);
        const config = JSON.parse(d.config);
        expect(index.manifests[0].digest).toBe(`sha256:${sha(d.manifest)}`);
        expect(index.manifests[0].annotations["io.containerd.image.name"]).toBe("docker.io/library/busybox:1.37.0");
        expect(manifest.config.digest).toBe(`sha256:${sha(d.config)}`);
        expect(manifest.layers).toEqual([{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layer.digest}`, size: 5 }]);
        expect(config.rootfs.diff_ids).toEqual([`sha256:${layer.digest}`]);
        expect(config.config.Entrypoint).toEqual(["/bin/sh"]);
        expect(config).toMatchObject({ architecture: "amd64", os: "linux" });
    });
});

describe("node configs", () => {
    const node: NodeDef = { name: "node2", ip: "192.168.10.101", netns: "dpn-node2", podCidr: "10.233.65.0/24", cgroupRoot: "/dpn-node2" };
    const net: ClusterNet = { clusterCidr: "10.233.64.0/18", serviceCidr: "10.233.0.0/18", dnsServiceIp: "10.233.0.3", clusterDomain: "cluster.local", apiserver: "192.168.10.10" };
    it("containerd: state of the node's own, the lab's pause image, restrict_oom_score_adj, cgroupfs", () => {
        const c = containerdConfig("/tmp/n2");
        expect(c).toContain('root = "/tmp/n2/containerd/root"');
        expect(c).toContain('state = "/tmp/n2/containerd/state"');
        expect(c).toContain(`sandbox_image = "${PAUSE_IMAGE}"`);
        expect(c).toMatch(/^\s*restrict_oom_score_adj = true$/m);
        expect(c).toMatch(/^\s*SystemdCgroup = false$/m);
        expect(c).toContain('conf_dir = "/tmp/n2/etc/cni"');
    });
    it("kubelet: the node's cgroup root and IP, cluster DNS, x509 authentication", () => {
        const k = kubeletConfig("/tmp/n2", node, net);
        expect(k).toMatch(/^cgroupRoot: \/dpn-node2$/m);
        expect(k).toMatch(/^address: 192\.168\.10\.101$/m);
        expect(k).toMatch(/^clusterDNS: \[10\.233\.0\.3\]$/m);
        expect(k).toMatch(/^cgroupDriver: cgroupfs$/m);
        expect(k).toContain("anonymous: {enabled: false}");
        expect(kubeProxyConfig("/tmp/n2", net)).toMatch(/^clusterCIDR: 10\.233\.64\.0\/18$/m);
        expect(kubeProxyConfig("/tmp/n2", net)).toContain("maxPerCore: 0");
    });
    it("CNI: a bridge with the node's range, no masquerade of its own", () => {
        const c = JSON.parse(cniConfig(node, 1450));
        expect(c.plugins[0]).toMatchObject({ type: "bridge", ipMasq: false, mtu: 1450, ipam: { type: "host-local", ranges: [[{ subnet: "10.233.65.0/24" }]] } });
    });
});

describe("node.sh", () => {
    it("parses as POSIX sh and binds every machine path it needs over the node's own", async () => {
        const { spawnSync } = await import("node:child_process");
        const script = path.join(__dirname, "..", "lab", "nodes", "node.sh");
        expect(spawnSync("sh", ["-n", script]).status).toBe(0);
        const text = fs.readFileSync(script, "utf8");
        for (const target of ["/run", "/var/lib", "/var/log", "/opt", "/etc/hosts", "/etc/resolv.conf"]) expect(text).toMatch(new RegExp(`mount --bind "\\$dir/[a-z.-]+" ${target.replace(/\//g, "\\/")}$`, "m"));
        expect(text).toContain("mount --make-rprivate /");
        for (const k of ["vm/overcommit_memory=1", "kernel/panic=10", "kernel/panic_on_oops=1"]) expect(text).toContain(k);
    });
});

describe("binary cache reuse", () => {
    it("keeps the binaries an earlier build of the same name@version made with the same packages and flags", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dpn-reuse-test-"));
        made.push(dir);
        const spec: GoBuildSpec = { name: "k", version: "v1", moduleDir: "/m", binaries: { a: "./a", b: "./b" }, ldflags: ["-X x=1"] };
        expect(reusable(spec, dir)).toEqual([]);
        fs.writeFileSync(path.join(dir, "a"), "");
        fs.writeFileSync(path.join(dir, "build.json"), JSON.stringify({ binaries: { a: "./a" }, ldflags: ["-X x=1"] }));
        expect(reusable(spec, dir)).toEqual(["a"]);
        expect(reusable({ ...spec, ldflags: ["-X x=2"] }, dir)).toEqual([]);
        expect(reusable({ ...spec, binaries: { a: "./other", b: "./b" } }, dir)).toEqual([]);
    });
});
