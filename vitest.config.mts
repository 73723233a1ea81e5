import * as os from "node:os";
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * vitest's order (the slowest files of the last run first), but on a fresh clone, with no results
 * cache yet, the npm pack/install file (minutes, mostly waiting on npm and tsc) starts first too,
 * so the other files run beside it instead of after it.
 */
class SlowestFirst extends BaseSequencer {
    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
        const sorted = await super.sort(files);
        const slow = (f: TestSpecification) => /[/\\]test[/\\]package-install\.test\.ts$/.test(f.moduleId);
        return [...sorted.filter(slow), ...sorted.filter((f) => !slow(f))];
    }
}

// vitest runs this file with the project root as the working directory.
const source = (p: string) => path.resolve(process.cwd(), p);

export default defineConfig({
    // The package's own name resolves to its sources, as tsconfig.json's `paths` does for the
    // type-check: examples/ import "pulumi-directpath" the way a user's project does.
    resolve: {
        alias: [
            { find: /^pulumi-directpath$/, replacement: source("./components/index.ts") },
            { find: /^pulumi-directpath\/aws$/, replacement: source("./components/aws/index.ts") },
        ],
    },
    test: {
        include: ["test/**/*.test.ts"],
        // Pulumi's runtime keeps global state (the mock monitor, config): one process per file.
        pool: "forks",
        // Most files wait on child processes (the plan CLI, npm, tsc, CoreDNS): two at a time even on
        // two cores, where vitest's default (cores - 1) runs one.
        maxWorkers: Math.max(2, os.availableParallelism() - 1),
        // One folder per run where test/harness.ts sharedPlanRun renders each stack once.
        globalSetup: ["./test/global-setup.ts"],
        sequence: { sequencer: SlowestFirst },
        testTimeout: 120_000,
        hookTimeout: 120_000,
        reporters: ["default"],
    },
});
