/**
 * The Cilium values (one definition, per chart line), their validation, CiliumInstall's Helm
 * release, and the default program's cilium section (values output, optional install, firewall
 * rules, and what it derives from the hairpin endpoints).
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import {
    CILIUM_CHART_VERSION,
    CiliumInstall,
    ciliumFirewallRules,
    ciliumValueNames,
    ciliumValues,
    deepMergeValues,
    hostCidr,
} from "../components/cilium";
import { resolveStack } from "../program/resolve";
import { runDefaultProgram } from "../program/main";
import { ciliumValueOptions } from "../program/sections/cilium-deploy";
import { capture, expectProblems, resolve } from "./harness";

const HOST = { k8sServiceHost: "192.168.10.100" };

describe("ciliumValues: one definition per chart line", () => {
    it("the pinned chart (1.19.3): KPR, socket LB in every namespace, LRP (1.18+ names), VXLAN 8472, Hubble with cronJob TLS", () => {
        expect(CILIUM_CHART_VERSION).toBe("1.19.3");
        expect(ciliumValues({ ...HOST, k8sServicePort: 6443 })).toEqual({
            kubeProxyReplacement: true,
            k8sServiceHost: "192.168.10.100",
            k8sServicePort: 6443,
            routingMode: "tunnel",
            tunnelProtocol: "vxlan",
            tunnelPort: 8472,
            socketLB: { enabled: true, hostNamespaceOnly: false },
            localRedirectPolicies: { enabled: true },
            hubble: {
                enabled: true,
                relay: { enabled: true },
                tls: { enabled: true, auto: { enabled: true, method: "cronJob", schedule: "0 0 1 */4 *" } },
            },
        });
    });

    it.each(["1.18.0", "1.18.4", "1.19.3", "1.20.2"])("%s uses localRedirectPolicies.enabled (and can restrict addresses)", (v) => {
        const values = ciliumValues({ ...HOST, chartVersion: v, lrpAddressMatcherIps: ["169.233.100.10", "fd00::10"] });
        expect(values.localRedirectPolicies).toEqual({ enabled: true, addressMatcherCIDRs: ["169.233.100.10/32", "fd00::10/128"] });
        expect("localRedirectPolicy" in values).toBe(false);
        expect(ciliumValueNames(v)).toEqual({ localRedirectPolicy: "localRedirectPolicies.enabled", addressMatcherCIDRs: "localRedirectPolicies.addressMatcherCIDRs" });
    });

    it.each(["1.16.2", "1.17.6", "v1.17.0"])("%s uses the top-level localRedirectPolicy, and has no addressMatcherCIDRs", (v) => {
        const values = ciliumValues({ ...HOST, chartVersion: v });
        expect(values.localRedirectPolicy).toBe(true);
        expect("localRedirectPolicies" in values).toBe(false);
        expect(ciliumValueNames(v)).toEqual({ localRedirectPolicy: "localRedirectPolicy" });
        // The rest is the same on every line.
        expect(values).toMatchObject({ kubeProxyReplacement: true, socketLB: { enabled: true, hostNamespaceOnly: false }, tunnelPort: 8472 });
    });

    it("LRP off, Hubble off, Geneve, service externalIPs allowed", () => {
        const values = ciliumValues({ ...HOST, localRedirectPolicies: false, hubble: false, tunnel: { protocol: "geneve" }, allowServiceExternalIps: true });
        expect(values.localRedirectPolicies).toEqual({ enabled: false });
        expect(values.hubble).toEqual({ enabled: false });
        expect([values.tunnelProtocol, values.tunnelPort]).toEqual(["geneve", 6081]);
        expect(values.bpf).toEqual({ disableExternalIPMitigation: true });
        expect("bpf" in ciliumValues(HOST)).toBe(false);
        expect(ciliumValues({ ...HOST, tunnel: { port: 8473 } }).tunnelPort).toBe(8473);
    });

    it("Hubble TLS never uses the helm method (it would regenerate certificates on every pulumi up)", () => {
        for (const v of ["1.16.2", "1.17.6", "1.18.4", "1.19.3", "1.20.2"]) {
            const values = ciliumValues({ ...HOST, chartVersion: v });
            expect(values.hubble.tls?.auto.method).toBe("cronJob");
        }
    });

    it("k8sServiceHost and Elastic-IP style address matchers may be Outputs", async () => {
        const values = ciliumValues({ k8sServiceHost: pulumi.output("ABC.gr7.eu-central-1.eks.amazonaws.com"), k8sServicePort: 443, lrpAddressMatcherIps: [pulumi.output("3.120.0.1")] });
        expect(await resolve(values)).toMatchObject({ k8sServiceHost: "ABC.gr7.eu-central-1.eks.amazonaws.com", k8sServicePort: 443, localRedirectPolicies: { addressMatcherCIDRs: ["3.120.0.1/32"] } });
        const bad = ciliumValues({ ...HOST, lrpAddressMatcherIps: [pulumi.output("eip-pending")] });
        await expect(resolve(bad.localRedirectPolicies!.addressMatcherCIDRs)).rejects.toThrow('lrpAddressMatcherIps entry "eip-pending" is not an IP address');
    });

    it("extraValues merge under directpath's values (directpath wins where both set a key)", () => {
        const values = ciliumValues({ ...HOST, extraValues: { ipam: { mode: "kubernetes" }, hubble: { ui: { enabled: true }, enabled: false }, tunnelPort: 1 } });
        expect(values.ipam).toEqual({ mode: "kubernetes" });
        expect(values.hubble).toMatchObject({ ui: { enabled: true }, enabled: true, relay: { enabled: true } });
        expect(values.tunnelPort).toBe(8472);
        expect(deepMergeValues({ a: { b: 1, c: [1] } }, { a: { c: [2] }, d: 3 })).toEqual({ a: { b: 1, c: [2] }, d: 3 });
        expect(hostCidr("fd00::1")).toBe("fd00::1/128");
    });

    it("rejects bad options, every problem at once", () => {
        expectProblems(() => ciliumValues({
            k8sServiceHost: "",
            chartVersion: "1.17.6",
            k8sServicePort: 70000,
            tunnel: { protocol: "wireguard" as "vxlan", port: 0 },
            lrpAddressMatcherIps: ["169.233.100.300", 7 as unknown as string],
            hubble: "yes" as unknown as boolean,
            bogus: 1,
        } as never), [
            { path: "k8sServiceHost", rule: /required/ },
            { path: "k8sServicePort", rule: /1-65535/, value: 70000 },
            { path: "tunnel.protocol", rule: /vxlan or geneve/, value: "wireguard" },
            { path: "tunnel.port", rule: /1-65535/, value: 0 },
            { path: "lrpAddressMatcherIps[0]", rule: /IPv4 or IPv6/, value: "169.233.100.300" },
            { path: "lrpAddressMatcherIps[1]", rule: /a string or a pulumi.Output/, value: 7 },
            { path: "lrpAddressMatcherIps", rule: /needs Cilium chart 1.18 or later/ },
            { path: "hubble", rule: /true or false/, value: "yes" },
            { path: "bogus", rule: /unknown key/ },
        ]);
        expectProblems(() => ciliumValues({ ...HOST, chartVersion: "1.15.19" }), [{ path: "chartVersion", rule: /1.16.0 or later/, value: "1.15.19" }]);
        expectProblems(() => ciliumValues({ ...HOST, chartVersion: "latest" }), [{ path: "chartVersion", rule: /X.Y.Z/, value: "latest" }]);
        expectProblems(() => ciliumValues({ ...HOST, localRedirectPolicies: false, lrpAddressMatcherIps: ["169.233.100.10"] }), [{ path: "lrpAddressMatcherIps", rule: /localRedirectPolicies is false/ }]);
        expect(() => ciliumValueNames("1.15.0")).toThrow(/unsupported Cilium chart version "1.15.0"/);
    });
});

