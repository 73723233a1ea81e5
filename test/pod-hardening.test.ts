/**
 * Least privilege, for every container of every workload directpath renders: every stack of the
 * project (all four Pulumi.<env>.yaml files, rendered by the default program as plan does) and the
 * TailscaleDirect modes no stack file uses (pod mode, relay, userspace, a port below 1024). The
 * policy is the Pod Security `restricted` profile's, plus a read-only root filesystem and resource
 * requests and limits; each exception is named below with its reason, and the plan's "Privileged
 * workloads" section must list it with a reason (from the pod template's annotations).
 */
import { describe, expect, it } from "vitest";
import { PRIVILEGE_ANNOTATION_PREFIX } from "../components/common/privileges";
import { renderWorkload } from "../components/tailscale/render";
import { validateTailscaleArgs, type TailscaleDirectArgs } from "../components/tailscale";
import { checkPodSecurityBaseline } from "../components/tailscale/pod-security";
import { assemblePlan } from "../plan/assemble";
import { readStackFiles } from "../plan/stack-files";
import { NO_REASON, privilegedWorkloads, rootOf } from "../plan/summary";
import type { ManifestFile } from "../plan/render";
import { runDefaultProgram } from "../program/main";
import { capture, resolve, ROOT } from "./harness";

type Obj = Record<string, any>;

/**
 * The exceptions to "non-root, no capability": container name -> what it holds, and why. Anything
 * else that runs as root or adds a capability fails the test.
 */
const EXCEPTIONS: Record<string, { root: string; capabilities: string[]; why: string }> = {
    "tailscale": {
        root: "kernel networking or the hostPath state folder",
        capabilities: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"],
        why: "kernel networking: NET_ADMIN for the TUN device, routes, rules and firewall chains, NET_RAW for the image's iptables; capabilities work for uid 0 only; the node's state folder is root's. Host-mode userspace: root for the state folder, NET_BIND_SERVICE only for a port below 1024. Pod mode: none of it (checked below)",
    },
    "hosts-sync": { root: "writes the node's root-owned hosts file", capabilities: [], why: "uid 0 owns /etc/hosts (0644); with ALL dropped it needs no capability" },
    "hairpin-redirect": { root: "capabilities work for uid 0 only", capabilities: ["NET_ADMIN", "NET_RAW"], why: "iptables in the node's network namespace: NET_ADMIN, and NET_RAW for iptables-legacy" },
};

function podSpecAndAnnotations(object: Obj): { spec: Obj; annotations: Record<string, string> } {
    return { spec: object.spec.template.spec, annotations: object.spec.template.metadata?.annotations ?? {} };
}

