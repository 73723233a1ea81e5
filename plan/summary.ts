/**
 * What a plan touches that the user must know before applying it, derived from the rendered
 * objects and resource inputs (never from names): changes to objects and hosts the user already
 * owns, privileged workloads, what is open to the internet, the images to mirror, the secret
 * values to supply, the values known only after deployment, and whether the manifests can be
 * applied by hand at all. Pure functions over data; `formatSummary` turns them into text.
 */
import type { FirewallRule } from "../components/common/firewall";
import { PRIVILEGE_ANNOTATION_PREFIX } from "../components/common/privileges";
import { COMPUTED } from "./runtime";
import { objectRef, type FirewallRow, type ManifestFile, type PlanResource } from "./render";

// ---- pod specs ----

const WORKLOAD_KINDS = new Set(["Pod", "DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job", "CronJob"]);

type Obj = Record<string, any>;

/** The pod spec of a workload object, or undefined for anything else. */
export function podSpecOf(object: Obj): Obj | undefined {
    if (!WORKLOAD_KINDS.has(String(object.kind))) return undefined;
    if (object.kind === "Pod") return object.spec;
    if (object.kind === "CronJob") return object.spec?.jobTemplate?.spec?.template?.spec;
    return object.spec?.template?.spec;
}

function containersOf(spec: Obj): Obj[] {
    return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Where the workload runs: "every node" for a DaemonSet, else "the nodes it is scheduled on". */
function whereItRuns(object: Obj): string {
    return object.kind === "DaemonSet" ? "every node it runs on (DaemonSet)" : "the node(s) it is scheduled on";
}

export interface HostPathUse {
    path: string;
    type?: string;
    /** Containers that mount it read-write. */
    writers: string[];
    /** Containers that mount it read-only. */
    readers: string[];
}

export function hostPathUses(spec: Obj): HostPathUse[] {
    const uses: HostPathUse[] = [];
    for (const v of spec.volumes ?? []) {
        if (!v?.hostPath) continue;
        const use: HostPathUse = { path: String(v.hostPath.path), ...(v.hostPath.type ? { type: String(v.hostPath.type) } : {}), writers: [], readers: [] };
        for (const c of containersOf(spec)) {
            for (const m of c.volumeMounts ?? []) {
                if (m.name !== v.name) continue;
                (m.readOnly === true ? use.readers : use.writers).push(String(c.name));
            }
        }
        uses.push(use);
    }
    return uses;
}

// ---- 1. changes to objects and hosts you already own ----

export interface OwnedChange {
    /** The object or host path: `ConfigMap kube-system/coredns`, `node file /etc/hosts`. */
    target: string;
    /** What plan's objects do to it. */
    change: string;
    /** Which rendered object does it. */
    by: string;
    /** How to keep a copy to restore it by hand, when there is one. */
    backup?: string;
}

const PATCH_META_KEYS = new Set(["apiVersion", "kind", "metadata"]);

function leafPaths(value: unknown, prefix: string, depth: number): string[] {
    if (depth === 0 || !value || typeof value !== "object" || Array.isArray(value)) return [prefix];
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k, depth - 1));
}

export function ownedChanges(files: readonly ManifestFile[]): OwnedChange[] {
    const out: OwnedChange[] = [];
    for (const f of files) {
        const o = f.object as Obj;
        if (f.type.endsWith("Patch")) {
            const fields = Object.keys(o).filter((k) => !PATCH_META_KEYS.has(k)).flatMap((k) => leafPaths(o[k], k, 2));
            const meta = o.metadata ?? {};
            const forced = meta.annotations?.["pulumi.com/patchForce"] === "true";
            out.push({
                target: objectRef(o),
                change: `server-side-apply patch${forced ? " (forced: takes the fields over from their current owner)" : ""} of ${fields.join(", ") || "metadata"}`,
                by: `${f.dir}/${f.file}`,
                backup: `kubectl get ${String(o.kind).toLowerCase()} ${meta.name}${meta.namespace ? ` -n ${meta.namespace}` : ""} -o yaml > ${String(o.kind).toLowerCase()}-${meta.name}.backup.yaml`,
            });
            continue;
        }
        const spec = podSpecOf(o);
        if (!spec) continue;
        for (const use of hostPathUses(spec)) {
            if (use.writers.length === 0) continue;
            out.push({ target: `node path ${use.path}`, change: `mounted read-write by ${use.writers.join(", ")} on ${whereItRuns(o)}`, by: objectRef(o) });
        }
        const netAdmin = containersOf(spec).filter((c) => c.securityContext?.privileged === true || (c.securityContext?.capabilities?.add ?? []).includes("NET_ADMIN"));
        if (spec.hostNetwork === true && netAdmin.length > 0) {
            out.push({ target: "node network stack", change: `hostNetwork with NET_ADMIN/privileged (${netAdmin.map((c) => c.name).join(", ")}): may change iptables rules, routes and interfaces of ${whereItRuns(o)}`, by: objectRef(o) });
        }
    }
    return out;
}

