/**
 * vitest globalSetup: one folder per test run where sharedPlanRun (test/harness.ts) renders each
 * project stack once, for every test file that only reads the result; removed when the run ends.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
    export interface ProvidedContext {
        planCacheDir: string;
    }
}

export default function setup(project: TestProject): () => void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-test-plans-"));
    project.provide("planCacheDir", dir);
    return () => fs.rmSync(dir, { recursive: true, force: true });
}
