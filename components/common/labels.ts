/**
 * The Kubernetes recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels),
 * the same on every object directpath renders: `app.kubernetes.io/name` (what it is),
 * `app.kubernetes.io/instance` (the component's name), `part-of: directpath`, and
 * `managed-by: pulumi` (the tool that owns the objects; `kubectl apply` of the plan's files keeps
 * the label, and `pulumi up` is the way to change them). Selector labels stay as they were: a
 * workload's selector can't change after it is created.
 */
export const MANAGED_BY = "pulumi";
export const PART_OF = "directpath";

export function recommendedLabels(appName: string, instance: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": appName,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    };
}
