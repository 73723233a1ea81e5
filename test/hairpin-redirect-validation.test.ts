/**
 * Every validation rule of the redirect half (and the endpoint model rules it relies on): each
 * names the field, quotes the value, states the rule, and nothing is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { HairpinBypass, type HairpinBypassArgs } from "../components/hairpin";
import { parseConfig } from "../program/config";
import { capture, expectProblems } from "./harness";

const registry = () => ({
    name: "registry",
    externalIps: ["169.233.100.10"],
    ports: [{ port: 443, name: "https", targetPort: 8443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
});

/** Asserts the component throws with these problems and registers nothing. */
async function rejects(args: unknown, expected: Array<{ path: string; rule?: RegExp; value?: unknown }>) {
    const { r } = await capture(() => undefined);
    return expectProblems(() => new HairpinBypass("hp", args as HairpinBypassArgs), expected, r);
}

describe("redirect-half validation", () => {
    it("service-external-ips on a cluster that denies externalIPs (DenyServiceExternalIPs)", async () => {
        await rejects({
            endpoints: [{ ...registry(), mode: "service-external-ips" }],
            redirect: { serviceExternalIps: { clusterDeniesExternalIps: true } },
        }, [{ path: "endpoints[0].mode", rule: /DenyServiceExternalIPs.*use mode 'iptables'/, value: "service-external-ips" }]);
        // Through the default mode, the path points at defaultMode.
        await rejects({
            defaultMode: "service-external-ips",
            endpoints: [registry()],
            redirect: { serviceExternalIps: { clusterDeniesExternalIps: true } },
        }, [{ path: "defaultMode", rule: /DenyServiceExternalIPs/, value: "service-external-ips" }]);
    });

    it("an existing Service serves externalIPs on its own port: targetPort must equal port", async () => {
        await rejects({
            endpoints: [{ name: "api", externalIps: ["169.233.100.12"], ports: [{ port: 443, targetPort: 8443 }], backend: { service: { namespace: "apps", name: "api" } }, mode: "service-external-ips" }],
        }, [{ path: "endpoints[0].ports[0].targetPort", rule: /must equal the Service port.*mode 'iptables'/, value: 8443 }]);
    });

    it("iptables mode is IPv4 only: external IPs and address backends", async () => {
        await rejects({
            endpoints: [{ name: "git", externalIps: ["169.233.100.20", "fd00::20"], ports: [{ port: 22 }], backend: { address: { ip: "fd00::1" } }, mode: "iptables" }],
        }, [
            { path: "endpoints[0].externalIps[1]", rule: /IPv4 only/, value: "fd00::20" },
            { path: "endpoints[0].backend.address.ip", rule: /IPv4 only/, value: "fd00::1" },
        ]);
    });

    it("iptables options: reconcile interval range, backend, cluster domain, unknown keys", async () => {
        await rejects({
            endpoints: [registry()],
            redirect: { iptables: { reconcileSeconds: 1, backend: "xtables", clusterDomain: "Cluster.Local" }, lrp: { skipRedirectFromBackend: "yes", socketLB: true } },
        }, [
            { path: "redirect.iptables.reconcileSeconds", rule: /5-3600/, value: 1 },
            { path: "redirect.iptables.backend", rule: /auto, nft, legacy/, value: "xtables" },
            { path: "redirect.iptables.clusterDomain", rule: /DNS domain/, value: "Cluster.Local" },
            { path: "redirect.lrp.skipRedirectFromBackend", rule: /true or false/, value: "yes" },
            { path: "redirect.lrp.socketLB", rule: /unknown key/, value: true },
        ]);
    });

    it("externalIps entries: a bad string now; a value that is neither a string nor an Output", async () => {
        await rejects({ endpoints: [{ ...registry(), externalIps: ["169.233.100.300", 42, pulumi.output("169.233.100.11")] }] }, [
            { path: "endpoints[0].externalIps[0]", rule: /IPv4 .* or IPv6/, value: "169.233.100.300" },
            { path: "endpoints[0].externalIps[1]", rule: /a string, or a pulumi.Output<string>/, value: 42 },
        ]);
    });

    it("uniqueness rules skip Output entries but catch plain duplicates", async () => {
        const problems = await rejects({
            endpoints: [
                { ...registry(), externalIps: ["169.233.100.10", pulumi.output("169.233.100.10")] },
                { ...registry(), name: "registry2", externalIps: ["169.233.100.10"] },
            ],
        }, [{ path: "endpoints[1].ports[0]", rule: /already claimed by endpoints\[0\]\.ports\[0\]/, value: "169.233.100.10:443/TCP" }]);
        expect(problems.filter((p) => p.path.startsWith("endpoints[0]"))).toEqual([]);
    });

    it("model rules the redirect half relies on: named ports, backend kind per mode, mode names", async () => {
        await rejects({
            endpoints: [
                { ...registry(), ports: [{ port: 443, targetPort: 8443 }, { port: 80, name: "http" }] },
                { ...registry(), name: "git", externalIps: ["169.233.100.20"], mode: "iptables" },
                { ...registry(), name: "x", externalIps: ["169.233.100.21"], backend: { address: { ip: "192.168.10.100" } } },
                { ...registry(), name: "y", externalIps: ["169.233.100.22"], mode: "lrp" },
            ],
        }, [
            { path: "endpoints[0].ports[0].name", rule: /required when an endpoint has several ports/ },
            { path: "endpoints[1].backend", rule: /a 'pods' backend cannot be served by mode 'iptables'.*'cilium-lrp' or 'service-external-ips'/, value: "pods" },
            { path: "endpoints[2].backend", rule: /a 'address' backend cannot be served by mode 'cilium-lrp' \(the default mode\).*'iptables'/, value: "address" },
            { path: "endpoints[3].mode", rule: /one of cilium-lrp, service-external-ips, iptables/, value: "lrp" },
        ]);
    });

    it("reports every problem at once", async () => {
        const problems = await rejects({
            endpoints: [
                { ...registry(), mode: "service-external-ips" },
                { name: "git", externalIps: ["fd00::20"], ports: [{ port: 22 }], backend: { address: { ip: "192.168.10.1" } }, mode: "iptables" },
            ],
            redirect: { serviceExternalIps: { clusterDeniesExternalIps: true }, iptables: { reconcileSeconds: 0 } },
        }, [
            { path: "endpoints[0].mode" },
            { path: "endpoints[1].externalIps[0]" },
            { path: "redirect.iptables.reconcileSeconds" },
        ]);
        expect(problems.length).toBeGreaterThanOrEqual(3);
    });
});