// ---- 2. privileged workloads ----

export interface PrivilegedWorkload {
    workload: string;
    file: string;
    /** e.g. "hostNetwork", "privileged: tailscale", "capabilities NET_ADMIN: tailscale", "hostPath /etc/hosts (rw)", "root (image default): app". */
    grants: string[];
    /** Why, per grant (the same strings as keys), from the pod template's `privilege.directpath.io/*` annotations; "(no reason given)" where it has none. */
    reasons: Record<string, string>;
}

export const NO_REASON = "(no reason given)";

/**
 * Whether a container runs as root, and how: "runAsUser 0" when it says so (its own context or the
 * pod's), "image default" when nothing sets a user or runAsNonRoot (the image's USER decides, root
 * for most), undefined when it runs as another user or runAsNonRoot makes the kubelet refuse root.
 */
export function rootOf(pod: Obj, c: Obj): "runAsUser 0" | "image default" | undefined {
    const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
    if (uid === 0) return "runAsUser 0";
    if (uid !== undefined) return undefined;
    const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
    return nonRoot === true ? undefined : "image default";
}

export function privilegedWorkloads(files: readonly ManifestFile[]): PrivilegedWorkload[] {
    const out: PrivilegedWorkload[] = [];
    for (const f of files) {
        const o = f.object as Obj;
        const spec = podSpecOf(o);
        if (!spec) continue;
        const notes: Record<string, string> = (o.kind === "Pod" ? o.metadata?.annotations : o.kind === "CronJob" ? o.spec?.jobTemplate?.spec?.template?.metadata?.annotations : o.spec?.template?.metadata?.annotations) ?? {};
        const why = (...keys: string[]) => {
            const found = keys.map((k) => notes[`${PRIVILEGE_ANNOTATION_PREFIX}${k}`]).filter((x): x is string => typeof x === "string");
            return found.length ? found.join("; ") : NO_REASON;
        };
        const grants: string[] = [];
        const reasons: Record<string, string> = {};
        const grant = (g: string, reason: string) => {
            grants.push(g);
            reasons[g] = reason;
        };
        for (const k of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[k] === true) grant(k, why(k));
        for (const c of containersOf(spec)) {
            const sc = c.securityContext ?? {};
            if (sc.privileged === true) grant(`privileged: ${c.name}`, why(`privileged.${c.name}`));
            if (sc.allowPrivilegeEscalation === true) grant(`allowPrivilegeEscalation: ${c.name}`, why(`privileged.${c.name}`));
            const root = rootOf(spec, c);
            if (root === "runAsUser 0") grant(`runAsUser 0 (root): ${c.name}`, why(`root.${c.name}`));
            if (root === "image default") grant(`root by the image's default (no runAsUser, no runAsNonRoot): ${c.name}`, why(`root.${c.name}`));
            const add: string[] = sc.capabilities?.add ?? [];
            if (add.length) grant(`capabilities ${add.join(",")}: ${c.name}`, why(...add.map((cap) => `cap.${cap}`)));
            const hostPorts = (c.ports ?? []).filter((p: Obj) => p.hostPort !== undefined).map((p: Obj) => `${p.hostPort}/${p.protocol ?? "TCP"}`);
            if (hostPorts.length) grant(`hostPort ${hostPorts.join(",")}: ${c.name}`, why("hostPort"));
        }
        for (const use of hostPathUses(spec)) {
            const volume = (spec.volumes ?? []).find((v: Obj) => v?.hostPath && String(v.hostPath.path) === use.path)?.name;
            grant(`hostPath ${use.path} (${use.writers.length ? "read-write" : use.readers.length ? "read-only" : "not mounted"})`, why(`hostPath.${String(volume)}`));
        }
        if (grants.length) out.push({ workload: objectRef(o), file: `${f.dir}/${f.file}`, grants, reasons });
    }
    return out;
}

