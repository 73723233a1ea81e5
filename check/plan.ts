/**
 * Reads what `npm run plan -- --stack <s> --out <dir>` writes (plan.json, manifests/, patches/, computed/) and
 * runs it when asked. The CLI and the lab use this; the rest of the check only sees the targets.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { targetsFromPlan, type CheckTargets, type K8s } from "./targets";

export class PlanError extends Error {}

export interface PlanFiles {
    plan: { outputs?: Record<string, unknown>; securityGroupRules?: unknown; stack?: string; resources?: unknown[] };
    objects: K8s[];
}

/** plan.json plus every manifest and patch of a plan output directory. */
export function readPlanDir(dir: string): PlanFiles {
    const planFile = path.join(dir, "plan.json");
    if (!fs.existsSync(planFile)) throw new PlanError(`${planFile} does not exist: --plan must name a directory written by npm run plan -- --out <dir>`);
    let plan: PlanFiles["plan"];
    try {
        plan = JSON.parse(fs.readFileSync(planFile, "utf8")) as PlanFiles["plan"];
    } catch (e) {
        throw new PlanError(`${planFile} is not JSON: ${(e as Error).message}`);
    }
    const objects: K8s[] = [];
    for (const sub of ["manifests", "secrets", "patches", "computed"]) { // secrets/: placeholders; computed/: objects holding values known only after deploy (AWS)
        const d = path.join(dir, sub);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) if (f.endsWith(".yaml")) objects.push(parse(fs.readFileSync(path.join(d, f), "utf8")) as K8s);
    }
    return { plan, objects };
}

/** Runs `npm run plan` for `stack` in `projectDir` into `outDir` (bounded by `timeoutMs`). */
export function runPlan(projectDir: string, stack: string, outDir: string, timeoutMs = 180_000): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PlanError(`--stack ${JSON.stringify(stack)}: a stack name is letters, digits, '.', '_' and '-'`);
    if (!fs.existsSync(path.join(projectDir, `Pulumi.${stack}.yaml`))) throw new PlanError(`--stack ${stack}: ${path.join(projectDir, `Pulumi.${stack}.yaml`)} does not exist (run the check from the project directory, or pass --plan / --targets)`);
    const r = spawnSync("npm", ["run", "--silent", "plan", "--", "--stack", stack, "--out", outDir, "--quiet"], { cwd: projectDir, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" });
    if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : `exit ${r.status}`;
        throw new PlanError(`npm run plan -- --stack ${stack} failed (${why}):\n${(r.stderr || r.stdout || "").trim().split("\n").slice(-12).join("\n")}`);
    }
}

export function targetsFromPlanDir(dir: string, source: string): CheckTargets {
    const f = readPlanDir(dir);
    return targetsFromPlan(f.plan, f.objects, source);
}
