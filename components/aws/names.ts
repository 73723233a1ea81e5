/**
 * Resource-name keys of the AWS components. A child's name comes from the component's name and
 * what the user wrote (a principal ARN, a zone, a listener, a node group's name), never from a
 * position in a list: reordering a list must not rename, and so replace, anything. Pure.
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * The key of an IAM principal: the ARN after `iam::`, with every run of characters outside
 * `[A-Za-z0-9_.-]` turned into `-`. `arn:aws:iam::123456789012:role/platform-admin` ->
 * `123456789012-role-platform-admin`. Account, kind (role/user), path and name all take part, so
 * two principals of one cluster get two keys unless their names differ only in punctuation
 * (`eksClusterCrossChecks` reports that case).
 */
export function principalKey(arn: string): string {
    const at = arn.indexOf(":iam::");
    const tail = at >= 0 ? arn.slice(at + ":iam::".length) : arn;
    return tail.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * Pulumi `aliases` for a child renamed from its old list-position name. An alias can only name a
 * stable old URN, and the old name came from a position, so the alias is computed from the list
 * order of this run: it points at the resource a stack deployed with the same order holds under
 * that position. Upgrade with the order you deployed, then reorder freely (later runs find the
 * resource under its new, order-free name and ignore the alias). Returns no alias when the names
 * are equal.
 */
export function positionAlias(oldName: string, newName: string): pulumi.Alias[] {
    return oldName === newName ? [] : [{ name: oldName }];
}

// ---- AWS's name rules ----

/**
 * What Pulumi appends to an auto-named resource's physical name: `-` and 7 random characters. A
 * name that is too long with them fails the provider's check ("name '<name>-' plus 7 random chars
 * is longer than maximum length 32") at `pulumi preview` or `up`.
 */
export const PULUMI_AUTONAME_SUFFIX = 8;

/** One AWS name rule: the physical name of a resource type. */
export interface AwsNameRule {
    /** What the name is, as AWS calls it. */
    what: string;
    maxLength: number;
    /** The characters (and shape) AWS accepts. */
    pattern: RegExp;
    /** The pattern in words, for the error. */
    allowed: string;
    /** Where the name must be unique. */
    uniqueIn: string;
    /** AWS's documentation page for the rule. */
    source: string;
}

/**
 * AWS's rules for the physical names of every resource type directpath names (the EKS cluster)
 * or lets Pulumi auto-name (the rest: `<resource name>-<7 random>`). Resource types that have no
 * name of their own (VPC, subnets, EIPs, rules, listeners, access entries, attachments: AWS gives
 * them IDs, directpath gives them a Name tag) are not here. test/aws-names.test.ts encodes each row.
 */
export const AWS_NAME_RULES: Readonly<Record<string, AwsNameRule>> = {
    "aws:eks/cluster:Cluster": {
        what: "EKS cluster name", maxLength: 100, pattern: /^[0-9A-Za-z][A-Za-z0-9_-]*$/, allowed: "letters, digits, '-' and '_', starting with a letter or digit",
        uniqueIn: "the account and region", source: "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html",
    },
    "aws:eks/nodeGroup:NodeGroup": {
        what: "EKS managed node group name", maxLength: 63, pattern: /^[0-9A-Za-z][A-Za-z0-9_-]*$/, allowed: "letters, digits, '-' and '_', starting with a letter or digit",
        uniqueIn: "the cluster", source: "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html",
    },
    "aws:lb/loadBalancer:LoadBalancer": {
        what: "load balancer name", maxLength: 32, pattern: /^(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/, allowed: "letters, digits and '-', not starting or ending with '-', not starting with 'internal-'",
        uniqueIn: "the account and region", source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
    },
    "aws:lb/targetGroup:TargetGroup": {
        what: "target group name", maxLength: 32, pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/, allowed: "letters, digits and '-', not starting or ending with '-'",
        uniqueIn: "the account and region", source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
    },
    "aws:iam/role:Role": {
        what: "IAM role name", maxLength: 64, pattern: /^[\w+=,.@-]+$/, allowed: "letters, digits and '+=,.@_-'",
        uniqueIn: "the account (IAM is global)", source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
    },
    "aws:iam/rolePolicy:RolePolicy": {
        what: "IAM inline policy name", maxLength: 128, pattern: /^[\w+=,.@-]+$/, allowed: "letters, digits and '+=,.@_-'",
        uniqueIn: "the role", source: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        what: "security group name", maxLength: 255, pattern: /^(?!sg-)[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]+$/, allowed: "letters, digits, spaces and '._-:/()#,@[]+=&;{}!$*', not starting with 'sg-'",
        uniqueIn: "the VPC", source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": {
        what: "launch template name", maxLength: 128, pattern: /^[a-zA-Z0-9().\-/_]{3,}$/, allowed: "3 or more letters, digits and '().-/_'",
        uniqueIn: "the account and region", source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html",
    },
};

/** One physical name a stack will ask AWS for. */
export interface PlannedAwsName {
    /** The resource type token (a key of {@link AWS_NAME_RULES}). */
    type: string;
    /** The Pulumi resource name: with `autoNamed`, the physical name's prefix. */
    name: string;
    /** Pulumi auto-names it (adds {@link PULUMI_AUTONAME_SUFFIX} characters); else `name` is the physical name. */
    autoNamed: boolean;
    /** The config keys (or args fields) the name is made of, the most specific first: a problem names them. */
    from: string[];
}

/** The physical name's length as AWS sees it. */
export function physicalNameLength(n: Pick<PlannedAwsName, "name" | "autoNamed">): number {
    return n.name.length + (n.autoNamed ? PULUMI_AUTONAME_SUFFIX : 0);
}

/**
 * Every name that breaks its {@link AWS_NAME_RULES} row (length with Pulumi's suffix, characters)
 * or is asked for twice (two resources of one type with one name: the same Pulumi URN, or the
 * same physical name). Each problem's path is the config key that made the name (`from[0]`). Pure.
 */
export function awsNameProblems(names: readonly PlannedAwsName[]): Array<{ path: string; value: unknown; rule: string }> {
    const problems: Array<{ path: string; value: unknown; rule: string }> = [];
    const seen = new Map<string, PlannedAwsName>();
    for (const n of names) {
        const rule = AWS_NAME_RULES[n.type];
        if (!rule) continue;
        const physical = n.autoNamed ? `${n.name}-xxxxxxx` : n.name;
        const length = physicalNameLength(n);
        const others = n.from.slice(1);
        const madeOf = others.length ? ` (made from ${n.from.join(", ")})` : "";
        if (length > rule.maxLength) {
            problems.push({
                path: n.from[0]!,
                value: n.name,
                rule: `makes the ${rule.what} "${physical}"${madeOf}: ${length} characters${n.autoNamed ? ` with Pulumi's ${PULUMI_AUTONAME_SUFFIX}-character suffix` : ""}, and AWS allows ${rule.maxLength} (${rule.source}); shorten it by ${length - rule.maxLength}`,
            });
        }
        if (!rule.pattern.test(n.name + (n.autoNamed ? "-abcdef0" : ""))) {
            problems.push({ path: n.from[0]!, value: n.name, rule: `makes the ${rule.what} "${physical}"${madeOf}, and AWS allows only ${rule.allowed} (${rule.source})` });
        }
        const id = `${n.type}\u0000${n.name}`;
        const prior = seen.get(id);
        if (prior) {
            problems.push({ path: n.from[0]!, value: n.name, rule: `gives a second ${rule.what} "${n.name}" (also made from ${prior.from.join(", ")}); it must be unique in ${rule.uniqueIn}` });
        } else seen.set(id, n);
    }
    return problems;
}
