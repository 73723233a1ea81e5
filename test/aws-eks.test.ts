import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
    buildKubeconfig, CILIUM_AGENT_NOT_READY_TAINT, ClusterSecurity, EksCilium, EksCluster, eksCiliumValueOptions, EksNodeGroup, endpointHost, isArmInstanceType,
    launchTemplateSpec, NODE_ROLE_POLICIES, nodeGroupSchema, PublicVpc, type EksClusterArgs, type EksNodeGroupOptionsInput,
} from "../components/aws";
import { CiliumInstall } from "../components/cilium";
import { CILIUM_CHART_VERSION, ciliumValues } from "../components/cilium/values";
import { capture, expectProblems, resolve } from "./aws-helpers";
import { isSecretOutput } from "./harness";

const ENDPOINT = "https://ABC123.gr7.eu-central-1.eks.amazonaws.com";

/** Provider-computed outputs the tests need (everything else echoes the inputs). */
const mocks = {
    config: { "aws:region": "eu-central-1" },
    extraState: (a: { type: string; name: string; inputs: Record<string, unknown> }): Record<string, unknown> | undefined => {
        switch (a.type) {
            case "aws:eks/cluster:Cluster":
                return { name: `${a.name}-eks`, endpoint: ENDPOINT, certificateAuthority: { data: "Q0EtREFUQQ==" }, vpcConfig: { ...(a.inputs.vpcConfig as object), clusterSecurityGroupId: "sg-eks-managed" } };
            case "aws:eks/nodeGroup:NodeGroup":
                return { resources: [{ autoscalingGroups: [{ name: `eks-${a.name}-asg` }], remoteAccessSecurityGroupId: "" }] };
            case "aws:ec2/launchTemplate:LaunchTemplate":
                return { latestVersion: 3 };
            case "aws:kms/key:Key":
                return { arn: `arn:aws:kms:eu-central-1:123456789012:key/${a.name}` };
            case "aws:iam/role:Role":
                return { arn: `arn:aws:iam::123456789012:role/${a.name}`, name: a.name };
            default:
                return undefined;
        }
    },
};

/** The network an EksCluster takes: a PublicVpc and its ClusterSecurity (registered too). */
function network(name: string, o: { ipv6?: boolean; tunnelPort?: number; zones?: number } = {}) {
    const vpc = new PublicVpc(name, { cidrBlock: "10.10.0.0/16", availabilityZoneCount: o.zones ?? 2, ipv6: o.ipv6 ?? false });
    const security = new ClusterSecurity(name, { vpc, ...(o.tunnelPort ? { tunnelPort: o.tunnelPort } : {}) });
    return { vpc, security };
}

const GENERAL: EksNodeGroupOptionsInput = { name: "general", instanceType: "t3.small", minSize: 2, desiredSize: 2, maxSize: 3 };

/** A cluster with node groups, as the default program composes it. */
function clusterWith(name: string, args: Omit<EksClusterArgs, "vpc" | "security"> = {}, groups: EksNodeGroupOptionsInput[] = [GENERAL], net: Parameters<typeof network>[1] = {}) {
    const eks = new EksCluster(name, { ...network(name, net), ...args });
    const nodeGroups = groups.map((g) => new EksNodeGroup(`${name}-${g.name}`, { ...g, cluster: eks }));
    return { eks, nodeGroups };
}

