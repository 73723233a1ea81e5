#!/usr/bin/env node
/**
 * `npm run check -- --stack <name> [--kubeconfig f] [--nodes a,b] [--json] [--timeout s]`, also
 * installed as `directpath-check`. Finds the three faults in a running cluster. Exit codes: 0 no
 * fault present, 1 a fault present, 2 bad input or the check could not run (the message says why).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CheckRunError, DEFAULT_NAMESPACE, runClusterCheck } from "./cluster";
import { kubectl } from "./kube";
import { PlanError, runPlan, targetsFromPlanDir } from "./plan";
import { rbacYaml } from "./rbac";
import { formatTable, jsonReport } from "./report";
import { targetsSchema, type CheckTargets } from "./targets";
import { imageReferenceProblem } from "../components/common/image";

export const USAGE = `usage: directpath-check (--stack <name> | --plan <dir> | --targets <file>) [options]
       npm run check -- --stack <name> [options]

  --stack <name>       read the stack's config: runs npm run plan -- --stack <name> in the project (cwd)
  --plan <dir>         use a directory npm run plan -- --out <dir> wrote
  --targets <file>     use a targets JSON file (see --print-targets; for values computed at deploy time)
  --kubeconfig <file>  kubeconfig (default: kubectl's: $KUBECONFIG or ~/.kube/config)
  --context <name>     kubeconfig context
  --nodes <a,b>        probe only these nodes (default: every Ready node)
  --namespace <ns>     namespace for the probe pods (default ${DEFAULT_NAMESPACE}; created and removed when missing)
  --image <ref>        probe image (default: the stack's pinned Tailscale image, busybox inside)
  --timeout <s>        seconds for the probe pods to finish (default 120)
  --max-nodes <n>      overlay: at most n nodes, every pair among them (default 10)
  --json               print the JSON report instead of the table
  --print-targets      print what would be checked (JSON, usable as --targets) and exit
  --print-rbac <kind:name>  print the least-privilege RBAC for User:<n>, Group:<n> or ServiceAccount:<ns>/<n> and exit

exit codes: 0 no fault present, 1 a fault present, 2 bad input, could not run, or a fault could not be checked`;

export interface CliArgs {
    stack?: string;
    plan?: string;
    targets?: string;
    kubeconfig?: string;
    context?: string;
    nodes?: string[];
    namespace?: string;
    image?: string;
    timeout: number;
    maxNodes: number;
    json: boolean;
    printTargets: boolean;
    printRbac?: { kind: "User" | "Group" | "ServiceAccount"; name: string; namespace?: string };
}

export class UsageError extends Error {}

/** Parses argv; every problem is collected and reported together, naming the flag and the value. */
export function parseArgs(argv: readonly string[]): CliArgs {
    const a: CliArgs = { timeout: 120, maxNodes: 10, json: false, printTargets: false };
    const errors: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const f = argv[i]!;
        const val = () => {
            const v = argv[i + 1];
            if (v === undefined || v.startsWith("--")) {
                errors.push(`${f} needs a value`);
                return undefined;
            }
            i++;
            return v;
        };
        const int = (name: string, v: string | undefined, min: number, max: number) => {
            if (v === undefined) return undefined;
            if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
                errors.push(`${name} ${JSON.stringify(v)}: must be a whole number from ${min} to ${max}`);
                return undefined;
            }
            return Number(v);
        };
        switch (f) {
            case "--stack": a.stack = val(); break;
            case "--plan": a.plan = val(); break;
            case "--targets": a.targets = val(); break;
            case "--kubeconfig": a.kubeconfig = val(); break;
            case "--context": a.context = val(); break;
            case "--namespace": {
                const v = val();
                if (v !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) errors.push(`--namespace ${JSON.stringify(v)}: must be a DNS-1123 label (lower-case letters, digits, '-', at most 63)`);
                else a.namespace = v;
                break;
            }
            case "--image": {
                const v = val();
                const problem = v !== undefined ? imageReferenceProblem(v) : undefined;
                if (problem) errors.push(`--image ${JSON.stringify(v)}: ${problem}`);
                else a.image = v;
                break;
            }
            case "--nodes": {
                const v = val();
                if (v !== undefined) {
                    const list = v.split(",").map((s) => s.trim()).filter(Boolean);
                    if (list.length === 0) errors.push("--nodes: give at least one node name (a,b,c)");
                    a.nodes = list;
                }
                break;
            }
            case "--timeout": a.timeout = int("--timeout", val(), 10, 3600) ?? a.timeout; break;
            case "--max-nodes": a.maxNodes = int("--max-nodes", val(), 2, 500) ?? a.maxNodes; break;
            case "--json": a.json = true; break;
            case "--print-targets": a.printTargets = true; break;
            case "--print-rbac": {
                const v = val();
                const m = v === undefined ? null : /^(User|Group|ServiceAccount):(?:([a-z0-9-]+)\/)?(.+)$/.exec(v);
                if (v !== undefined && (!m || (m[1] === "ServiceAccount") !== (m[2] !== undefined))) errors.push(`--print-rbac ${JSON.stringify(v)}: must be User:<name>, Group:<name> or ServiceAccount:<namespace>/<name>`);
                else if (m) a.printRbac = { kind: m[1] as "User", name: m[3]!, ...(m[2] ? { namespace: m[2] } : {}) };
                break;
            }
            case "--help": case "-h": throw new UsageError("");
            default: errors.push(`unknown argument ${JSON.stringify(f)}`);
        }
    }
    const sources = [a.stack, a.plan, a.targets].filter((x) => x !== undefined).length;
    if (sources !== 1) errors.push(sources === 0 ? "say what to check: --stack <name>, --plan <dir> or --targets <file>" : "--stack, --plan and --targets exclude each other: give one");
    if (a.kubeconfig !== undefined && !fs.existsSync(a.kubeconfig)) errors.push(`--kubeconfig ${JSON.stringify(a.kubeconfig)}: no such file`);
    if (errors.length > 0) throw new UsageError(errors.join("\n"));
    return a;
}

