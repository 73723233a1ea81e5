/** Registers one {@link SgRuleSpec} as one `aws.vpc.SecurityGroup{Ingress,Egress}Rule`. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { GroupRole, SgRuleSpec } from "./rules";

export function createRule(
    parent: pulumi.Resource,
    name: string,
    spec: SgRuleSpec,
    groups: Partial<Record<GroupRole, pulumi.Input<string>>>,
): aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule {
    const owner = groups[spec.group];
    if (owner === undefined) throw new Error(`directpath: rule ${spec.key} belongs to the ${spec.group} security group, which is not known here`);
    const peer = "cidr" in spec.peer
        ? (spec.peer.cidr.includes(":") ? { cidrIpv6: spec.peer.cidr } : { cidrIpv4: spec.peer.cidr })
        : { referencedSecurityGroupId: groups[spec.peer.group] };
    if ("referencedSecurityGroupId" in peer && peer.referencedSecurityGroupId === undefined) {
        throw new Error(`directpath: rule ${spec.key} references the ${(spec.peer as { group: GroupRole }).group} security group, which is not known here`);
    }
    const args = {
        securityGroupId: owner,
        ipProtocol: spec.protocol,
        ...(spec.fromPort !== undefined ? { fromPort: spec.fromPort, toPort: spec.toPort } : {}),
        ...peer,
        description: spec.description,
        tags: { Name: `${name}-${spec.key}` },
    };
    return spec.direction === "ingress"
        ? new aws.vpc.SecurityGroupIngressRule(`${name}-${spec.key}`, args, { parent })
        : new aws.vpc.SecurityGroupEgressRule(`${name}-${spec.key}`, args, { parent });
}
