/**
 * What the deploy lab asks the API server about pod mode's state Secrets: from the objects `plan`
 * rendered for a pod-mode config (nothing hard-coded), the tailscaled pods' ServiceAccount, the
 * Secret each listed node's pod names (TS_KUBE_SECRET with $(NODE_NAME) replaced by each node the
 * workload's affinity lists) and the access that ServiceAccount must and must not have. Pure; the
 * lab (lab/deploy/run.ts) runs each as `kubectl auth can-i ... --as=system:serviceaccount:<ns>:<sa>`.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface AccessCheck {
    verb: string;
    /** `secrets`, `secrets/<name>`, `nodes`, `selfsubjectaccessreviews.authorization.k8s.io`. */
    resource: string;
    want: boolean;
    why: string;
}

export interface PodStateAccess {
    namespace: string;
    serviceAccount: string;
    /** Each listed node's state Secret, as the pod on that node names it. */
    stateSecrets: Array<{ node: string; secret: string }>;
    authSecret: string;
    checks: AccessCheck[];
}

/** The pod-mode workload's access plan, or an error naming what the rendered objects lack. */
export function podStateAccess(docs: readonly Obj[]): PodStateAccess {
    const workloads = docs.filter((d) => (d.kind === "DaemonSet" || d.kind === "Deployment")
        && (d.spec?.template?.spec?.containers ?? []).some((c: Obj) => (c.env ?? []).some((e: Obj) => e.name === "TS_KUBE_SECRET" && e.value)));
    if (workloads.length !== 1) throw new Error(`expected one tailscaled workload with a TS_KUBE_SECRET, found ${workloads.length}`);
    const w = workloads[0]!;
    const namespace = w.metadata.namespace as string;
    const spec = w.spec.template.spec as Obj;
    const container = (spec.containers as Obj[]).find((c) => (c.env ?? []).some((e: Obj) => e.name === "TS_KUBE_SECRET"))!;
    const env = container.env as Obj[];
    const pattern = env.find((e) => e.name === "TS_KUBE_SECRET")!.value as string;
    const nodeNameAt = env.findIndex((e) => e.name === "NODE_NAME" && e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName");
    if (!pattern.includes("$(NODE_NAME)") || nodeNameAt < 0 || nodeNameAt > env.findIndex((e) => e.name === "TS_KUBE_SECRET")) {
        throw new Error(`TS_KUBE_SECRET ${JSON.stringify(pattern)} must expand $(NODE_NAME), defined before it from spec.nodeName`);
    }
    const terms: Obj[] = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const nodes: string[] = terms.flatMap((t) => (t.matchFields ?? []) as Obj[]).filter((f) => f.key === "metadata.name" && f.operator === "In").flatMap((f) => f.values as string[]);
    if (nodes.length === 0) throw new Error("the workload lists no nodes (nodeAffinity on metadata.name)");
    const stateSecrets = nodes.map((node) => ({ node, secret: pattern.split("$(NODE_NAME)").join(node) }));
    const authSecret = ((spec.volumes ?? []) as Obj[]).find((v) => v.name === "auth")?.secret?.secretName as string | undefined;
    if (!authSecret) throw new Error("the workload mounts no auth Secret (volume 'auth')");
    const notListed = pattern.split("$(NODE_NAME)").join("not-a-listed-node");
    const checks: AccessCheck[] = [];
    for (const { node, secret } of stateSecrets) {
        checks.push(
            { verb: "get", resource: `secrets/${secret}`, want: true, why: `node ${node}'s state: containerboot requires get (CheckSecretPermissions), kubestore reads it` },
            { verb: "update", resource: `secrets/${secret}`, want: true, why: `node ${node}'s state: containerboot requires update; kubestore writes with get + PUT` },
            { verb: "patch", resource: `secrets/${secret}`, want: false, why: "not granted: patch turns on containerboot's operator protocol (auth key reissue wait)" },
            { verb: "delete", resource: `secrets/${secret}`, want: false, why: "never used" },
        );
    }
    checks.push(
        { verb: "list", resource: "secrets", want: false, why: "no listing of the namespace's Secrets (only the operator's cert-share mode lists)" },
        { verb: "watch", resource: "secrets", want: false, why: "never used" },
        { verb: "create", resource: "secrets", want: false, why: "the state Secrets are pre-created; create can't be limited by name" },
        { verb: "get", resource: `secrets/${authSecret}`, want: false, why: "the auth key Secret is mounted by the kubelet, not read through the API" },
        { verb: "get", resource: `secrets/${notListed}`, want: false, why: "a Secret not in resourceNames" },
        { verb: "get", resource: "nodes", want: false, why: "no Node access (the public IPs come from the plan)" },
        { verb: "create", resource: "selfsubjectaccessreviews.authorization.k8s.io", want: true, why: "containerboot's permission probes (every authenticated user may, system:basic-user)" },
    );
    return { namespace, serviceAccount: (spec.serviceAccountName as string) ?? "default", stateSecrets, authSecret, checks };
}
