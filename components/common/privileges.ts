/**
 * Why a workload holds each privilege it holds, written on its pod template as annotations
 * (`privilege.directpath.io/<grant>: <reason>`), so that `kubectl describe` and the plan's
 * "Privileged workloads" section both show the reason next to the grant. The grants are the
 * exceptions to the Pod Security `restricted` profile: root, added capabilities, host namespaces,
 * host ports and hostPath volumes. Pure.
 */

export const PRIVILEGE_ANNOTATION_PREFIX = "privilege.directpath.io/";

/** The annotation keys, one per kind of grant. */
export const privilegeKey = {
    /** Container `<name>` runs as uid 0. */
    root: (container: string) => `${PRIVILEGE_ANNOTATION_PREFIX}root.${container}`,
    /** A capability added back after dropping ALL. */
    capability: (cap: string) => `${PRIVILEGE_ANNOTATION_PREFIX}cap.${cap}`,
    hostNetwork: `${PRIVILEGE_ANNOTATION_PREFIX}hostNetwork`,
    hostPort: `${PRIVILEGE_ANNOTATION_PREFIX}hostPort`,
    /** hostPath volume `<name>`. */
    hostPath: (volume: string) => `${PRIVILEGE_ANNOTATION_PREFIX}hostPath.${volume}`,
    privileged: (container: string) => `${PRIVILEGE_ANNOTATION_PREFIX}privileged.${container}`,
} as const;

/** The pod-level context every directpath workload gets: the runtime's default seccomp profile. */
export const RUNTIME_DEFAULT_SECCOMP = { seccompProfile: { type: "RuntimeDefault" as const } };

/**
 * The container context of the `restricted` profile: nothing added, no escalation, read-only root,
 * not root. A caller that needs root or a capability says so with {@link rootContext}.
 */
export function restrictedContext(uid: number) {
    return {
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        capabilities: { drop: ["ALL"] as string[] },
    };
}

/**
 * Root, but only with the listed capabilities (ALL dropped first): Kubernetes gives added
 * capabilities only to uid 0 (no ambient capabilities for other users), so a container that needs
 * one runs as root. Explicit `runAsUser: 0`, never the image's default by accident.
 */
export function rootContext(add: readonly string[] = []) {
    return {
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: false,
        runAsUser: 0,
        runAsGroup: 0,
        capabilities: add.length ? { drop: ["ALL"], add: [...add] } : { drop: ["ALL"] },
    };
}

/** The reasons as pod template annotations (sorted keys: a stable manifest). */
export function privilegeAnnotations(reasons: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => a.localeCompare(b)));
}
