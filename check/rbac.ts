/**
 * The exact permissions the check needs (no wildcard), rendered as YAML the user applies once.
 * Pure. The check namespace itself is part of it: pre-created, the check needs no right on
 * namespaces at all (otherwise add the `namespaces` rule noted below).
 */
import { stringify } from "yaml";
import { DEFAULT_NAMESPACE } from "./cluster";
import type { CheckTargets } from "./targets";
import { hasLrpEndpoints } from "./lrp-frontends";

export interface RbacRule {
    /** Where: "cluster" or a namespace. */
    scope: string;
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
    why: string;
}

export function rbacRules(t: CheckTargets, namespace = DEFAULT_NAMESPACE): RbacRule[] {
    const rules: RbacRule[] = [
        { scope: "cluster", apiGroups: [""], resources: ["nodes"], verbs: ["get", "list"], why: "which nodes to probe, and whether they are Ready" },
        { scope: namespace, apiGroups: [""], resources: ["pods"], verbs: ["create", "get", "list", "delete"], why: "the short-lived probe pods, and their removal" },
        { scope: namespace, apiGroups: [""], resources: ["pods/log"], verbs: ["get"], why: "the probes' output" },
        { scope: namespace, apiGroups: [""], resources: ["configmaps"], verbs: ["create", "list", "delete"], why: "the probe scripts, mounted into the probe pods" },
        { scope: "kube-system", apiGroups: [""], resources: ["pods"], verbs: ["list"], why: "the CoreDNS pods (k8s-app=kube-dns), probed from every node" },
        { scope: "kube-system", apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["cilium-config"], why: "the tunnel protocol and port Cilium uses" },
    ];
    if (hasLrpEndpoints(t)) {
        rules.push({ scope: "cluster", apiGroups: [""], resources: ["services"], verbs: ["list"], why: "Services whose externalIPs or LoadBalancer IP is a cilium-lrp endpoint's address (Cilium then skips the LRP)" });
    }
    if (t.tailscale) {
        rules.push(
            { scope: t.tailscale.namespace, apiGroups: [""], resources: ["pods"], verbs: ["list"], why: "the TailscaleDirect pods" },
            { scope: t.tailscale.namespace, apiGroups: [""], resources: ["pods/exec"], verbs: ["create"], why: "tailscale status / ping and the port check inside them (read-only commands)" },
        );
    }
    return rules;
}

/** The Namespace, ClusterRole/Role(s) and bindings for `subject` (kind User, Group or ServiceAccount ns/name). */
export function rbacYaml(t: CheckTargets, subject: { kind: "User" | "Group" | "ServiceAccount"; name: string; namespace?: string }, namespace = DEFAULT_NAMESPACE): string {
    const rules = rbacRules(t, namespace);
    const subj = subject.kind === "ServiceAccount" ? { kind: "ServiceAccount", name: subject.name, namespace: subject.namespace ?? "default" } : { kind: subject.kind, name: subject.name, apiGroup: "rbac.authorization.k8s.io" };
    const name = "directpath-check";
    const docs: unknown[] = [{
        apiVersion: "v1", kind: "Namespace",
        metadata: { name: namespace, labels: { "app.kubernetes.io/managed-by": "directpath-check", "pod-security.kubernetes.io/enforce": "privileged" } },
    }];
    const toRule = (r: RbacRule) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) });
    const cluster = rules.filter((r) => r.scope === "cluster");
    docs.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name }, rules: cluster.map(toRule) });
    docs.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name }, subjects: [subj] });
    for (const scope of [...new Set(rules.filter((r) => r.scope !== "cluster").map((r) => r.scope))]) {
        docs.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name, namespace: scope }, rules: rules.filter((r) => r.scope === scope).map(toRule) });
        docs.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name, namespace: scope }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name }, subjects: [subj] });
    }
    const header = [
        "# directpath check: least-privilege RBAC (no wildcard). Apply once: kubectl apply -f <this file>",
        ...rules.map((r) => `#   ${r.scope === "cluster" ? "cluster-wide" : `in ${r.scope}`}: ${r.verbs.join(", ")} ${r.resources.join(", ")}${r.resourceNames ? ` (only ${r.resourceNames.join(", ")})` : ""}: ${r.why}`),
        `# The namespace ${namespace} is created here, so the check needs no right on namespaces. To let the check`,
        `# create it itself (and delete it after the run) instead, add to the ClusterRole: namespaces: get, create, delete.`,
    ];
    return `${header.join("\n")}\n${docs.map((d) => stringify(d)).join("---\n")}`;
}
