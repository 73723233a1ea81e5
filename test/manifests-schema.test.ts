/**
 * What plan writes is what the docs say: every object under manifests/ and patches/ of every stack
 * is valid against the Kubernetes schema (kubernetes-models) and, for Cilium kinds, against the
 * upstream CRD schemas (../shared, and the CRDs of the pinned Cilium version from its Go module);
 * secret values keep the object's shape with an obvious placeholder, and nothing secret is written;
 * objects with values known only after deployment are kept out of manifests/ and named.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CILIUM_CHART_VERSION } from "../components/cilium/values";
import { SECRET_PLACEHOLDER } from "../plan/runtime";
import type { PlanSummary } from "../plan/summary";
import { ajvErrors, compileStrict, isBuiltIn, kubernetesModelError, pinnedCiliumCrdSchemas, sharedCrdValidator } from "./crd-schemas";
import { ROOT, sharedPlanRun, type PlanRun } from "./harness";

const STACKS = ["local", "local-iptables", "dev", "prod"] as const;
type Obj = Record<string, any>;

function readDir(dir: string): Array<{ file: string; object: Obj; text: string }> {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).sort().map((f) => {
        const text = fs.readFileSync(path.join(dir, f), "utf8");
        return { file: f, object: parse(text) as Obj, text };
    });
}

function allFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The `secure:` ciphertexts of a stack file (and their decoded forms), which must never be written. */
function secureValues(stack: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
    return [...text.matchAll(/secure:\s*(v1:[^:\s]+:(\S+))/g)].flatMap((m) => [m[1]!, m[2]!, Buffer.from(m[2]!, "base64").toString("utf8")]);
}

const runs = new Map<string, PlanRun>();
beforeAll(() => {
    for (const s of STACKS) runs.set(s, sharedPlanRun(s));
}, 600_000);

