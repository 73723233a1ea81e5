/**
 * Who can use an EKS cluster directpath made: ordinary access entries for the deploying identity
 * and every listed admin, never EKS's one-time creator admin.
 *
 * AWS's rules encoded here:
 * - `bootstrapClusterCreatorAdminPermissions` is set once at creation; changing it replaces the
 *   cluster (CloudFormation AWS::EKS::Cluster AccessConfig: "Update requires: Replacement"),
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-eks-cluster-accessconfig.html
 *   and the creator's entry it makes can't be managed like the others:
 *   https://docs.aws.amazon.com/eks/latest/userguide/creating-access-entries.html
 * - One access entry per principal: a second one fails with ResourceInUseException (409),
 *   https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html
 * - An access entry names an IAM role or user, not an STS session; for an assumed role the
 *   session's issuer (the role) is what `aws.iam.getSessionContext` returns as `issuerArn`,
 *   https://www.pulumi.com/registry/packages/aws/api-docs/iam/getsessioncontext/
 * - AmazonEKSClusterAdminPolicy at cluster scope is cluster-admin,
 *   https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html
 */
import { describe, expect, it } from "vitest";
import { ClusterSecurity, deployerPrincipalArn, EksCluster, PublicVpc, type EksClusterArgs } from "../components/aws";
import { OFFLINE_CALLER } from "../plan/offline-data";
import { capture, expectProblems } from "./aws-helpers";
import { installMocks } from "../plan/runtime";
import { parseConfig } from "../program/config";

const mocks = { config: { "aws:region": "eu-central-1" } };
const ADMIN = "arn:aws:iam::123456789012:role/platform-admin";
const CI = "arn:aws:iam::123456789012:role/ci/deployer";

function cluster(name: string, args: Omit<EksClusterArgs, "vpc" | "security"> = {}) {
    const vpc = new PublicVpc(name, { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2 });
    return new EksCluster(name, { vpc, security: new ClusterSecurity(name, { vpc }), ...args });
}

const entries = (r: Awaited<ReturnType<typeof capture>>["r"]) =>
    r.ofType("aws:eks/accessEntry:AccessEntry").map((e) => [e.name, r.inputs(e).principalArn]);

describe("EKS access: ordinary access entries, never the creator's bootstrap admin", () => {
    it("turns EKS's creator admin off and gives the deployer and each listed admin one entry with AmazonEKSClusterAdminPolicy", async () => {
        const { r } = await capture(() => cluster("dev", { deployerPrincipalArn: CI, adminPrincipalArns: [ADMIN] }), mocks);
        expect(r.inputs(r.get("aws:eks/cluster:Cluster", "dev")).accessConfig).toEqual({ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false });
        expect(entries(r)).toEqual([
            ["dev-admin-123456789012-role-ci-deployer", CI],
            ["dev-admin-123456789012-role-platform-admin", ADMIN],
        ]);
        for (const [name, arn] of entries(r)) {
            expect(r.inputs(r.get("aws:eks/accessEntry:AccessEntry", String(name)))).toMatchObject({ clusterName: "dev", type: "STANDARD" });
            expect(r.inputs(r.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", String(name)))).toMatchObject({
                clusterName: "dev", principalArn: arn, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" },
            });
        }
        // The Kubernetes provider waits for every admin's policy association.
        const provider = r.get("pulumi:providers:kubernetes", "dev-k8s");
        for (const a of r.ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")) expect(provider.dependsOn).toContain(a.urn);
    });

    it("a deployer that is also listed gets one entry, under the same name as when it is only listed (no 409, no replacement)", async () => {
        const both = await capture(() => cluster("dev", { deployerPrincipalArn: ADMIN, adminPrincipalArns: [CI, ADMIN] }), mocks);
        expect(entries(both.r)).toEqual([
            ["dev-admin-123456789012-role-platform-admin", ADMIN],
            ["dev-admin-123456789012-role-ci-deployer", CI],
        ]);
        const listedOnly = await capture(() => cluster("dev", { adminPrincipalArns: [CI, ADMIN] }), mocks);
        expect(entries(listedOnly.r).map(([n]) => n).sort()).toEqual(entries(both.r).map(([n]) => n).sort());
    });

    it("refuses an STS session ARN (EKS wants the role), and explains the removed bootstrapCreatorAdmin", () => {
        const r = installMocks({});
        const vpc = { cidrBlock: "10.10.0.0/16", subnets: [{}, {}] } as unknown as PublicVpc;
        expectProblems(() => new EksCluster("dev", {
            vpc, security: {} as ClusterSecurity,
            deployerPrincipalArn: "arn:aws:sts::123456789012:assumed-role/platform-admin/alice",
            adminPrincipalArns: ["arn:aws:sts::123456789012:assumed-role/ci/run-1"],
            ...({ bootstrapCreatorAdmin: true } as object),
        }), [
            { path: "deployerPrincipalArn", rule: /STS session.*issuerArn/ },
            { path: "adminPrincipalArns[0]", rule: /STS session/ },
            { path: "bootstrapCreatorAdmin", value: true, rule: /removed.*can't be revoked.*replaces the cluster/ },
        ], r);
    });

    it("deployerPrincipalArn() takes the issuer of an assumed-role session, and passes an IAM user's ARN through", async () => {
        const { value } = await capture(() => deployerPrincipalArn(), mocks);
        expect(OFFLINE_CALLER.arn).toMatch(/:assumed-role\//);
        expect(value).toBe("arn:aws:iam::000000000000:role/directpath-offline-plan");
        const user = "arn:aws:iam::123456789012:user/alice";
        const { value: direct } = await capture(() => deployerPrincipalArn(), {
            ...mocks,
            call: (a) => (a.token === "aws:index/getCallerIdentity:getCallerIdentity" ? { accountId: "123456789012", arn: user, userId: "AIDA" } : undefined),
        });
        expect(direct).toBe(user);
    });

    it("the stack config: the deploying identity's entry is added to adminPrincipalArns' (dev and prod ship none), and bootstrapCreatorAdmin is refused by key", async () => {
        const raw = { environment: "aws", cluster: { name: "t" }, aws: { eks: { publicAccessCidrs: ["0.0.0.0/0"], adminPrincipalArns: [ADMIN] }, nodeGroups: [{ name: "g", instanceType: "t3.small" }] } };
        expect(() => parseConfig(raw)).not.toThrow();
        expectProblems(() => parseConfig({ ...raw, aws: { ...raw.aws, eks: { ...raw.aws.eks, bootstrapCreatorAdmin: true } } }), [
            { path: "directpath:aws.eks.bootstrapCreatorAdmin", value: true, rule: /removed.*adminPrincipalArns/ },
        ]);
        const { deployAwsCluster } = await import("../program/sections/aws-deploy");
        const { r } = await capture(() => deployAwsCluster(parseConfig(raw) as never), {
            ...mocks,
            extraState: (a) => (a.type === "aws:eks/cluster:Cluster" ? { endpoint: "https://X.eks.example", certificateAuthority: { data: "Q0E=" } } : undefined),
        });
        expect(entries(r)).toEqual([
            ["t-admin-000000000000-role-directpath-offline-plan", "arn:aws:iam::000000000000:role/directpath-offline-plan"],
            ["t-admin-123456789012-role-platform-admin", ADMIN],
        ]);
        // The EKS cluster is named explicitly after directpath:cluster.name (part of issue 21's names fix).
        expect(r.inputs(r.get("aws:eks/cluster:Cluster", "t")).name).toBe("t");
    });
});
