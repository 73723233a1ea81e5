/**
 * The plan's summary sections, derived from the rendered objects and resource inputs: changes to
 * objects and hosts the user owns, privileged workloads, what is open to the internet, images,
 * secrets to supply, computed values and whether the manifests can be applied by hand. The pure
 * functions run on the real rendered stacks (the default program under the same mocks plan uses)
 * and on small synthetic objects for the rules themselves.
 */
import { describe, expect, it } from "vitest";
import { assemblePlan, type AssembledPlan } from "../plan/assemble";
import type { ManifestFile, PlanResource } from "../plan/render";
import { readStackFiles } from "../plan/stack-files";
import {
    applyability, eksEndpointExposure, images, internetExposure, ownedChanges, privilegedWorkloads, requirements, secretsToSupply,
} from "../plan/summary";
import { runDefaultProgram } from "../program/main";
import { capture, resolve, ROOT } from "./harness";

type Obj = Record<string, any>;

type Rendered = Omit<AssembledPlan, "manifests"> & { manifests: Array<Omit<ManifestFile, "object"> & { object: Obj }> };

async function rendered(stack: string): Promise<Rendered> {
    const files = readStackFiles(ROOT, stack);
    const { r, value } = await capture(() => runDefaultProgram(), { project: files.project, stack, preview: true, config: files.config, secretKeys: files.secretKeys });
    const outputs = await resolve<Record<string, unknown>>(value);
    return assemblePlan({ project: files.project, stack, recorded: r.resources, outputs, secretConfigKeys: files.secretKeys, outDir: "OUT" }) as unknown as Rendered;
}

const file = (object: Obj, dir: ManifestFile["dir"] = "manifests", type = `kubernetes:x:${String(object.kind)}`): ManifestFile =>
    ({ file: "000-x.yaml", dir, object, urn: `urn:${object.metadata?.name}`, type, secretPaths: [], computedPaths: [] });
const ds = (name: string, spec: Obj): Obj => ({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name, namespace: "ns" }, spec: { template: { spec } } });
const podOf = (m: ManifestFile): Obj => (m.object as Obj).spec.template.spec;