// ---- 3. open to the internet ----

export interface Exposure {
    /** What is reachable: a security-group rule, a firewall rule to open, an API endpoint, a load balancer. */
    what: string;
    /** Who can reach it: "0.0.0.0/0", "::/0", a CIDR list, or "private only". */
    from: string;
    /** Whether anyone on the internet can reach it. */
    worldOpen: boolean;
    detail: string;
}

const WORLD = new Set(["0.0.0.0/0", "::/0"]);

/** EKS defaults when a field is unset (AWS API): public endpoint on, from 0.0.0.0/0; private off. */
export function eksEndpointExposure(r: PlanResource): Exposure {
    const vpc = (r.inputs.vpcConfig ?? {}) as Obj;
    const isPublic = vpc.endpointPublicAccess !== false;
    const isPrivate = vpc.endpointPrivateAccess === true;
    const cidrs: string[] = Array.isArray(vpc.publicAccessCidrs) ? vpc.publicAccessCidrs.map(String) : ["0.0.0.0/0"];
    const defaulted = !Array.isArray(vpc.publicAccessCidrs);
    const what = `EKS API endpoint of cluster ${r.name}`;
    if (!isPublic) return { what, from: "private only", worldOpen: false, detail: "endpointPublicAccess: false (reachable only from inside the VPC)" };
    return {
        what,
        from: cidrs.join(", "),
        worldOpen: cidrs.some((c) => WORLD.has(c) || c === COMPUTED),
        detail: `public endpoint (endpointPublicAccess${vpc.endpointPublicAccess === undefined ? " unset: AWS default true" : ": true"}), publicAccessCidrs ${defaulted ? "unset: AWS default 0.0.0.0/0" : JSON.stringify(cidrs)}; private endpoint ${isPrivate ? "on" : "off"}`,
    };
}