/** Every way a container breaks the policy (empty: it complies, exceptions included). */
function violations(object: Obj): string[] {
    const { spec, annotations } = podSpecAndAnnotations(object);
    const out: string[] = [];
    const podCtx = spec.securityContext ?? {};
    if (podCtx.seccompProfile?.type !== "RuntimeDefault") out.push(`pod: seccompProfile ${JSON.stringify(podCtx.seccompProfile)}, want RuntimeDefault`);
    if (spec.automountServiceAccountToken !== false) out.push("pod: automountServiceAccountToken is not false");
    for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Obj[]) {
        const sc = c.securityContext ?? {};
        const at = `container ${c.name}`;
        if (sc.privileged !== false) out.push(`${at}: privileged is ${String(sc.privileged)}, want false`);
        if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation is ${String(sc.allowPrivilegeEscalation)}, want false`);
        if (sc.readOnlyRootFilesystem !== true) out.push(`${at}: readOnlyRootFilesystem is ${String(sc.readOnlyRootFilesystem)}, want true`);
        if (JSON.stringify(sc.capabilities?.drop) !== JSON.stringify(["ALL"])) out.push(`${at}: capabilities.drop ${JSON.stringify(sc.capabilities?.drop)}, want ["ALL"]`);
        const seccomp = sc.seccompProfile?.type ?? podCtx.seccompProfile?.type;
        if (seccomp !== "RuntimeDefault") out.push(`${at}: seccomp ${String(seccomp)}`);
        const exception = EXCEPTIONS[c.name];
        const root = rootOf(spec, c);
        if (root === "image default") out.push(`${at}: runs as the image's default user (set runAsUser, or runAsNonRoot)`);
        if (root === "runAsUser 0") {
            if (!exception) out.push(`${at}: runs as root and is no named exception`);
            if (!annotations[`${PRIVILEGE_ANNOTATION_PREFIX}root.${c.name}`]) out.push(`${at}: runs as root with no reason annotation`);
        } else if (sc.runAsNonRoot !== true && podCtx.runAsNonRoot !== true) {
            out.push(`${at}: not root, but runAsNonRoot is not true`);
        }
        for (const cap of (sc.capabilities?.add ?? []) as string[]) {
            if (!exception?.capabilities.includes(cap)) out.push(`${at}: adds ${cap}, which no named exception allows`);
            if (!annotations[`${PRIVILEGE_ANNOTATION_PREFIX}cap.${cap}`]) out.push(`${at}: adds ${cap} with no reason annotation`);
            if (root !== "runAsUser 0") out.push(`${at}: adds ${cap} but is not uid 0, so the capability would not take effect`);
        }
        for (const kind of ["requests", "limits"] as const) {
            for (const r of ["cpu", "memory"]) if (c.resources?.[kind]?.[r] === undefined) out.push(`${at}: no resources.${kind}.${r}`);
        }
    }
    for (const v of (spec.volumes ?? []) as Obj[]) {
        if (v.hostPath && !annotations[`${PRIVILEGE_ANNOTATION_PREFIX}hostPath.${v.name}`]) out.push(`volume ${v.name}: hostPath ${v.hostPath.path} with no reason annotation`);
    }
    if (spec.hostNetwork === true && !annotations[`${PRIVILEGE_ANNOTATION_PREFIX}hostNetwork`]) out.push("pod: hostNetwork with no reason annotation");
    return out;
}

async function renderedStack(stack: string): Promise<ManifestFile[]> {
    const files = readStackFiles(ROOT, stack);
    const { r, value } = await capture(() => runDefaultProgram(), { project: files.project, stack, preview: true, config: files.config, secretKeys: files.secretKeys });
    const outputs = await resolve<Record<string, unknown>>(value);
    return assemblePlan({ project: files.project, stack, recorded: r.resources, outputs, secretConfigKeys: files.secretKeys, outDir: "OUT" }).manifests;
}

const WORKLOADS = new Set(["DaemonSet", "Deployment", "StatefulSet", "Job", "Pod"]);

describe.each(["local", "local-iptables", "dev", "prod"])("stack %s: every container runs with least privilege", async (stack) => {
    const manifests = (await renderedStack(stack)).filter((m) => WORKLOADS.has(String((m.object as Obj).kind)));

    it("renders workloads", () => {
        expect(manifests.length).toBeGreaterThan(0);
    });

    it.each(manifests.map((m) => [`${m.dir}/${m.file}`, m] as const))("%s", (_file, m) => {
        expect(violations(m.object as Obj)).toEqual([]);
    });

    it("the plan lists every root container, added capability, host namespace, hostPort and hostPath with its reason", () => {
        const listed = privilegedWorkloads(manifests);
        for (const m of manifests) {
            const { spec } = podSpecAndAnnotations(m.object as Obj);
            const w = listed.find((x) => x.file === `${m.dir}/${m.file}`);
            const root = (spec.containers as Obj[]).filter((c) => rootOf(spec, c) !== undefined);
            const caps = (spec.containers as Obj[]).filter((c) => c.securityContext?.capabilities?.add?.length);
            const hostPaths = ((spec.volumes ?? []) as Obj[]).filter((v) => v.hostPath);
            if (!root.length && !caps.length && !hostPaths.length && spec.hostNetwork !== true) continue;
            expect(w, m.file).toBeDefined();
            for (const c of root) expect(w!.grants).toContain(`runAsUser 0 (root): ${c.name}`);
            for (const c of caps) expect(w!.grants).toContain(`capabilities ${c.securityContext.capabilities.add.join(",")}: ${c.name}`);
            for (const v of hostPaths) expect(w!.grants.some((g) => g.startsWith(`hostPath ${v.hostPath.path} `))).toBe(true);
            for (const g of w!.grants) expect(w!.reasons[g], `${m.file}: ${g}`).not.toBe(NO_REASON);
        }
    });
});

