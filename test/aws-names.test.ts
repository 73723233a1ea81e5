/**
 * AWS's name rules (components/aws/names.ts AWS_NAME_RULES), each row encoded from its page, and
 * the stack check: `npm run plan` fails on a name `pulumi up` would fail on, naming the config key.
 *
 * - Load balancer names: at most 32 characters, alphanumerics and hyphens, not starting or ending
 *   with a hyphen, not starting with "internal-":
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
 * - Target group names: at most 32, alphanumerics and hyphens, no hyphen first or last:
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html
 * - EKS cluster names: 1-100, `^[0-9A-Za-z][A-Za-z0-9\-_]*`:
 *   https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html
 * - Node group names: at most 63, the same characters:
 *   https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html
 * - IAM role names: at most 64, `[\w+=,.@-]`; inline policy names at most 128:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
 * - Security group names: at most 255, not starting with "sg-":
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
 * - Launch template names: 3-128, `[a-zA-Z0-9\(\)\.\-/_]+`:
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html
 * - Pulumi's auto-name adds `-` and 7 random characters, and the provider refuses a name that is
 *   then too long ("plus 7 random chars is longer than maximum length 32").
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_NAME_RULES, awsNameProblems, PULUMI_AUTONAME_SUFFIX, type PlannedAwsName } from "../components/aws/names";
import type { PlanDocument } from "../plan/render";
import { resolveStack, type AwsStackSpec } from "../program/resolve";
import { awsStackNames } from "../program/sections/aws-names";
import { expectProblems, runPlanCli, sharedPlanRun } from "./harness";

const auto = (type: string, name: string): PlannedAwsName => ({ type, name, autoNamed: true, from: ["k"] });

describe("AWS_NAME_RULES: each row is AWS's rule", () => {
    it("the 32-character load balancer and target group names include Pulumi's 8-character suffix", () => {
        expect(PULUMI_AUTONAME_SUFFIX).toBe(8);
        for (const type of ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"]) {
            expect(AWS_NAME_RULES[type]!.maxLength).toBe(32);
            expect(awsNameProblems([auto(type, "a".repeat(24))])).toEqual([]);
            const [p] = awsNameProblems([auto(type, "a".repeat(25))]);
            expect(p!.rule).toMatch(/33 characters with Pulumi's 8-character suffix, and AWS allows 32 .*shorten it by 1/);
            expect(awsNameProblems([auto(type, "has_underscore")])[0]!.rule).toMatch(/AWS allows only letters, digits and '-'/);
            expect(awsNameProblems([auto(type, "-lead")])).toHaveLength(1);
        }
        expect(awsNameProblems([auto("aws:lb/loadBalancer:LoadBalancer", "internal-x")])[0]!.rule).toMatch(/not starting with 'internal-'/);
    });

    it("EKS cluster (explicit, 100), node group (63), IAM role (64), inline policy (128), security group (255), launch template (128)", () => {
        const cases: Array<[string, number, boolean]> = [
            ["aws:eks/cluster:Cluster", 100, false], ["aws:eks/nodeGroup:NodeGroup", 63, true], ["aws:iam/role:Role", 64, true],
            ["aws:iam/rolePolicy:RolePolicy", 128, true], ["aws:ec2/securityGroup:SecurityGroup", 255, true], ["aws:ec2/launchTemplate:LaunchTemplate", 128, true],
        ];
        for (const [type, max, autoNamed] of cases) {
            expect(AWS_NAME_RULES[type]!.maxLength, type).toBe(max);
            const fits = max - (autoNamed ? 8 : 0);
            expect(awsNameProblems([{ type, name: "a".repeat(fits), autoNamed, from: ["k"] }]), type).toEqual([]);
            expect(awsNameProblems([{ type, name: "a".repeat(fits + 1), autoNamed, from: ["k"] }]), type).toHaveLength(1);
        }
        expect(awsNameProblems([{ type: "aws:eks/cluster:Cluster", name: "_dev", autoNamed: false, from: ["k"] }])).toHaveLength(1);
        expect(awsNameProblems([auto("aws:ec2/securityGroup:SecurityGroup", "sg-x")])).toHaveLength(1);
        expect(awsNameProblems([auto("aws:iam/role:Role", "a/b")])).toHaveLength(1);
    });

    it("a name asked for twice is refused, naming both sources", () => {
        const [p] = awsNameProblems([
            { type: "aws:lb/targetGroup:TargetGroup", name: "x-tcp-1", autoNamed: true, from: ["a"] },
            { type: "aws:lb/targetGroup:TargetGroup", name: "x-tcp-1", autoNamed: true, from: ["b"] },
        ]);
        expect(p).toMatchObject({ path: "b", rule: expect.stringMatching(/second target group name "x-tcp-1" \(also made from a\); it must be unique/) });
    });
});

const base = { vpc: { cidrBlock: "10.30.0.0/16", availabilityZoneCount: 2 }, eks: { publicAccessCidrs: ["0.0.0.0/0"] }, nodeGroups: [{ name: "g", instanceType: "t3.small" }] };
const stack = (name: string, aws: Record<string, unknown> = {}) => ({ environment: "aws", cluster: { name }, aws: { ...base, ...aws } });

describe("the stack's names, checked before anything is registered", () => {
    it("awsStackNames lists exactly the named resources the default program registers for dev and prod", () => {
        for (const s of ["dev", "prod"] as const) {
            const run = sharedPlanRun(s);
            expect(run.status, run.stderr).toBe(0);
            const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8")) as PlanDocument;
            const registered = doc.resources.filter((r) => r.type in AWS_NAME_RULES).map((r) => `${r.type} ${r.name}`).sort();
            const raw = { ...(parseYaml(s) as Record<string, unknown>) };
            const spec = resolveStack(raw, { secretKeys: new Set(["tailscaleAuthKey"]) }) as AwsStackSpec;
            expect(awsStackNames(spec.aws).map((n) => `${n.type} ${n.name}`).sort()).toEqual(registered);
            // The EKS cluster is the one explicit name: directpath:cluster.name.
            expect(doc.resources.find((r) => r.type === "aws:eks/cluster:Cluster")!.inputs.name).toBe(s);
        }
    });

    it("a 9-character cluster name makes the target group too long; a tcp-udp-10443 listener too", () => {
        expectProblems(() => resolveStack(stack("platform1", { ingressNlb: { listeners: [{ port: 443 }] } })), [
            { path: "directpath:aws.ingressNlb.listeners[0]", value: "platform1-ingress-tcp-443", rule: /target group name "platform1-ingress-tcp-443-xxxxxxx" \(made from directpath:aws.ingressNlb.listeners\[0\], directpath:cluster.name\): 33 characters/ },
        ]);
        expectProblems(() => resolveStack(stack("dev", { ingressNlb: { listeners: [{ port: 10443, protocol: "TCP_UDP" }] } })), [
            { path: "directpath:aws.ingressNlb.listeners[0]", value: "dev-ingress-tcp-udp-10443", rule: /33 characters .* AWS allows 32/ },
        ]);
        // 8 characters fit.
        expect(() => resolveStack(stack("platform", { ingressNlb: { listeners: [{ port: 443 }] } }))).not.toThrow();
    });

    it("node group and cluster names long enough to break the node group's 63 and the IAM role's 64", () => {
        const long = "a".repeat(50);
        expectProblems(() => resolveStack(stack(long, { nodeGroups: [{ name: "general", instanceType: "t3.small" }] })), [
            { path: "directpath:aws.nodeGroups[0].name", rule: /EKS managed node group name .*66 characters/ },
            { path: "directpath:cluster.name", rule: /IAM role name "a{50}-cluster-xxxxxxx".*66 characters/ },
        ]);
    });

    it("npm run plan exits 2 on such a name, naming the key, and writes nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-names-"));
        fs.writeFileSync(path.join(dir, "Pulumi.long.yaml"), [
            "config:",
            "  aws:region: eu-central-1",
            "  directpath:environment: aws",
            "  directpath:cluster:",
            "    name: platform1",
            "  directpath:aws:",
            "    vpc: { cidrBlock: 10.30.0.0/16, availabilityZoneCount: 2 }",
            "    eks: { publicAccessCidrs: [0.0.0.0/0] }",
            "    nodeGroups: [{ name: g, instanceType: t3.small }]",
            "    ingressNlb: { listeners: [{ port: 443 }] }",
        ].join("\n"));
        const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "directpath-out-")), "plan");
        const run = runPlanCli(["--stack", "long", "--stack-dir", dir], out);
        expect(run.status, run.stdout).toBe(2);
        expect(run.stderr).toContain("directpath:aws.ingressNlb.listeners[0]: \"platform1-ingress-tcp-443\" is invalid: makes the target group name");
        expect(fs.existsSync(out)).toBe(false);
    });
});

function parseYaml(s: string): unknown {
    // The stack file as the plan reads it (sections JSON-like), without the project prefix.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parse } = require("yaml") as typeof import("yaml");
    const doc = parse(fs.readFileSync(path.join(__dirname, "..", `Pulumi.${s}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).filter(([k]) => k.startsWith("directpath:")).map(([k, v]) => [k.slice("directpath:".length), v]));
}

describe("the cluster tags name the real cluster", () => {
    it("EksCluster refuses a VPC or security groups tagged kubernetes.io/cluster/<other name>", async () => {
        const { ClusterSecurity, EksCluster, PublicVpc } = await import("../components/aws");
        const { installMocks } = await import("../plan/runtime");
        installMocks({});
        const vpc = new PublicVpc("dev", { cidrBlock: "10.10.0.0/16", availabilityZoneCount: 2, clusterName: "dev" });
        const security = new ClusterSecurity("dev", { vpc, clusterName: "dev" });
        expect(() => new EksCluster("dev", { vpc, security })).not.toThrow();
        expectProblems(() => new EksCluster("dev2", { vpc, security }), [
            { path: "vpc.clusterName", value: "dev", rule: /kubernetes.io\/cluster\/dev, but the EKS cluster is named "dev2"/ },
            { path: "security.clusterName", value: "dev" },
        ]);
        expect(() => new EksCluster("dev3", { vpc, security, clusterName: "dev" })).not.toThrow();
    });
});