export function internetExposure(resources: readonly PlanResource[], sgRows: readonly FirewallRow[], required: readonly FirewallRule[], files: readonly ManifestFile[]): Exposure[] {
    const out: Exposure[] = [];
    for (const row of sgRows) {
        if (row.direction !== "ingress" || !WORLD.has(row.peer)) continue;
        out.push({ what: `security group ${row.target}: ${row.protocol} ${row.ports}`, from: row.peer, worldOpen: true, detail: row.description });
    }
    if (sgRows.length === 0) {
        for (const rule of required) {
            if (rule.direction !== "ingress" || !WORLD.has(rule.peer)) continue;
            const ports = rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`;
            out.push({ what: `your firewall (output firewallRules): ${rule.protocol} ${ports}`, from: rule.peer, worldOpen: true, detail: `${rule.description}; this stack opens nothing itself` });
        }
    }
    for (const r of resources) {
        if (r.type === "aws:eks/cluster:Cluster") out.push(eksEndpointExposure(r));
        if (r.type === "aws:lb/loadBalancer:LoadBalancer" && r.inputs.internal !== true) {
            const listeners = resources.filter((l) => l.type === "aws:lb/listener:Listener" && l.parent === r.parent).map((l) => `${String(l.inputs.protocol ?? "?").toLowerCase()} ${String(l.inputs.port ?? "?")}`);
            out.push({
                what: `load balancer ${r.name} (${String(r.inputs.loadBalancerType ?? "application")}, internet-facing)`,
                from: "its security groups' ingress rules",
                worldOpen: true,
                detail: `listeners: ${listeners.join(", ") || "none in this plan"}; internal: ${r.inputs.internal === undefined ? "unset (AWS default false)" : String(r.inputs.internal)}`,
            });
        }
    }
    for (const f of files) {
        const o = f.object as Obj;
        if (o.kind !== "Service") continue;
        const type = String(o.spec?.type ?? "ClusterIP");
        const ext: string[] = o.spec?.externalIPs ?? [];
        if (type === "LoadBalancer" || type === "NodePort" || ext.length) {
            const ports = (o.spec?.ports ?? []).map((p: Obj) => `${String(p.protocol ?? "TCP").toLowerCase()} ${p.port}${p.nodePort ? ` (node ${p.nodePort})` : ""}`).join(", ");
            out.push({ what: `${objectRef(o)} (${type}${ext.length ? `, externalIPs ${ext.join(", ")}` : ""})`, from: (o.spec?.loadBalancerSourceRanges ?? ["anyone who reaches the nodes / addresses"]).join(", "), worldOpen: !(o.spec?.loadBalancerSourceRanges?.length), detail: `ports: ${ports}` });
        }
    }
    return out;
}

// ---- 4. images ----

export interface ImageUse {
    image: string;
    /** Workloads (and containers) that pull it. */
    usedBy: string[];
}

export interface ChartUse {
    chart: string;
    version: string;
    repo: string;
    file: string;
}

export function images(files: readonly ManifestFile[]): { images: ImageUse[]; charts: ChartUse[] } {
    const byImage = new Map<string, string[]>();
    const charts: ChartUse[] = [];
    for (const f of files) {
        const o = f.object as Obj;
        if (f.dir === "helm") {
            charts.push({ chart: String(o.chart ?? "?"), version: String(o.version ?? "?"), repo: String(o.repositoryOpts?.repo ?? "?"), file: `${f.dir}/${f.file}` });
            continue;
        }
        const spec = podSpecOf(o);
        if (!spec) continue;
        for (const c of containersOf(spec)) {
            if (typeof c.image !== "string") continue;
            const list = byImage.get(c.image) ?? [];
            list.push(`${objectRef(o)} (${c.name})`);
            byImage.set(c.image, list);
        }
    }
    return { images: [...byImage.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([image, usedBy]) => ({ image, usedBy })), charts };
}

// ---- what the stack expects to exist ----

export interface Requirement {
    /** namespace | pods | cilium | crd | object | port */
    kind: "namespace" | "pods" | "cilium" | "crd" | "object" | "port";
    /** What must exist or stay free: `namespace ingress`, `pods app=ingress-gateway in ingress, port 8443/TCP`, `UDP 41641 on every node`. */
    what: string;
    /** Which rendered objects need it. */
    by: string[];
}

/** Namespaces every cluster has. */
const BUILTIN_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

function plural(kind: string): string {
    const k = kind.toLowerCase();
    return k.endsWith("y") ? `${k.slice(0, -1)}ies` : k.endsWith("s") ? `${k}es` : `${k}s`;
}

const selectorText = (m: Record<string, string>) => Object.entries(m).map(([k, v]) => `${k}=${v}`).join(",");

/**
 * What the stack needs from the cluster but doesn't create, derived from the rendered objects:
 * namespaces objects live in that no Namespace of the plan creates (beyond the built-in ones); the
 * backend pods (namespace, labels, ports) a Local Redirect Policy or a Service selects that no
 * workload of the plan runs; the Cilium features its Cilium objects need; the CRDs of its custom
 * resources; the objects its patches change; and the ports the nodes must leave free (host ports,
 * host-network container ports, NodePorts).
 */
export function requirements(files: readonly ManifestFile[]): Requirement[] {
    const owned = files.filter((f) => f.dir !== "helm" && f.dir !== "patches");
    // A stack that installs Cilium itself (its Helm release) brings the Cilium CRDs and features.
    const installsCilium = files.some((f) => f.dir === "helm" && String((f.object as Obj).chart ?? "").includes("cilium"));
    const out = new Map<string, Requirement>();
    const need = (kind: Requirement["kind"], what: string, by: string) => {
        const key = `${kind}\u0000${what}`;
        const r = out.get(key) ?? { kind, what, by: [] };
        if (!r.by.includes(by)) r.by.push(by);
        out.set(key, r);
    };
    const created = new Set(owned.filter((f) => (f.object as Obj).kind === "Namespace").map((f) => String((f.object as Obj).metadata?.name)));
    const crds = new Set(owned.filter((f) => (f.object as Obj).kind === "CustomResourceDefinition").map((f) => String((f.object as Obj).metadata?.name)));
    const podLabels = owned.map((f) => {
        const o = f.object as Obj;
        return podSpecOf(o) ? { ns: o.metadata?.namespace as string | undefined, labels: (o.spec?.template?.metadata?.labels ?? {}) as Record<string, string> } : undefined;
    }).filter((x): x is { ns: string | undefined; labels: Record<string, string> } => x !== undefined);
    const runsHere = (ns: string, selector: Record<string, string>) => podLabels.some((p) => p.ns === ns && Object.entries(selector).every(([k, v]) => p.labels[k] === v));
    for (const f of owned) {
        const o = f.object as Obj;
        const ref = objectRef(o);
        const ns = o.metadata?.namespace as string | undefined;
        if (ns && !created.has(ns) && !BUILTIN_NAMESPACES.has(ns)) need("namespace", `namespace ${ns}`, ref);
        const apiVersion = String(o.apiVersion ?? "");
        const group = apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
        if (group.includes(".") && !group.endsWith(".k8s.io") && !(installsCilium && group === "cilium.io")) {
            const crd = `${plural(String(o.kind))}.${group}`;
            if (!crds.has(crd)) need("crd", `CRD ${crd} (${apiVersion} ${String(o.kind)})`, ref);
        }
        if (o.kind === "CiliumLocalRedirectPolicy") {
            if (!installsCilium) need("cilium", "Cilium with localRedirectPolicy: true, and socket LB (kube-proxy replacement) for host-network clients and the kubelet (the ciliumValues output)", ref);
            const sel = (o.spec?.redirectBackend?.localEndpointSelector?.matchLabels ?? {}) as Record<string, string>;
            const ports = ((o.spec?.redirectBackend?.toPorts ?? []) as Obj[]).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(", ");
            if (ns && !runsHere(ns, sel)) need("pods", `pods ${selectorText(sel)} in namespace ${ns}, listening on ${ports || "the backend ports"}, on every node with clients (a Local Redirect Policy redirects to the client's own node only)`, ref);
        }
        if (o.kind === "Service" && o.spec?.selector && ns && !runsHere(ns, o.spec.selector)) {
            const ports = ((o.spec?.ports ?? []) as Obj[]).map((p) => `${p.targetPort ?? p.port}/${p.protocol ?? "TCP"}`).join(", ");
            need("pods", `pods ${selectorText(o.spec.selector)} in namespace ${ns}, listening on ${ports}`, ref);
        }
        if (o.kind === "Service") {
            for (const p of (o.spec?.ports ?? []) as Obj[]) if (p.nodePort) need("port", `${String(p.protocol ?? "TCP")} ${p.nodePort} (NodePort) free on every node, inside the cluster's NodePort range`, ref);
        }
        const spec = podSpecOf(o);
        if (spec) {
            for (const c of containersOf(spec)) {
                for (const p of (c.ports ?? []) as Obj[]) {
                    const port = p.hostPort ?? (spec.hostNetwork === true ? p.containerPort : undefined);
                    if (port) need("port", `${String(p.protocol ?? "TCP")} ${port} free on ${whereItRuns(o).replace(" (DaemonSet)", "")} (${p.hostPort ? "hostPort" : "host network"}; ${c.name})`, ref);
                }
            }
        }
    }
    for (const f of files.filter((x) => x.dir === "patches")) need("object", `${objectRef(f.object)} (patched, not created: it must exist)`, `${f.dir}/${f.file}`);
    const order: Requirement["kind"][] = ["namespace", "pods", "cilium", "crd", "object", "port"];
    return [...out.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.what.localeCompare(b.what));
}

// ---- secrets, computed values, applyability ----

export interface SecretToSupply {
    object: string;
    file: string;
    /** Field paths holding the placeholder. */
    paths: string[];
    /** A command that sets the real value by hand, when the object is a Secret. */
    command?: string;
    /** How `pulumi up` fills it. */
    pulumiUp: string;
}

/** The keys of a Secret's `data`/`stringData` that hold placeholders. */
function secretKeys(paths: readonly string[]): string[] {
    const keys: string[] = [];
    for (const p of paths) {
        const m = /^(?:stringData|data)(?:\.([A-Za-z_$][\w$-]*)|\["((?:[^"\\]|\\.)*)"\])$/.exec(p);
        if (m) keys.push(m[1] ?? (JSON.parse(`"${m[2]}"`) as string));
    }
    return keys;
}

