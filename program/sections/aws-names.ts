/**
 * The physical names an `aws` stack asks AWS for, derived from its config as the components name
 * their resources, each with the config keys it is made of. `awsEnvironment` runs them through
 * AWS's name rules (components/aws/names.ts), so `npm run plan` and `pulumi up` refuse, before
 * anything is registered, a name AWS would refuse mid-deploy. test/aws-names.test.ts checks that
 * this list is exactly what the default program registers for dev and prod. Pure.
 */
import type { PlannedAwsName } from "../../components/aws/names";
import { listenerKey } from "../../components/aws/nlb/args";
import { key } from "../keys";

/** What of the stack's AWS environment (`AwsEnvironment` in ./aws) makes names. */
export interface NamedAwsEnvironment {
    name: string;
    eks: { clusterName?: string };
    nodeGroups: ReadonlyArray<{ name: string }>;
    nlb?: { listeners: ReadonlyArray<{ port: number; protocol?: "TCP" | "UDP" | "TCP_UDP" }> };
}

export function awsStackNames(env: NamedAwsEnvironment): PlannedAwsName[] {
    const name = env.name;
    const cluster = key("cluster.name");
    const auto = (type: string, n: string, ...from: string[]): PlannedAwsName => ({ type, name: n, autoNamed: true, from: [...from, cluster] });
    const names: PlannedAwsName[] = [
        // ClusterSecurity(name)
        auto("aws:ec2/securityGroup:SecurityGroup", `${name}-node`),
        auto("aws:ec2/securityGroup:SecurityGroup", `${name}-cluster`),
        // EksCluster(name): the cluster itself is named explicitly.
        { type: "aws:eks/cluster:Cluster", name: env.eks.clusterName ?? name, autoNamed: false, from: [cluster] },
        auto("aws:iam/role:Role", `${name}-cluster`),
        auto("aws:iam/role:Role", `${name}-node`),
        auto("aws:iam/rolePolicy:RolePolicy", `${name}-cluster-kms`),
    ];
    // EksNodeGroup(`${name}-${group}`): its launch template and node group.
    env.nodeGroups.forEach((g, i) => {
        const group = key(`aws.nodeGroups[${i}].name`);
        names.push(auto("aws:ec2/launchTemplate:LaunchTemplate", `${name}-${g.name}`, group));
        names.push(auto("aws:eks/nodeGroup:NodeGroup", `${name}-${g.name}`, group));
    });
    // IngressNlb(`${name}-ingress`): its security group, the load balancer, a target group per listener.
    if (env.nlb) {
        const nlb = `${name}-ingress`;
        names.push(auto("aws:ec2/securityGroup:SecurityGroup", `${nlb}-lb`));
        names.push(auto("aws:lb/loadBalancer:LoadBalancer", nlb));
        env.nlb.listeners.forEach((l, i) => {
            const listener = { protocol: l.protocol ?? "TCP", port: l.port };
            names.push(auto("aws:lb/targetGroup:TargetGroup", `${nlb}-${listenerKey(listener)}`, key(`aws.ingressNlb.listeners[${i}]`)));
        });
    }
    return names;
}