/** The targets the arguments name (runs npm run plan for --stack). */
export function loadTargets(a: CliArgs, log: (l: string) => void): CheckTargets {
    if (a.targets) {
        let raw: unknown;
        try {
            raw = JSON.parse(fs.readFileSync(a.targets, "utf8"));
        } catch (e) {
            throw new UsageError(`--targets ${a.targets}: ${(e as Error).message}`);
        }
        const r = targetsSchema.safeParse(raw);
        if (!r.success) throw new UsageError(`--targets ${a.targets}:\n${r.error.issues.map((i) => `  ${i.path.join(".") || "(top)"}: ${i.message}`).join("\n")}`);
        return r.data;
    }
    if (a.plan) return targetsFromPlanDir(path.resolve(a.plan), `plan ${a.plan}`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-check-plan-"));
    try {
        log(`reading the stack's config: npm run plan -- --stack ${a.stack} --out ${out}`);
        runPlan(process.cwd(), a.stack!, out);
        return targetsFromPlanDir(out, `npm run plan -- --stack ${a.stack}`);
    } finally {
        fs.rmSync(out, { recursive: true, force: true });
    }
}

export async function main(argv: readonly string[]): Promise<number> {
    const err = (l: string) => process.stderr.write(`${l}\n`);
    let args: CliArgs;
    try {
        args = parseArgs(argv);
    } catch (e) {
        if (e instanceof UsageError && e.message === "") {
            console.log(USAGE);
            return 0;
        }
        err(`directpath-check: ${(e as Error).message}\n\n${USAGE}`);
        return 2;
    }
    // Progress goes to stderr, so --json's stdout stays one JSON document.
    const log = (l: string) => err(l);
    let targets: CheckTargets;
    try {
        targets = loadTargets(args, log);
    } catch (e) {
        err(`directpath-check: ${(e as Error).message}`);
        return 2;
    }
    if (args.printTargets) {
        console.log(JSON.stringify(targets, null, 2));
        return 0;
    }
    if (args.printRbac) {
        process.stdout.write(rbacYaml(targets, args.printRbac, args.namespace));
        return 0;
    }
    const started = new Date();
    const ac = new AbortController();
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals) => {
        interrupts++;
        if (interrupts === 1) {
            err(`\n${sig}: stopping; removing what this run created (press Ctrl-C again to quit at once)`);
            ac.abort();
        } else {
            err(`${sig} again: quitting without finishing cleanup; remove leftovers with: kubectl -n ${args.namespace ?? DEFAULT_NAMESPACE} delete pods,configmaps -l app.kubernetes.io/managed-by=directpath-check`);
            process.exit(2);
        }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
        const r = await runClusterCheck({
            targets, kube: kubectl({ kubeconfig: args.kubeconfig, context: args.context }), log, signal: ac.signal,
            timeoutSeconds: args.timeout, maxNodes: args.maxNodes,
            ...(args.nodes ? { nodes: args.nodes } : {}), ...(args.namespace ? { namespace: args.namespace } : {}), ...(args.image ? { image: args.image } : {}),
        });
        const report = jsonReport({ ...(args.stack ? { stack: args.stack } : {}), source: targets.source, startedAt: started.toISOString(), durationMs: Date.now() - started.getTime(), verdicts: r.verdicts, notes: r.notes });
        if (args.json) console.log(JSON.stringify(report, null, 2));
        else {
            console.log(formatTable(r.verdicts, { width: Math.min(process.stdout.columns || 140, 200) }));
            for (const n of r.notes) console.log(`note: ${n}`);
        }
        return report.exitCode;
    } catch (e) {
        err(`directpath-check: could not run: ${(e as Error).message}`);
        if (!(e instanceof CheckRunError || e instanceof PlanError)) err((e as Error).stack ?? "");
        return 2;
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
        process.stderr.write(`directpath-check: ${String(e)}\n`);
        process.exit(2);
    });
}