const shellQuote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

export function secretsToSupply(files: readonly ManifestFile[], secretConfigKeys: readonly string[]): SecretToSupply[] {
    const pulumiUp = secretConfigKeys.length
        ? `pulumi up fills it from the stack's secret config (${secretConfigKeys.join(", ")}; set with pulumi config set --secret)`
        : "pulumi up fills it from the stack's secret config";
    return files.filter((f) => f.secretPaths.length > 0).map((f) => {
        const o = f.object as Obj;
        const keys = o.kind === "Secret" ? secretKeys(f.secretPaths) : [];
        const meta = o.metadata ?? {};
        const type = typeof o.type === "string" && o.type !== "Opaque" ? ` --type=${shellQuote(o.type)}` : "";
        const command = keys.length === f.secretPaths.length && keys.length > 0
            ? `kubectl create secret generic ${shellQuote(String(meta.name))}${meta.namespace ? ` --namespace ${shellQuote(String(meta.namespace))}` : ""}${type} ` +
              keys.map((k) => `--from-literal=${shellQuote(`${k}=`)}"$${k.replace(/[^A-Za-z0-9_]/g, "_")}"`).join(" ") +
              " --dry-run=client -o yaml | kubectl apply -f -"
            : undefined;
        return { object: objectRef(o), file: `${f.dir}/${f.file}`, paths: f.secretPaths, ...(command ? { command } : {}), pulumiUp };
    });
}

