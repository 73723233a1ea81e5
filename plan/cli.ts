/**
 * `npm run plan -- --stack <name> [--out <dir>] [--stack-dir <dir>] [--diff <old-out-dir>] [--quiet]`
 *
 * Runs the real default program for `Pulumi.<name>.yaml` in-process under Pulumi's runtime mocks:
 * no Pulumi CLI, no credentials, no cluster. Prints the resource tree, counts by type, the
 * firewall rules and the summary of what the stack touches (plan/summary.ts); writes Kubernetes
 * manifests (apply order) and plan.json to `--out` (default `out/<stack>`), removing only files an
 * earlier plan wrote there (plan/out-dir.ts). Exits 0 on success, 2 on a bad flag, folder or
 * config, 1 on any other failure. See docs/plan.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs as parseNodeArgs } from "node:util";
import { ValidationError } from "../components/common/errors";
import { diffJson, diffResources, formatDiff, formatOutside, outsideChanges, type PlanSnapshot } from "./diff";
import { inspectOutDir, OutDirError, writeOutDir, type OutFile } from "./out-dir";
import type { PlanDocument, PlanResource } from "./render";
import { listStacks, readStackFiles, StackFileError } from "./stack-files";

/** Bad command-line use: exit 2, the message names the flag or folder and the rule. */
class UsageError extends Error {}

const FLAGS = {
    stack: { type: "string", short: "s", value: "<name>", help: "the stack: reads Pulumi.<name>.yaml from the stack folder (default: local)" },
    out: { type: "string", short: "o", value: "<dir>", help: "where to write (default: out/<stack>); must be new, empty, or written by an earlier plan" },
    "stack-dir": { type: "string", value: "<dir>", help: "the folder holding Pulumi.<stack>.yaml files (default: the project folder)" },
    diff: { type: "string", value: "<old-out-dir>", help: "also print what changed against the plan an earlier run wrote to <old-out-dir>" },
    json: { type: "boolean", help: "with --diff: print only the diff, as one JSON document (for CI)" },
    quiet: { type: "boolean", short: "q", help: "print only the line saying what was written (and the diff, with --diff)" },
    help: { type: "boolean", short: "h", help: "print this help and exit" },
} as const;

interface Args {
    stack: string;
    out?: string;
    stackDir?: string;
    diff?: string;
    json: boolean;
    quiet: boolean;
    help: boolean;
}

function parseArgs(argv: string[]): Args {
    let values: Record<string, string | boolean | undefined>;
    try {
        const options = Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, { type: f.type, ...("short" in f ? { short: f.short } : {}) }]));
        ({ values } = parseNodeArgs({ args: argv, options: options as never, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> });
    } catch (e) {
        const message = (e as Error).message;
        const needsValue = /^Option '(?:-\w, )?(--[\w-]+)[^']*' argument (?:is ambiguous|missing)/.exec(message);
        if (needsValue) {
            const flag = needsValue[1]!;
            const spec = FLAGS[flag.slice(2) as keyof typeof FLAGS];
            throw new UsageError(`${flag} needs a value${spec && "value" in spec ? ` (${flag} ${spec.value})` : ""}; see --help`);
        }
        throw new UsageError(`${message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/, "")}; see --help`);
    }
    for (const k of ["stack", "out", "stack-dir", "diff"] as const) {
        if (values[k] === "") throw new UsageError(`--${k} needs a value; see --help`);
    }
    if (values.json === true && values.diff === undefined) throw new UsageError("--json prints the diff: it needs --diff <old-out-dir>; see --help");
    return {
        stack: (values.stack as string | undefined) ?? "local",
        out: values.out as string | undefined,
        stackDir: values["stack-dir"] as string | undefined,
        diff: values.diff as string | undefined,
        json: values.json === true,
        quiet: values.quiet === true,
        help: values.help === true,
    };
}