describe("summary of the local stack (rendered)", async () => {
    const plan = await rendered("local");
    const byKind = (kind: string) => plan.manifests.filter((m) => m.object.kind === kind);

    it("names every patch of an object the user owns, the fields it takes, and how to back it up", () => {
        const patches = plan.manifests.filter((m) => m.dir === "patches");
        expect(patches.length).toBeGreaterThan(0);
        for (const p of patches) {
            const meta = p.object.metadata as Obj;
            const c = plan.summary.ownedChanges.find((x) => x.by === `patches/${p.file}`);
            expect(c, p.file).toBeDefined();
            expect(c!.target).toBe(`${p.object.kind} ${meta.namespace}/${meta.name}`);
            for (const k of Object.keys(p.object.data ?? {})) expect(c!.change).toContain(`data.${k}`);
            expect(c!.backup).toBe(`kubectl get configmap ${meta.name} -n ${meta.namespace} -o yaml > configmap-${meta.name}.backup.yaml`);
        }
        // The stack file's DNS half patches CoreDNS and NodeLocal DNSCache.
        expect(plan.summary.ownedChanges.map((c) => c.target)).toEqual(expect.arrayContaining(["ConfigMap kube-system/coredns", "ConfigMap kube-system/nodelocaldns"]));
    });

    it("names every node path a DaemonSet mounts read-write (the hosts file among them)", () => {
        for (const d of byKind("DaemonSet")) {
            const spec = podOf(d);
            for (const v of (spec.volumes ?? []).filter((x: Obj) => x.hostPath)) {
                const rw = [...spec.containers, ...(spec.initContainers ?? [])].some((c: Obj) => (c.volumeMounts ?? []).some((m: Obj) => m.name === v.name && m.readOnly !== true));
                const listed = plan.summary.ownedChanges.some((c) => c.target === `node path ${v.hostPath.path}` && c.by === `DaemonSet ${d.object.metadata.namespace}/${d.object.metadata.name}`);
                expect(listed, `${d.file} ${v.hostPath.path}`).toBe(rw);
            }
        }
        expect(plan.summary.ownedChanges.map((c) => c.target)).toContain("node path /etc/hosts");
    });

    it("lists each privileged workload with exactly what it is granted", () => {
        const ts = byKind("DaemonSet").find((d) => podOf(d).hostNetwork === true)!;
        const w = plan.summary.privilegedWorkloads.find((x) => x.workload === `DaemonSet ${ts.object.metadata.namespace}/${ts.object.metadata.name}`)!;
        expect(w.grants).toContain("hostNetwork");
        const c = podOf(ts).containers[0];
        expect(w.grants).toContain(`capabilities ${c.securityContext.capabilities.add.join(",")}: ${c.name}`);
        const hostPorts = c.ports.filter((p: Obj) => p.hostPort).map((p: Obj) => `${p.hostPort}/${p.protocol}`).join(",");
        expect(w.grants).toContain(`hostPort ${hostPorts}: ${c.name}`);
        // Every workload with a hostPath is listed.
        for (const d of byKind("DaemonSet").filter((x) => (podOf(x).volumes ?? []).some((v: Obj) => v.hostPath))) {
            expect(plan.summary.privilegedWorkloads.map((x) => x.file)).toContain(`manifests/${d.file}`);
        }
    });

    it("lists every image the rendered workloads pull, once", () => {
        const want = [...new Set(byKind("DaemonSet").flatMap((d) => [...podOf(d).containers, ...(podOf(d).initContainers ?? [])].map((c: Obj) => c.image as string)))].sort();
        expect(plan.summary.images.map((i) => i.image)).toEqual(want);
        expect(plan.summary.helmCharts).toEqual([]);
    });

    it("world-open: the rules the components need on the user's own firewall; applyable by hand; the secret with its kubectl line", () => {
        const fw = plan.required.filter((r) => r.direction === "ingress" && (r.peer === "0.0.0.0/0" || r.peer === "::/0"));
        expect(fw.length).toBeGreaterThan(0);
        for (const r of fw) expect(plan.summary.internetExposure).toContainEqual(expect.objectContaining({ from: r.peer, worldOpen: true, what: `your firewall (output firewallRules): ${r.protocol} ${r.fromPort}` }));
        expect(plan.summary.applyableByHand).toBe(true);
        const secret = byKind("Secret")[0]!;
        expect(secret.dir).toBe("secrets");
        const s = plan.summary.secretsToSupply.find((x) => x.file === `secrets/${secret.file}`)!;
        const keys = Object.keys(secret.object.stringData);
        expect(s.paths).toEqual(keys.map((k) => `stringData.${k}`));
        expect(s.command).toBe(`kubectl create secret generic ${secret.object.metadata.name} --namespace ${secret.object.metadata.namespace} ${keys.map((k) => `--from-literal=${k}="$${k}"`).join(" ")} --dry-run=client -o yaml | kubectl apply -f -`);
        expect(s.pulumiUp).toContain("directpath:tailscaleAuthKey");
        expect(plan.summary.nextSteps[0]).toBe("Next: kubectl apply -f OUT/manifests/ && kubectl apply --server-side --field-manager=directpath --force-conflicts -f OUT/patches/   (or: pulumi up --stack local)");
    });
});

describe("summary of the local-iptables stack (rendered)", async () => {
    const plan = await rendered("local-iptables");
    it("the node-iptables DaemonSet: hostNetwork + NET_ADMIN, so it changes the nodes' network stack", () => {
        const d = plan.manifests.find((m) => m.object.kind === "DaemonSet" && podOf(m).hostNetwork === true)!;
        expect(d).toBeDefined();
        const ref = `DaemonSet ${d.object.metadata.namespace}/${d.object.metadata.name}`;
        expect(plan.summary.ownedChanges).toContainEqual(expect.objectContaining({ target: "node network stack", by: ref }));
        const w = plan.summary.privilegedWorkloads.find((x) => x.workload === ref)!;
        expect(w.grants).toContain("hostNetwork");
        expect(w.grants.some((g) => g.startsWith("capabilities") && g.includes("NET_ADMIN"))).toBe(true);
    });
});

