/**
 * Undoing the `corefile` delivery on delete. The ConfigMapPatch that writes directpath's block into
 * a Corefile it doesn't own (kube-system/coredns, nodelocaldns) has to force-own the whole
 * `Corefile` key, and server-side apply keeps no old values: deleting the patch (the provider
 * relinquishes its fields) would remove the key and break cluster DNS, and retaining it (what
 * directpath did before) leaves the override in the cluster after `pulumi destroy`.
 *
 * So each such patch carries a `beforeDelete` resource hook that, just before the provider
 * relinquishes the patch's fields:
 * 1. reads the live ConfigMap (the one the patch wrote: same uid, or it refuses);
 * 2. removes exactly directpath's marked region for this component from the live Corefile, so the
 *    text goes back byte for byte to the cluster's own (anything the owner, kubespray or an addon
 *    manager, rewrote meanwhile is kept; a Corefile with no region is left as it is);
 * 3. server-side-applies that text with force under the field manager {@link RESTORE_FIELD_MANAGER},
 *    which takes the key over from the patch, so the relinquish that follows removes only what the
 *    patch alone owned (its `pulumi.com/patchForce` annotation), never the key.
 *
 * Delete hooks need the program: `pulumi destroy` refuses (the engine's own error, nothing is
 * changed) unless run as `pulumi destroy --run-program`; `pulumi up` that drops the patch runs it.
 * The hook reaches the cluster with the ambient kubeconfig (KUBECONFIG or ~/.kube/config), like
 * the provider when no kubeconfig is configured.
 */
import * as pulumi from "@pulumi/pulumi";
import { REGION_BEGIN, REGION_END } from "./corefile";
import { ambientKubeTarget, kubeRequest, type KubeTarget } from "./kube-api";

/** The field manager that owns a restored `Corefile` key after directpath's patch is gone. */
export const RESTORE_FIELD_MANAGER = "directpath-restore";

/**
 * The Corefile with exactly this component's marked region removed (the lines from
 * `# BEGIN directpath <id>` through `# END directpath <id>`), every other byte kept. Regions of
 * other directpath components are kept too. Undefined when there is no such region.
 */
export function removeRegion(corefile: string, id: string): string | undefined {
    const lines = corefile.split("\n");
    const begin = lines.findIndex((l) => l.trim().startsWith(`${REGION_BEGIN} ${id} `) || l.trim() === `${REGION_BEGIN} ${id}`);
    if (begin < 0) return undefined;
    const end = lines.findIndex((l, i) => i > begin && l.trim() === `${REGION_END} ${id}`);
    if (end < 0) throw new Error(`directpath: the Corefile has '${REGION_BEGIN} ${id}' without its '${REGION_END} ${id}' line; fix it by hand`);
    return [...lines.slice(0, begin), ...lines.slice(end + 1)].join("\n");
}

export interface RestoreTarget {
    namespace: string;
    configMap: string;
    key: string;
    /** The marked region's id (`regionId(componentName)`). */
    regionId: string;
}

export interface RestoreResult {
    action: "restored" | "kept" | "gone";
    detail: string;
}

/** The server-side-apply body that gives the key to {@link RESTORE_FIELD_MANAGER}. Pure. */
export function restoreApplyBody(target: RestoreTarget, text: string): Record<string, unknown> {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: target.configMap, namespace: target.namespace }, data: { [target.key]: text } };
}

/**
 * Restores one ConfigMap key (steps 1-3 above). `expectedUid` is the uid the patch recorded; a
 * different live object means another cluster (or a re-created object): refused, nothing written.
 */
export async function restoreConfigMapKey(kube: KubeTarget, target: RestoreTarget, expectedUid: string | undefined): Promise<RestoreResult> {
    const base = `/api/v1/namespaces/${encodeURIComponent(target.namespace)}/configmaps/${encodeURIComponent(target.configMap)}`;
    const where = `${target.namespace}/${target.configMap}`;
    const got = await kubeRequest(kube, "GET", base);
    if (got.status === 404) return { action: "gone", detail: `${where} no longer exists` };
    if (got.status !== 200) throw new Error(`directpath: reading ${where} (via ${kube.source}) to restore its ${target.key} answered HTTP ${got.status}: ${JSON.stringify(got.body).slice(0, 300)}`);
    const live = got.body as { metadata?: { uid?: string }; data?: Record<string, string> };
    if (expectedUid && live.metadata?.uid !== expectedUid) {
        throw new Error(
            `directpath: ${where} reached via ${kube.source} has uid ${live.metadata?.uid}, not ${expectedUid}, the object directpath patched: ` +
                "point KUBECONFIG at the stack's cluster and rerun (nothing was changed)",
        );
    }
    const text = live.data?.[target.key];
    if (text === undefined) return { action: "kept", detail: `${where} has no ${target.key} key` };
    const restored = removeRegion(text, target.regionId);
    const body = restoreApplyBody(target, restored ?? text);
    const put = await kubeRequest(kube, "PATCH", `${base}?fieldManager=${RESTORE_FIELD_MANAGER}&force=true`, body, "application/apply-patch+yaml");
    if (put.status !== 200) throw new Error(`directpath: restoring ${where} ${target.key} answered HTTP ${put.status}: ${JSON.stringify(put.body).slice(0, 300)}`);
    return restored === undefined
        ? { action: "kept", detail: `${where} ${target.key} has no directpath region ${target.regionId} (rewritten by its owner); kept as is, ownership taken from the patch` }
        : { action: "restored", detail: `${where} ${target.key}: directpath region ${target.regionId} removed` };
}

/**
 * Whether the engine running the program supports resource hooks (Pulumi CLI 3.183 and later).
 * Pulumi's runtime mocks (`npm run plan`, the unit tests) don't implement hook registration.
 */
export function engineSupportsHooks(): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore(): { supportsResourceHooks?: boolean } };
    return state.getStore().supportsResourceHooks === true;
}

/**
 * The options that make deleting a Corefile patch safe: its restore hook where the engine runs
 * hooks (`hook` is then defined); elsewhere (an older CLI, or mocks) `retainOnDelete`, the old
 * behaviour, which keeps the override rather than removing the key.
 */
export function corefilePatchDeleteOptions(hook: pulumi.ResourceHook | undefined): pulumi.CustomResourceOptions {
    return hook ? { hooks: { beforeDelete: [hook] } } : { retainOnDelete: true };
}

/**
 * The named `beforeDelete` hook of one Corefile patch. Its name is derived from the component's
 * name and the patch's role, so it is the same in every run of the program (the engine finds a
 * delete hook by name).
 */
export function corefileRestoreHook(hookName: string, target: RestoreTarget, kube: () => KubeTarget = () => ambientKubeTarget()): pulumi.ResourceHook {
    return new pulumi.ResourceHook(hookName, async (args) => {
        const outputs = (args.oldOutputs ?? {}) as { metadata?: { uid?: string } };
        const result = await restoreConfigMapKey(kube(), target, outputs.metadata?.uid);
        pulumi.log.info(`directpath: ${result.detail}`);
    });
}