/** `--help`: every flag, the stacks in the stack folder, and examples. */
export function helpText(stackDir: string, stacks: readonly string[]): string {
    const rows = Object.entries(FLAGS).map(([name, f]) => [`${"short" in f ? `-${f.short}, ` : "    "}--${name}${"value" in f ? ` ${f.value}` : ""}`, f.help]);
    const width = Math.max(...rows.map((r) => r[0]!.length));
    return [
        "usage: npm run plan -- [--stack <name>] [--out <dir>] [--stack-dir <dir>] [--diff <old-out-dir> [--json]] [--quiet]",
        "",
        "Runs the default program offline under Pulumi runtime mocks (no cloud, no cluster, no Pulumi CLI, no",
        "secrets decrypted), prints what it would deploy and what that touches, and writes manifests/, patches/,",
        "computed/, helm/ and plan.json to --out. Exit 0: planned; 2: bad flag, folder or config; 1: anything else.",
        "",
        "flags:",
        ...rows.map(([a, b]) => `  ${a!.padEnd(width)}  ${b}`),
        "",
        `stacks in ${stackDir}: ${stacks.length ? stacks.join(", ") : "(none: no Pulumi.<name>.yaml here)"}`,
        "",
        "examples:",
        "  npm run plan -- --stack local",
        "  npm run plan -- --stack dev --out /tmp/plan-dev",
        "  npm run plan -- --stack local --out out/local-new --diff out/local",
        "  npm run plan -- --stack local --out out/local-new --diff out/local --json",
    ].join("\n");
}

/** plan.json of an earlier plan, for --diff. */
function readOldPlan(dir: string): PlanDocument {
    const file = path.join(path.resolve(dir), "plan.json");
    let doc: unknown;
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "has no plan.json" : "has a plan.json that is not valid JSON";
        throw new UsageError(`--diff ${dir}: the folder ${why}; pass a folder an earlier plan wrote (its --out)`);
    }
    if (!doc || typeof doc !== "object" || !Array.isArray((doc as PlanDocument).resources)) {
        throw new UsageError(`--diff ${dir}: plan.json has no resources list; pass a folder an earlier plan wrote (its --out)`);
    }
    return doc as PlanDocument;
}

const shellArg = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

