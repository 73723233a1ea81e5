/**
 * A vitest reporter for bench/test-time.ts: per test file, the time vitest reports for each phase
 * (environment, prepare, collect = importing the file, setup files, tests + hooks) and their sum,
 * plus each test's state. Writes JSON to $DP_FILE_TIMES. Use next to the default reporter:
 * `DP_FILE_TIMES=/tmp/t.json npx vitest run --reporter=default --reporter=./bench/file-times-reporter.ts`.
 */
import * as fs from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

export interface FileTimes {
    file: string;
    ms: number;
    phases: { environment: number; prepare: number; collect: number; setup: number; tests: number };
    tests: Record<string, number>;
}

export default class FileTimesReporter implements Reporter {
    private readonly start = Date.now();

    onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
        const out = process.env.DP_FILE_TIMES;
        if (!out) return;
        const files: FileTimes[] = modules.map((m) => {
            const d = m.diagnostic();
            const phases = { environment: d.environmentSetupDuration, prepare: d.prepareDuration, collect: d.collectDuration, setup: d.setupDuration, tests: d.duration };
            const tests: Record<string, number> = {};
            for (const t of m.children.allTests()) tests[t.result().state] = (tests[t.result().state] ?? 0) + 1;
            return { file: m.relativeModuleId, ms: Object.values(phases).reduce((a, b) => a + b, 0), phases, tests };
        });
        fs.writeFileSync(out, JSON.stringify({ wallMs: Date.now() - this.start, files }, null, 2));
    }
}
