/**
 * The command line that runs the plan CLI the fast way, for the callers that spawn it (the tests,
 * the bench): Node with the project's `.ts`-only loader (scripts/ts-hook.cjs), the same thing
 * `npm run plan` runs. See docs/development.md "Speed".
 */
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** scripts/ts-hook.cjs: `node --require <this> file.ts` runs a TypeScript entry point. */
export const TS_HOOK = path.join(ROOT, "scripts", "ts-hook.cjs");

/** `[node, --require, ts-hook, plan/cli.ts]`: append the CLI's flags. */
export function planCliCommand(): string[] {
    return [process.execPath, "--require", TS_HOOK, path.join(ROOT, "plan", "cli.ts")];
}
