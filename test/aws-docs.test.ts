/**
 * docs/aws.md promises its "From your own stack" examples work: each ```ts block there runs here
 * under the plan's runtime mocks (with `pulumi-directpath` and `pulumi-directpath/aws` pointing at this checkout), and the
 * resources it promises are registered with the names the docs' naming table gives.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { capture, ROOT } from "./harness";

const doc = fs.readFileSync(path.join(ROOT, "docs", "aws.md"), "utf8");
const section = doc.slice(doc.indexOf("## From your own stack"), doc.indexOf("## Names are a contract"));
const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = fs.mkdtempSync(path.join(ROOT, "test", ".aws-docs-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What AWS would compute (everything else echoes the inputs). */
function extraState(a: { type: string; name: string }): Record<string, unknown> | undefined {
    switch (a.type) {
        case "aws:ec2/eip:Eip": return { publicIp: `198.51.100.${1 + a.name.length}`, allocationId: `eipalloc-${a.name}` };
        case "aws:eks/cluster:Cluster": return { name: a.name, endpoint: "https://ABC.gr7.eu-central-1.eks.amazonaws.com", certificateAuthority: { data: "Q0E=" } };
        case "aws:eks/nodeGroup:NodeGroup": return { resources: [{ autoscalingGroups: [{ name: `asg-${a.name}` }] }] };
        case "aws:iam/role:Role": return { arn: `arn:aws:iam::123456789012:role/${a.name}`, name: a.name };
        default: return undefined;
    }
}

async function run(i: number) {
    const file = path.join(dir, `block-${i}.ts`);
    // The package's two entries: the root (no @pulumi/aws) and the `pulumi-directpath/aws` subpath.
    const source = blocks[i]!
        .replace(/from "pulumi-directpath\/aws"/g, `from ${JSON.stringify(path.join(ROOT, "components", "aws", "index"))}`)
        .replace(/from "pulumi-directpath"/g, `from ${JSON.stringify(path.join(ROOT, "components", "index"))}`);
    fs.writeFileSync(file, source);
    return capture(() => import(file), { config: { "aws:region": "eu-central-1" }, extraState });
}

describe("docs/aws.md: From your own stack", () => {
    it("has the three examples (the environment, a node group added later, Cilium on a cluster made elsewhere)", () => {
        expect(blocks).toHaveLength(3);
    });

    it("the whole environment registers with the documented names", async () => {
        const { r } = await run(0);
        const names = (t: string) => r.ofType(t).map((x) => x.name).sort();
        expect(names("aws:ec2/subnet:Subnet")).toEqual(["dev-public-eu-central-1a", "dev-public-eu-central-1b"]);
        expect(names("aws:ec2/eip:Eip")).toEqual(["dev-ingress-eu-central-1a", "dev-ingress-eu-central-1b"]);
        expect(names("aws:eks/accessEntry:AccessEntry")).toEqual(["dev-admin-123456789012-role-platform-admin"]);
        expect(names("aws:eks/nodeGroup:NodeGroup")).toEqual(["dev-general"]);
        expect(names("aws:autoscaling/attachment:Attachment")).toEqual(["dev-ingress-targets-tcp-443-general"]);
        expect(names("kubernetes:helm.sh/v3:Release")).toEqual(["dev-cilium"]);
        expect(names("aws:eks/addon:Addon")).toEqual(["dev-cilium-coredns"]);
        expect(names("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toContain("dev-firewall-in-udp-41641-world-v4");
        expect(names("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toContain("dev-node-in-webhook-9443");
    });

    it("a node group added later joins the same cluster", async () => {
        const { r } = await run(1);
        const groups = r.ofType("aws:eks/nodeGroup:NodeGroup");
        expect(groups.map((g) => g.name).sort()).toEqual(["dev-batch", "dev-general"]);
        expect(new Set(groups.map((g) => JSON.stringify(r.inputs(g).nodeRoleArn))).size).toBe(1);
        expect(r.inputs(r.get("aws:eks/nodeGroup:NodeGroup", "dev-batch"))).toMatchObject({ capacityType: "SPOT", tags: { team: "batch" } });
        // Graviton: the arm64 AL2023 AMI, named in the launch template.
        expect(r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "dev-batch")).imageId).toMatch(/amazon-linux-2023\/arm64\/standard/);
    });

    it("directpath's Cilium on a cluster made elsewhere", async () => {
        const { r } = await run(2);
        const values = r.inputs(r.get("kubernetes:helm.sh/v3:Release", "other-cilium")).values as Record<string, unknown>;
        expect(values).toMatchObject({ k8sServiceHost: "ABC.gr7.eu-central-1.eks.amazonaws.com", k8sServicePort: 443, tunnelPort: 8472, ipam: { mode: "cluster-pool" } });
    });
});
