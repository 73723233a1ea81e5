/**
 * The one place where `plan` answers data sources offline.
 *
 * A real `pulumi up` asks the cloud; `plan` has no credentials and no network, so each data source
 * the default program reads gets a fixed, documented answer here. Only inputs that shape the plan
 * belong here (how many availability zones there are, what they are called). Anything the cloud
 * assigns at deploy time (IDs, addresses) is never invented: it shows as "[computed]".
 *
 * | data source | offline answer |
 * |---|---|
 * | `aws.getAvailabilityZones` | `<region>a` .. `<region>f` (six zones; the program takes the first N), state `available`, region from the invoke or `aws:region` config |
 * | `aws.getRegion` | the `aws:region` config value |
 * | `aws.getPartition` | derived from the region's name: `cn-*` -> `aws-cn`, `us-gov-*` -> `aws-us-gov`, else `aws` (EksCluster builds managed-policy ARNs from it) |
 * | `aws.ssm.getParameter` | for the EKS AMI parameters (`/aws/service/eks/optimized-ami/...`): `resolve:ssm:<name>`, EC2's own spelling of "the AMI this parameter holds" (the real AMI ID is the cloud's to say; `pulumi preview` shows it). Any other parameter: no answer |
 * | `aws.getCallerIdentity` | a stand-in deployer that no real account has: account `000000000000`, session `arn:aws:sts::000000000000:assumed-role/directpath-offline-plan/plan` (the access entries then show where the deployer's entry goes; `pulumi preview` shows the real identity) |
 * | `aws.iam.getSessionContext` | what AWS answers: an `assumed-role` session ARN maps to its role's ARN (`arn:aws:iam::<account>:role/<name>`, no path: offline there is no GetRole), any other ARN passes through |
 */
import * as pulumi from "@pulumi/pulumi";

type Invoke = (inputs: Record<string, unknown>) => Record<string, unknown>;

function configuredRegion(inputs: Record<string, unknown>): string {
    const fromInvoke = typeof inputs.region === "string" ? inputs.region : undefined;
    return fromInvoke ?? new pulumi.Config("aws").get("region") ?? "us-east-1";
}

export const OFFLINE_ZONE_SUFFIXES = ["a", "b", "c", "d", "e", "f"] as const;

/** The offline plan's stand-in for the identity running `pulumi up` (an account no one has). */
export const OFFLINE_CALLER = { accountId: "000000000000", arn: "arn:aws:sts::000000000000:assumed-role/directpath-offline-plan/plan", userId: "AROAOFFLINEPLAN:plan" } as const;

export const OFFLINE_INVOKES: Readonly<Record<string, Invoke>> = {
    "aws:ssm/getParameter:getParameter": (inputs) => {
        const name = String(inputs.name ?? "");
        if (!name.startsWith("/aws/service/eks/optimized-ami/")) throw new Error(`directpath plan: no offline answer for SSM parameter ${name}`);
        const value = `resolve:ssm:${name}`;
        return { id: name, name, arn: `arn:aws:ssm:::parameter${name}`, type: "String", value, insecureValue: value, version: 1, withDecryption: true };
    },
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({ id: OFFLINE_CALLER.accountId, ...OFFLINE_CALLER }),
    "aws:iam/getSessionContext:getSessionContext": (inputs) => {
        const arn = String(inputs.arn ?? "");
        const m = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
        return m
            ? { id: arn, arn, issuerArn: `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`, issuerId: "AROAOFFLINEPLAN", issuerName: m[3], sessionName: m[4] }
            : { id: arn, arn, issuerArn: arn, issuerId: "", issuerName: "", sessionName: "" };
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": (inputs) => {
        const region = configuredRegion(inputs);
        const names = OFFLINE_ZONE_SUFFIXES.map((s) => `${region}${s}`);
        return {
            id: region,
            names,
            zoneIds: OFFLINE_ZONE_SUFFIXES.map((_, i) => `offline-az${i + 1}`),
            state: "available",
            groupNames: [region],
        };
    },
    "aws:index/getPartition:getPartition": (inputs) => {
        const region = configuredRegion(inputs);
        const partition = region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
        const dnsSuffix = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
        return { id: partition, partition, dnsSuffix, reverseDnsPrefix: dnsSuffix.split(".").reverse().join(".") };
    },
    "aws:index/getRegion:getRegion": (inputs) => {
        const region = configuredRegion(inputs);
        return { id: region, name: region, region, description: "offline plan", endpoint: `ec2.${region}.amazonaws.com` };
    },
};