describe("stack config: hairpin x cluster x cilium", () => {
    const base = (hairpin: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
        environment: "local",
        cluster: { name: "local", cni: "cilium" },
        hairpin: { enabled: true, endpoints: [registry()], ...hairpin },
        ...extra,
    });

    it("cilium-lrp needs cluster.cni cilium", () => {
        expectProblems(() => parseConfig({ ...base({}), cluster: { cni: "other" } }), [
            { path: "directpath:hairpin.defaultMode", rule: /mode 'cilium-lrp', but directpath:cluster.cni is 'other'/, value: "cilium-lrp" },
        ]);
        expectProblems(() => parseConfig({ ...base({ endpoints: [{ ...registry(), mode: "cilium-lrp" }] }), cluster: { cni: "other" } }), [
            { path: "directpath:hairpin.endpoints[0].mode", rule: /Local Redirect Policies need Cilium/ },
        ]);
    });

    it("a cilium section that keeps the externalIP mitigation contradicts a service-external-ips endpoint", () => {
        expectProblems(() => parseConfig(base({ defaultMode: "service-external-ips" }, { cilium: { k8sServiceHost: "192.168.10.100", allowServiceExternalIps: false } })), [
            { path: "directpath:cilium.allowServiceExternalIps", rule: /bpf.disableExternalIPMitigation: true/, value: false },
        ]);
        // With cni other there is no Cilium to contradict.
        expect(() => parseConfig({ ...base({ defaultMode: "service-external-ips" }, { cilium: { k8sServiceHost: "h", allowServiceExternalIps: false } }), cluster: { cni: "other" } })).not.toThrow();
    });

    it("restrictLrpAddresses needs chart 1.18+; the cilium section needs k8sServiceHost", () => {
        expectProblems(() => parseConfig(base({}, { cilium: { k8sServiceHost: "h", chartVersion: "1.17.6", restrictLrpAddresses: true } })), [
            { path: "directpath:cilium.restrictLrpAddresses", rule: /1.18 or later/, value: true },
        ]);
        expectProblems(() => parseConfig(base({}, { cilium: { install: true, chartVersion: "1.15.19" } })), [
            { path: "directpath:cilium.k8sServiceHost" },
            { path: "directpath:cilium.chartVersion", rule: /1.16.0 or later/, value: "1.15.19" },
        ]);
    });
});
