/**
 * `npm run lab`: proves, in real network namespaces with real packets, that the files `npm run plan`
 * renders fix the faults of the field reports. Root on Linux. Prints one line per case and ends with
 * `N passed, N failed` (`, N skipped` when some inputs have not landed); exits non-zero on any failure.
 *
 * Order: prerequisites (installed when missing) -> lock and leftovers of a killed run removed (lib/session.ts) ->
 * stacks rendered with `npm run plan` into a temp dir -> hairpin topology (cases 1-6) -> overlay
 * topology (cases 7-8, a fresh one per case) -> cleanup (also on failure and on Ctrl-C).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildHairpin } from "./hairpin";
import { case1, case2, case3 } from "./cases/hairpin-basic";
import { case7, case8 } from "./cases/overlay";
import { labCases4to6, backendPortsFor } from "./cases/index";
import { MAPPED_PORT, PORTMAP_STACK, renderPortmapVariant } from "./cases/redirect";
import { Skip, type CaseDef, type LabContext } from "./cases/types";
import { checkRootLinux, ensureCoreDNS, ensureSystemTools } from "./lib/prereqs";
import { ROOT, withTimeout } from "./lib/proc";
import { formatCase, summary, type CaseResult } from "./lib/report";
import { renderStack, type Rendered } from "./lib/rendered";
import { LabSession } from "./lib/session";

/** Prefix of the lab's namespaces and lock; its temp dirs start with TEMP_PREFIX. */
const PREFIX = "dpl-";
const TEMP_PREFIX = "dpl-lab-";
const STACKS = ["local", "local-iptables", "dev"];

function log(line: string): void {
    console.log(`  ${line}`);
}

async function runCase(def: CaseDef, ctx: LabContext): Promise<CaseResult> {
    const base = { id: def.id, title: def.title, expected: def.expected };
    try {
        const o = await withTimeout(`case ${def.id}`, def.timeoutMs, () => def.run(ctx));
        return { ...base, observed: o.observed, status: o.pass ? "PASS" : "FAIL", notes: o.notes };
    } catch (e) {
        if (e instanceof Skip) return { ...base, observed: `not run: ${e.message}`, status: "SKIP" };
        const msg = e instanceof Error ? e.message : String(e);
        return { ...base, observed: `error: ${msg.split("\n")[0]}`, status: "FAIL", notes: msg.split("\n").slice(1, 30) };
    }
}

function printResult(r: CaseResult): void {
    console.log(formatCase(r));
    for (const n of r.notes ?? []) console.log(`      ${n}`);
}

async function main(): Promise<number> {
    const started = Date.now();
    console.log("directpath network lab: real namespaces, real packets, the files `npm run plan` writes");
    console.log("== prerequisites");
    try {
        checkRootLinux();
        ensureSystemTools(log);
    } catch (e) {
        console.log(`prerequisites: ${(e as Error).message}`);
        console.log("0 passed, 1 failed");
        return 1;
    }
    const session = LabSession.open({ prefix: PREFIX, tempPrefix: TEMP_PREFIX });
    if (session.removed.length > 0) log(`removed leftovers of an earlier run: ${session.removed.join(", ")}`);
    const work = session.tempDir();
    const logDir = path.join(work, "logs");
    fs.mkdirSync(logDir);

    let corednsBin = "";
    let corednsProblem: string | undefined;
    try {
        corednsBin = ensureCoreDNS(log);
        log(`CoreDNS: ${path.relative(ROOT, corednsBin)}`);
    } catch (e) {
        corednsProblem = (e as Error).message;
    }

    console.log("== rendering stacks with npm run plan");
    const stacks: Record<string, Rendered | string> = {};
    const renderFailures: CaseResult[] = [];
    for (const stack of STACKS) {
        if (!fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))) {
            stacks[stack] = `Pulumi.${stack}.yaml does not exist yet`;
            log(`${stack}: skipped (Pulumi.${stack}.yaml does not exist yet)`);
            continue;
        }
        const out = path.join(work, "out", stack);
        try {
            stacks[stack] = renderStack(stack, out);
            log(`${stack}: npm run plan -- --stack ${stack} --out ${out}  (${(stacks[stack] as Rendered).objects.length} objects)`);
        } catch (e) {
            const msg = (e as Error).message;
            const unbuilt = /not implemented yet/.exec(msg);
            if (unbuilt) {
                stacks[stack] = `${stack} stack: ${msg.split("\n").find((l) => l.includes("not implemented yet"))?.replace(/^.*?directpath: /, "").trim()}`;
                log(`${stack}: not renderable yet (${stacks[stack] as string})`);
                continue;
            }
            stacks[stack] = `plan failed for ${stack}`;
            renderFailures.push({ id: `plan:${stack}`, title: `render ${stack}`, expected: "plan succeeds", observed: msg.split("\n").slice(-1)[0] ?? msg, status: "FAIL", notes: msg.split("\n").slice(0, 20) });
        }
    }

    if (typeof stacks["local-iptables"] === "object") {
        try {
            stacks[PORTMAP_STACK] = renderPortmapVariant(ROOT, work);
            log(`${PORTMAP_STACK}: the local-iptables stack file with only the endpoint's targetPort set to ${MAPPED_PORT} (temp copy), rendered by npm run plan -- --stack-dir`);
        } catch (e) {
            stacks[PORTMAP_STACK] = `rendering the port-mapping variant failed: ${(e as Error).message.split("\n").slice(-1)[0]}`;
        }
    }

    console.log("== cases");
    const results: CaseResult[] = [...renderFailures];
    renderFailures.forEach(printResult);
    const hairpin = await withTimeout("building the hairpin topology", 60_000, () => buildHairpin(session, logDir, backendPortsFor(stacks)));
    const ctx: LabContext = { session, work, logDir, hairpin, stacks, corednsBin, log };
    const cases: CaseDef[] = [case1, case2, case3, ...labCases4to6(corednsProblem), case7, case8];
    for (const def of cases) {
        const r = await runCase(def, ctx);
        results.push(r);
        printResult(r);
    }
    console.log(`(lab took ${Math.round((Date.now() - started) / 1000)}s; namespaces and processes removed on exit)`);
    console.log(summary(results));
    return results.some((r) => r.status === "FAIL") ? 1 : 0;
}

// process.exit runs the session's exit handler, which removes everything the run created.
main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        console.error(`lab aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        console.log("0 passed, 1 failed");
        process.exit(1);
    },
);
