/**
 * AWS's default quotas that a first `pulumi up` of an `aws` stack can run into, checked on the
 * rendered plan: what this stack uses of each, and a warning where it would exceed the default.
 * Region- and account-wide quotas count only this stack (other stacks and resources in the
 * region use the same quota: the line says so). Pure over the plan's resources and rule rows.
 */
import type { FirewallRow, PlanResource } from "./render";

export interface QuotaUse {
    /** The quota, as AWS's Service Quotas console names it. */
    quota: string;
    /** What it counts here (a security group, a load balancer, the region). */
    scope: string;
    used: number;
    /** AWS's default. */
    limit: number;
    /** Whether it is per account/region, so other stacks count too. */
    shared: boolean;
    /** AWS's page for the quota. */
    source: string;
}

const VPC_QUOTAS = "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html";
const EIP_QUOTAS = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/elastic-ip-addresses-eip.html#using-instance-addressing-limit";
const NLB_QUOTAS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html";
const EKS_QUOTAS = "https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html";

/** The default quotas directpath's AWS environment touches. */
export const AWS_DEFAULT_QUOTAS = {
    /** Inbound, and separately outbound, rules per security group; IPv4 and IPv6 rules are counted separately, and a rule that references a security group counts in both. */
    rulesPerSecurityGroup: 60,
    securityGroupsPerInterface: 5,
    elasticIpsPerRegion: 5,
    vpcsPerRegion: 5,
    internetGatewaysPerRegion: 5,
    listenersPerNlb: 50,
    /** A Network Load Balancer takes one subnet per Availability Zone. */
    nlbSubnetsPerZone: 1,
    nlbsPerRegion: 50,
    managedNodeGroupsPerCluster: 30,
    nodesPerManagedNodeGroup: 450,
} as const;

const count = (resources: readonly PlanResource[], type: string) => resources.filter((r) => r.type === type).length;

export function awsQuotaUses(resources: readonly PlanResource[], sgRows: readonly FirewallRow[]): QuotaUse[] {
    const q = AWS_DEFAULT_QUOTAS;
    const uses: QuotaUse[] = [];
    if (!resources.some((r) => r.type.startsWith("aws:"))) return uses;

    // Security group rules: per group, direction and IP family.
    const rules = new Map<string, number>();
    for (const row of sgRows) {
        const families = row.peer.startsWith("sg:") ? ["IPv4", "IPv6"] : [row.peer.includes(":") ? "IPv6" : "IPv4"];
        for (const f of families) {
            const k = `${row.target}\u0000${row.direction === "ingress" ? "inbound" : "outbound"}\u0000${f}`;
            rules.set(k, (rules.get(k) ?? 0) + 1);
        }
    }
    for (const [k, used] of [...rules.entries()].sort()) {
        const [target, direction, family] = k.split("\u0000");
        uses.push({ quota: `${direction} ${family} rules per security group`, scope: target!, used, limit: q.rulesPerSecurityGroup, shared: false, source: VPC_QUOTAS });
    }
    for (const lt of resources.filter((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")) {
        const ni = Array.isArray(lt.inputs.networkInterfaces) ? (lt.inputs.networkInterfaces as Array<{ securityGroups?: unknown[] }>) : [];
        const groups = Math.max(0, ...ni.map((n) => (Array.isArray(n.securityGroups) ? n.securityGroups.length : 0)));
        uses.push({ quota: "security groups per network interface", scope: `launch template ${lt.name}`, used: groups, limit: q.securityGroupsPerInterface, shared: false, source: VPC_QUOTAS });
    }

    uses.push({ quota: "Elastic IP addresses per region", scope: "this stack", used: count(resources, "aws:ec2/eip:Eip"), limit: q.elasticIpsPerRegion, shared: true, source: EIP_QUOTAS });
    uses.push({ quota: "VPCs per region", scope: "this stack", used: count(resources, "aws:ec2/vpc:Vpc"), limit: q.vpcsPerRegion, shared: true, source: VPC_QUOTAS });
    uses.push({ quota: "internet gateways per region", scope: "this stack", used: count(resources, "aws:ec2/internetGateway:InternetGateway"), limit: q.internetGatewaysPerRegion, shared: true, source: VPC_QUOTAS });

    const lbs = resources.filter((r) => r.type === "aws:lb/loadBalancer:LoadBalancer" && r.inputs.loadBalancerType === "network");
    if (lbs.length > 0) uses.push({ quota: "Network Load Balancers per region", scope: "this stack", used: lbs.length, limit: q.nlbsPerRegion, shared: true, source: NLB_QUOTAS });
    const zoneOf = new Map(resources.filter((r) => r.type === "aws:ec2/subnet:Subnet").map((s) => [s.name, String(s.inputs.availabilityZone ?? "?")]));
    for (const lb of lbs) {
        const listeners = resources.filter((l) => l.type === "aws:lb/listener:Listener" && l.parent === lb.parent).length;
        uses.push({ quota: "listeners (and so target groups) per Network Load Balancer", scope: `load balancer ${lb.name}`, used: listeners, limit: q.listenersPerNlb, shared: false, source: NLB_QUOTAS });
        const mappings = Array.isArray(lb.inputs.subnetMappings) ? lb.inputs.subnetMappings.length : 0;
        // The load balancer maps every public subnet of its VPC; one subnet per zone is the most it takes.
        const perZone = new Map<string, number>();
        for (const z of zoneOf.values()) perZone.set(z, (perZone.get(z) ?? 0) + 1);
        const most = mappings === 0 ? 0 : Math.max(0, ...perZone.values());
        uses.push({ quota: "subnets per Availability Zone per Network Load Balancer", scope: `load balancer ${lb.name}`, used: most, limit: q.nlbSubnetsPerZone, shared: false, source: NLB_QUOTAS });
    }

    const groups = resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
    if (groups.length > 0) uses.push({ quota: "managed node groups per EKS cluster", scope: "this stack's cluster", used: groups.length, limit: q.managedNodeGroupsPerCluster, shared: false, source: EKS_QUOTAS });
    for (const g of groups) {
        const max = Number((g.inputs.scalingConfig as { maxSize?: unknown } | undefined)?.maxSize ?? 0);
        uses.push({ quota: "nodes per managed node group", scope: `node group ${g.name} (maxSize)`, used: max, limit: q.nodesPerManagedNodeGroup, shared: false, source: EKS_QUOTAS });
    }
    return uses;
}

/** The warnings: each quota this stack alone would exceed at its default. */
export function quotaWarnings(uses: readonly QuotaUse[]): string[] {
    return uses.filter((u) => u.used > u.limit).map((u) =>
        `WARNING: ${u.scope}: ${u.used} ${u.quota}, AWS's default quota is ${u.limit}${u.shared ? " (and other resources in the account and region count too)" : ""}: pulumi up fails there unless the quota is raised first (Service Quotas console; ${u.source})`);
}

/** The printed block: what this stack uses of each quota, then the warnings. */
export function formatQuotas(uses: readonly QuotaUse[]): string[] {
    if (uses.length === 0) return [];
    const rows = uses.map((u) => `  ${u.used > u.limit ? "OVER " : "     "}${u.scope}: ${u.quota}: ${u.used} of ${u.limit}${u.shared ? " (shared with the rest of the region)" : ""}`);
    return ["", "AWS default quotas this stack uses (first deploy):", ...rows, ...quotaWarnings(uses).map((w) => `  ${w}`)];
}
