/**
 * Renders a stack with the project's own `npm run plan` into a directory and reads back what it
 * wrote: every manifest and patch (parsed YAML) and plan.json. The lab uses only these files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { run } from "./proc";

export type K8sObject = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };

export interface RenderedObject {
    /** manifests/NNN-....yaml or patches/NNN-....yaml */
    file: string;
    object: K8sObject;
}

export interface Rendered {
    stack: string;
    dir: string;
    objects: RenderedObject[];
    plan: { resources: Array<{ type: string; name: string; inputs: Record<string, unknown> }>; outputs: Record<string, unknown> } & Record<string, unknown>;
}

/**
 * `npm run plan -- --stack <stack> --out <dir> --quiet [--stack-dir <stackDir>]`; throws with plan's
 * own message on failure.
 */
export function renderStack(stack: string, dir: string, stackDir?: string): Rendered {
    run(["npm", "run", "--silent", "plan", "--", "--stack", stack, "--out", dir, "--quiet", ...(stackDir ? ["--stack-dir", stackDir] : [])], { timeoutMs: 180_000 });
    return readRendered(stack, dir);
}

export function readRendered(stack: string, dir: string): Rendered {
    const objects: RenderedObject[] = [];
    for (const sub of ["manifests", "secrets", "patches"]) {
        const d = path.join(dir, sub);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) {
            if (f.endsWith(".yaml")) objects.push({ file: `${sub}/${f}`, object: parse(fs.readFileSync(path.join(d, f), "utf8")) as K8sObject });
        }
    }
    const plan = JSON.parse(fs.readFileSync(path.join(dir, "plan.json"), "utf8")) as Rendered["plan"];
    return { stack, dir, objects, plan };
}

export function ofKind(r: Rendered, kind: string): RenderedObject[] {
    return r.objects.filter((o) => o.object.kind === kind);
}
