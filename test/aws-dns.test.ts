/**
 * Hairpin DNS overrides that stick on EKS.
 *
 * - EKS's CoreDNS add-on takes a whole Corefile in its configurationValues (key `corefile`, in the
 *   add-on's JSON schema since advanced configuration, December 2022; `aws eks
 *   describe-addon-configuration --addon-name coredns` shows it for each version):
 *   https://docs.aws.amazon.com/eks/latest/userguide/coredns-add-on-create.html and
 *   https://aws.amazon.com/blogs/containers/amazon-eks-add-ons-advanced-configuration/
 * - The add-on's Corefile has no `import /etc/coredns/custom/*.server` (so `coredns-custom` is
 *   inert), and the add-on manager overwrites fields it manages (an edited Corefile reverts; with
 *   resolveConflicts OVERWRITE on every update):
 *   https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-field-management.html
 * - EKS has no NodeLocal DNSCache add-on (the add-on list: https://docs.aws.amazon.com/eks/latest/userguide/workloads-add-ons-available-eks.html).
 */
import { describe, expect, it } from "vitest";
import { coreDnsConfigurationValues } from "../components/aws";
import { servedZones, parseCorefile } from "../components/hairpin/corefile";
import { eksAddonCorefile } from "../components/hairpin";
import { resolveStack, type AwsStackSpec } from "../program/resolve";
import { deployAwsCluster } from "../program/sections/aws-deploy";
import { deployHairpin } from "../program/sections/hairpin-deploy";
import { capture, expectProblems, resolve } from "./harness";

const endpoint = {
    name: "ingress",
    externalIpsFrom: "environment",
    hostnames: ["app.example.com"],
    internalAddress: "10.30.1.10",
    ports: [{ port: 443, name: "https", targetPort: 8443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
};
const stack = (dns: Record<string, unknown> = {}, environment = "aws") => environment === "aws"
    ? {
        environment, cluster: { name: "t" },
        aws: { vpc: { cidrBlock: "10.30.0.0/16", availabilityZoneCount: 2 }, eks: { publicAccessCidrs: ["52.94.76.0/22"] }, nodeGroups: [{ name: "g", instanceType: "t3.small" }], ingressNlb: { listeners: [{ port: 443, targetPort: 8443 }] } },
        hairpin: { enabled: true, endpoints: [endpoint], dns },
    }
    : { environment, hairpin: { enabled: true, endpoints: [{ ...endpoint, externalIpsFrom: undefined, externalIps: ["203.0.113.7"] }], dns } };

const mocks = {
    config: { "aws:region": "eu-central-1" },
    extraState: (a: { type: string; name: string }): Record<string, unknown> | undefined => {
        if (a.type === "aws:ec2/eip:Eip") {
            const n = Number(a.name.split("-").pop());
            return { allocationId: `eipalloc-${n}`, publicIp: `52.94.76.${n + 1}`, publicDns: `ec2-${n}.example` };
        }
        if (a.type === "aws:eks/cluster:Cluster") return { endpoint: "https://X.eks.example", certificateAuthority: { data: "Q0E=" } };
        return undefined;
    },
};

describe("DNS overrides on EKS go through the CoreDNS add-on's configurationValues", () => {
    it("aws derives eks-addon; coredns-custom and corefile are refused naming eks-addon, dns.hosts and dns.nodeLocalDns; eks-addon is refused elsewhere", () => {
        const spec = resolveStack(stack()) as AwsStackSpec;
        expect(spec.hairpin!.dns.coredns.delivery).toBe("eks-addon");
        expect(spec.derived["directpath:hairpin.dns.coredns.delivery"]).toMatch(/EKS's CoreDNS add-on takes the Corefile in its configurationValues/);
        expectProblems(() => resolveStack(stack({ coredns: { delivery: "coredns-custom" } })), [
            { path: "directpath:hairpin.dns.coredns.delivery", value: "coredns-custom", rule: /does nothing on EKS: .*no import of \/etc\/coredns\/custom\/\*\.server.*eks-addon.*dns\.hosts.*dns\.nodeLocalDns/ },
        ]);
        expectProblems(() => resolveStack(stack({ coredns: { delivery: "corefile", baseCorefile: eksAddonCorefile("cluster.local") } })), [
            { path: "directpath:hairpin.dns.coredns.delivery", value: "corefile", rule: /add-on manager reverts an edited Corefile.*eks-addon.*dns\.hosts.*dns\.nodeLocalDns/ },
        ]);
        expectProblems(() => resolveStack(stack({ coredns: { delivery: "eks-addon" } }, "local")), [
            { path: "directpath:hairpin.dns.coredns.delivery", value: "eks-addon", rule: /is for EKS's CoreDNS add-on/ },
        ]);
        expectProblems(() => resolveStack(stack({ nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "172.20.0.10" } })), [
            { path: "directpath:hairpin.dns.nodeLocalDns.delivery", value: "inventory", rule: /EKS has no NodeLocal DNSCache add-on: use corefile delivery/ },
        ]);
    });

    it("the add-on carries EKS's Corefile with the override block in front; HairpinBypass registers no CoreDNS patch and outputs the same Corefile", async () => {
        const spec = resolveStack(stack()) as AwsStackSpec;
        const { r, value: hairpinOutputs } = await capture(async () => {
            const cluster = await deployAwsCluster(spec);
            return deployHairpin(spec.hairpin, spec.cluster.name, cluster, { release: cluster.ciliumRelease, firewallRules: [], outputs: {} }).outputs;
        }, mocks);
        const addon = r.inputs(r.get("aws:eks/addon:Addon", "t-cilium-coredns"));
        expect(addon).toMatchObject({ addonName: "coredns", resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE" });
        const values = JSON.parse(String(addon.configurationValues));
        expect(Object.keys(values)).toEqual(["corefile"]);
        const corefile = values.corefile as string;
        // Parsed the way CoreDNS reads it: the override zone, then EKS's own root block intact.
        expect(servedZones(parseCorefile(corefile))).toEqual(expect.arrayContaining(["app.example.com", "."]));
        expect(corefile).toMatch(/app\\?\.example\\?\.com[\s\S]*10\.30\.1\.10/);
        expect(corefile.endsWith(eksAddonCorefile("cluster.local"))).toBe(true);
        expect(r.resources.filter((x) => x.type === "kubernetes:core/v1:ConfigMapPatch" && /coredns/.test(x.name))).toEqual([]);
        const dns = (hairpinOutputs as { hairpinDns: { corednsCorefile: unknown; corednsTarget: unknown } }).hairpinDns;
        expect(await resolve(dns.corednsCorefile)).toBe(corefile);
        expect(dns.corednsTarget).toEqual({ namespace: "kube-system", configMap: "coredns", key: "Corefile", delivery: "eks-addon" });
    });

    it("without hostnames the add-on keeps its own Corefile (no configurationValues)", async () => {
        const spec = resolveStack({ ...stack(), hairpin: { enabled: true, endpoints: [{ ...endpoint, hostnames: [] }] } }) as AwsStackSpec;
        const { r } = await capture(() => deployAwsCluster(spec), mocks);
        expect(r.inputs(r.get("aws:eks/addon:Addon", "t-cilium-coredns")).configurationValues).toBeUndefined();
        expect(await resolve(coreDnsConfigurationValues(""))).toBeUndefined();
    });
});
