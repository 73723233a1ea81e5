/**
 * The deploy lab's engine parts, shared with the nodes lab (lab/nodes/run.ts): `plan` through its
 * documented CLI, a stack's config file read back, and a stack of the real engine (the Automation
 * API's inline program, the pinned CLI, a file backend and PULUMI_HOME of the run's own).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml } from "yaml";
import { LabError, ROOT } from "../lib/proc";
import type { LabBinaries } from "./build";
import type { Cluster } from "./cluster";
import type { PlanResource } from "./compare";

const PLAN_TIMEOUT_MS = 120_000;
export const CILIUM_VERSION = "1.19.3";

// ---- the plan, through its documented CLI and output ----
export interface PlanOut {
    dir: string;
    resources: PlanResource[];
    manifests: string[];
    patches: string[];
}

export function runPlan(stack: string, out: string, stackDir?: string): PlanOut {
    const args = [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "plan", "cli.ts"), "--stack", stack, "--out", out, "--quiet", ...(stackDir ? ["--stack-dir", stackDir] : [])];
    // plan is offline; the provider's SDK defaults its kubeconfig input from KUBECONFIG, which this
    // process sets for the engine, so plan runs without it (both plans of a stack alike).
    const { KUBECONFIG: _kc, ...env } = process.env;
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: PLAN_TIMEOUT_MS, env });
    if (r.status !== 0) throw new LabError(`npm run plan -- --stack ${stack} failed (${r.status}): ${r.stderr}`);
    const doc = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8")) as { resources: PlanResource[] };
    const list = (d: string) => (fs.existsSync(path.join(out, d)) ? fs.readdirSync(path.join(out, d)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(out, d, f)) : []);
    return { dir: out, resources: doc.resources, manifests: list("manifests"), patches: list("patches") };
}

// ---- the stack, through the Automation API ----
export type Cfg = Record<string, unknown>;

export function readStackConfig(stack: string): { plain: Cfg; secretKeys: string[] } {
    const doc = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Cfg };
    const plain: Cfg = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(doc.config ?? {})) {
        if (v && typeof v === "object" && "secure" in (v as object)) secretKeys.push(k);
        else plain[k] = v;
    }
    return { plain, secretKeys };
}

export function withChange(config: Cfg, key: string[], value: unknown): Cfg {
    const copy = JSON.parse(JSON.stringify(config)) as Cfg;
    let o = copy as Record<string, unknown>;
    for (const k of key.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[key[key.length - 1]!] = value;
    return copy;
}

export function docsOf(file: string): Record<string, unknown>[] {
    return fs.readFileSync(file, "utf8").split(/^---\s*$/m).map((d) => parseYaml(d) as Record<string, unknown>).filter((d) => d && typeof d === "object");
}

/** The engine for one stack: the pinned CLI, a file backend and PULUMI_HOME of this run, the provider installed under the SDK's version. */
export async function engine(dir: string, cluster: Cluster, stackName: string, bins: LabBinaries, cfg: { plain: Cfg; secretKeys: string[] }, program: () => Promise<Record<string, unknown>>): Promise<{ stack: Stack; setConfig: (c: Cfg) => Promise<void> }> {
    const pulumiRoot = path.join(dir, "pulumi-root");
    fs.mkdirSync(path.join(pulumiRoot, "bin"), { recursive: true });
    fs.symlinkSync(bins.pulumi, path.join(pulumiRoot, "bin", "pulumi"));
    const env: Record<string, string> = {
        PULUMI_HOME: path.join(dir, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
        PULUMI_CONFIG_PASSPHRASE: "deploy-lab",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        KUBECONFIG: cluster.kubeconfig,
    };
    fs.mkdirSync(path.join(dir, "backend"));
    // The inline program runs in this process: its restore hooks read the same kubeconfig.
    Object.assign(process.env, { KUBECONFIG: cluster.kubeconfig, PULUMI_CONFIG_PASSPHRASE: env.PULUMI_CONFIG_PASSPHRASE });
    const inst = spawnSync(bins.pulumi, ["plugin", "install", "resource", "kubernetes", `v${bins.providerVersion}`, "--file", bins.provider], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 120_000 });
    if (inst.status !== 0) throw new LabError(`pulumi plugin install kubernetes: ${inst.stderr}`);
    const pulumiCommand = await PulumiCommand.get({ root: pulumiRoot });
    const workDir = path.join(dir, "project");
    fs.mkdirSync(workDir);
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, projectName: "directpath", program }, {
        workDir, pulumiCommand, envVars: env, pulumiHome: env.PULUMI_HOME,
        projectSettings: { name: "directpath", runtime: "nodejs", backend: { url: env.PULUMI_BACKEND_URL } },
    });
    const ws = stack.workspace;
    const setConfig = async (config: Cfg) => {
        const st = await ws.stackSettings(stackName);
        const secrets = Object.fromEntries(Object.entries(st.config ?? {}).filter(([, v]) => v && typeof v === "object" && "secure" in (v as object)));
        st.config = { ...(config as Record<string, never>), ...secrets };
        await ws.saveStackSettings(stackName, st);
    };
    await setConfig(cfg.plain);
    for (const k of cfg.secretKeys) await stack.setConfig(k, { value: `lab-dummy-${k.split(":")[1]}`, secret: true });
    return { stack, setConfig };
}

/** The pinned Cilium module (its CRDs and chart), from the Go module cache. */
export function ciliumModuleDir(): string {
    const r = spawnSync("go", ["mod", "download", "-json", `github.com/cilium/cilium@v${CILIUM_VERSION}`], { cwd: os.tmpdir(), encoding: "utf8", timeout: 600_000, env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (r.status !== 0) throw new LabError(`go mod download github.com/cilium/cilium@v${CILIUM_VERSION}: ${r.stderr || r.stdout}`);
    return (JSON.parse(r.stdout) as { Dir: string }).Dir;
}
