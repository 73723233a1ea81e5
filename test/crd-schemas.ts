/**
 * Schemas to validate rendered objects against, for tests:
 * - Kubernetes built-in kinds: kubernetes-models (a dev dependency), `new Kind(obj).validate()`;
 * - Cilium kinds: the upstream CRD schemas in ../shared/upstream/crd-schemas/ (absent in a user's
 *   clone: that check is skipped with a message), and the CRDs of the pinned Cilium version itself,
 *   read from the Go module (`go mod download github.com/cilium/cilium@v<chart version>`, from the Go
 *   module proxy) and cached as JSON outside the repo, in
 *   `${XDG_CACHE_HOME:-~/.cache}/directpath/crds/cilium@v<version>/`. When neither the cache nor
 *   `go` + the proxy can provide them, that check is skipped with a message.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import { SHARED } from "./harness";

type Obj = Record<string, any>;

/** Validates a built-in Kubernetes object with kubernetes-models; undefined if valid, else the error. */
export function kubernetesModelError(object: Obj): string | undefined {
    const apiVersion = String(object.apiVersion);
    // "v1" -> kubernetes-models/v1, "apps/v1" -> kubernetes-models/apps/v1.
    const modulePath = `kubernetes-models/${apiVersion}`;
    let mod: Record<string, new (o: Obj) => { validate(): void }>;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        mod = require(modulePath);
    } catch {
        return `no kubernetes-models module for apiVersion ${apiVersion}`;
    }
    const Kind = mod[String(object.kind)];
    if (!Kind) return `kubernetes-models has no kind ${String(object.kind)} in ${apiVersion}`;
    try {
        new Kind(object).validate();
        return undefined;
    } catch (e) {
        return (e as Error).message.slice(0, 500);
    }
}

export const isBuiltIn = (object: Obj) => !String(object.apiVersion).includes(".") || /\.k8s\.io\//.test(String(object.apiVersion));

const ajv = () => new Ajv({ strict: false, allErrors: true });

export function ajvErrors(validate: ValidateFunction): string {
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ").slice(0, 500);
}

/** The ../shared schema for a Cilium kind (`cilium.io_<kind>_v2.json`), or why there is none. */
export function sharedCrdValidator(kind: string, version: string): ValidateFunction | string {
    const file = path.join(SHARED, "upstream", "crd-schemas", `cilium.io_${kind.toLowerCase()}_${version}.json`);
    if (!fs.existsSync(file)) return `${file} is absent`;
    return ajv().compile(JSON.parse(fs.readFileSync(file, "utf8")));
}

/**
 * A CRD's openAPIV3Schema as the API server applies it to `kubectl apply` (strict field validation,
 * kubectl's default): unknown fields are rejected, except under x-kubernetes-preserve-unknown-fields.
 */
export function strictCrdSchema(schema: Obj, root = true): Obj {
    if (!schema || typeof schema !== "object") return schema;
    const out: Obj = Array.isArray(schema) ? [] : {};
    for (const [k, v] of Object.entries(schema)) {
        if (k === "properties") out[k] = Object.fromEntries(Object.entries(v as Obj).map(([p, s]) => [p, root && p === "metadata" ? s : strictCrdSchema(s as Obj, false)]));
        else if (k === "items" || k === "additionalProperties") out[k] = typeof v === "object" ? strictCrdSchema(v as Obj, false) : v;
        else if (k === "allOf" || k === "anyOf" || k === "oneOf") out[k] = (v as Obj[]).map((s) => strictCrdSchema(s, false));
        else out[k] = v;
    }
    if (out.type === "object" && out.properties && out.additionalProperties === undefined && out["x-kubernetes-preserve-unknown-fields"] !== true) out.additionalProperties = false;
    return out;
}

export function cacheDir(): string {
    return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath");
}

/**
 * The CRD schemas of Cilium `v<version>` by `<group>/<version>:<Kind>`, from the cache or the Go
 * module; or why they can't be had (the caller skips with that message).
 */
export function pinnedCiliumCrdSchemas(version: string): Map<string, Obj> | string {
    const dir = path.join(cacheDir(), "crds", `cilium@v${version}`);
    const index = path.join(dir, "index.json");
    if (!fs.existsSync(index)) {
        const go = spawnSync("go", ["mod", "download", "-json", `github.com/cilium/cilium@v${version}`], {
            encoding: "utf8", timeout: 600_000, cwd: os.tmpdir(), env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "on" },
        });
        if (go.error || go.status !== 0) return `go mod download github.com/cilium/cilium@v${version} failed: ${go.error?.message ?? go.stderr.trim().split("\n").slice(-1)[0]}`;
        let moduleDir: string;
        try {
            moduleDir = (JSON.parse(go.stdout) as { Dir: string }).Dir;
        } catch {
            return `go mod download printed no module folder: ${go.stdout.slice(0, 200)}`;
        }
        const crdRoot = path.join(moduleDir, "pkg", "k8s", "apis", "cilium.io", "client", "crds");
        if (!fs.existsSync(crdRoot)) return `the Cilium module v${version} has no ${path.relative(moduleDir, crdRoot)}`;
        const entries: Record<string, string> = {};
        fs.mkdirSync(dir, { recursive: true });
        for (const sub of fs.readdirSync(crdRoot)) {
            for (const f of fs.readdirSync(path.join(crdRoot, sub)).filter((x) => x.endsWith(".yaml"))) {
                for (const doc of parseAllDocuments(fs.readFileSync(path.join(crdRoot, sub, f), "utf8"))) {
                    const crd = doc.toJS() as Obj | null;
                    if (crd?.kind !== "CustomResourceDefinition") continue;
                    for (const v of crd.spec.versions ?? []) {
                        const schema = v.schema?.openAPIV3Schema;
                        if (!schema) continue;
                        const key = `${crd.spec.group}/${v.name}:${crd.spec.names.kind}`;
                        const file = `${crd.spec.names.kind}.${v.name}.json`;
                        fs.writeFileSync(path.join(dir, file), JSON.stringify(schema));
                        entries[key] = file;
                    }
                }
            }
        }
        fs.writeFileSync(index, JSON.stringify(entries, null, 2));
    }
    const entries = JSON.parse(fs.readFileSync(index, "utf8")) as Record<string, string>;
    return new Map(Object.entries(entries).map(([k, f]) => [k, JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Obj]));
}

export function compileStrict(schema: Obj): ValidateFunction {
    return ajv().compile(strictCrdSchema(schema));
}