describe("EksCluster", () => {
    it("creates the control plane without aws-node or kube-proxy, with access entries, a private+public endpoint and KMS secrets encryption", async () => {
        const { r } = await capture(() => clusterWith("dev", {
            publicAccessCidrs: ["52.94.76.0/22"],
            adminPrincipalArns: ["arn:aws:iam::123456789012:role/platform-admin"],
            logTypes: ["audit"],
        }), mocks);
        const cluster = r.inputs(r.get("aws:eks/cluster:Cluster", "dev"));
        expect(cluster.bootstrapSelfManagedAddons).toBe(false);
        expect(cluster.accessConfig).toEqual({ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false });
        expect(cluster.version).toBe("1.33");
        expect(cluster.vpcConfig).toEqual({
            subnetIds: ["dev-public-0-id", "dev-public-1-id"],
            securityGroupIds: ["dev-cluster-id"],
            endpointPublicAccess: true,
            endpointPrivateAccess: true,
            publicAccessCidrs: ["52.94.76.0/22"],
        });
        expect(cluster.encryptionConfig).toEqual({ provider: { keyArn: "arn:aws:kms:eu-central-1:123456789012:key/dev-secrets" }, resources: ["secrets"] });
        expect(cluster.kubernetesNetworkConfig).toEqual({ ipFamily: "ipv4", serviceIpv4Cidr: "172.20.0.0/16" });
        expect(cluster.enabledClusterLogTypes).toEqual(["audit"]);
        expect(r.inputs(r.get("aws:kms/key:Key", "dev-secrets")).enableKeyRotation).toBe(true);
        // The control plane waits for the security groups' rules: nodes join only once node -> API 443 is open.
        expect(r.get("aws:eks/cluster:Cluster", "dev").dependsOn).toContain(r.get("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "dev-cluster-in-https").urn);

        // The cluster role may use exactly this key, and only for what envelope encryption needs.
        const kms = JSON.parse(String(r.inputs(r.get("aws:iam/rolePolicy:RolePolicy", "dev-cluster-kms")).policy));
        expect(kms.Statement).toEqual([{ Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"], Resource: "arn:aws:kms:eu-central-1:123456789012:key/dev-secrets" }]);

        // Admins get an access entry plus the cluster-admin policy, not an aws-auth ConfigMap.
        expect(r.inputs(r.get("aws:eks/accessEntry:AccessEntry", "dev-admin-123456789012-role-platform-admin"))).toMatchObject({ principalArn: "arn:aws:iam::123456789012:role/platform-admin", type: "STANDARD" });
        expect(r.inputs(r.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "dev-admin-123456789012-role-platform-admin"))).toMatchObject({
            principalArn: "arn:aws:iam::123456789012:role/platform-admin",
            policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            accessScope: { type: "cluster" },
        });
        expect(r.resources.some((x) => x.type === "kubernetes:core/v1:ConfigMap")).toBe(false);
    });

    it("gives the roles only the minimal managed policies (no AmazonEKS_CNI_Policy without the VPC CNI)", async () => {
        const { r } = await capture(() => clusterWith("dev"), mocks);
        const attached = r.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((x) => [r.inputs(x).role, r.inputs(x).policyArn]);
        expect(attached.sort()).toEqual([
            ["dev-cluster", "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
            ["dev-node", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"],
            ["dev-node", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"],
        ]);
        expect(NODE_ROLE_POLICIES).not.toContain("AmazonEKS_CNI_Policy");
        const trust = (name: string) => JSON.parse(String(r.inputs(r.get("aws:iam/role:Role", name)).assumeRolePolicy)).Statement[0].Principal.Service;
        expect(trust("dev-cluster")).toBe("eks.amazonaws.com");
        expect(trust("dev-node")).toBe("ec2.amazonaws.com");
    });

    it("launches nodes from a template with the node SG, IMDSv2 (hop limit 2), an encrypted gp3 root volume and a public IP", async () => {
        const { r } = await capture(() => clusterWith("dev"), mocks);
        const lt = r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "dev-general"));
        expect(lt.metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 });
        expect(lt.blockDeviceMappings).toEqual([{ deviceName: "/dev/xvda", ebs: { volumeSize: 20, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
        expect(lt.networkInterfaces).toEqual([{ deviceIndex: 0, associatePublicIpAddress: "true", deleteOnTermination: "true", securityGroups: ["dev-node-id"] }]);
        // The user data (MIME + the complete NodeConfig) is checked field by field in aws-nodeconfig.test.ts.
        expect(Buffer.from(String(lt.userData), "base64").toString("utf8")).toContain("maxPods: 110");
        // Security groups live on the interface; a template with both is rejected by EC2.
        expect(lt.vpcSecurityGroupIds).toBeUndefined();
        expect(lt.imageId).toBe("resolve:ssm:/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id");
        expect(lt.iamInstanceProfile).toBeUndefined();

        const ng = r.inputs(r.get("aws:eks/nodeGroup:NodeGroup", "dev-general"));
        expect(ng).toMatchObject({
            clusterName: "dev-eks",
            subnetIds: ["dev-public-0-id", "dev-public-1-id"],
            instanceTypes: ["t3.small"],
            capacityType: "ON_DEMAND",
            scalingConfig: { minSize: 2, maxSize: 3, desiredSize: 2 },
            launchTemplate: { id: "dev-general-id", version: "3" },
            nodeRoleArn: "arn:aws:iam::123456789012:role/dev-node",
            taints: [{ key: "node.cilium.io/agent-not-ready", value: "true", effect: "NO_EXECUTE" }],
        });
        // The AMI is in the launch template: EKS refuses amiType and version with it.
        expect(ng.amiType).toBeUndefined();
        expect(ng.version).toBeUndefined();
        expect(ng.diskSize).toBeUndefined();
        expect(ng.remoteAccess).toBeUndefined();
    });

    it("dual stack and several groups: IPv6 on the interface, labels, taints, Graviton AMI", async () => {
        const { r, value } = await capture(() => clusterWith("prod", {}, [
            { name: "system", instanceType: "t3.large", minSize: 2, desiredSize: 3, maxSize: 4, diskSizeGiB: 40, maxPods: 64, labels: { "directpath.io/pool": "system" }, ciliumStartupTaint: false },
            { name: "arm", instanceType: "m7g.large", capacityType: "SPOT", taints: [{ key: "directpath.io/arm", value: "true", effect: "NoSchedule" }], ciliumStartupTaint: false },
        ], { ipv6: true }), { ...mocks, extraState: (a) => (a.type === "aws:ec2/vpc:Vpc" ? { ipv6CidrBlock: "2600:1f18:abcd:ef00::/56" } : mocks.extraState(a)) });
        const lt = r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "prod-system"));
        expect(lt.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 2, httpProtocolIpv6: "enabled" });
        expect((lt.networkInterfaces as unknown[])[0]).toMatchObject({ associatePublicIpAddress: "true", ipv6AddressCount: 1 });
        expect((lt.blockDeviceMappings as Array<{ ebs: unknown }>)[0]!.ebs).toMatchObject({ volumeSize: 40, encrypted: "true", volumeType: "gp3" });
        expect(Buffer.from(String(lt.userData), "base64").toString("utf8")).toContain("maxPods: 64");
        expect(r.inputs(r.get("aws:eks/nodeGroup:NodeGroup", "prod-system"))).toMatchObject({ labels: { "directpath.io/pool": "system" }, taints: [] });
        expect(r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "prod-arm")).imageId).toBe("resolve:ssm:/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/arm64/standard/recommended/image_id");
        expect(r.inputs(r.get("aws:eks/nodeGroup:NodeGroup", "prod-arm"))).toMatchObject({
            capacityType: "SPOT",
            taints: [{ key: "directpath.io/arm", value: "true", effect: "NO_SCHEDULE" }],
        });
        expect(await resolve(value.nodeGroups.map((g) => g.autoscalingGroupName))).toEqual(["eks-prod-system-asg", "eks-prod-arm-asg"]);
        expect(value.nodeGroups.map((g) => g.groupName)).toEqual(["system", "arm"]);
        // Each group's resources are its own children; the description still names cluster and group.
        const parent = r.get("directpath:aws:EksNodeGroup", "prod-arm").urn;
        expect(r.get("aws:eks/nodeGroup:NodeGroup", "prod-arm").parent).toBe(parent);
        expect(r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "prod-arm")).description).toBe("directpath EKS prod node group arm");
    });

    it("EksCilium installs Cilium with the shared values (EKS endpoint, port 443, the SG's tunnel port) and CoreDNS after it", async () => {
        const { r } = await capture(() => {
            const { eks, nodeGroups } = clusterWith("dev", {}, [GENERAL], { tunnelPort: 8473 });
            return new EksCilium("dev-cilium", { cluster: eks, nodeGroups, allowServiceExternalIps: true });
        }, mocks);
        const release = r.get("kubernetes:helm.sh/v3:Release", "dev-cilium");
        expect(release.parent).toBe(r.get("directpath:aws:EksCilium", "dev-cilium").urn);
        const inputs = r.inputs(release);
        expect(inputs).toMatchObject({ chart: "cilium", version: CILIUM_CHART_VERSION, namespace: "kube-system", repositoryOpts: { repo: "https://helm.cilium.io" } });
        const expected = ciliumValues({
            chartVersion: CILIUM_CHART_VERSION,
            k8sServiceHost: "ABC123.gr7.eu-central-1.eks.amazonaws.com",
            k8sServicePort: 443,
            tunnel: { protocol: "vxlan", port: 8473 },
            hubble: true,
            allowServiceExternalIps: true,
            extraValues: { ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"], clusterPoolIPv4MaskSize: 24 } } },
        });
        expect(inputs.values).toEqual(expected);
        // Spelled out, so a change to the shared definition can't silently drop what EKS needs.
        expect(inputs.values).toMatchObject({
            kubeProxyReplacement: true,
            k8sServiceHost: "ABC123.gr7.eu-central-1.eks.amazonaws.com",
            k8sServicePort: 443,
            routingMode: "tunnel",
            tunnelProtocol: "vxlan",
            tunnelPort: 8473,
            socketLB: { enabled: true, hostNamespaceOnly: false },
            localRedirectPolicies: { enabled: true },
            bpf: { disableExternalIPMitigation: true },
            hubble: { enabled: true, tls: { auto: { method: "cronJob" } } },
            ipam: { operator: { clusterPoolIPv4PodCIDRList: ["10.244.0.0/16"] } },
        });

        const addon = r.get("aws:eks/addon:Addon", "dev-cilium-coredns");
        expect(r.inputs(addon)).toMatchObject({ addonName: "coredns", clusterName: "dev-eks" });
        const nodeGroup = r.get("aws:eks/nodeGroup:NodeGroup", "dev-general");
        expect(addon.dependsOn).toContain(release.urn);
        expect(addon.dependsOn).toContain(nodeGroup.urn);
        // Cilium must not wait for the nodes (its agents are what make them Ready).
        expect(release.dependsOn ?? []).not.toContain(nodeGroup.urn);
        expect(r.ofType("aws:eks/addon:Addon").map((a) => r.inputs(a).addonName)).toEqual(["coredns"]);
    });

    it("outputs an exec-based kubeconfig as a secret, and a provider that uses it", async () => {
        const { r, value } = await capture(() => clusterWith("dev", { kubeconfigProfile: "ops" }).eks, mocks);
        expect(await isSecretOutput(value.kubeconfig)).toBe(true);
        const kc = parse(await resolve<string>(value.kubeconfig, { revealSecrets: true }));
        expect(kc.clusters[0].cluster).toEqual({ server: ENDPOINT, "certificate-authority-data": "Q0EtREFUQQ==" });
        expect(kc.users[0].user.exec).toEqual({
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", "dev-eks", "--region", "eu-central-1", "--output", "json"],
            env: [{ name: "AWS_PROFILE", value: "ops" }],
            interactiveMode: "Never",
        });
        expect(JSON.stringify(kc)).not.toMatch(/token:/);
        expect(r.inputs(r.get("pulumi:providers:kubernetes", "dev-k8s")).kubeconfig).toBe("[secret]");
        expect(await resolve(value.security.nodeSecurityGroupId)).toBe("dev-node-id");
        expect(await resolve(value.security.clusterSecurityGroupId)).toBe("dev-cluster-id");
        expect(await resolve(value.eksManagedSecurityGroupId)).toBe("sg-eks-managed");
        expect(await resolve(value.nodeRoleArn)).toBe("arn:aws:iam::123456789012:role/dev-node");
    });

    it("rejects bad input with every problem at once, registering nothing", async () => {
        // The network is built first (it is valid); nothing of the cluster may be registered.
        const { r, value: net } = await capture(() => network("x", { zones: 1 }), mocks);
        const count = r.resources.length;
        expectProblems(() => new EksCluster("x", {
            ...net,
            version: "1.3",
            publicAccessCidrs: ["10.0.0.0/8", "2001:db8::/32", "1.2.3.4/33"],
            adminPrincipalArns: ["admin", "arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a"],
            logTypes: ["everything" as never],
            podCidr: "10.10.0.0/16",
            serviceCidr: "100.64.0.0/16",
        }), [
            { path: "vpc", rule: /two availability zones/ },
            { path: "version", rule: /minor version/ },
            { path: "publicAccessCidrs[0]", rule: /private range/, value: "10.0.0.0/8" },
            { path: "publicAccessCidrs[1]", rule: /IPv4/ },
            { path: "publicAccessCidrs[2]", rule: /CIDR/ },
            { path: "adminPrincipalArns[0]", rule: /ARN/ },
            { path: "adminPrincipalArns[2]", rule: /listed twice/ },
            { path: "logTypes[0]", rule: /one of api, audit/ },
            { path: "podCidr", rule: /overlaps the VPC CIDR 10.10.0.0\/16/ },
            { path: "serviceCidr", rule: /100.64.0.0\/10/ },
        ]);
        expectProblems(() => new EksCluster("x", { ...net, podCidr: "10.96.0.0/16", serviceCidr: "10.96.0.0/25", adminPrincipalArns: ["arn:aws:iam::123456789012:role/a-b", "arn:aws:iam::123456789012:role/a/b"] }), [
            { path: "podCidr", rule: /overlaps serviceCidr/ },
            { path: "serviceCidr", rule: /\/12 to \/24/ },
            { path: "adminPrincipalArns[1]", rule: /same access-entry name \(123456789012-role-a-b\)/ },
        ]);
        expect(r.resources.length).toBe(count);
    });

    it("EksNodeGroup rejects bad input with every problem at once, registering nothing", async () => {
        const { r, value: eks } = await capture(() => clusterWith("x", {}, []).eks, mocks);
        const count = r.resources.length;
        expectProblems(() => new EksNodeGroup("x-a", { cluster: eks, name: "a", instanceType: "t3.small", minSize: 3, maxSize: 2, desiredSize: 5 }), [
            { path: "minSize", rule: /<= maxSize/ },
            { path: "desiredSize", rule: /between minSize \(3\) and maxSize \(2\)/ },
        ]);
        expectProblems(() => new EksNodeGroup("x-b", {
            cluster: eks, name: "b", instanceType: "m7g.large", amiType: "AL2023_x86_64_STANDARD", diskSizeGiB: 8,
            taints: [{ key: "node.cilium.io/agent-not-ready", effect: "NoExecute" }, { key: "k", effect: "Sometimes" as never }],
        }), [
            { path: "amiType", rule: /ARM\/Graviton/ },
            { path: "diskSizeGiB", rule: /at least 20/ },
            { path: "taints[0].key", rule: /ciliumStartupTaint/ },
            { path: "taints[1].effect", rule: /NoSchedule, NoExecute or PreferNoSchedule/ },
        ]);
        expectProblems(() => new EksNodeGroup("x-c", { cluster: eks, name: "Bad_Name", instanceType: "big", maxPods: 300 }), [
            { path: "name", rule: /DNS label/ },
            { path: "instanceType", rule: /instance type/ },
            { path: "maxPods", rule: /at most 250/ },
        ]);
        // Cilium options go through the shared values' own validation, before anything registers.
        expectProblems(() => new EksCilium("x-cilium", { cluster: eks, nodeGroups: [], chartVersion: "1.17.0", lrpAddressMatcherIps: ["203.0.113.10"] }), [
            { path: "lrpAddressMatcherIps", rule: /1.18 or later/ },
        ]);
        expectProblems(() => new EksCilium("x-cilium", { cluster: eks, nodeGroups: [], chartVersion: "1.15.0", coreDnsVersion: "latest" }), [
            { path: "chartVersion", rule: /1.16.0 or later/ },
            { path: "coreDnsVersion", rule: /eksbuild/ },
        ]);
        expect(r.resources.length).toBe(count);
    });

    it("a node group added later joins the same cluster with its role, subnets and node security group", async () => {
        const { r } = await capture(() => {
            const { eks } = clusterWith("dev");
            return new EksNodeGroup("dev-batch", { cluster: eks, name: "batch", instanceType: "c6i.large", tags: { team: "batch" } });
        }, mocks);
        const ng = r.inputs(r.get("aws:eks/nodeGroup:NodeGroup", "dev-batch"));
        expect(ng).toMatchObject({ clusterName: "dev-eks", nodeRoleArn: "arn:aws:iam::123456789012:role/dev-node", subnetIds: ["dev-public-0-id", "dev-public-1-id"], tags: { team: "batch" } });
        expect(r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "dev-batch")).networkInterfaces).toEqual([{ deviceIndex: 0, associatePublicIpAddress: "true", deleteOnTermination: "true", securityGroups: ["dev-node-id"] }]);
        // The node role's policies come first (the group's dependsOn).
        const attach = r.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((x) => r.inputs(x).role === "dev-node").map((x) => x.urn);
        expect(r.get("aws:eks/nodeGroup:NodeGroup", "dev-batch").dependsOn).toEqual(expect.arrayContaining(attach));
    });

    it("directpath's Cilium on an EKS cluster made elsewhere: eksCiliumValueOptions + CiliumInstall with that cluster's provider", async () => {
        const { r } = await capture(() => {
            const provider = new (require("@pulumi/kubernetes") as typeof import("@pulumi/kubernetes")).Provider("other", { kubeconfig: "apiVersion: v1" });
            const options = eksCiliumValueOptions({ endpoint: ENDPOINT, podCidr: "10.200.0.0/16", tunnelPort: 8472, hubble: false, chartVersion: CILIUM_CHART_VERSION });
            return new CiliumInstall("other-cilium", options, { provider });
        }, mocks);
        const release = r.get("kubernetes:helm.sh/v3:Release", "other-cilium");
        expect(r.inputs(release).values).toMatchObject({
            k8sServiceHost: "ABC123.gr7.eu-central-1.eks.amazonaws.com", k8sServicePort: 443, tunnelProtocol: "vxlan", tunnelPort: 8472, hubble: { enabled: false },
            ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: ["10.200.0.0/16"], clusterPoolIPv4MaskSize: 24 } },
        });
    });
});