export interface ComputedObject {
    object: string;
    file: string;
    paths: string[];
}

export function computedObjects(files: readonly ManifestFile[]): ComputedObject[] {
    return files.filter((f) => f.computedPaths.length > 0).map((f) => ({
        object: f.dir === "helm" ? `Helm release ${String((f.object as Obj).name ?? f.file)}` : objectRef(f.object),
        file: `${f.dir}/${f.file}`,
        paths: f.computedPaths,
    }));
}

export interface Applyability {
    /** Whether `kubectl apply` of manifests/ and patches/ on an existing cluster does what `pulumi up` would. */
    byHand: boolean;
    /** Why not (empty when byHand). */
    reasons: string[];
}

export function applyability(resources: readonly PlanResource[], files: readonly ManifestFile[]): Applyability {
    const reasons: string[] = [];
    const clusterMade = resources.filter((r) => r.type === "pulumi:providers:kubernetes" && r.inputs.kubeconfig === COMPUTED);
    if (clusterMade.length) reasons.push(`the Kubernetes provider ${clusterMade.map((r) => r.name).join(", ")} connects to a cluster this stack creates (its kubeconfig is known only after deployment)`);
    const computed = files.filter((f) => f.computedPaths.length > 0 && f.dir !== "helm");
    if (computed.length) reasons.push(`${computed.length} object(s) hold values known only after deployment (in computed/)`);
    const helm = files.filter((f) => f.dir === "helm");
    if (helm.length) reasons.push(`${helm.length} Helm release(s) (helm/) are installed by pulumi up`);
    return { byHand: reasons.length === 0, reasons };
}

// ---- all of it ----

export interface PlanSummary {
    applyableByHand: boolean;
    notApplyableReasons: string[];
    ownedChanges: OwnedChange[];
    privilegedWorkloads: PrivilegedWorkload[];
    /** What the stack expects the cluster to have, and doesn't create. */
    requires: Requirement[];
    internetExposure: Exposure[];
    images: ImageUse[];
    helmCharts: ChartUse[];
    secretsToSupply: SecretToSupply[];
    computedObjects: ComputedObject[];
    nextSteps: string[];
}

export function nextSteps(stack: string, outDir: string, files: readonly ManifestFile[], a: Applyability, secrets: readonly SecretToSupply[]): string[] {
    if (!a.byHand) return [`Next: pulumi up --stack ${stack}   (the files in ${outDir} are for review only; see "Applyable by hand" above)`];
    const has = (dir: string) => files.some((f) => f.dir === dir);
    const steps: string[] = [];
    if (has("manifests")) steps.push(`kubectl apply -f ${outDir}/manifests/`);
    if (has("patches")) steps.push(`kubectl apply --server-side --field-manager=directpath --force-conflicts -f ${outDir}/patches/`);
    const lines = [`Next: ${steps.join(" && ") || "nothing to apply"}   (or: pulumi up --stack ${stack})`];
    if (secrets.length) {
        lines.push(`Then, once, set the ${secrets.length === 1 ? "secret value" : `${secrets.length} secret values`} listed under "Secret values to supply" with the kubectl line given there ` +
            `(${outDir}/secrets/ holds only placeholders: kubectl create -f never overwrites a Secret that exists). Re-applying ${outDir}/manifests/ never touches them.`);
    }
    return lines;
}