describe.each(["dev", "prod"])("summary of the %s stack (rendered, AWS)", async (stack) => {
    const plan = await rendered(stack);
    it("shows the EKS API endpoint's exposure exactly as the cluster's inputs say", () => {
        const clusters = plan.doc.resources.filter((r) => r.type === "aws:eks/cluster:Cluster");
        expect(clusters.length).toBe(1);
        for (const c of clusters) {
            const vpc = c.inputs.vpcConfig as Obj;
            const e = plan.summary.internetExposure.find((x) => x.what === `EKS API endpoint of cluster ${c.name}`)!;
            expect(e).toBeDefined();
            if (vpc.endpointPublicAccess === false) expect(e.from).toBe("private only");
            else expect(e.from).toBe((vpc.publicAccessCidrs ?? ["0.0.0.0/0"]).join(", "));
            expect(e.worldOpen).toBe(vpc.endpointPublicAccess !== false && (vpc.publicAccessCidrs ?? ["0.0.0.0/0"]).some((x: string) => x === "0.0.0.0/0" || x === "::/0"));
        }
    });

    it("lists every world-open security-group ingress rule, and the internet-facing load balancer", () => {
        const world = plan.sgRows.filter((r) => r.direction === "ingress" && (r.peer === "0.0.0.0/0" || r.peer === "::/0"));
        expect(world.length).toBeGreaterThan(0);
        for (const r of world) expect(plan.summary.internetExposure).toContainEqual(expect.objectContaining({ what: `security group ${r.target}: ${r.protocol} ${r.ports}`, from: r.peer, worldOpen: true }));
        for (const lb of plan.doc.resources.filter((r) => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.inputs.internal !== true)) {
            expect(plan.summary.internetExposure.some((e) => e.what.startsWith(`load balancer ${lb.name} `))).toBe(true);
        }
        // Egress rules are not exposure.
        expect(plan.summary.internetExposure.some((e) => /egress/.test(e.what))).toBe(false);
    });

    it("is not applyable by hand (the stack creates the cluster); names the computed objects and the Helm chart", () => {
        expect(plan.summary.applyableByHand).toBe(false);
        expect(plan.summary.nextSteps).toEqual([`Next: pulumi up --stack ${stack}   (the files in OUT are for review only; see "Applyable by hand" above)`]);
        const computed = plan.manifests.filter((m) => m.computedPaths.length > 0);
        expect(plan.summary.computedObjects.map((c) => c.file).sort()).toEqual(computed.map((m) => `${m.dir}/${m.file}`).sort());
        for (const m of computed.filter((x) => x.dir !== "helm")) expect(m.dir).toBe("computed");
        const release = plan.doc.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release")!;
        expect(plan.summary.helmCharts).toContainEqual(expect.objectContaining({ chart: release.inputs.chart, version: release.inputs.version }));
    });
});

describe("what a stack expects to exist (requires)", () => {
    it("local: the LRP's namespace, backend pods, Cilium feature and CRD, the patched ConfigMaps, the host ports", async () => {
        const plan = await rendered("local");
        const what = plan.summary.requires.map((r) => `${r.kind}: ${r.what}`);
        expect(what).toEqual(expect.arrayContaining([
            "namespace: namespace ingress",
            "pods: pods app=ingress-gateway in namespace ingress, listening on 8443/TCP, on every node with clients (a Local Redirect Policy redirects to the client's own node only)",
            expect.stringMatching(/^cilium: Cilium with localRedirectPolicy: true/),
            "crd: CRD ciliumlocalredirectpolicies.cilium.io (cilium.io/v2 CiliumLocalRedirectPolicy)",
            "object: ConfigMap kube-system/coredns (patched, not created: it must exist)",
            "object: ConfigMap kube-system/nodelocaldns (patched, not created: it must exist)",
            "port: UDP 41641 free on every node it runs on (hostPort; tailscale)",
        ]));
        // What the stack creates itself is not required: its own namespace, kube-system.
        expect(what.filter((w) => /namespace (tailscale|kube-system)$/.test(w))).toEqual([]);
    });

    it("dev installs Cilium itself (its Helm release): no Cilium CRD or feature is required, the ingress pods are", async () => {
        const plan = await rendered("dev");
        const kinds = plan.summary.requires.map((r) => r.kind);
        expect(kinds).not.toContain("crd");
        expect(kinds).not.toContain("cilium");
        expect(plan.summary.requires.map((r) => r.what)).toContain("namespace ingress");
    });

    it("pods the stack runs itself satisfy a Service's selector; a NodePort must stay free", () => {
        const svc = file({ apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "ns" }, spec: { type: "NodePort", selector: { app: "x" }, ports: [{ port: 1, protocol: "UDP", nodePort: 30641 }] } });
        const own = file({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "x", namespace: "ns" }, spec: { template: { metadata: { labels: { app: "x", more: "y" } }, spec: { containers: [] } } } });
        const ns = file({ apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } });
        expect(requirements([ns, svc, own]).map((r) => r.what)).toEqual(["UDP 30641 (NodePort) free on every node, inside the cluster's NodePort range"]);
        expect(requirements([svc]).map((r) => r.what)).toEqual(["namespace ns", "pods app=x in namespace ns, listening on 1/UDP", "UDP 30641 (NodePort) free on every node, inside the cluster's NodePort range"]);
    });
});