async function main(): Promise<number> {
    const projectDir = path.resolve(__dirname, "..");
    const args = parseArgs(process.argv.slice(2));
    const stackDir = args.stackDir ? path.resolve(args.stackDir) : projectDir;
    if (args.stackDir && !(fs.existsSync(stackDir) && fs.statSync(stackDir).isDirectory())) {
        throw new UsageError(`--stack-dir ${args.stackDir}: not a folder; pass the folder holding Pulumi.<stack>.yaml`);
    }
    if (args.help) {
        console.log(helpText(stackDir, listStacks(stackDir)));
        return 0;
    }
    const files = readStackFiles(projectDir, args.stack, stackDir);
    // Checked before the program runs: a folder plan must not write into is refused with nothing written.
    const out = inspectOutDir(args.out ?? path.join(projectDir, "out", args.stack));
    const oldPlan = args.diff !== undefined ? readOldPlan(args.diff) : undefined;

    // Loaded only now (@pulumi/pulumi and the renderers): a bad flag, folder or stack file is
    // answered without them, in a fraction of the time.
    const { installMocks, plainValue, settle } = await import("./runtime");
    const { assemblePlan } = await import("./assemble");
    const { countByType, requiredRuleRows, resourceTree, table, toYaml } = await import("./render");
    const { formatSummary } = await import("./summary");
    const { formatQuotas } = await import("./aws-quotas");
    const recorder = installMocks({ project: files.project, stack: files.stack, preview: true, config: files.config, secretKeys: files.secretKeys });

    const failures: unknown[] = [];
    process.on("unhandledRejection", (err) => failures.push(err));

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(files.main) as Promise<Record<string, unknown>> | { default?: Promise<Record<string, unknown>> };
    const exported = await (program instanceof Promise ? program : (program.default ?? program));
    const outputs = (await plainValue(exported)) as Record<string, unknown>;
    await settle();
    if (failures.length > 0) throw failures[0];

    const { doc, manifests, sgRows, required, summary, awsQuotas, planJson } = assemblePlan({
        project: files.project, stack: files.stack, recorded: recorder.resources, outputs, secretConfigKeys: files.secretKeys, outDir: shellArg(out.dir),
    });

    // ---- write ----
    const outFiles: OutFile[] = [
        ...manifests.map((m) => ({ rel: `${m.dir}/${m.file}`, content: toYaml(m.object) })),
        { rel: "plan.json", content: JSON.stringify(planJson, null, 2) + "\n" },
    ];
    // Only the folders that hold something: no empty helm/ or patches/ for a stack without them.
    writeOutDir(out, files.stack, outFiles);

    // ---- print ----
    const lines: string[] = [];
    lines.push(`Plan for stack ${files.stack} of project ${files.project} (offline: runtime mocks, nothing deployed)`);
    // Values pulumi up refuses to deploy without (program/resolve.ts `blockers`): said first and last.
    const resolved = (outputs.resolved ?? {}) as { blockers?: Array<{ path: string; rule: string }>; source?: string };
    const blockers = (resolved.blockers ?? []).map((b) => `  ${resolved.source ?? `Pulumi.${files.stack}.yaml`}: ${b.path}: ${b.rule}`);
    const blockerBlock = blockers.length === 0 ? [] : [
        "",
        `NOT DEPLOYABLE YET: pulumi up --stack ${files.stack} refuses until ${blockers.length === 1 ? "this is" : `these ${blockers.length} are`} set (this plan renders without ${blockers.length === 1 ? "it" : "them"}, for review):`,
        ...blockers,
    ];
    lines.push(...blockerBlock);
    lines.push("", "Resources:", ...resourceTree(doc.resources));
    lines.push("", "Count by type:", ...table(["type", "count"], countByType(doc.resources).map(([t, n]) => [t, String(n)])).map((l) => `  ${l}`));
    lines.push(`  total: ${doc.resources.length}`);

    lines.push("", "Firewall and security-group rules this stack creates:");
    if (sgRows.length === 0) lines.push("  (none: this stack manages no cloud firewall)");
    else lines.push(...table(["security group", "direction", "protocol", "ports", "peer", "description"],
        sgRows.map((r) => [r.target, r.direction, r.protocol, r.ports, r.peer, r.description])).map((l) => `  ${l}`));
    if (sgRows.length === 0 && required.length > 0) {
        lines.push("", "Rules the components need opened on your own firewall (output firewallRules):");
        lines.push(...table(["direction", "protocol", "ports", "peer", "description"],
            requiredRuleRows(required).map((r) => [r.direction, r.protocol, r.ports, r.peer, r.description])).map((l) => `  ${l}`));
    }
    lines.push(...formatQuotas(awsQuotas));
    lines.push(...formatSummary(summary));
    const diff = oldPlan ? diffResources(oldPlan.resources as PlanResource[], doc.resources) : undefined;
    const outside = diff ? outsideChanges(oldPlan as unknown as PlanSnapshot, planJson as unknown as PlanSnapshot, diff) : undefined;
    if (args.json) {
        console.log(JSON.stringify(diffJson(diff!, outside!, path.resolve(args.diff!)), null, 2));
        return 0;
    }
    const diffLines = diff ? ["", ...formatDiff(diff, path.resolve(args.diff!)), "", ...formatOutside(outside!)] : [];
    lines.push(...diffLines);

    const counts = { manifests: 0, secrets: 0, patches: 0, computed: 0, helm: 0 };
    for (const m of manifests) counts[m.dir]++;
    const wrote = `Wrote ${counts.manifests} manifest(s) to ${path.join(out.dir, "manifests")}` +
        (counts.secrets ? `, ${counts.secrets} Secret(s) with placeholders to ${path.join(out.dir, "secrets")} (create once; re-applying manifests/ never touches them)` : "") +
        (counts.patches ? `, ${counts.patches} server-side-apply patch(es) to ${path.join(out.dir, "patches")}` : "") +
        (counts.computed ? `, ${counts.computed} object(s) with values known only after deployment to ${path.join(out.dir, "computed")}` : "") +
        (counts.helm ? `, ${counts.helm} Helm release(s) to ${path.join(out.dir, "helm")}` : "") +
        `, and ${path.join(out.dir, "plan.json")}`;
    if (args.quiet) {
        console.log([...diffLines.slice(1), wrote, ...blockerBlock].join("\n"));
    } else {
        lines.push("", wrote, ...summary.nextSteps, ...blockerBlock);
        console.log(lines.join("\n"));
    }
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        if (err instanceof ValidationError || err instanceof StackFileError || err instanceof OutDirError || err instanceof UsageError) {
            console.error(`plan failed: ${err.message}`);
            process.exit(2);
        }
        // scripts/ts-hook.cjs maps a stack's .ts positions on demand (it keeps Node's own source-map support off, for speed).
        const mapStack = (globalThis as Record<symbol, ((stack: string) => string) | undefined>)[Symbol.for("directpath.ts-hook.mapStack")];
        const stack = err instanceof Error && err.stack ? (mapStack ? mapStack(err.stack) : err.stack) : undefined;
        console.error("plan failed:", err instanceof Error ? (stack ?? err.message) : err);
        process.exit(1);
    },
);
