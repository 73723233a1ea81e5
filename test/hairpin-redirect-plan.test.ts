/**
 * The redirect half through `npm run plan`, as users and the network lab see it: the local stack's
 * LRP manifest and Cilium values output, and the local-iptables stack's ConfigMap and DaemonSet
 * (the pieces the lab runs in real network namespaces).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PlanDocument } from "../plan/render";
import { runDefaultProgram } from "../program/main";
import { capture, resolve, ROOT, SHARED, sharedPlanRun } from "./harness";

const manifests = (dir: string) =>
    Object.fromEntries(fs.readdirSync(path.join(dir, "manifests")).map((f) => [f, parse(fs.readFileSync(path.join(dir, "manifests", f), "utf8")) as any]));

describe("npm run plan: redirect half", () => {
    it("local: one CiliumLocalRedirectPolicy for the registry, valid against the CRD schema; the Cilium values as an output", () => {
        const run = sharedPlanRun("local");
        expect(run.status, run.stderr).toBe(0);
        const all = manifests(run.outDir);
        const lrps = Object.values(all).filter((m) => m.kind === "CiliumLocalRedirectPolicy");
        expect(lrps).toHaveLength(1);
        const lrp = lrps[0];
        expect(lrp.metadata).toMatchObject({ name: "local-hairpin-registry-169-233-100-10", namespace: "ingress" });
        expect(lrp.spec.redirectFrontend.addressMatcher).toEqual({ ip: "169.233.100.10", toPorts: [{ port: "443", protocol: "TCP" }] });
        expect(lrp.spec.redirectBackend).toEqual({ localEndpointSelector: { matchLabels: { app: "ingress-gateway" } }, toPorts: [{ port: "8443", protocol: "TCP" }] });
        const schemaFile = path.join(SHARED, "upstream", "crd-schemas", "cilium.io_ciliumlocalredirectpolicy_v2.json");
        if (fs.existsSync(schemaFile)) {
            const validate = new Ajv({ strict: false }).compile(JSON.parse(fs.readFileSync(schemaFile, "utf8")));
            expect(validate(lrp), JSON.stringify(validate.errors)).toBe(true);
        } else {
            console.warn(`skipping the CRD schema check: ${schemaFile} is absent`);
        }
        const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as PlanDocument;
        expect(doc.outputs.ciliumChartVersion).toBe("1.19.3");
        expect(doc.outputs.ciliumValues).toMatchObject({
            kubeProxyReplacement: true,
            k8sServiceHost: "192.168.10.100",
            socketLB: { enabled: true, hostNamespaceOnly: false },
            localRedirectPolicies: { enabled: true, addressMatcherCIDRs: ["169.233.100.10/32"] },
            tunnelProtocol: "vxlan",
            tunnelPort: 8472,
            hubble: { tls: { auto: { method: "cronJob" } } },
        });
        expect(doc.outputs.hairpinModes).toEqual({ registry: "cilium-lrp" });
        // Cilium is not installed by this stack (kubespray runs it): no release.
        expect(doc.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")).toEqual([]);
    });

    it("local-iptables: the ConfigMap (script + rules.conf) and the DaemonSet the network lab runs", () => {
        const run = sharedPlanRun("local-iptables");
        expect(run.status, run.stderr).toBe(0);
        const all = manifests(run.outDir);
        // The lab reads these two files.
        const cm = all["000-configmap-kube-system-local-hairpin-iptables.yaml"] ?? Object.values(all).find((m) => m.kind === "ConfigMap" && m.metadata.name === "local-hairpin-iptables");
        const ds = Object.values(all).find((m) => m.kind === "DaemonSet" && m.metadata.name === "local-hairpin-iptables");
        expect(cm?.kind).toBe("ConfigMap");
        expect(ds?.kind).toBe("DaemonSet");
        expect(cm.data["hairpin-redirect.sh"]).toBe(fs.readFileSync(path.join(ROOT, "components", "hairpin", "scripts", "hairpin-redirect.sh"), "utf8"));
        expect(cm.data["rules.conf"].split("\n").filter((l: string) => l && !l.startsWith("#"))).toEqual(["registry-https-0 tcp 169.233.100.10 443 192.168.10.100 443"]);
        expect(() => new DaemonSet(ds).validate()).not.toThrow();
        const pod = ds.spec.template.spec;
        expect(pod.hostNetwork).toBe(true);
        expect(pod.containers[0].env).toEqual([
            { name: "DIRECTPATH_CONFIG", value: "/etc/directpath/rules.conf" },
            { name: "DIRECTPATH_INTERVAL", value: "30" },
            { name: "DIRECTPATH_IPTABLES", value: "auto" },
            { name: "DIRECTPATH_STATE_DIR", value: "/run/directpath-hairpin" },
        ]);
        expect(pod.volumes[0]).toEqual({ name: "config", configMap: { name: cm.metadata.name, defaultMode: 0o555 } });
        expect(Object.values(all).filter((m) => m.kind === "CiliumLocalRedirectPolicy")).toEqual([]);
    });

    it("the default program: HairpinBypass with the cluster's domain for Service backends, and its outputs", async () => {
        const { r, value } = await capture(() => runDefaultProgram(), {
            config: {
                "directpath:environment": "local",
                "directpath:cluster": JSON.stringify({ name: "corp", cni: "other", clusterDomain: "corp.internal" }),
                "directpath:hairpin": JSON.stringify({
                    enabled: true,
                    defaultMode: "iptables",
                    endpoints: [{ name: "api", externalIps: ["169.233.100.12"], ports: [{ port: 443, targetPort: 8443 }], backend: { service: { namespace: "apps", name: "api" } } }],
                }),
            },
        });
        const out = value as Record<string, any>;
        const cm = r.inputs(r.get("kubernetes:core/v1:ConfigMap", "corp-hairpin-iptables")) as any;
        expect(cm.data["rules.conf"]).toContain("\napi-443-0 tcp 169.233.100.12 443 api.apps.svc.corp.internal 8443\n");
        expect(out.hairpinModes).toEqual({ api: "iptables" });
        expect(await resolve(out.hairpinIptables)).toMatchObject({ daemonSet: "kube-system/corp-hairpin-iptables", configMap: "kube-system/corp-hairpin-iptables" });
        expect(out.hairpinDns).toBeDefined();
    });
});
