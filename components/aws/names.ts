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