describe("CiliumInstall", () => {
    it("a helm.v3.Release of the pinned chart from helm.cilium.io with exactly the values", async () => {
        const { r, value } = await capture(() => new CiliumInstall("cil", { ...HOST, lrpAddressMatcherIps: ["169.233.100.10"], namespace: "cilium-system" }));
        const [comp] = r.ofType("directpath:cilium:CiliumInstall");
        const rel = r.get("kubernetes:helm.sh/v3:Release", "cil");
        expect(rel.parent).toBe(comp!.urn);
        const inputs = r.inputs(rel) as any;
        expect(inputs).toMatchObject({
            name: "cilium",
            chart: "cilium",
            version: "1.19.3",
            repositoryOpts: { repo: "https://helm.cilium.io" },
            namespace: "cilium-system",
        });
        expect(inputs.values).toEqual(await resolve(ciliumValues({ ...HOST, lrpAddressMatcherIps: ["169.233.100.10"] })));
        expect(value.firewallRules).toEqual([
            { direction: "ingress", protocol: "udp", fromPort: 8472, toPort: 8472, peer: "self", description: "Cilium VXLAN overlay between nodes" },
            { direction: "ingress", protocol: "tcp", fromPort: 4240, toPort: 4240, peer: "self", description: "Cilium health checks between nodes" },
            { direction: "ingress", protocol: "tcp", fromPort: 4244, toPort: 4244, peer: "self", description: "Hubble server (Hubble Relay reaches every node)" },
        ]);
        expect(ciliumFirewallRules(ciliumValues({ ...HOST, hubble: false, tunnel: { protocol: "geneve" } })).map((f) => [f.protocol, f.fromPort])).toEqual([["udp", 6081], ["tcp", 4240]]);
    });

    it("invalid args: a ValidationError, nothing registered", async () => {
        const { r } = await capture(() => undefined);
        expectProblems(() => new CiliumInstall("cil", { k8sServiceHost: "", chartVersion: "2" }), [{ path: "k8sServiceHost" }, { path: "chartVersion" }], r);
    });
});

