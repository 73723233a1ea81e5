/**
 * `npm run bench:plan`: how much CPU `npm run plan` costs, against the floor, and how it grows with
 * the number of hairpin endpoints.
 *
 * - floor: a bare Node process that loads `@pulumi/pulumi` and `@pulumi/kubernetes` and exits (what
 *   any Pulumi Kubernetes program pays before it does anything);
 * - plan local: `plan --stack local` with the command `npm run plan` runs (node + scripts/ts-hook.cjs,
 *   plan/command.ts), its transform cache warm, as on every run after the first;
 * - plan local, cold cache: the same with an empty cache folder (a fresh clone's first run);
 * - plan local via tsx: the command `npm run plan` ran before (tsx), for comparison;
 * - floor + @pulumi/aws: the floor that also loads @pulumi/aws. The default program loads it only
 *   for `environment: aws`; the bench checks that `plan local` loads none of it (a preload lists
 *   the modules it loaded) and reports what loading it would cost;
 * - load only: node + ts-hook loading every module plan/cli.ts loads, running nothing (the part of
 *   the plan's time that is module loading);
 * - plan N endpoints for N = 10, 50, 200: the `local-iptables` stack file with N hairpin endpoints
 *   (distinct names, external IPs and backends) in a temp stack folder: the per-endpoint cost from
 *   10 to 50 and from 50 to 200 must agree for the growth to be linear.
 *
 * CPU time is user + system of the process tree (GNU time counts waited-for children too: esbuild's
 * service on a cold cache). npm's own start-up (~0.3 s) is not counted: the cases run the command
 * npm runs. The cases run round-robin, `--runs` rounds (default 7), so a change in the machine's
 * load hits every case alike; the median is reported. CPU time is fairly robust to other load on the
 * machine, wall time is not. Results go to bench/results/plan-speed.json and .md. This is a
 * measurement, not a test: nothing here fails on a number.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { planCliCommand, TS_HOOK } from "../plan/command";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(ROOT, "bench", "results");
const ENDPOINT_COUNTS = [10, 50, 200] as const;

interface Sample { cpuMs: number; wallMs: number }
interface Case { cmd: () => string[]; env?: () => NodeJS.ProcessEnv }

/** Runs a command under GNU time and returns its CPU (user+sys, children included) and wall time. */
function measure(cmd: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Sample {
    const t0 = process.hrtime.bigint();
    const res = spawnSync("/usr/bin/time", ["-f", "DPBENCH %U %S", ...cmd], { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 0) throw new Error(`${cmd.join(" ")} exited ${res.status}: ${res.stderr.slice(-2000)}`);
    const m = /DPBENCH ([\d.]+) ([\d.]+)/.exec(res.stderr);
    if (!m) throw new Error(`no timing line from /usr/bin/time for ${cmd.join(" ")}`);
    return { cpuMs: (Number(m[1]) + Number(m[2])) * 1000, wallMs };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The local-iptables stack with `n` endpoints, each with its own name, external IP and backend. */
function stackWithEndpoints(n: number): string {
    const doc = parseDocument(fs.readFileSync(path.join(ROOT, "Pulumi.local-iptables.yaml"), "utf8"));
    const endpoints = Array.from({ length: n }, (_, i) => ({
        name: `svc-${i}`,
        hostnames: [`svc-${i}.example.com`],
        externalIps: [`169.233.${100 + Math.floor(i / 200)}.${10 + (i % 200)}`], // valid octets for any n
        ports: [{ port: 443, protocol: "TCP", name: "https", targetPort: 443 }],
        backend: { address: { ip: `192.168.${20 + Math.floor(i / 250)}.${(i % 250) + 1}` } },
    }));
    doc.setIn(["config", "directpath:hairpin", "endpoints"], doc.createNode(endpoints));
    return doc.toString();
}

function main(): void {
    const runsArg = process.argv.indexOf("--runs");
    const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 7;
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${process.argv[runsArg + 1]}`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dp-bench-"));
    try {
        const stackDir = path.join(tmp, "stacks");
        fs.mkdirSync(stackDir);
        for (const n of ENDPOINT_COUNTS) fs.writeFileSync(path.join(stackDir, `Pulumi.bench-${n}.yaml`), stackWithEndpoints(n));
        // Every module plan/cli.ts loads, without running the CLI (cli.ts runs on import).
        const loadOnly = [
            ...fs.readdirSync(path.join(ROOT, "plan")).filter((f) => f.endsWith(".ts") && f !== "cli.ts").map((f) => path.join(ROOT, "plan", f)),
            path.join(ROOT, "program", "main.ts"),
        ];
        const tsx = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
        let n = 0;
        const out = () => path.join(tmp, `out-${n++}`); // a fresh folder each run
        const coldCache = (): NodeJS.ProcessEnv => ({ ...process.env, XDG_CACHE_HOME: path.join(tmp, `cache-${n++}`) });
        const plan = planCliCommand();
        const cases: Record<string, Case> = {
            floor: { cmd: () => [process.execPath, "-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes')"] },
            "floor + @pulumi/aws": { cmd: () => [process.execPath, "-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes'); require('@pulumi/aws')"] },
            "plan local": { cmd: () => [...plan, "--stack", "local", "--out", out(), "--quiet"] },
            "plan local, cold cache": { cmd: () => [...plan, "--stack", "local", "--out", out(), "--quiet"], env: coldCache },
            "plan local via tsx": { cmd: () => [process.execPath, tsx, "plan/cli.ts", "--stack", "local", "--out", out(), "--quiet"] },
            "load only": { cmd: () => [process.execPath, "--require", TS_HOOK, "-e", loadOnly.map((f) => `require(${JSON.stringify(f)});`).join("")] },
            ...Object.fromEntries(ENDPOINT_COUNTS.map((c) => [`plan ${c} endpoints`, { cmd: () => [...plan, "--stack", `bench-${c}`, "--stack-dir", stackDir, "--out", out(), "--quiet"] }])),
        };
        // Does plan local load any @pulumi/aws module? A preload lists what the process loaded.
        const loadedList = path.join(tmp, "loaded.json");
        const preload = path.join(tmp, "list-loaded.cjs");
        fs.writeFileSync(preload, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(loadedList)}, JSON.stringify(Object.keys(require.cache))));\n`);
        measure([plan[0]!, "--require", preload, ...plan.slice(1), "--stack", "local", "--out", out(), "--quiet"], ROOT);
        const awsModules = (JSON.parse(fs.readFileSync(loadedList, "utf8")) as string[]).filter((f) => /[\\/]node_modules[\\/]@pulumi[\\/]aws[\\/]/.test(f));
        // Warm the page cache and the transform cache.
        measure(cases.floor!.cmd(), ROOT);
        measure(cases["plan local"]!.cmd(), ROOT);
        measure(cases["plan local via tsx"]!.cmd(), ROOT);
        const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
        const load0 = os.loadavg()[0]!;
        for (let round = 0; round < runs; round++) {
            for (const [name, c] of Object.entries(cases)) samples[name]!.push(measure(c.cmd(), ROOT, c.env?.()));
            console.log(`round ${round + 1}/${runs}: ${Object.entries(samples).map(([k, v]) => `${k} ${v.at(-1)!.cpuMs.toFixed(0)}`).join(", ")}`);
        }
        const load1 = os.loadavg()[0]!;
        const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { cpuMs: median(v.map((s) => s.cpuMs)), wallMs: median(v.map((s) => s.wallMs)), samples: v }]));
        const cpu = (k: string) => results[k]!.cpuMs;
        const floor = cpu("floor");
        const [e10, e50, e200] = ENDPOINT_COUNTS.map((c) => cpu(`plan ${c} endpoints`)) as [number, number, number];
        const slope10to50 = (e50 - e10) / 40;
        const slope50to200 = (e200 - e50) / 150;
        const slope10to200 = (e200 - e10) / 190;
        const summary = {
            date: new Date().toISOString(),
            node: process.version,
            cpus: os.cpus().length,
            loadAverage: { start: Number(load0.toFixed(1)), end: Number(load1.toFixed(1)) },
            runs,
            cpuMs: Object.fromEntries(Object.keys(results).map((k) => [k, Math.round(cpu(k))])),
            ratioLocalToFloor: Number((cpu("plan local") / floor).toFixed(2)),
            ratioLocalColdToFloor: Number((cpu("plan local, cold cache") / floor).toFixed(2)),
            ratioLocalTsxToFloor: Number((cpu("plan local via tsx") / floor).toFixed(2)),
            ratioLoadOnlyToFloor: Number((cpu("load only") / floor).toFixed(2)),
            // Modules of @pulumi/aws that plan local loaded (none: the program loads it for aws stacks only).
            planLocalAwsModules: awsModules.length,
            awsLoadCpuMs: Math.round(cpu("floor + @pulumi/aws") - floor),
            ratio10EndpointsToFloor: Number((e10 / floor).toFixed(2)),
            // Linear growth: a fixed cost plus a per-endpoint cost, the same over both intervals.
            perEndpointCpuMs: { "10-50": Number(slope10to50.toFixed(2)), "50-200": Number(slope50to200.toFixed(2)), "10-200": Number(slope10to200.toFixed(2)) },
            // The 50-endpoint time the straight line through 10 and 200 predicts, against the measured one.
            predicted50FromLineMs: Math.round(e10 + 40 * slope10to200),
            ratio200To10: Number((e200 / e10).toFixed(2)),
            samples: results,
        };
        fs.mkdirSync(RESULTS, { recursive: true });
        fs.writeFileSync(path.join(RESULTS, "plan-speed.json"), JSON.stringify(summary, null, 2) + "\n");
        const md = [
            "# `npm run plan`: CPU time against the floor (`npm run bench:plan`)",
            "",
            `${summary.date}, Node ${summary.node}, ${summary.cpus} cores, load average ${summary.loadAverage.start} -> ${summary.loadAverage.end} (the cores are shared),`,
            `median of ${runs} round-robin runs, CPU = user + system of the process tree (robust to other load, within ~10%; wall times are not).`,
            "",
            "| case | CPU (ms) | / floor | wall (ms) |",
            "|---|---:|---:|---:|",
            ...Object.entries(results).map(([k, v]) => `| ${k} | ${v.cpuMs.toFixed(0)} | ${(v.cpuMs / floor).toFixed(2)}x | ${v.wallMs.toFixed(0)} |`),
            "",
            `- plan local / floor: **${summary.ratioLocalToFloor}x** (goal: at most 1.5x); first run after a change (cold transform cache): ${summary.ratioLocalColdToFloor}x; with tsx: ${summary.ratioLocalTsxToFloor}x`,
            `- of which module loading (load only / floor): ${summary.ratioLoadOnlyToFloor}x; plan local loaded ${summary.planLocalAwsModules} @pulumi/aws module(s) (the program loads it only for \`environment: aws\`; loading it costs ${summary.awsLoadCpuMs} ms)`,
            `- per endpoint: ${summary.perEndpointCpuMs["10-50"]} ms CPU from 10 to 50, ${summary.perEndpointCpuMs["50-200"]} ms from 50 to 200 (linear when these agree); ` +
                `the line through 10 and 200 predicts ${summary.predicted50FromLineMs} ms at 50, measured ${Math.round(e50)} ms; 200 endpoints cost ${summary.ratio200To10}x of 10`,
            "",
        ].join("\n");
        fs.writeFileSync(path.join(RESULTS, "plan-speed.md"), md);
        console.log(md);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

main();
