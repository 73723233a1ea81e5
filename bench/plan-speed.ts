/**
 * `npm run bench:plan`: how much CPU `npm run plan` costs, against the floor.
 *
 * - floor: a bare Node process that loads `@pulumi/pulumi` and `@pulumi/kubernetes` and exits (what
 *   any Pulumi Kubernetes program pays before it does anything);
 * - plan(local): `plan --stack local` exactly as a user runs it (tsx, the default program, mocks,
 *   the files it writes);
 * - plan(N endpoints) for N = 10 and 200: the `local-iptables` stack file with N hairpin endpoints
 *   (distinct names, external IPs and backends), in a temp stack folder, to see how the time grows.
 *
 * CPU time is user + system of the process tree (GNU time reports the waited-for children too, so
 * tsx's esbuild service counts). Each case runs `--runs` times (default 5); the median is reported.
 * Results go to bench/results/plan-speed.json and .md. This is a measurement, not a test: nothing
 * here fails on a number.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(ROOT, "bench", "results");

interface Sample { cpuMs: number; wallMs: number }

/** Runs a command under GNU time and returns its CPU (user+sys, children included) and wall time. */
function measure(cmd: string[], cwd: string): Sample {
    const t0 = process.hrtime.bigint();
    const res = spawnSync("/usr/bin/time", ["-f", "DPBENCH %U %S", ...cmd], { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
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
        externalIps: [`169.233.${100 + Math.floor(i / 250)}.${10 + (i % 250)}`],
        ports: [{ port: 443, protocol: "TCP", name: "https", targetPort: 443 }],
        backend: { address: { ip: `192.168.${20 + Math.floor(i / 250)}.${(i % 250) + 1}` } },
    }));
    doc.setIn(["config", "directpath:hairpin", "endpoints"], doc.createNode(endpoints));
    return doc.toString();
}

function main(): void {
    const runsArg = process.argv.indexOf("--runs");
    const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${process.argv[runsArg + 1]}`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dp-bench-"));
    try {
        const stackDir = path.join(tmp, "stacks");
        fs.mkdirSync(stackDir);
        for (const n of [10, 200]) fs.writeFileSync(path.join(stackDir, `Pulumi.bench-${n}.yaml`), stackWithEndpoints(n));
        const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
        let outN = 0;
        const out = () => path.join(tmp, `out-${outN++}`); // a fresh folder each run
        const cases: Record<string, () => string[]> = {
            floor: () => [process.execPath, "-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes')"],
            "plan local": () => [tsx, "plan/cli.ts", "--stack", "local", "--out", out(), "--quiet"],
            "plan 10 endpoints": () => [tsx, "plan/cli.ts", "--stack", "bench-10", "--stack-dir", stackDir, "--out", out(), "--quiet"],
            "plan 200 endpoints": () => [tsx, "plan/cli.ts", "--stack", "bench-200", "--stack-dir", stackDir, "--out", out(), "--quiet"],
        };
        const results: Record<string, { cpuMs: number; wallMs: number; samples: Sample[] }> = {};
        measure(cases.floor!(), ROOT); // warm the page cache
        measure(cases["plan local"]!(), ROOT);
        for (const [name, cmd] of Object.entries(cases)) {
            const samples = Array.from({ length: runs }, () => measure(cmd(), ROOT));
            results[name] = { cpuMs: median(samples.map((s) => s.cpuMs)), wallMs: median(samples.map((s) => s.wallMs)), samples };
            console.log(`${name.padEnd(20)} cpu ${results[name].cpuMs.toFixed(0)} ms  wall ${results[name].wallMs.toFixed(0)} ms`);
        }
        const floor = results.floor!.cpuMs;
        const local = results["plan local"]!.cpuMs;
        const e10 = results["plan 10 endpoints"]!.cpuMs;
        const e200 = results["plan 200 endpoints"]!.cpuMs;
        const perEndpointMs = (e200 - e10) / 190;
        const summary = {
            date: new Date().toISOString(),
            node: process.version,
            cpus: os.cpus().length,
            runs,
            cpuMs: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(v.cpuMs)])),
            ratioLocalToFloor: Number((local / floor).toFixed(2)),
            ratio10EndpointsToFloor: Number((e10 / floor).toFixed(2)),
            // Linear growth: the fixed cost plus a per-endpoint cost; 200 endpoints predicted from 10.
            perEndpointCpuMs: Number(perEndpointMs.toFixed(2)),
            ratio200To10: Number((e200 / e10).toFixed(2)),
            samples: results,
        };
        fs.mkdirSync(RESULTS, { recursive: true });
        fs.writeFileSync(path.join(RESULTS, "plan-speed.json"), JSON.stringify(summary, null, 2) + "\n");
        const md = [
            "# `npm run plan`: CPU time against the floor (`npm run bench:plan`)",
            "",
            `${summary.date}, Node ${summary.node}, ${summary.cpus} cores, median of ${runs} runs, CPU = user + system of the process tree.`,
            "",
            "| case | CPU (ms) | wall (ms) |",
            "|---|---:|---:|",
            ...Object.entries(results).map(([k, v]) => `| ${k} | ${v.cpuMs.toFixed(0)} | ${v.wallMs.toFixed(0)} |`),
            "",
            `- plan local / floor: **${summary.ratioLocalToFloor}x** (goal: at most 1.5x)`,
            `- plan with 10 endpoints / floor: ${summary.ratio10EndpointsToFloor}x`,
            `- per extra endpoint: ${summary.perEndpointCpuMs} ms CPU; 200 endpoints cost ${summary.ratio200To10}x of 10`,
            "",
        ].join("\n");
        fs.writeFileSync(path.join(RESULTS, "plan-speed.md"), md);
        console.log(md);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

main();
