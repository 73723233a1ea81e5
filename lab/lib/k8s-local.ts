/**
 * Runs a rendered DaemonSet's container as a plain process outside Kubernetes, changing only what
 * must differ there, and saying what it changed:
 * - env `value`s are kept as rendered (with Kubernetes' `$(VAR)` expansion);
 * - `valueFrom.fieldRef` / `configMapKeyRef` are resolved from the lab's node facts and the rendered
 *   ConfigMaps;
 * - configMap volumes are written to a local directory with their keys as files, emptyDir volumes
 *   become empty local directories, hostPath volumes are mapped to a path the lab chooses (a scratch
 *   copy, or the same path when that is harmless);
 * - every container mount path found in the command, args or env is replaced by its local directory.
 * Anything it can't reproduce faithfully (secrets, an image entrypoint without a command) is an
 * error, never a silent guess. Pure: it returns a plan; the caller writes the files and starts it.
 */
import * as path from "node:path";
import type { K8sObject } from "./rendered";

interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: {
        fieldRef?: { fieldPath: string };
        configMapKeyRef?: { name: string; key: string; optional?: boolean };
        secretKeyRef?: unknown;
        resourceFieldRef?: unknown;
    };
}

interface Container {
    name: string;
    command?: string[];
    args?: string[];
    env?: EnvVar[];
    envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: unknown; prefix?: string }>;
    volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}

interface Volume {
    name: string;
    configMap?: { name: string; items?: Array<{ key: string; path: string; mode?: number }>; defaultMode?: number };
    hostPath?: { path: string; type?: string };
    emptyDir?: unknown;
}

export interface LocalizeOptions {
    /** Which container (default: the first). */
    container?: string;
    /** Directory under which volumes are materialised. */
    root: string;
    /** fieldRef answers, e.g. { "spec.nodeName": "node2", "status.hostIP": "192.168.10.101" }. */
    fieldRefs: Record<string, string>;
    /** hostPath (as rendered) -> local path to use instead. A hostPath not listed is an error. */
    hostPaths?: Record<string, string>;
    /** ConfigMaps the DaemonSet may reference (rendered objects). */
    configMaps: readonly K8sObject[];
}

export interface LocalFile {
    path: string;
    content: string;
    mode: number;
}

export interface LocalProcess {
    argv: string[];
    /** The container's environment, exactly (no PATH unless the manifest sets one). */
    env: Record<string, string>;
    files: LocalFile[];
    dirs: string[];
    /** Human-readable list of every substitution made. */
    substitutions: string[];
}

export class LocalizeError extends Error {}

function expandVars(text: string, env: Record<string, string>): string {
    // Kubernetes: $(VAR) expands when VAR is defined earlier, $$(VAR) escapes.
    return text.replace(/\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (name === undefined ? "$(" : (env[name] ?? m)));
}

function cmData(configMaps: readonly K8sObject[], name: string, namespace: string | undefined): Record<string, string> {
    const cm = configMaps.find((c) => c.kind === "ConfigMap" && c.metadata?.name === name && (namespace === undefined || (c.metadata?.namespace ?? namespace) === namespace));
    if (!cm) throw new LocalizeError(`ConfigMap ${namespace ?? ""}/${name} is not among the rendered objects`);
    return (cm.data ?? {}) as Record<string, string>;
}

