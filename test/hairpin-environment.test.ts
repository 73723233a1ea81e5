import { describe, expect, it } from "vitest";
import { resolveStack as parseConfig, type AwsStackSpec } from "../program/resolve";
import { deployAwsCluster } from "../program/sections/aws-deploy";
import { deployHairpin } from "../program/sections/hairpin-deploy";
import { capture, expectProblems, resolve } from "./harness";

const endpoint = (over: Record<string, unknown> = {}) => ({
    name: "ingress",
    externalIpsFrom: "environment",
    ports: [{ port: 443, name: "https", targetPort: 8443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
    ...over,
});

const aws = (listeners = [{ port: 443, targetPort: 8443 }]) => ({
    vpc: { cidrBlock: "10.30.0.0/16", availabilityZoneCount: 2 },
    eks: { publicAccessCidrs: ["52.94.76.0/22"] },
    nodeGroups: [{ name: "g", instanceType: "t3.small" }],
    ingressNlb: { enabled: true, listeners },
});

describe("hairpin endpoints with externalIpsFrom: environment", () => {
    it("take the AWS ingress NLB's Elastic IPs: one LRP per EIP, naming the real address", async () => {
        const spec = parseConfig({ environment: "aws", cluster: { name: "t" }, aws: aws(), hairpin: { enabled: true, endpoints: [endpoint()] } }) as AwsStackSpec;
        const { r, value: cluster } = await capture(async () => {
            const cluster = await deployAwsCluster(spec);
            deployHairpin(spec.hairpin, spec.cluster.name, cluster, { release: cluster.ciliumRelease, firewallRules: [], outputs: {} });
            return cluster;
        }, {
            config: { "aws:region": "eu-central-1" },
            extraState: (a) => {
                if (a.type === "aws:ec2/eip:Eip") {
                    const n = Number(a.name.split("-").pop());
                    return { allocationId: `eipalloc-${n}`, publicIp: `198.51.100.${n + 1}`, publicDns: `ec2-${n}.example` };
                }
                if (a.type === "aws:eks/cluster:Cluster") return { name: "t-eks", endpoint: "https://X.eks.example", certificateAuthority: { data: "Q0E=" } };
                return undefined;
            },
        });
        const lrps = r.ofType("kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy").map((x) => r.inputs(x).spec as any);
        expect(lrps.map((s) => [s.redirectFrontend.addressMatcher.ip, s.redirectFrontend.addressMatcher.toPorts[0].port, s.redirectBackend.toPorts[0].port])).toEqual([
            ["198.51.100.1", "443", "8443"],
            ["198.51.100.2", "443", "8443"],
        ]);
        expect(lrps.every((s) => s.redirectBackend.localEndpointSelector.matchLabels.app === "ingress-gateway")).toBe(true);
        expect(await resolve(cluster.externalEndpoints!.ips)).toEqual(["198.51.100.1", "198.51.100.2"]);
    });

    it("are [computed] in preview, never invented", async () => {
        const spec = parseConfig({ environment: "aws", cluster: { name: "t" }, aws: aws(), hairpin: { enabled: true, endpoints: [endpoint()] } }) as AwsStackSpec;
        const { r, value: cluster } = await capture(async () => {
            const cluster = await deployAwsCluster(spec);
            deployHairpin(spec.hairpin, spec.cluster.name, cluster, { release: cluster.ciliumRelease, firewallRules: [], outputs: {} });
            return cluster;
        }, { preview: true, config: { "aws:region": "eu-central-1" } });
        const ips = r.ofType("kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy").map((x) => (r.inputs(x).spec as any).redirectFrontend.addressMatcher.ip);
        expect(ips).toEqual(["[computed]", "[computed]"]);
    });

    it("need an environment with external addresses, and ports the NLB listens on", () => {
        expectProblems(() => parseConfig({ environment: "local", hairpin: { enabled: true, endpoints: [endpoint()] } }), [
            { path: "directpath:hairpin.endpoints[0].externalIpsFrom", value: "environment", rule: /no external addresses.*ingressNlb\.enabled/ },
        ]);
        expectProblems(() => parseConfig({ environment: "aws", cluster: { name: "t" }, aws: aws([{ port: 80, targetPort: 8080 }]), hairpin: { enabled: true, endpoints: [endpoint()] } }), [
            { path: "directpath:hairpin.endpoints[0].ports[0].port", value: 443, rule: /listener ports \(80\).*add a listener for 443/ },
        ]);
    });

    it("set exactly one of externalIps and externalIpsFrom", () => {
        expectProblems(() => parseConfig({ environment: "aws", cluster: { name: "t" }, aws: aws(), hairpin: { enabled: true, endpoints: [endpoint({ externalIps: ["203.0.113.7"] })] } }), [
            { path: "directpath:hairpin.endpoints[0].externalIpsFrom", rule: /either externalIps or externalIpsFrom, not both/ },
        ]);
        const { externalIpsFrom: _x, ...bare } = endpoint();
        expectProblems(() => parseConfig({ environment: "local", hairpin: { enabled: true, endpoints: [bare] } }), [
            { path: "directpath:hairpin.endpoints[0].externalIps", value: undefined, rule: /list the external IPs, or set externalIpsFrom/ },
        ]);
        expectProblems(() => parseConfig({ environment: "local", hairpin: { enabled: true, endpoints: [endpoint({ externalIpsFrom: "cloud" })] } }), [
            { path: "directpath:hairpin.endpoints[0].externalIpsFrom", value: "cloud", rule: /one of environment/ },
        ]);
    });
});
