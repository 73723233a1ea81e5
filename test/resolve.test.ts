/**
 * program/resolve.ts: one function turns raw stack config into the typed description of what will
 * be deployed, a union on `environment`, checking everything once.
 */
import { describe, expect, it } from "vitest";
import { resolveStack, type AwsStackSpec, type LocalStackSpec } from "../program/resolve";
import { expectProblems } from "./harness";

const awsRaw = (more: Record<string, unknown> = {}) => ({
    environment: "aws",
    cluster: { name: "t" },
    aws: { eks: { publicAccessCidrs: ["52.94.76.0/22"] }, nodeGroups: [{ name: "g", instanceType: "t3.small" }] },
    ...more,
});

describe("resolveStack", () => {
    it("local: the cluster as written, no aws block, Cilium only with directpath:cilium", () => {
        const spec = resolveStack({ environment: "local", cluster: { name: "lab" } }) as LocalStackSpec;
        expect(spec).toMatchObject({ environment: "local", kubeconfig: false, cluster: { name: "lab", cni: "cilium", clusterDomain: "cluster.local", podCidrs: [], nodes: [] } });
        expect(spec).not.toHaveProperty("aws");
        expect(spec.cilium).toBeUndefined();
        const withCilium = resolveStack({ environment: "local", cilium: { k8sServiceHost: "10.0.0.1" } });
        expect(withCilium.cilium).toMatchObject({ install: false, chartVersion: "1.19.3", k8sServiceHost: "10.0.0.1", tunnel: { protocol: "vxlan" }, hubble: true, lrpAllowList: true });
    });

    it("aws: the cluster with the environment's default CIDRs, Cilium always installed, the components' args", () => {
        const spec = resolveStack(awsRaw()) as AwsStackSpec;
        expect(spec.environment).toBe("aws");
        expect(spec.cluster).toMatchObject({ podCidrs: ["10.244.0.0/16"], serviceCidr: "172.20.0.0/16" });
        expect(spec.derived).toMatchObject({ "directpath:cluster.podCidrs": expect.stringContaining("10.244.0.0/16"), "directpath:cluster.serviceCidr": expect.stringContaining("172.20.0.0/16") });
        expect(spec.cilium).toMatchObject({ install: true, chartVersion: "1.19.3", hubble: true });
        expect(spec.cilium).not.toHaveProperty("k8sServiceHost");
        expect(spec.aws.eks).toMatchObject({ podCidr: "10.244.0.0/16" });
        expect(spec.aws.ciliumInstall).toMatchObject({ chartVersion: "1.19.3" });
        expect(spec.aws.security).toMatchObject({ tunnelPort: 8472, hubble: true });
        // One Cilium block: the same keys as on an existing cluster steer EKS's Cilium and the SG.
        const tuned = resolveStack(awsRaw({ cilium: { chartVersion: "1.18.4", tunnel: { port: 8555 }, hubble: false } })) as AwsStackSpec;
        // EksCilium takes the chart version; it reads the tunnel port and Hubble from ClusterSecurity (one place).
        expect(tuned.aws.ciliumInstall).toMatchObject({ chartVersion: "1.18.4" });
        expect(tuned.aws.security).toMatchObject({ tunnelPort: 8555, hubble: false });
    });

    it("explicit values in directpath:cluster win over the aws defaults", () => {
        const spec = resolveStack(awsRaw({ cluster: { name: "t", podCidrs: ["10.250.0.0/16"], serviceCidr: "172.21.0.0/16" } })) as AwsStackSpec;
        expect([spec.aws.eks.podCidr, spec.aws.eks.serviceCidr]).toEqual(["10.250.0.0/16", "172.21.0.0/16"]);
        expect(spec.derived).not.toHaveProperty("directpath:cluster.podCidrs");
    });

    it("keys of the other environment are errors", () => {
        expectProblems(() => resolveStack({ environment: "local", aws: { nodeGroups: [] } }), [
            { path: "directpath:aws", rule: /only used when directpath:environment is aws/ },
        ]);
        expectProblems(() => resolveStack(awsRaw({ cluster: { name: "t", nodes: [{ name: "n1", internalIp: "10.0.0.1" }] } })), [
            { path: "directpath:cluster.nodes", rule: /environment local.*directpath:aws\.nodeGroups/ },
        ]);
        expectProblems(() => resolveStack({ environment: "aws", cluster: { name: "t" } }), [{ path: "directpath:aws", value: undefined, rule: /required when environment is aws/ }]);
    });

    it("one bad section doesn't hide another's problems", () => {
        expectProblems(() => resolveStack({
            environment: "local",
            cluster: { podCidrs: ["10.0.0.0/8"], serviceCidr: "10.96.0.0/12" },
            tailscale: { enabled: true, port: 8472, image: { tag: "latest" } },
            cilium: { chartVersion: "1.15.0" },
        }), [
            { path: "directpath:cluster.podCidrs[0]", rule: /overlaps directpath:cluster\.serviceCidr/ },
            { path: "directpath:tailscale.port", value: 8472 },
            { path: "directpath:tailscale.image.tag", value: "latest" },
            { path: "directpath:tailscaleAuthKey", rule: /set exactly one/ },
            { path: "directpath:cilium.chartVersion", value: "1.15.0", rule: /1\.16\.0 or later/ },
            { path: "directpath:cilium.k8sServiceHost", value: undefined, rule: /required for an existing cluster/ },
        ]);
    });
});