describe("TailscaleDirect modes no stack file uses", () => {
    const base: Partial<TailscaleDirectArgs> = { authKey: "k", tags: ["tag:k8s"] };
    const NODES = [{ name: "n1", publicIps: ["203.0.113.7"] }];
    const cases: Array<[string, Partial<TailscaleDirectArgs>]> = [
        ["host mode, kernel (the default)", {}],
        ["host mode, userspace", { userspace: true }],
        ["host mode, userspace, port 443", { userspace: true, port: 443 }],
        ["host mode with a peer relay", { relay: { port: 40000, sources: ["tag:laptops"] } } as Partial<TailscaleDirectArgs>],
        ["pod mode", { network: "pod", nodePort: 30641, nodes: NODES } as Partial<TailscaleDirectArgs>],
        ["pod mode with a peer relay", { network: "pod", nodePort: 30641, nodes: NODES, relay: { port: 40000, nodePort: 30642, sources: ["tag:laptops"] } } as Partial<TailscaleDirectArgs>],
    ];
    it.each(cases)("%s: complies", (_label, args) => {
        const settings = validateTailscaleArgs("ts", { ...base, ...args } as TailscaleDirectArgs);
        expect(violations(renderWorkload("ts", settings))).toEqual([]);
    });

    it("pod mode runs as no root at all, adds nothing, and passes baseline", () => {
        const settings = validateTailscaleArgs("ts", { ...base, network: "pod", nodePort: 30641, nodes: NODES } as TailscaleDirectArgs);
        const { spec, annotations } = podSpecAndAnnotations(renderWorkload("ts", settings));
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
        for (const c of [...spec.initContainers, ...spec.containers]) {
            expect(rootOf(spec, c), c.name).toBeUndefined();
            expect(c.securityContext.capabilities).toEqual({ drop: ["ALL"] });
        }
        expect(Object.keys(annotations).filter((k) => k.startsWith(PRIVILEGE_ANNOTATION_PREFIX))).toEqual([]);
        expect(checkPodSecurityBaseline(spec, annotations)).toEqual([]);
    });

    it("pod mode on a port below 1024: the pod's own unprivileged-port sysctl, not a capability (which uid 65532 could not use)", () => {
        const settings = validateTailscaleArgs("ts", { ...base, network: "pod", nodePort: 30641, nodes: NODES, port: 443 } as TailscaleDirectArgs);
        const { spec, annotations } = podSpecAndAnnotations(renderWorkload("ts", settings));
        expect(spec.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_unprivileged_port_start", value: "443" }]);
        expect(spec.containers[0].securityContext.capabilities).toEqual({ drop: ["ALL"] });
        expect(checkPodSecurityBaseline(spec, annotations)).toEqual([]);
    });

    it("kernel mode: root with exactly NET_ADMIN and NET_RAW; /tmp is a volume, as the root filesystem is read-only", () => {
        const settings = validateTailscaleArgs("ts", { ...base } as TailscaleDirectArgs);
        const { spec } = podSpecAndAnnotations(renderWorkload("ts", settings));
        const c = spec.containers[0];
        expect(c.securityContext).toEqual({
            privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0,
            capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] },
        });
        expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
        expect(spec.volumes).toContainEqual({ name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } });
    });

    it("the check finds what breaks the policy (it is no rubber stamp)", () => {
        const settings = validateTailscaleArgs("ts", { ...base } as TailscaleDirectArgs);
        const ds = renderWorkload("ts", settings) as Obj;
        const c = ds.spec.template.spec.containers[0];
        c.securityContext = { capabilities: { add: ["SYS_ADMIN"] } };
        delete c.resources.limits.cpu;
        ds.spec.template.spec.securityContext = {};
        expect(violations(ds)).toEqual(expect.arrayContaining([
            "pod: seccompProfile undefined, want RuntimeDefault",
            "container tailscale: privileged is undefined, want false",
            "container tailscale: readOnlyRootFilesystem is undefined, want true",
            "container tailscale: runs as the image's default user (set runAsUser, or runAsNonRoot)",
            "container tailscale: adds SYS_ADMIN, which no named exception allows",
            "container tailscale: no resources.limits.cpu",
        ]));
    });
});