describe("summary rules (synthetic objects)", () => {
    it("finds host writes and privileges by what the pod spec says, whatever the names", () => {
        const f = file(ds("anything", {
            hostPID: true,
            volumes: [{ name: "v1", hostPath: { path: "/etc/foo" } }, { name: "v2", hostPath: { path: "/var/log" } }, { name: "cm", configMap: { name: "c" } }],
            initContainers: [{ name: "init", image: "reg/init:1", volumeMounts: [{ name: "v1", mountPath: "/x" }] }],
            containers: [{ name: "main", image: "reg/main:2", securityContext: { privileged: true }, volumeMounts: [{ name: "v2", mountPath: "/y", readOnly: true }] }],
        }));
        expect(ownedChanges([f])).toEqual([{ target: "node path /etc/foo", change: "mounted read-write by init on every node it runs on (DaemonSet)", by: "DaemonSet ns/anything" }]);
        expect(privilegedWorkloads([f])[0]!.grants).toEqual([
            "hostPID",
            "root by the image's default (no runAsUser, no runAsNonRoot): init",
            "privileged: main",
            "root by the image's default (no runAsUser, no runAsNonRoot): main",
            "hostPath /etc/foo (read-write)",
            "hostPath /var/log (read-only)",
        ]);
        // No privilege.directpath.io/* annotation: every grant says it has no reason.
        expect(Object.values(privilegedWorkloads([f])[0]!.reasons)).toEqual(Array(6).fill("(no reason given)"));
        expect(images([f]).images).toEqual([{ image: "reg/init:1", usedBy: ["DaemonSet ns/anything (init)"] }, { image: "reg/main:2", usedBy: ["DaemonSet ns/anything (main)"] }]);
        const plain = file(ds("plain", { securityContext: { runAsNonRoot: true }, containers: [{ name: "c", image: "x:1" }] }));
        expect(ownedChanges([plain])).toEqual([]);
        expect(privilegedWorkloads([plain])).toEqual([]);
    });

    it("EKS endpoint exposure: AWS defaults when unset, a CIDR list, private only", () => {
        const eks = (vpcConfig: Obj): PlanResource => ({ urn: "u", type: "aws:eks/cluster:Cluster", name: "c", parent: null, inputs: { vpcConfig } });
        expect(eksEndpointExposure(eks({}))).toMatchObject({ from: "0.0.0.0/0", worldOpen: true, detail: expect.stringContaining("unset: AWS default 0.0.0.0/0") });
        expect(eksEndpointExposure(eks({ endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] }))).toMatchObject({ from: "203.0.113.0/24", worldOpen: false });
        expect(eksEndpointExposure(eks({ endpointPublicAccess: true, publicAccessCidrs: ["::/0"] }))).toMatchObject({ worldOpen: true });
        expect(eksEndpointExposure(eks({ endpointPublicAccess: false, endpointPrivateAccess: true }))).toMatchObject({ from: "private only", worldOpen: false });
    });

    it("a LoadBalancer Service and externalIPs count as exposure; a ClusterIP Service does not", () => {
        const svc = (name: string, spec: Obj) => file({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "n" }, spec });
        const out = internetExposure([], [], [], [svc("lb", { type: "LoadBalancer", ports: [{ port: 443 }] }), svc("ext", { externalIPs: ["169.233.100.10"], ports: [{ port: 80, protocol: "TCP" }] }), svc("in", { ports: [{ port: 1 }] })]);
        expect(out.map((e) => e.what)).toEqual(["Service n/lb (LoadBalancer)", "Service n/ext (ClusterIP, externalIPs 169.233.100.10)"]);
    });

    it("secrets: a kubectl line per Secret (its type kept, keys quoted), a placeholder note for other kinds", () => {
        const s = { ...file({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/basic-auth", metadata: { name: "s", namespace: "n" }, data: { username: "x", "pass.word": "y" } }), secretPaths: ["data.username", 'data["pass.word"]'] };
        const cm = { ...file({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { k: "x" } }), secretPaths: ["data.k"] };
        const [a, b] = secretsToSupply([s, cm], []);
        expect(a!.command).toBe(`kubectl create secret generic s --namespace n --type=kubernetes.io/basic-auth --from-literal=username="$username" --from-literal=pass.word="$pass_word" --dry-run=client -o yaml | kubectl apply -f -`);
        expect(b!.command).toBeUndefined();
        expect(b!.paths).toEqual(["data.k"]);
    });

    it("applyability: a computed kubeconfig or computed objects make the manifests not applyable by hand", () => {
        const provider = (kubeconfig: unknown): PlanResource => ({ urn: "p", type: "pulumi:providers:kubernetes", name: "k8s", parent: null, inputs: { kubeconfig } });
        expect(applyability([provider("[secret]")], [])).toEqual({ byHand: true, reasons: [] });
        expect(applyability([provider("[computed]")], []).byHand).toBe(false);
        const computed = { ...file({ kind: "X", metadata: { name: "x" } }, "computed"), computedPaths: ["spec.ip"] };
        expect(applyability([], [computed]).reasons).toEqual(["1 object(s) hold values known only after deployment (in computed/)"]);
    });
});
