/**
 * Node config that takes effect: the launch template names the AMI and carries the complete
 * nodeadm NodeConfig, parsed here as MIME multi-part user data and checked field by field.
 *
 * AWS's rules encoded here:
 * - Without an AMI in the launch template, EKS merges its own bootstrap after the user's, and for
 *   AL2023 its NodeConfig (with the ENI-based maxPods) is applied last; with an AMI ID, EKS adds no
 *   bootstrap and the user data must join the node itself:
 *   https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html
 * - The AL2023 AMI ID of a Kubernetes version is the public SSM parameter
 *   /aws/service/eks/optimized-ami/<version>/amazon-linux-2023/<x86_64|arm64>/standard/recommended/image_id:
 *   https://docs.aws.amazon.com/eks/latest/userguide/retrieve-ami-id.html
 * - nodeadm reads `application/node.eks.aws` parts of MIME multi-part user data; NodeConfig's
 *   spec.cluster takes name, apiServerEndpoint, certificateAuthority and cidr (the Service CIDR),
 *   spec.kubelet takes config (KubeletConfiguration fields, maxPods) and flags:
 *   https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/ and .../nodeadm/doc/examples/
 * - With an AMI in the launch template, CreateNodegroup refuses amiType, version and
 *   releaseVersion: https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { al2023AmiParameter, ClusterSecurity, EksCluster, EksNodeGroup, nodeGroupSchema, PublicVpc, USER_DATA_BOUNDARY, validateEksNodeGroupOptions } from "../components/aws";
import { capture } from "./aws-helpers";
import { expectProblems } from "./harness";

const ENDPOINT = "https://ABC123.gr7.eu-central-1.eks.amazonaws.com";
const CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t";
const mocks = {
    config: { "aws:region": "eu-central-1" },
    extraState: (a: { type: string; name: string }): Record<string, unknown> | undefined =>
        a.type === "aws:eks/cluster:Cluster" ? { endpoint: ENDPOINT, certificateAuthority: { data: CA } } : a.type === "aws:ec2/launchTemplate:LaunchTemplate" ? { latestVersion: 1 } : undefined,
};

interface MimePart { headers: Record<string, string>; body: string }

/** A small RFC 2046 multipart split: top-level headers, the boundary, each part's headers and body. */
function parseMime(text: string): { headers: Record<string, string>; parts: MimePart[]; closed: boolean } {
    const headerBlock = (block: string) => Object.fromEntries(block.split("\n").filter(Boolean).map((l) => {
        const at = l.indexOf(":");
        return [l.slice(0, at).trim().toLowerCase(), l.slice(at + 1).trim()];
    }));
    const [head, ...rest] = text.split("\n\n");
    const headers = headerBlock(head!);
    const boundary = /boundary="([^"]+)"/.exec(headers["content-type"] ?? "")?.[1];
    if (!boundary) throw new Error("no multipart boundary");
    const body = rest.join("\n\n");
    const chunks = body.split(`--${boundary}`);
    const closed = chunks[chunks.length - 1]!.startsWith("--");
    const parts = chunks.slice(1, -1).map((c) => {
        const p = c.replace(/^\n/, "");
        const at = p.indexOf("\n\n");
        return { headers: headerBlock(p.slice(0, at)), body: p.slice(at + 2) };
    });
    return { headers, parts, closed };
}

async function render(group: Record<string, unknown>, clusterArgs: Record<string, unknown> = {}) {
    const { r } = await capture(() => {
        const vpc = new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2 });
        const cluster = new EksCluster("dev", { vpc, security: new ClusterSecurity("dev", { vpc }), serviceCidr: "172.20.0.0/16", ...clusterArgs });
        return new EksNodeGroup("dev-general", { cluster, name: "general", instanceType: "t3.small", ...group });
    }, mocks);
    const lt = r.inputs(r.get("aws:ec2/launchTemplate:LaunchTemplate", "dev-general"));
    return { r, lt, mime: parseMime(Buffer.from(String(lt.userData), "base64").toString("utf8")) };
}

describe("EksNodeGroup: AMI in the launch template, complete NodeConfig in its user data", () => {
    it("the user data is one MIME application/node.eks.aws part whose NodeConfig has every join field, maxPods, labels and taints", async () => {
        const { mime } = await render({ maxPods: 64, labels: { "directpath.io/pool": "system" }, taints: [{ key: "dedicated", value: "ingress", effect: "NoSchedule" }] });
        expect(mime.headers["mime-version"]).toBe("1.0");
        expect(mime.headers["content-type"]).toBe(`multipart/mixed; boundary="${USER_DATA_BOUNDARY}"`);
        expect(mime.closed).toBe(true);
        expect(mime.parts).toHaveLength(1);
        expect(mime.parts[0]!.headers["content-type"]).toBe("application/node.eks.aws");
        expect(parse(mime.parts[0]!.body)).toEqual({
            apiVersion: "node.eks.aws/v1alpha1",
            kind: "NodeConfig",
            spec: {
                cluster: { name: "dev", apiServerEndpoint: ENDPOINT, certificateAuthority: CA, cidr: "172.20.0.0/16" },
                kubelet: {
                    config: { maxPods: 64 },
                    flags: [
                        "--node-labels=directpath.io/pool=system,eks.amazonaws.com/capacityType=ON_DEMAND",
                        "--register-with-taints=node.cilium.io/agent-not-ready=true:NoExecute,dedicated=ingress:NoSchedule",
                    ],
                },
            },
        });
    });

    it("the default maxPods (110), no startup taint when off: only the labels flag", async () => {
        const { mime } = await render({ ciliumStartupTaint: false, capacityType: "SPOT" });
        const config = parse(mime.parts[0]!.body);
        expect(config.spec.kubelet).toEqual({ config: { maxPods: 110 }, flags: ["--node-labels=eks.amazonaws.com/capacityType=SPOT"] });
        expect(nodeGroupSchema.parse({ name: "g", instanceType: "t3.small" }).maxPods).toBe(110);
    });

    it("the AMI comes from the AL2023 SSM parameter of the cluster's version and the group's architecture; amiId pins it; the node group carries no amiType or version", async () => {
        expect(al2023AmiParameter("1.33", "AL2023_x86_64_STANDARD")).toBe("/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/x86_64/standard/recommended/image_id");
        expect(al2023AmiParameter("1.34", "AL2023_ARM_64_STANDARD")).toBe("/aws/service/eks/optimized-ami/1.34/amazon-linux-2023/arm64/standard/recommended/image_id");
        const looked = await render({}, { version: "1.32" });
        const invoke = looked.r.invokes.find((i) => i.token === "aws:ssm/getParameter:getParameter");
        expect(invoke?.inputs).toMatchObject({ name: "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/standard/recommended/image_id" });
        expect(looked.lt.imageId).toBe("resolve:ssm:/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/standard/recommended/image_id");
        const ng = looked.r.inputs(looked.r.get("aws:eks/nodeGroup:NodeGroup", "dev-general"));
        expect(ng.amiType).toBeUndefined();
        expect(ng.version).toBeUndefined();
        expect(ng.releaseVersion).toBeUndefined();

        const pinned = await render({ amiId: "ami-0123456789abcdef0" });
        expect(pinned.lt.imageId).toBe("ami-0123456789abcdef0");
        expect(pinned.r.invokes.some((i) => i.token === "aws:ssm/getParameter:getParameter")).toBe(false);
        expectProblems(() => validateEksNodeGroupOptions({ name: "g", instanceType: "t3.small", amiId: "resolve:ssm:/x" }), [{ path: "amiId", rule: /AMI ID/ }]);
    });
});