describe.each(STACKS)("plan --stack %s: the files it writes", (stack) => {
    const run = () => runs.get(stack)!;
    const objects = () => [
        ...readDir(path.join(run().outDir, "manifests")).map((o) => ({ ...o, file: `manifests/${o.file}` })),
        ...readDir(path.join(run().outDir, "secrets")).map((o) => ({ ...o, file: `secrets/${o.file}` })),
        ...readDir(path.join(run().outDir, "patches")).map((o) => ({ ...o, file: `patches/${o.file}` })),
    ];

    it("no placeholder in manifests/ (re-applied, so it would overwrite a real secret): Secrets with placeholders are in secrets/ only", () => {
        for (const o of readDir(path.join(run().outDir, "manifests"))) expect(o.text, `manifests/${o.file}`).not.toContain(SECRET_PLACEHOLDER);
        for (const o of readDir(path.join(run().outDir, "secrets"))) expect(o.object.kind, `secrets/${o.file}`).toBe("Secret");
    });

    it("every object directpath owns carries the recommended labels: name, instance, part-of directpath, managed-by pulumi", () => {
        const owned = [...readDir(path.join(run().outDir, "manifests")), ...readDir(path.join(run().outDir, "secrets")), ...readDir(path.join(run().outDir, "computed"))];
        expect(owned.length).toBeGreaterThan(0);
        for (const o of owned) {
            const labels = (o.object.metadata?.labels ?? {}) as Record<string, string>;
            expect(labels, `${o.file}`).toMatchObject({ "app.kubernetes.io/part-of": "directpath", "app.kubernetes.io/managed-by": "pulumi" });
            expect(labels["app.kubernetes.io/name"], o.file).toMatch(/^[a-z][a-z0-9-]*$/);
            expect(labels["app.kubernetes.io/instance"], o.file).toBeTypeOf("string");
        }
    });

    it("writes no empty folder", () => {
        for (const d of fs.readdirSync(run().outDir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
            expect(fs.readdirSync(path.join(run().outDir, d.name)).length, `${d.name}/`).toBeGreaterThan(0);
        }
    });

    it("plans", () => {
        expect(run().stderr).not.toMatch(/plan failed/);
        expect(run().status).toBe(0);
        expect(objects().length).toBeGreaterThan(0);
    });

    it("every built-in object validates against the Kubernetes schema (kubernetes-models)", () => {
        const builtIn = objects().filter((o) => isBuiltIn(o.object));
        expect(builtIn.length).toBeGreaterThan(0);
        const invalid = builtIn.map((o) => [o.file, kubernetesModelError(o.object)] as const).filter(([, e]) => e !== undefined);
        expect(invalid, invalid.map(([f, e]) => `${f}: ${e}`).join("\n")).toEqual([]);
    });

    it("every Cilium object validates against the upstream CRD schema (../shared)", () => {
        const custom = objects().filter((o) => !isBuiltIn(o.object));
        for (const o of custom) {
            expect(String(o.object.apiVersion), `${o.file}: a custom kind plan can't validate`).toMatch(/^cilium\.io\//);
            const validate = sharedCrdValidator(String(o.object.kind), String(o.object.apiVersion).split("/")[1]!);
            if (typeof validate === "string") {
                console.warn(`skipping the ../shared CRD schema check of ${o.file}: ${validate}`);
                continue;
            }
            expect(validate(o.object), `${o.file}: ${ajvErrors(validate)}`).toBe(true);
        }
    });

    it(`every Cilium object validates against the CRDs of the pinned Cilium v${CILIUM_CHART_VERSION} (Go module, strict fields)`, () => {
        const custom = objects().filter((o) => !isBuiltIn(o.object));
        if (custom.length === 0) return;
        const schemas = pinnedCiliumCrdSchemas(CILIUM_CHART_VERSION);
        if (typeof schemas === "string") {
            console.warn(`skipping the pinned-Cilium CRD check: ${schemas}`);
            return;
        }
        for (const o of custom) {
            const schema = schemas.get(`${String(o.object.apiVersion)}:${String(o.object.kind)}`);
            expect(schema, `${o.file}: Cilium v${CILIUM_CHART_VERSION} has no CRD for ${o.object.apiVersion} ${o.object.kind}`).toBeDefined();
            const validate = compileStrict(schema!);
            expect(validate(o.object), `${o.file}: ${ajvErrors(validate)}`).toBe(true);
        }
    });

    it("holds no markers where values belong: no [secret], no [computed] in manifests/ or patches/", () => {
        for (const o of objects()) {
            expect(o.text, o.file).not.toContain("[secret]");
            expect(o.text, o.file).not.toContain("[computed]");
        }
    });

    it("Secrets keep their shape: each key there, its value the placeholder (base64 under data), and the plan says how to set it", () => {
        const secrets = objects().filter((o) => o.object.kind === "Secret");
        const summary = (JSON.parse(fs.readFileSync(path.join(run().outDir, "plan.json"), "utf8")) as { summary: PlanSummary }).summary;
        for (const s of secrets) {
            const { stringData, data } = s.object;
            if (stringData !== undefined) {
                expect(typeof stringData === "object" && !Array.isArray(stringData), `${s.file}: stringData must be a map`).toBe(true);
                for (const v of Object.values(stringData)) expect(v).toBe(SECRET_PLACEHOLDER);
            }
            if (data !== undefined) {
                for (const v of Object.values(data as Record<string, string>)) {
                    expect(v).toMatch(/^[A-Za-z0-9+/]*={0,2}$/);
                    expect(Buffer.from(v, "base64").toString("utf8")).toBe(SECRET_PLACEHOLDER);
                }
            }
            const keys = [...Object.keys(stringData ?? {}), ...Object.keys(data ?? {})];
            expect(keys.length, s.file).toBeGreaterThan(0);
            const entry = summary.secretsToSupply.find((x) => x.file === s.file);
            expect(entry, `plan.json summary.secretsToSupply names ${s.file}`).toBeDefined();
            expect(run().stdout).toContain(`${s.object.kind} ${s.object.metadata.namespace}/${s.object.metadata.name} [${s.file}]`);
            if (summary.applyableByHand) {
                // The printed line sets every key of the Secret by hand.
                const line = run().stdout.split("\n").find((l) => l.includes(`kubectl create secret generic ${s.object.metadata.name} --namespace ${s.object.metadata.namespace}`));
                expect(line, run().stdout).toBeDefined();
                for (const k of keys) expect(line).toContain(`--from-literal=${k}=`);
            }
            expect(run().stdout).toContain("pulumi up fills it from the stack's secret config");
        }
        if (stack !== "local-iptables") expect(secrets.map((s) => s.object.metadata.name)).toContain("tailscale-auth");
    });

    it("never writes a secure config value, in clear or as ciphertext, anywhere in --out or on stdout", () => {
        const secrets = secureValues(stack);
        for (const file of allFiles(run().outDir)) {
            const text = fs.readFileSync(file, "utf8");
            for (const s of secrets) expect(text.includes(s), `${file} holds a secure value`).toBe(false);
        }
        for (const s of secrets) expect(run().stdout.includes(s)).toBe(false);
    });

    it("objects with values known only after deployment go to computed/, named with their fields in the summary and plan.json", () => {
        const doc = JSON.parse(fs.readFileSync(path.join(run().outDir, "plan.json"), "utf8")) as { summary: PlanSummary; files: Array<{ path: string; computedPaths: string[] }> };
        const computed = readDir(path.join(run().outDir, "computed"));
        for (const c of computed) {
            expect(c.text).toContain("[computed]");
            const entry = doc.summary.computedObjects.find((x) => x.file === `computed/${c.file}`);
            expect(entry, `summary.computedObjects names computed/${c.file}`).toBeDefined();
            for (const p of entry!.paths) expect(run().stdout).toContain(p);
        }
        const isAws = doc.summary.internetExposure.some((e) => e.what.startsWith("EKS API endpoint"));
        if (isAws) {
            // AWS stacks create the cluster: pulumi up is the way, and the plan says so.
            expect(doc.summary.applyableByHand).toBe(false);
            expect(doc.summary.notApplyableReasons.join(" ")).toMatch(/kubeconfig is known only after deployment/);
            expect(run().stdout).toContain("Applyable by hand: no, pulumi up is the way");
            expect(run().stdout).toMatch(new RegExp(`Next: pulumi up --stack ${stack}`));
            expect(computed.map((c) => c.object.kind)).toContain("CiliumLocalRedirectPolicy");
        } else {
            expect(computed).toEqual([]);
            expect(doc.summary.applyableByHand).toBe(true);
            expect(run().stdout).toContain("Applyable by hand: yes");
            expect(run().stdout).toMatch(/Next: kubectl apply -f \S+\/manifests\//);
        }
    });
});

describe("the validators have teeth", () => {
    it("kubernetes-models rejects the old Secret shape (stringData: \"[secret]\")", () => {
        expect(kubernetesModelError({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: "[secret]" })).toMatch(/stringData must be object/);
        expect(kubernetesModelError({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { K: SECRET_PLACEHOLDER } })).toBeUndefined();
    });

    it("the pinned Cilium CRD (strict fields) rejects an unknown field and a [computed] address", () => {
        const schemas = pinnedCiliumCrdSchemas(CILIUM_CHART_VERSION);
        if (typeof schemas === "string") {
            console.warn(`skipping: ${schemas}`);
            return;
        }
        const validate = compileStrict(schemas.get("cilium.io/v2:CiliumLocalRedirectPolicy")!);
        const lrp = (ip: string, extra: Obj = {}) => ({
            apiVersion: "cilium.io/v2", kind: "CiliumLocalRedirectPolicy", metadata: { name: "x", namespace: "y" },
            spec: {
                redirectFrontend: { addressMatcher: { ip, toPorts: [{ port: "443", protocol: "TCP" }] } },
                redirectBackend: { localEndpointSelector: { matchLabels: { app: "a" } }, toPorts: [{ port: "8443", protocol: "TCP" }] },
                ...extra,
            },
        });
        expect(validate(lrp("169.233.100.10")), ajvErrors(validate)).toBe(true);
        expect(validate(lrp("[computed]"))).toBe(false);
        expect(validate(lrp("169.233.100.10", { skipRedirectFromBackendTypo: true }))).toBe(false);
    });
});
