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
 */
import * as pulumi from "@pulumi/pulumi";

type Invoke = (inputs: Record<string, unknown>) => Record<string, unknown>;

function configuredRegion(inputs: Record<string, unknown>): string {
    const fromInvoke = typeof inputs.region === "string" ? inputs.region : undefined;
    return fromInvoke ?? new pulumi.Config("aws").get("region") ?? "us-east-1";
}

export const OFFLINE_ZONE_SUFFIXES = ["a", "b", "c", "d", "e", "f"] as const;

export const OFFLINE_INVOKES: Readonly<Record<string, Invoke>> = {
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
