import * as k8s from "@pulumi/kubernetes";
import type { StackSecrets } from "../config";
import type { ClusterHandle } from "../handles";
import type { LocalStackSpec } from "../resolve";

/**
 * `local`: an existing cluster. The provider uses the stack's kubeconfig secret if it has one,
 * otherwise the ambient kubeconfig (KUBECONFIG or ~/.kube/config) of whoever runs `pulumi up`.
 */
export function deployLocalCluster(spec: LocalStackSpec, secrets: StackSecrets): ClusterHandle {
    const provider = new k8s.Provider(`${spec.cluster.name}-k8s`, { kubeconfig: secrets.kubeconfig, enableServerSideApply: true });
    return { provider, outputs: {} };
}
