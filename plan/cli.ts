/**
 * `npm run plan -- --stack <name> [--out <dir>] [--stack-dir <dir>]`
 *
 * Runs the real default program for `Pulumi.<name>.yaml` in-process under Pulumi's runtime mocks:
 * no Pulumi CLI, no credentials, no cluster. Prints the resource tree, counts by type and the
 * firewall rules; writes Kubernetes manifests (apply order) and plan.json to `--out`
 * (default `out/<stack>`). Exits 0 on success, 2 on invalid config, 1 on any other failure.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ValidationError } from "../components/common/errors";
import type { FirewallRule } from "../components/common/firewall";
import {
    countByType, manifestFiles, planDocument, requiredRuleRows, resourceTree, securityGroupRows, table, toYaml,
} from "./render";
import { installMocks, plainValue, settle } from "./runtime";
import { readStackFiles, StackFileError } from "./stack-files";

interface Args {
    stack: string;
    out?: string;
    stackDir?: string;
    quiet: boolean;
}

function parseArgs(argv: string[]): Args {
    const args: Partial<Args> & { quiet: boolean } = { quiet: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]!;
        const value = () => {
            const v = argv[++i];
            if (v === undefined) throw new StackFileError(`${a} needs a value`);
            return v;
        };
        if (a === "--stack" || a === "-s") args.stack = value();
        else if (a === "--out" || a === "-o") args.out = value();
        else if (a === "--stack-dir") args.stackDir = value();
        else if (a === "--quiet" || a === "-q") args.quiet = true;
        else if (a === "--help" || a === "-h") {
            console.log("usage: npm run plan -- --stack <local|dev|prod> [--out <dir>] [--stack-dir <dir>] [--quiet]");
            process.exit(0);
        } else throw new StackFileError(`unknown argument ${a}`);
    }
    return { stack: args.stack ?? "local", out: args.out, stackDir: args.stackDir, quiet: args.quiet };
}

async function main(): Promise<number> {
    const projectDir = path.resolve(__dirname, "..");
    const args = parseArgs(process.argv.slice(2));
    const files = readStackFiles(projectDir, args.stack, args.stackDir ? path.resolve(args.stackDir) : projectDir);
    const outDir = path.resolve(args.out ?? path.join(projectDir, "out", args.stack));

    const recorder = installMocks({ project: files.project, stack: files.stack, preview: true, config: files.config, secretKeys: files.secretKeys });

    const failures: unknown[] = [];
    process.on("unhandledRejection", (err) => failures.push(err));

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(files.main) as Promise<Record<string, unknown>> | { default?: Promise<Record<string, unknown>> };
    const exported = await (program instanceof Promise ? program : (program.default ?? program));
    const outputs = (await plainValue(exported)) as Record<string, unknown>;
    await settle();
    if (failures.length > 0) throw failures[0];

    const doc = planDocument(files.project, files.stack, recorder.resources, outputs);
    const manifests = manifestFiles(doc.resources);

    // ---- write ----
    fs.rmSync(outDir, { recursive: true, force: true });
    for (const dir of ["manifests", "patches", "helm"]) fs.mkdirSync(path.join(outDir, dir), { recursive: true });
    for (const m of manifests) fs.writeFileSync(path.join(outDir, m.dir, m.file), toYaml(m.object));
    // plan.json also carries the security-group table (the rows printed below): rule resources only
    // hold "[computed]" group IDs, and tools such as the network lab need to know which group a
    // rule belongs to and which group it references.
    fs.writeFileSync(path.join(outDir, "plan.json"), JSON.stringify({ ...doc, securityGroupRules: securityGroupRows(doc.resources, recorder.resources) }, null, 2) + "\n");

    // ---- print ----
    const out: string[] = [];
    out.push(`Plan for stack ${files.stack} of project ${files.project} (offline: runtime mocks, nothing deployed)`);
    out.push("", "Resources:", ...resourceTree(doc.resources));
    out.push("", "Count by type:", ...table(["type", "count"], countByType(doc.resources).map(([t, n]) => [t, String(n)])).map((l) => `  ${l}`));
    out.push(`  total: ${doc.resources.length}`);

    const sgRows = securityGroupRows(doc.resources, recorder.resources);
    const required = Array.isArray(outputs.firewallRules) ? (outputs.firewallRules as FirewallRule[]) : [];
    out.push("", "Firewall and security-group rules this stack creates:");
    if (sgRows.length === 0) out.push("  (none: this stack manages no cloud firewall)");
    else out.push(...table(["security group", "direction", "protocol", "ports", "peer", "description"],
        sgRows.map((r) => [r.target, r.direction, r.protocol, r.ports, r.peer, r.description])).map((l) => `  ${l}`));
    if (sgRows.length === 0 && required.length > 0) {
        out.push("", "Rules the components need opened on your own firewall (output firewallRules):");
        out.push(...table(["direction", "protocol", "ports", "peer", "description"],
            requiredRuleRows(required).map((r) => [r.direction, r.protocol, r.ports, r.peer, r.description])).map((l) => `  ${l}`));
    }
    const counts = { manifests: 0, patches: 0, helm: 0 };
    for (const m of manifests) counts[m.dir]++;
    out.push("", `Wrote ${counts.manifests} manifest(s) to ${path.join(outDir, "manifests")}` +
        (counts.patches ? `, ${counts.patches} server-side-apply patch(es) to ${path.join(outDir, "patches")}` : "") +
        (counts.helm ? `, ${counts.helm} Helm release(s) to ${path.join(outDir, "helm")}` : "") +
        `, and ${path.join(outDir, "plan.json")}`);
    console.log(args.quiet ? out[out.length - 1] : out.join("\n"));
    return 0;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        if (err instanceof ValidationError) {
            console.error(`plan failed: ${err.message}`);
            process.exit(2);
        }
        if (err instanceof StackFileError) {
            console.error(`plan failed: ${err.message}`);
            process.exit(2);
        }
        console.error("plan failed:", err instanceof Error ? (err.stack ?? err.message) : err);
        process.exit(1);
    },
);