export function planSummary(input: {
    stack: string;
    outDir: string;
    resources: readonly PlanResource[];
    files: readonly ManifestFile[];
    sgRows: readonly FirewallRow[];
    firewallRules: readonly FirewallRule[];
    secretConfigKeys: readonly string[];
}): PlanSummary {
    const a = applyability(input.resources, input.files);
    const secrets = secretsToSupply(input.files, input.secretConfigKeys);
    const img = images(input.files);
    return {
        applyableByHand: a.byHand,
        notApplyableReasons: a.reasons,
        ownedChanges: ownedChanges(input.files),
        privilegedWorkloads: privilegedWorkloads(input.files),
        requires: requirements(input.files),
        internetExposure: internetExposure(input.resources, input.sgRows, input.firewallRules, input.files),
        images: img.images,
        helmCharts: img.charts,
        secretsToSupply: secrets,
        computedObjects: computedObjects(input.files),
        nextSteps: nextSteps(input.stack, input.outDir, input.files, a, secrets),
    };
}

/** The printed sections, one short block each. */
export function formatSummary(s: PlanSummary): string[] {
    const out: string[] = [];
    const section = (title: string, lines: string[], none: string) => {
        out.push("", `${title}:`);
        out.push(...(lines.length ? lines : [`  ${none}`]));
    };
    section("Changes to objects and hosts you already own", s.ownedChanges.flatMap((c) => [
        `  ${c.target}: ${c.change}  [${c.by}]`,
        ...(c.backup ? [`      keep a copy to restore it: ${c.backup}`] : []),
    ]), "(none)");
    section("Privileged workloads", s.privilegedWorkloads.flatMap((w) => [
        `  ${w.workload}  [${w.file}]`,
        ...w.grants.map((g) => `      ${g}: ${w.reasons[g] ?? NO_REASON}`),
    ]), "(none)");
    section("What this stack expects to exist (requires; it creates none of these)", s.requires.map((r) => `  ${r.kind}: ${r.what}  [needed by ${r.by.join(", ")}]`), "(nothing beyond a cluster)");
    section("Open to the internet", s.internetExposure.map((e) => `  ${e.worldOpen ? "OPEN " : "     "}${e.what} from ${e.from}: ${e.detail}`), "(nothing)");
    section("Images this stack pulls (mirror these for air-gapped clusters)", [
        ...s.images.map((i) => `  ${i.image}   used by ${i.usedBy.join(", ")}`),
        ...s.helmCharts.map((c) => `  Helm chart ${c.chart} ${c.version} from ${c.repo}: its images are set by the chart (list them with: helm template ${c.chart} --repo ${c.repo} --version ${c.version} | grep image:)`),
    ], "(none)");
    if (s.secretsToSupply.length) {
        section("Secret values to supply (plan writes placeholders, never the secret)", s.secretsToSupply.flatMap((x) => [
            `  ${x.object} [${x.file}]: ${x.paths.join(", ")}`,
            ...(!s.applyableByHand ? [] : x.command ? [`      by hand, once, after kubectl apply -f manifests/: ${x.command}`] : [`      by hand: edit ${x.file}, replace the placeholder, and kubectl create -f it once`]),
            `      ${s.applyableByHand ? "or: " : ""}${x.pulumiUp}`,
        ]), "");
    }
    if (s.computedObjects.length) {
        section("Values known only after deployment ([computed])", s.computedObjects.map((c) => `  ${c.object} [${c.file}]: ${c.paths.join(", ")}`), "");
    }
    out.push("", s.applyableByHand
        ? "Applyable by hand: yes (manifests/ and patches/ hold every object with its final values; Secrets with placeholders are in secrets/, apart, so re-applying manifests/ never overwrites a real secret)."
        : `Applyable by hand: no, pulumi up is the way: ${s.notApplyableReasons.join("; ")}.`);
    return out;
}
