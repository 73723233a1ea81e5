/**
 * Who may reach the API: every key that lists who may reach something refuses addresses no
 * client has, a production stack refuses the whole internet, prod ships no value that can't work,
 * the plan still renders prod and says what to set, and `pulumi up` refuses until it is set.
 *
 * - Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) are never used on the
 *   internet, RFC 5737 (https://www.rfc-editor.org/rfc/rfc5737), and 2001:db8::/32, RFC 3849; the
 *   unspecified address 0.0.0.0 is never a source, RFC 1122 3.2.1.3.
 * - EKS compares `publicAccessCidrs` with the client's public source address; a list that holds
 *   none of the deployer's addresses makes `pulumi up` hang on the first Kubernetes call:
 *   https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ClusterSecurity, EksCluster, IngressNlb, PublicVpc, validateEksClusterOptions } from "../components/aws";
import { installMocks } from "../plan/runtime";
import { readStackFiles } from "../plan/stack-files";
import { DeployBlockedError, resolveStack, type AwsStackSpec } from "../program/resolve";
import { classifyAddress } from "../components/common/address-class";
import { expectProblems, ROOT, sharedPlanRun } from "./harness";

const raw = (eks: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    environment: "aws", cluster: { name: "t" },
    aws: { vpc: { cidrBlock: "10.30.0.0/16", availabilityZoneCount: 2 }, eks, nodeGroups: [{ name: "g", instanceType: "t3.small" }], ...more },
});

describe("who may reach: addresses no client has are refused", () => {
    // Validation only: fake network objects, nothing may be registered.
    const vpc = { cidrBlock: "10.30.0.0/16", subnets: [{}, {}], ipv6: false } as unknown as PublicVpc;
    const security = {} as ClusterSecurity;

    it("EksCluster's publicAccessCidrs refuses documentation ranges, the unspecified address, loopback and link-local; 0.0.0.0/0 is anywhere", () => {
        const r = installMocks({});
        expectProblems(() => new EksCluster("t", { vpc, security, publicAccessCidrs: ["198.51.100.0/24", "203.0.113.7/32", "192.0.2.0/25", "0.0.0.0/32", "0.0.0.0/8", "127.0.0.1/32", "169.254.0.0/16"] }), [
            { path: "publicAccessCidrs[0]", value: "198.51.100.0/24", rule: /documentation range \(198\.51\.100\.0\/24, TEST-NET-2, RFC 5737\), which no client's address is in; the API would accept nobody/ },
            { path: "publicAccessCidrs[1]", rule: /documentation range/ },
            { path: "publicAccessCidrs[2]", rule: /documentation range/ },
            { path: "publicAccessCidrs[3]", rule: /unspecified address/ },
            { path: "publicAccessCidrs[4]", rule: /unspecified address/ },
            { path: "publicAccessCidrs[5]", rule: /loopback/ },
            { path: "publicAccessCidrs[6]", rule: /link-local/ },
        ], r);
        expect(classifyAddress("0.0.0.0/0")!.class).toBe("routable");
        expect(validateEksClusterOptions({ publicAccessCidrs: ["0.0.0.0/0", "52.94.76.0/22"] }).publicAccessCidrs).toEqual(["0.0.0.0/0", "52.94.76.0/22"]);
        expectProblems(() => validateEksClusterOptions({ publicEndpoint: false, publicAccessCidrs: ["52.94.76.0/22"] }), [{ path: "publicAccessCidrs", rule: /publicEndpoint is false/ }]);
    });

    it("IngressNlb's allowedCidrs refuses them too", () => {
        const r = installMocks({});
        expectProblems(() => new IngressNlb("t-ingress", { vpc, security, listeners: [{ port: 443 }], allowedCidrs: ["192.0.2.0/24", "0.0.0.0/32", "10.0.0.0/8"] }), [
            { path: "allowedCidrs[0]", rule: /documentation range.*the listeners would accept nobody/ },
            { path: "allowedCidrs[1]", rule: /unspecified address/ },
        ], r);
    });

    it("the stack config reports them by key", () => {
        expectProblems(() => resolveStack(raw({ publicAccessCidrs: ["198.51.100.0/24"] })), [
            { path: "directpath:aws.eks.publicAccessCidrs[0]", value: "198.51.100.0/24", rule: /documentation range/ },
        ]);
        expectProblems(() => resolveStack(raw({ publicAccessCidrs: ["0.0.0.0/0"] }, { ingressNlb: { listeners: [{ port: 443 }], allowedCidrs: ["203.0.113.0/24"] } })), [
            { path: "directpath:aws.ingressNlb.allowedCidrs[0]", rule: /documentation range/ },
        ]);
    });

    it("a production stack refuses the whole internet (and anything wider than a /8); dev may open it on purpose", () => {
        expectProblems(() => resolveStack(raw({ publicAccessCidrs: ["0.0.0.0/0", "0.0.0.0/1", "52.94.76.0/22"] }, { production: true })), [
            { path: "directpath:aws.eks.publicAccessCidrs[0]", value: "0.0.0.0/0", rule: /is the whole internet, and directpath:aws.production is true/ },
            { path: "directpath:aws.eks.publicAccessCidrs[1]", value: "0.0.0.0/1", rule: /wider than a \/8/ },
        ]);
        expect((resolveStack(raw({ publicAccessCidrs: ["52.94.76.0/22"] }, { production: true })) as AwsStackSpec).aws.eks.publicAccessCidrs).toEqual(["52.94.76.0/22"]);
        expect((resolveStack(raw({ publicAccessCidrs: ["0.0.0.0/0"] })) as AwsStackSpec).blockers).toEqual([]);
    });
});

describe("prod: nothing that can't work, rendered for review, refused by pulumi up until set", () => {
    const prodConfig = () => parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config as Record<string, any>;

    it("Pulumi.prod.yaml is a production stack and ships no publicAccessCidrs (nor any who-may-reach CIDR that can't work)", () => {
        const c = prodConfig();
        expect(c["directpath:aws"].production).toBe(true);
        expect(c["directpath:aws"].eks.publicAccessCidrs).toBeUndefined();
        for (const cidr of c["directpath:aws"].ingressNlb?.allowedCidrs ?? []) expect(classifyAddress(cidr)!.class).toBe("routable");
    });

    it("unset, it is a blocker, not an error: the resolver renders the API private-only and names the key", () => {
        const spec = resolveStack(raw({}, { production: true })) as AwsStackSpec;
        expect(spec.blockers).toEqual([expect.objectContaining({ path: "directpath:aws.eks.publicAccessCidrs", rule: expect.stringMatching(/required before pulumi up.*under directpath:aws.eks in the stack file.*refuses 0\.0\.0\.0\/0.*private-only/) })]);
        expect(spec.aws.eks).toMatchObject({ publicEndpoint: false, publicAccessCidrs: [] });
        // A private-only API on purpose blocks nothing.
        expect((resolveStack(raw({ publicEndpoint: false })) as AwsStackSpec).blockers).toEqual([]);
    });

    it("npm run plan -- --stack prod renders (exit 0), the API private-only, and says loudly what to set and where, first and last", () => {
        const run = sharedPlanRun("prod");
        expect(run.status, run.stderr).toBe(0);
        const header = "NOT DEPLOYABLE YET: pulumi up --stack prod refuses until this is set (this plan renders without it, for review):";
        expect(run.stdout.split(header)).toHaveLength(3);
        expect(run.stdout).toContain("  Pulumi.prod.yaml: directpath:aws.eks.publicAccessCidrs: required before pulumi up");
        expect(run.stdout.trimEnd().endsWith("Until then the plan shows the API private-only")).toBe(true);
        const doc = JSON.parse(fs.readFileSync(path.join(run.outDir, "plan.json"), "utf8"));
        const eks = doc.resources.find((r: { type: string }) => r.type === "aws:eks/cluster:Cluster");
        expect(eks.inputs.vpcConfig).toMatchObject({ endpointPublicAccess: false, endpointPrivateAccess: true });
        expect(eks.inputs.vpcConfig.publicAccessCidrs).toBeUndefined();
    });

    it("pulumi up (not a preview) refuses before registering anything, naming the key and the file", async () => {
        const files = readStackFiles(ROOT, "prod");
        const r = installMocks({ project: files.project, stack: "prod", preview: false, config: files.config, secretKeys: files.secretKeys });
        const { runDefaultProgram } = await import("../program/main");
        const err = await runDefaultProgram().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(DeployBlockedError);
        expect((err as Error).message).toMatch(/^Pulumi\.prod\.yaml: pulumi up refuses to deploy until this value is set/);
        expect((err as Error).message).toContain("Pulumi.prod.yaml: directpath:aws.eks.publicAccessCidrs: required before pulumi up");
        expect(r.resources).toEqual([]);
    });
});