describe("default program: directpath:cilium", () => {
    const stack = (cilium: Record<string, unknown>, hairpin?: Record<string, unknown>) => ({
        "directpath:environment": "local",
        "directpath:cluster": JSON.stringify({ name: "lab", cni: "cilium" }),
        "directpath:cilium": JSON.stringify(cilium),
        ...(hairpin ? { "directpath:hairpin": JSON.stringify(hairpin) } : {}),
    });
    const hairpin = {
        enabled: true,
        endpoints: [
            { name: "registry", externalIps: ["169.233.100.10"], ports: [{ port: 443, targetPort: 8443 }], backend: { pods: { namespace: "ingress", selector: { app: "gw" }, workload: "DaemonSet" } } },
            { name: "web", externalIps: ["169.233.100.11"], ports: [{ port: 80 }], backend: { pods: { namespace: "web", selector: { app: "web" } } }, mode: "service-external-ips" },
        ],
    };

    it("install: true registers the release; outputs the values and the firewall rules", async () => {
        const { r, value } = await capture(() => runDefaultProgram(), { config: stack({ install: true, k8sServiceHost: "192.168.10.100" }, hairpin) });
        const out = value as Record<string, any>;
        const rel = r.get("kubernetes:helm.sh/v3:Release", "lab-cilium");
        const values = (r.inputs(rel) as any).values;
        expect(values.localRedirectPolicies).toEqual({ enabled: true, addressMatcherCIDRs: ["169.233.100.10/32"] });
        expect(values.bpf).toEqual({ disableExternalIPMitigation: true });
        expect(await resolve(out.ciliumValues)).toEqual(values);
        expect(out.ciliumChartVersion).toBe("1.19.3");
        expect(out.firewallRules).toContainEqual(expect.objectContaining({ protocol: "udp", fromPort: 8472, peer: "self" }));
        const hb = r.ofType("directpath:hairpin:HairpinBypass")[0]!;
        expect(hb.name).toBe("lab-hairpin");
        expect(r.get("kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy", "lab-hairpin-registry-lrp-169-233-100-10").parent).toBe(hb.urn);
        expect(r.get("kubernetes:core/v1:Service", "lab-hairpin-web-extips")).toBeDefined();
    });

    it("cilium.chart / repository reach the release: a local chart has no repository, a name uses the mirror; both need install: true", async () => {
        const local = await capture(() => runDefaultProgram(), { config: stack({ install: true, k8sServiceHost: "192.168.10.100", chart: "/charts/cilium" }, hairpin) });
        const relLocal = local.r.inputs(local.r.get("kubernetes:helm.sh/v3:Release", "lab-cilium")) as any;
        expect(relLocal.chart).toBe("/charts/cilium");
        expect(relLocal.repositoryOpts).toBeUndefined();
        const mirror = await capture(() => runDefaultProgram(), { config: stack({ install: true, k8sServiceHost: "192.168.10.100", repository: "https://charts.example.com/cilium" }, hairpin) });
        const relMirror = mirror.r.inputs(mirror.r.get("kubernetes:helm.sh/v3:Release", "lab-cilium")) as any;
        expect(relMirror.chart).toBe("cilium");
        expect(relMirror.repositoryOpts).toEqual({ repo: "https://charts.example.com/cilium" });
        await expect(capture(() => runDefaultProgram(), { config: stack({ k8sServiceHost: "10.0.0.1", chart: "./cilium" }) })).rejects.toThrow(/directpath:cilium\.chart: "\.\/cilium" is invalid: only used when cilium\.install is true/);
    });

    it("install: false only outputs the values to merge into your own install", async () => {
        const { r, value } = await capture(() => runDefaultProgram(), { config: stack({ k8sServiceHost: "10.0.0.1", hubble: false }) });
        expect(r.ofType("kubernetes:helm.sh/v3:Release")).toEqual([]);
        expect(await resolve((value as any).ciliumValues)).toMatchObject({ k8sServiceHost: "10.0.0.1", hubble: { enabled: false }, localRedirectPolicies: { enabled: true } });
        expect((value as any).firewallRules).toEqual([]);
    });

    it("derives the LRP allow-list and the externalIP mitigation from the hairpin endpoints", () => {
        const options = (cilium: Record<string, unknown>, h: Record<string, unknown> = hairpin) => ciliumValueOptions(resolveStack({ environment: "local", cilium, hairpin: h }).cilium!);
        expect(options({ k8sServiceHost: "h" })).toMatchObject({ lrpAddressMatcherIps: ["169.233.100.10"], allowServiceExternalIps: true, chartVersion: "1.19.3" });
        expect(options({ k8sServiceHost: "h", chartVersion: "1.17.6" }).lrpAddressMatcherIps).toBeUndefined();
        expect(options({ k8sServiceHost: "h", restrictLrpAddresses: false }, { ...hairpin, endpoints: [hairpin.endpoints[0]] })).toMatchObject({ lrpAddressMatcherIps: undefined, allowServiceExternalIps: false });
    });
});