describe("EksCluster pure helpers", () => {
    it("tells Graviton instance types apart", () => {
        for (const t of ["t4g.small", "m7g.large", "c6gn.xlarge", "m6gd.large", "x2gd.large", "g5g.xlarge", "r8g.large"]) expect(isArmInstanceType(t), t).toBe(true);
        for (const t of ["t3.small", "m6i.large", "c5n.large", "g5.xlarge", "m7i-flex.large", "inf2.xlarge", "t3a.medium"]) expect(isArmInstanceType(t), t).toBe(false);
    });

    it("strips the scheme off the EKS endpoint for Cilium's k8sServiceHost", () => {
        expect(endpointHost(ENDPOINT)).toBe("ABC123.gr7.eu-central-1.eks.amazonaws.com");
        expect(endpointHost("https://h.example:6443/")).toBe("h.example");
    });

    it("renders the launch template settings without IPv6 extras on an IPv4 VPC", () => {
        const spec = launchTemplateSpec(nodeGroupSchema.parse({ name: "g", instanceType: "t3.small" }), { ipv6: false });
        expect(spec.networkInterface).toEqual({ deviceIndex: 0, associatePublicIpAddress: "true", deleteOnTermination: "true" });
        expect(spec.metadataOptions).not.toHaveProperty("httpProtocolIpv6");
        expect(CILIUM_AGENT_NOT_READY_TAINT.effect).toBe("NO_EXECUTE");
    });

    it("builds a kubeconfig without a profile when none is given", () => {
        const kc = parse(buildKubeconfig({ clusterName: "c", endpoint: "https://e", certificateAuthorityData: "ca", region: "us-east-1" }));
        expect(kc["current-context"]).toBe("c");
        expect(kc.users[0].user.exec.env).toBeUndefined();
    });
});
