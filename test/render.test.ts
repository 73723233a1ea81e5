import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { countByType, manifestFiles, requiredRuleRows, resourceTree, securityGroupRows, table, type PlanResource } from "../plan/render";
import { manifestView, SECRET_PLACEHOLDER, type RecordedResource } from "../plan/runtime";

const res = (type: string, name: string, inputs: Record<string, unknown>, parent: string | null = null): PlanResource => ({
    urn: `urn:pulumi:s::p::${type}::${name}`, type, name, parent, inputs,
});

describe("plan rendering", () => {
    it("nests resources under their parents", () => {
        const parent = res("directpath:x:Comp", "c", {});
        const child = res("kubernetes:core/v1:Namespace", "c-ns", {}, parent.urn);
        const lone = res("pulumi:providers:kubernetes", "k8s", {});
        expect(resourceTree([parent, child, lone])).toEqual([
            "├─ directpath:x:Comp  c",
            "│  └─ kubernetes:core/v1:Namespace  c-ns",
            "└─ pulumi:providers:kubernetes  k8s",
        ]);
        expect(countByType([parent, child, lone, lone])).toEqual([
            ["directpath:x:Comp", 1], ["kubernetes:core/v1:Namespace", 1], ["pulumi:providers:kubernetes", 2],
        ]);
    });

    it("writes Kubernetes objects in apply order, patches and Helm releases apart", () => {
        const files = manifestFiles([
            res("kubernetes:apps/v1:DaemonSet", "ds", { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "ts", namespace: "tailscale" } }),
            res("kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy", "lrp", { apiVersion: "cilium.io/v2", kind: "CiliumLocalRedirectPolicy", metadata: { name: "registry", namespace: "ingress" } }),
            res("kubernetes:core/v1:Namespace", "ns", { apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } }),
            res("kubernetes:core/v1:ConfigMapPatch", "patch", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" } }),
            res("kubernetes:rbac.authorization.k8s.io/v1:Role", "role", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "ts", namespace: "tailscale" } }),
            res("kubernetes:helm.sh/v3:Release", "cilium", { chart: "cilium", version: "1.18.0" }),
            res("pulumi:providers:kubernetes", "k8s", {}),
        ]);
        expect(files.map((f) => `${f.dir}/${f.file}`)).toEqual([
            "manifests/000-namespace-tailscale.yaml",
            "manifests/001-role-tailscale-ts.yaml",
            "manifests/002-daemonset-tailscale-ts.yaml",
            "manifests/003-ciliumlocalredirectpolicy-ingress-registry.yaml",
            "patches/000-configmap-kube-system-coredns.yaml",
            "helm/000-cilium.yaml",
        ]);
    });

    it("tabulates security-group rules with peers named from dependencies", () => {
        const sg = res("aws:ec2/securityGroup:SecurityGroup", "node-sg", {});
        const rule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "vxlan", {
            securityGroupId: "[computed]", referencedSecurityGroupId: "[computed]", ipProtocol: "udp", fromPort: 8472, toPort: 8472, description: "Cilium VXLAN",
        });
        const egress = res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "all4", {
            securityGroupId: "[computed]", cidrIpv4: "0.0.0.0/0", ipProtocol: "-1", description: "all egress",
        });
        const recorded = [rule, egress].map((r): RecordedResource => ({
            urn: r.urn, type: r.type, name: r.name, custom: true, rawInputs: {},
            dependencies: { securityGroupId: [sg.urn], ...(r === rule ? { referencedSecurityGroupId: [sg.urn] } : {}) },
        }));
        expect(securityGroupRows([sg, rule, egress], recorded)).toEqual([
            { target: "sg:node-sg", direction: "ingress", protocol: "udp", ports: "8472", peer: "sg:node-sg", description: "Cilium VXLAN" },
            { target: "sg:node-sg", direction: "egress", protocol: "all", ports: "all", peer: "0.0.0.0/0", description: "all egress" },
        ]);
    });

    it("lists rules components need on a firewall the stack doesn't manage", () => {
        expect(requiredRuleRows([{ direction: "ingress", protocol: "udp", fromPort: 41641, toPort: 41641, peer: "0.0.0.0/0", description: "Tailscale" }]))
            .toEqual([{ target: "(your firewall)", direction: "ingress", protocol: "udp", ports: "41641", peer: "0.0.0.0/0", description: "Tailscale" }]);
        expect(table(["a", "bb"], [["xyz", "1"]])).toEqual(["a    bb", "---  --", "xyz  1"]);
    });

    it("objects with [computed] values go to computed/, numbered on their own, with the paths named", () => {
        const files = manifestFiles([
            res("kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy", "lrp", { apiVersion: "cilium.io/v2", kind: "CiliumLocalRedirectPolicy", metadata: { name: "a", namespace: "n" }, spec: { redirectFrontend: { addressMatcher: { ip: "[computed]" } } } }),
            res("kubernetes:core/v1:Namespace", "ns", { apiVersion: "v1", kind: "Namespace", metadata: { name: "n" } }),
        ]);
        expect(files.map((f) => [`${f.dir}/${f.file}`, f.computedPaths])).toEqual([
            ["manifests/000-namespace-n.yaml", []],
            ["computed/000-ciliumlocalredirectpolicy-n-a.yaml", ["spec.redirectFrontend.addressMatcher.ip"]],
        ]);
    });
});

describe("manifestView: secret values keep the object's shape", () => {
    // The wire form of a secret, as the mock monitor records it.
    const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });

    it("a secret map (Secret.stringData) keeps its keys; each value is the placeholder; the paths are named", () => {
        const view = manifestView({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: secret({ TS_AUTHKEY: "tskey-auth-REAL", "a.b": "x" }) });
        expect(view.object.stringData).toEqual({ TS_AUTHKEY: SECRET_PLACEHOLDER, "a.b": SECRET_PLACEHOLDER });
        expect(view.secretPaths).toEqual(["stringData.TS_AUTHKEY", 'stringData["a.b"]']);
        expect(JSON.stringify(view)).not.toContain("tskey-auth-REAL");
    });

    it("under a Secret's data the placeholder is base64 (data must be base64)", () => {
        const view = manifestView({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { k: secret("c2VjcmV0") } });
        expect(view.object.data).toEqual({ k: Buffer.from(SECRET_PLACEHOLDER).toString("base64") });
        expect(JSON.stringify(view)).not.toContain("c2VjcmV0");
    });

    it("unknown values read [computed], with their paths; plain values pass through", () => {
        const view = manifestView({ kind: "ConfigMap", data: { a: "1", b: pulumi.unknown }, list: [secret(pulumi.unknown)] });
        expect(view.object).toEqual({ kind: "ConfigMap", data: { a: "1", b: "[computed]" }, list: ["[computed]"] });
        expect(view.computedPaths).toEqual(["data.b", "list[0]"]);
        expect(view.secretPaths).toEqual([]);
    });
});
