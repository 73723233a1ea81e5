/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program:
 * every value a string (objects as JSON), keys namespaced by project. Encrypted values (`secure:`)
 * are never decrypted: they become "[secret]" and their keys are marked secret, so `plan` needs no
 * passphrase and can never print a real secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { SECRET } from "./markers";

export interface StackFiles {
    project: string;
    stack: string;
    config: Record<string, string>;
    secretKeys: string[];
    /** Absolute path of the program Pulumi.yaml names in `main`. */
    main: string;
}

export class StackFileError extends Error {}

function isSecure(v: unknown): boolean {
    return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** Replaces `{secure: ...}` anywhere in a value by "[secret]"; reports whether it found one. */
function scrubSecure(value: unknown): { value: unknown; secret: boolean } {
    if (isSecure(value)) return { value: SECRET, secret: true };
    if (Array.isArray(value)) {
        let secret = false;
        const out = value.map((v) => {
            const r = scrubSecure(v);
            secret ||= r.secret;
            return r.value;
        });
        return { value: out, secret };
    }
    if (value && typeof value === "object") {
        let secret = false;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            const r = scrubSecure(v);
            secret ||= r.secret;
            out[k] = r.value;
        }
        return { value: out, secret };
    }
    return { value, secret: false };
}

function readYaml(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new StackFileError(`cannot read ${file}`);
    }
    try {
        return parse(text);
    } catch (err) {
        throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message}`);
    }
}

/** The stacks a folder holds: `Pulumi.<name>.yaml` files, sorted. */
export function listStacks(stackDir: string): string[] {
    let names: string[];
    try {
        names = fs.readdirSync(stackDir);
    } catch {
        return [];
    }
    return names.filter((f) => /^Pulumi\.[A-Za-z0-9_.-]+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
}

export function readStackFiles(projectDir: string, stack: string, stackDir: string = projectDir): StackFiles {
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new StackFileError(`invalid stack name ${JSON.stringify(stack)}`);
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    const project = readYaml(projectFile) as { name?: unknown; main?: unknown; config?: Record<string, unknown> } | null;
    if (!project || typeof project.name !== "string") throw new StackFileError(`${projectFile} has no project name`);
    const stackFile = path.join(stackDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) {
        const stacks = listStacks(stackDir);
        throw new StackFileError(`no stack file ${path.basename(stackFile)}; stacks here: ${stacks.join(", ") || "none"}`);
    }
    const stackDoc = readYaml(stackFile) as { config?: unknown } | null;
    const rawConfig = stackDoc?.config ?? {};
    if (typeof rawConfig !== "object" || Array.isArray(rawConfig)) throw new StackFileError(`${stackFile}: 'config' must be a mapping`);

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const qualify = (k: string) => (k.includes(":") ? k : `${project.name as string}:${k}`);

    // Project-level defaults first (Pulumi applies `default:` from Pulumi.yaml's config block).
    for (const [k, decl] of Object.entries(project.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl) {
            const d = (decl as { default: unknown }).default;
            config[qualify(k)] = typeof d === "string" ? d : JSON.stringify(d);
        }
    }
    for (const [k, v] of Object.entries(rawConfig as Record<string, unknown>)) {
        const full = qualify(k);
        const { value, secret } = scrubSecure(v);
        if (secret) secretKeys.push(full);
        config[full] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const main = path.resolve(projectDir, typeof project.main === "string" ? project.main : "index.ts");
    return { project: project.name, stack, config, secretKeys, main };
}
