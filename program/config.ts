/**
 * Reads the stack's `directpath:*` keys from the Pulumi runtime and resolves them
 * (program/resolve.ts). The secret keys stay `pulumi.secret` Outputs and never enter the
 * resolved description.
 */
import * as pulumi from "@pulumi/pulumi";
import { type Problem } from "../components/common/errors";
import { key, PROJECT } from "./keys";
import { resolveStack, SECTIONS, StackConfigError, type StackSpec } from "./resolve";

export { PROJECT };

/** The secret values, as secret Outputs. */
export interface StackSecrets {
    kubeconfig?: pulumi.Output<string>;
    tailscaleAuthKey?: pulumi.Output<string>;
    tailscaleApiKey?: pulumi.Output<string>;
}

/** Whether Pulumi holds a config key as a secret (an SDK function that its typings mark internal). */
function isConfigSecret(fullKey: string): boolean {
    const fn = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    return fn ? fn(fullKey) : false;
}

/** The stack file Pulumi read the config from (`Pulumi.<stack>.yaml`). */
export function stackFile(): string {
    return `Pulumi.${pulumi.getStack()}.yaml`;
}

/** Reads every `directpath:*` key from the Pulumi config, resolves the stack, and wraps the secrets. */
export function loadStack(): { spec: StackSpec; secrets: StackSecrets } {
    const source = stackFile();
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    const problems: Problem[] = [];
    for (const [fullKey, value] of Object.entries(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) continue;
        const k = fullKey.slice(PROJECT.length + 1);
        if (isConfigSecret(fullKey)) secretKeys.add(k);
        if (k in SECTIONS) {
            try {
                raw[k] = JSON.parse(value);
            } catch {
                problems.push({ path: key(k), value, rule: "must be an object (a YAML mapping under the key in Pulumi.<stack>.yaml)" });
            }
        } else {
            raw[k] = value;
        }
    }
    if (problems.length > 0) throw new StackConfigError(problems, source);
    const spec = resolveStack(raw, { secretKeys, source });
    const config = new pulumi.Config(PROJECT);
    const secret = (k: string) => (raw[k] !== undefined ? config.requireSecret(k) : undefined);
    return { spec, secrets: { kubeconfig: secret("kubeconfig"), tailscaleAuthKey: secret("tailscaleAuthKey"), tailscaleApiKey: secret("tailscaleApiKey") } };
}

/**
 * Resolves raw config (keys without the project prefix; object sections already JSON-decoded).
 * Pure; the same as {@link resolveStack}, kept for callers that predate it.
 */
export function parseConfig(raw: Record<string, unknown>, secretKeys: ReadonlySet<string> = new Set()): StackSpec {
    return resolveStack(raw, { secretKeys });
}