/** Works out how to run `ds`'s container locally. */
export function localizeDaemonSet(ds: K8sObject, opts: LocalizeOptions): LocalProcess {
    const namespace = ds.metadata?.namespace;
    const podSpec = ((ds.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec ?? {}) as { containers?: Container[]; volumes?: Volume[] };
    const containers = podSpec.containers ?? [];
    const c = opts.container ? containers.find((x) => x.name === opts.container) : containers[0];
    if (!c) throw new LocalizeError(`DaemonSet ${ds.metadata?.name}: no container ${opts.container ?? ""}`);
    if (!c.command || c.command.length === 0) throw new LocalizeError(`DaemonSet ${ds.metadata?.name}/${c.name}: no command (the image's entrypoint can't be reproduced outside the image)`);
    const volumes = podSpec.volumes ?? [];
    const files: LocalFile[] = [];
    const dirs: string[] = [];
    const substitutions: string[] = [];
    const mounts: Array<{ from: string; to: string }> = [];

    for (const m of c.volumeMounts ?? []) {
        const v = volumes.find((x) => x.name === m.name);
        if (!v) throw new LocalizeError(`volumeMount ${m.name} has no volume`);
        let local: string;
        if (v.configMap) {
            const dir = path.join(opts.root, `configmap-${v.name}`);
            const data = cmData(opts.configMaps, v.configMap.name, namespace);
            const mode = v.configMap.defaultMode ?? 0o644;
            const items = v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
            if (!dirs.includes(dir)) {
                dirs.push(dir);
                for (const it of items) {
                    const content = data[it.key];
                    if (content === undefined) throw new LocalizeError(`ConfigMap ${v.configMap.name} has no key ${it.key}`);
                    files.push({ path: path.join(dir, it.path), content, mode: it.mode ?? mode });
                }
            }
            local = m.subPath ? path.join(dir, m.subPath) : dir;
            substitutions.push(`configMap ${v.configMap.name} mounted at ${m.mountPath} -> ${local}`);
        } else if (v.hostPath) {
            const mapped = opts.hostPaths?.[v.hostPath.path];
            if (mapped === undefined) throw new LocalizeError(`hostPath ${v.hostPath.path} (volume ${v.name}) has no lab substitute`);
            local = m.subPath ? path.join(mapped, m.subPath) : mapped;
            substitutions.push(mapped === v.hostPath.path ? `hostPath ${v.hostPath.path} kept as is (at ${m.mountPath})` : `hostPath ${v.hostPath.path} mounted at ${m.mountPath} -> ${local}`);
        } else if (v.emptyDir !== undefined) {
            local = path.join(opts.root, `emptydir-${v.name}`);
            dirs.push(local);
            substitutions.push(`emptyDir ${v.name} at ${m.mountPath} -> ${local}`);
        } else {
            throw new LocalizeError(`volume ${v.name}: only configMap, hostPath and emptyDir volumes can run outside Kubernetes`);
        }
        mounts.push({ from: m.mountPath.replace(/\/+$/, ""), to: local });
    }
    // Longest mount path first, so /etc/x/y wins over /etc/x.
    mounts.sort((a, b) => b.from.length - a.from.length);
    // One pass over all mount paths at once, so a replacement is never rewritten again (a local
    // dir under /tmp must not be taken for a container mount at /tmp).
    const escaped = mounts.map(({ from }) => from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const re = new RegExp(`(^|[^A-Za-z0-9_./-])(${escaped.join("|")})(?=$|[/\\s"':;])`, "g");
    const remap = (text: string): string => (mounts.length === 0 ? text
        : text.replace(re, (_m, lead: string, from: string) => lead + mounts.find((m) => m.from === from)!.to));

    const env: Record<string, string> = {};
    for (const ef of c.envFrom ?? []) {
        if (!ef.configMapRef) throw new LocalizeError(`envFrom: only configMapRef can run outside Kubernetes`);
        for (const [k, v] of Object.entries(cmData(opts.configMaps, ef.configMapRef.name, namespace))) env[(ef.prefix ?? "") + k] = remap(v);
    }
    for (const e of c.env ?? []) {
        if (e.value !== undefined) {
            const v = remap(expandVars(e.value, env));
            if (v !== e.value) substitutions.push(`env ${e.name}: ${JSON.stringify(e.value)} -> ${JSON.stringify(v)}`);
            env[e.name] = v;
        } else if (e.valueFrom?.fieldRef) {
            const v = opts.fieldRefs[e.valueFrom.fieldRef.fieldPath];
            if (v === undefined) throw new LocalizeError(`env ${e.name}: fieldRef ${e.valueFrom.fieldRef.fieldPath} has no lab value`);
            env[e.name] = v;
            substitutions.push(`env ${e.name} from fieldRef ${e.valueFrom.fieldRef.fieldPath} -> ${v}`);
        } else if (e.valueFrom?.configMapKeyRef) {
            const ref = e.valueFrom.configMapKeyRef;
            const v = cmData(opts.configMaps, ref.name, namespace)[ref.key];
            if (v === undefined) {
                if (ref.optional) continue;
                throw new LocalizeError(`env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
            }
            env[e.name] = remap(v);
        } else if (e.valueFrom) {
            throw new LocalizeError(`env ${e.name}: ${Object.keys(e.valueFrom).join(",")} can't be reproduced outside Kubernetes`);
        } else {
            env[e.name] = "";
        }
    }
    const argv = [...c.command, ...(c.args ?? [])].map((a) => {
        const v = remap(expandVars(a, env));
        if (v !== a) substitutions.push(`argument ${JSON.stringify(a)} -> ${JSON.stringify(v)}`);
        return v;
    });
    return { argv, env, files, dirs, substitutions: [...new Set(substitutions)] };
}

/** The DaemonSet's pod spec fields a caller may want to check (hostNetwork, capabilities). */
export function podSpecOf(ds: K8sObject): Record<string, unknown> {
    return ((ds.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec ?? {});
}
