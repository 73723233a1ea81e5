/**
 * `npm run lab:tailscale`: the direct-connection lab. Real tailscaled, tailscale, derper and
 * headscale (pinned, from the Go module proxy, built into the git-ignored `lab/.bin/`) run in
 * network namespaces on this machine, and the lab measures which pairs of peers connect directly
 * and which get relayed through DERP: a laptop behind a hard NAT, node A set up the way directpath
 * sets it up (read from `npm run plan -- --stack local`), node B set up the way a default
 * in-cluster deployment ends up (a pod behind the node's `--random-fully` SNAT), and node C with
 * directpath's tailscaled settings and firewall but the VPC CNI's SNAT rule still catching host
 * traffic, behind a 1:1 NAT like an EC2 Elastic IP.
 *
 *                            dpt-svc  203.0.113.10 derper (DERP region 900 + STUN), .11 derper
 *                               |      (region 901 + STUN), .20 headscale (plain HTTP)  17.5 ms each way
 *   dpt-laptop -- dpt-home ---- dpt-inet (router; every forwarded packet goes through the WAN
 *   192.168.1.10   198.51.100.2    |       emulator, which delays it by its two sites' delays)
 *            MASQUERADE             |--- dpt-nodea 192.0.2.10    tailscaled :PORT, firewall from
 *            --random-fully         |      2.5 ms                firewallRules          (directpath)
 *            2.5 ms                 |--- dpt-nodeb 198.18.0.10   SNAT --random-fully, no inbound
 *                                   |      2.5 ms  '-- dpt-podb 10.244.1.10 tailscaled  (default)
 *                                   '--- dpt-igwc 198.18.1.10 (1:1 NAT) -- dpt-nodec 10.0.1.10
 *                                          2.5 ms    tailscaled :PORT, firewall from firewallRules,
 *                                                    VPC CNI SNAT --random-fully on host traffic
 *
 * Usage: npm run lab:tailscale [-- --plan-dir <dir>] [--keep]
 *   (runs under `node --import tsx`, not the tsx CLI, which SIGKILLs a busy child on Ctrl-C before
 *   its cleanup has run)
 *   --plan-dir  use an already rendered plan (its manifests/ and plan.json) instead of rendering
 *               the local stack into a temp dir
 *   --keep      leave the namespaces and daemons running after the checks (for poking around);
 *               the next run removes them
 *
 * Every step has a time limit and so does the whole run. Namespaces and processes are removed on
 * exit, on failure and on Ctrl-C, and leftovers of a killed run (prefix `dpt-`) before the start.
 * Prints one line per check and ends with `N passed, N failed`; exits 1 on any failure.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FirewallRule } from "../../components/common/firewall";
import { cidrContains } from "../../components/common/net";
import {
    checkPairs, classifyPeer, derpMapYaml, fixedPortFromDaemonSet, iptablesFromFirewallRules, ManifestError, markdownTable, median, parsePingOutput,
    peerFromStatus, percentile, round1, setupOf, type CheckLine, type Expectation, type FixedPort, type PairResult, type PathKind,
} from "./model";

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "lab", ".bin");
const WORK = path.join(ROOT, ".lab", "tailscale");
const RESULTS = path.join(ROOT, "bench", "results");
const PREFIX = "dpt-";

/** Pinned versions. headscale v0.29.1 supports Tailscale clients v1.80 to v1.98 (hscontrol/capver). */
export const VERSIONS = { tailscale: "v1.98.10", headscale: "v0.29.1" } as const;
const GO_TOOLS = [
    { bin: "tailscaled", pkg: "tailscale.com/cmd/tailscaled", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "tailscale", pkg: "tailscale.com/cmd/tailscale", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "derper", pkg: "tailscale.com/cmd/derper", module: "tailscale.com", version: VERSIONS.tailscale },
    { bin: "headscale", pkg: "github.com/juanfont/headscale/cmd/headscale", module: "github.com/juanfont/headscale", version: VERSIONS.headscale },
] as const;
/**
 * headscale is built from a pinned wrapper module (lab/tailscale/headscale-build: go.mod + go.sum)
 * instead of `go install ...@version`: the Go proxy reachable here answers 403 for headscale's
 * version list, which `go install pkg@version` reads to check for deprecation, and fails. The
 * wrapper requires exactly v0.29.1 (headscale has no replace directives, so the build list is the
 * same) and the committed go.sum pins every checksum.
 */
const WRAPPER_BUILDS: Record<string, string> = { headscale: path.join(ROOT, "lab", "tailscale", "headscale-build") };

/** Time limits. The first run compiles four Go programs on a small machine, hence the install budget. */
const LIMITS = { installMs: 45 * 60_000, labMs: 8 * 60_000, stepMs: 90_000, cmdMs: 30_000 };

/** Lab addressing and one-way delays (ms) per site, applied by the WAN emulator in dpt-inet. */
const NET = {
    svc: { cidr: "203.0.113.0/24", gw: "203.0.113.1", derp1: "203.0.113.10", derp2: "203.0.113.11", headscale: "203.0.113.20", delayMs: 17.5 },
    home: { cidr: "198.51.100.0/24", gw: "198.51.100.1", wan: "198.51.100.2", lan: "192.168.1.1", lanCidr: "192.168.1.0/24", laptop: "192.168.1.10", delayMs: 2.5 },
    nodea: { cidr: "192.0.2.0/24", gw: "192.0.2.1", wan: "192.0.2.10", delayMs: 2.5 },
    nodeb: { cidr: "198.18.0.0/24", gw: "198.18.0.1", wan: "198.18.0.10", podGw: "10.244.1.1", pod: "10.244.1.10", podCidr: "10.244.1.0/24", clusterPodCidr: "10.244.0.0/16", delayMs: 2.5 },
    // Node C, EC2-style: a private address on the node, the public one as a 1:1 NAT in front of it
    // (the internet gateway's Elastic IP), and the VPC CNI's SNAT rule still in place.
    nodec: { cidr: "198.18.1.0/24", gw: "198.18.1.1", eip: "198.18.1.10", vpcCidr: "10.0.0.0/16", vpcGw: "10.0.1.1", node: "10.0.1.10", delayMs: 2.5 },
} as const;
const STUN_PORT = 3478;
const DERP_PORT = 443;
const HEADSCALE_URL = `http://${NET.svc.headscale}:8080`;
const PINGS = 20;

const NS = {
    inet: `${PREFIX}inet`, svc: `${PREFIX}svc`, home: `${PREFIX}home`, laptop: `${PREFIX}laptop`,
    nodea: `${PREFIX}nodea`, nodeb: `${PREFIX}nodeb`, podb: `${PREFIX}podb`, igwc: `${PREFIX}igwc`, nodec: `${PREFIX}nodec`,
} as const;

/** The tailnet devices: name, namespace, role. */
interface Device {
    name: string;
    ns: string;
    dir: string;
    socket: string;
    /** Public address of the device's site (its edge), for the underlay baseline. */
    siteAddr: string;
    ip?: string;
}

// ---------------------------------------------------------------------------------------------
// Output and bookkeeping
// ---------------------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
const checkLog: string[] = [];

function check(name: string, ok: boolean, detail = ""): boolean {
    const line = `${ok ? "PASS" : "FAIL"}  ${name}${detail ? ` (${detail})` : ""}`;
    console.log(line);
    checkLog.push(line);
    if (ok) passed++;
    else failed++;
    return ok;
}

function info(msg: string): void {
    console.log(`      ${msg}`);
}

class StepError extends Error {}

const children = new Set<ChildProcess>();
/** Temp dirs to remove on exit (the rendered plan). */
const tempDirs: string[] = [];
let cleanedUp = false;

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

interface Res {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a command (inside `ns` when given) with a time limit; never throws. */
function exec(argv: string[], opts: { ns?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Res> {
    const full = opts.ns ? ["ip", "netns", "exec", opts.ns, ...argv] : argv;
    return new Promise((resolve) => {
        execFile(full[0]!, full.slice(1), { timeout: opts.timeoutMs ?? LIMITS.cmdMs, killSignal: "SIGKILL", env: opts.env ?? process.env, cwd: opts.cwd ?? ROOT, maxBuffer: 64 << 20 },
            (err, stdout, stderr) => {
                const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : (err as { killed?: boolean }).killed ? 124 : 1) : 0;
                resolve({ code, stdout: String(stdout), stderr: String(stderr) });
            });
    });
}

/** Like exec, but a non-zero exit is a StepError naming the command. */
async function must(argv: string[], opts: Parameters<typeof exec>[1] = {}): Promise<string> {
    const r = await exec(argv, opts);
    if (r.code !== 0) throw new StepError(`${opts.ns ? `[${opts.ns}] ` : ""}${argv.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
    return r.stdout;
}

/** Runs several setup commands in one namespace, in order. */
async function inNs(ns: string, cmds: string[][]): Promise<void> {
    for (const c of cmds) await must(c, { ns });
}

/** Starts a long-running process inside `ns`, logging to WORK/logs/<name>.log. */
function daemon(name: string, ns: string, argv: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const log = fs.openSync(path.join(WORK, "logs", `${name}.log`), "a");
    const child = spawn("ip", ["netns", "exec", ns, ...argv], { env: { ...process.env, ...env }, stdio: ["ignore", log, log], detached: false });
    fs.closeSync(log);
    children.add(child);
    child.on("exit", () => children.delete(child));
    return child;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value or `timeoutMs` passes. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 200): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > until) throw new StepError(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(everyMs);
    }
}

/** Runs one step with its own time limit. */
async function step<T>(name: string, fn: () => Promise<T>, timeoutMs = LIMITS.stepMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            fn(),
            new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new StepError(`step "${name}" exceeded its ${timeoutMs} ms limit`)), timeoutMs))),
        ]);
    } finally {
        clearTimeout(timer);
    }
}

// ---------------------------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------------------------

function labNamespaces(): string[] {
    const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
    return (r.stdout ?? "").split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n.startsWith(PREFIX));
}

/** Kills every process in the lab's namespaces, then deletes the namespaces (synchronous: also runs from the exit handler). */
function cleanup(): void {
    for (const c of children) {
        try {
            c.kill("SIGKILL");
        } catch {
            /* already gone */
        }
    }
    for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    for (const ns of labNamespaces()) {
        const pids = (spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout ?? "").split(/\s+/).filter(Boolean);
        for (const pid of pids) {
            try {
                process.kill(Number(pid), "SIGKILL");
            } catch {
                /* gone */
            }
        }
        spawnSync("ip", ["netns", "del", ns]);
    }
}

// ---------------------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------------------

function have(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

async function prerequisites(): Promise<boolean> {
    if (process.platform !== "linux" || process.getuid?.() !== 0) {
        check("prerequisites: root on Linux", false, "network namespaces and iptables need root on Linux (CI runs as root)");
        return false;
    }
    const missing = [["ip", "iproute2"], ["ss", "iproute2"], ["iptables", "iptables"]].filter(([c]) => !have(c!)).map(([, p]) => p!);
    if (missing.length > 0) {
        if (!have("apt-get")) {
            check("prerequisites: iproute2, iptables", false, `missing ${[...new Set(missing)].join(", ")} and no apt-get to install them`);
            return false;
        }
        info(`installing ${[...new Set(missing)].join(" ")} from Debian's packages`);
        await exec(["apt-get", "update", "-qq"], { timeoutMs: 300_000 });
        const r = await exec(["apt-get", "install", "-y", "-qq", ...new Set(missing)], { timeoutMs: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
        if (r.code !== 0) {
            check("prerequisites: iproute2, iptables", false, `apt-get install failed: ${r.stderr.trim().split("\n").pop()}`);
            return false;
        }
    }
    check("prerequisites: ip, ss, iptables", true, "present");
    if (!have("go")) {
        check("prerequisites: Go toolchain", false, "the lab builds tailscaled, tailscale, derper and headscale with go install; install Go 1.26+ (https://go.dev/dl/)");
        return false;
    }
    if (!fs.existsSync("/dev/net/tun")) {
        check("prerequisites: /dev/net/tun", false, "the WAN emulator and kernel-mode tailscaled need TUN devices");
        return false;
    }
    return true;
}

/** The module version a Go binary was built from (`go version -m`), or undefined. */
async function builtVersion(file: string, module: string): Promise<string | undefined> {
    if (!fs.existsSync(file)) return undefined;
    const r = await exec(["go", "version", "-m", file]);
    for (const line of r.stdout.split("\n")) {
        const f = line.trim().split(/\s+/);
        if ((f[0] === "mod" || f[0] === "dep") && f[1] === module) return f[2];
    }
    return undefined;
}

async function installTools(): Promise<boolean> {
    fs.mkdirSync(BIN, { recursive: true });
    const env = { ...process.env, GOBIN: BIN, GOFLAGS: "-buildvcs=false -trimpath" };
    for (const t of GO_TOOLS) {
        const file = path.join(BIN, t.bin);
        let have = await builtVersion(file, t.module);
        if (have !== t.version) {
            const wrapper = WRAPPER_BUILDS[t.bin];
            info(`${wrapper ? "go build" : "go install"} ${t.pkg}@${t.version} (into lab/.bin; this takes minutes the first time)`);
            const r = wrapper
                ? await exec(["go", "build", "-mod=readonly", "-o", file, t.pkg], { env, cwd: wrapper, timeoutMs: LIMITS.installMs })
                : await exec(["go", "install", `${t.pkg}@${t.version}`], { env, timeoutMs: LIMITS.installMs });
            if (r.code !== 0) {
                check(`install ${t.bin} ${t.version}`, false, r.stderr.trim().split("\n").slice(-3).join(" | "));
                return false;
            }
            have = await builtVersion(file, t.module);
        }
        if (!check(`${t.bin} ${t.version} in lab/.bin`, have === t.version, `built from ${t.module} ${have ?? "(unknown)"}`)) return false;
    }
    // The WAN emulator: standard library only, rebuilt when its source is newer than the binary.
    const src = path.join(ROOT, "lab", "tailscale", "wanem");
    const wanem = path.join(BIN, "dpt-wanem");
    const stale = !fs.existsSync(wanem) || fs.statSync(wanem).mtimeMs < Math.max(...fs.readdirSync(src).map((f) => fs.statSync(path.join(src, f)).mtimeMs));
    if (stale) {
        const r = await exec(["go", "build", "-trimpath", "-o", wanem, "."], { cwd: src, timeoutMs: LIMITS.installMs });
        if (!check("build the WAN emulator (lab/tailscale/wanem)", r.code === 0, r.code === 0 ? "go build" : r.stderr.trim())) return false;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The plan: fixed port and firewall rules, from the project's own rendered files
// ---------------------------------------------------------------------------------------------

interface PlanFacts {
    port: FixedPort;
    manifest: string;
    firewallRules: FirewallRule[];
    iptables: string[][];
}

async function readPlan(planDirArg: string | undefined): Promise<PlanFacts | undefined> {
    let planDir = planDirArg;
    if (!planDir) {
        planDir = fs.mkdtempSync(path.join(os.tmpdir(), "dpt-plan-"));
        tempDirs.push(planDir);
        const r = await exec(["npm", "run", "--silent", "plan", "--", "--stack", "local", "--out", planDir, "--quiet"], { timeoutMs: 180_000 });
        if (!check("npm run plan -- --stack local", r.code === 0, r.code === 0 ? `rendered into ${planDir}` : (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | "))) return undefined;
    } else info(`using the rendered plan in ${planDir}`);
    const manifestsDir = path.join(planDir, "manifests");
    const candidates = fs.existsSync(manifestsDir) ? fs.readdirSync(manifestsDir).filter((f) => /daemonset/i.test(f) && /\.ya?ml$/.test(f)) : [];
    let port: FixedPort | undefined;
    let manifest = "";
    const problems: string[] = [];
    for (const f of candidates) {
        try {
            port = fixedPortFromDaemonSet(fs.readFileSync(path.join(manifestsDir, f), "utf8"));
            manifest = f;
            break;
        } catch (e) {
            if (e instanceof ManifestError) problems.push(`${f}: ${e.problems.join("; ")}`);
            else throw e;
        }
    }
    // fixedPortFromDaemonSet refuses a DaemonSet whose PORT, --port and UDP containerPort/hostPort disagree.
    if (!check("the plan renders the TailscaleDirect DaemonSet, and PORT, --port and its UDP port agree", port !== undefined,
        port ? `manifests/${manifest}: PORT=${port.envPort}, --port=${port.argPort} in TS_TAILSCALED_EXTRA_ARGS, UDP containerPort/hostPort ${port.containerPort}/${port.hostPort}, hostNetwork: ${port.hostNetwork}`
            : candidates.length === 0 ? `no *daemonset*.yaml in ${manifestsDir}` : problems.join(" / "))) return undefined;
    const planJson = JSON.parse(fs.readFileSync(path.join(planDir, "plan.json"), "utf8")) as { outputs?: { firewallRules?: FirewallRule[] } };
    const firewallRules = planJson.outputs?.firewallRules ?? [];
    const t = iptablesFromFirewallRules(firewallRules, { chain: "DPT-SG", family: 4, direction: "ingress" });
    const opensPort = t.rules.some((r) => r.includes("udp") && r[r.indexOf("--dport") + 1] === String(port!.port));
    check("plan.json firewallRules open the fixed port for inbound UDP", opensPort,
        `${firewallRules.length} rule(s); IPv4 ingress translated: ${t.rules.map((r) => r.slice(2, 8).join(" ")).join("; ") || "none"}${t.skipped.length ? `; not applicable here: ${t.skipped.map((s) => s.reason).join("; ")}` : ""}`);
    return { port: port!, manifest, firewallRules, iptables: t.rules };
}

// ---------------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------------

/** The sites behind the router, and the router's links to them. */
const SITES = [NET.svc, NET.home, NET.nodea, NET.nodeb, NET.nodec];
const SITE_LINKS = ["to-svc", "to-home", "to-nodea", "to-nodeb", "to-nodec"];

async function link(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await must(["ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
}

async function buildTopology(): Promise<void> {
    for (const ns of Object.values(NS)) {
        await must(["ip", "netns", "add", ns]);
        await inNs(ns, [["ip", "link", "set", "lo", "up"]]);
    }
    await link(NS.inet, "to-svc", NS.svc, "wan0");
    await link(NS.inet, "to-home", NS.home, "wan0");
    await link(NS.inet, "to-nodea", NS.nodea, "wan0");
    await link(NS.inet, "to-nodeb", NS.nodeb, "wan0");
    await link(NS.home, "lan0", NS.laptop, "eth0");
    await link(NS.nodeb, "vethpod", NS.podb, "eth0");
    await link(NS.inet, "to-nodec", NS.igwc, "wan0");
    await link(NS.igwc, "vpc0", NS.nodec, "eth0");

    const prefixLen = (cidr: string) => cidr.split("/")[1]!;
    await inNs(NS.inet, [
        ["ip", "addr", "add", `${NET.svc.gw}/${prefixLen(NET.svc.cidr)}`, "dev", "to-svc"],
        ["ip", "addr", "add", `${NET.home.gw}/${prefixLen(NET.home.cidr)}`, "dev", "to-home"],
        ["ip", "addr", "add", `${NET.nodea.gw}/${prefixLen(NET.nodea.cidr)}`, "dev", "to-nodea"],
        ["ip", "addr", "add", `${NET.nodeb.gw}/${prefixLen(NET.nodeb.cidr)}`, "dev", "to-nodeb"],
        ["ip", "addr", "add", `${NET.nodec.gw}/${prefixLen(NET.nodec.cidr)}`, "dev", "to-nodec"],
        ...SITE_LINKS.map((d) => ["ip", "link", "set", d, "up"]),
        ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"],
        // Nothing may leave the lab: the router has no default route, and this counts what tried.
        ["iptables", "-t", "raw", "-N", "DPT-EDGE"],
        ...SITES.map((s) => ["iptables", "-t", "raw", "-A", "DPT-EDGE", "-d", s.cidr, "-j", "RETURN"]),
        // xt_recent keeps the destinations that tried, for the report (/proc/net/xt_recent/dpt-edge).
        ["iptables", "-t", "raw", "-A", "DPT-EDGE", "-m", "recent", "--name", "dpt-edge", "--rdest", "--set"],
        ["iptables", "-t", "raw", "-A", "DPT-EDGE", "-j", "DROP"],
        ["iptables", "-t", "raw", "-A", "PREROUTING", "-j", "DPT-EDGE"],
    ]);
    await inNs(NS.svc, [
        ["ip", "addr", "add", `${NET.svc.derp1}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.svc.derp2}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.svc.headscale}/24`, "dev", "wan0"],
        ["ip", "link", "set", "wan0", "up"],
        ["ip", "route", "add", "default", "via", NET.svc.gw],
    ]);
    // The laptop's home router: a hard NAT (new random source port per destination).
    await inNs(NS.home, [
        ["ip", "addr", "add", `${NET.home.wan}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.home.lan}/24`, "dev", "lan0"],
        ["ip", "link", "set", "wan0", "up"], ["ip", "link", "set", "lan0", "up"],
        ["ip", "route", "add", "default", "via", NET.home.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE", "--random-fully"],
        ["iptables", "-A", "FORWARD", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP"],
    ]);
    await inNs(NS.laptop, [
        ["ip", "addr", "add", `${NET.home.laptop}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.home.lan],
    ]);
    await inNs(NS.nodea, [
        ["ip", "addr", "add", `${NET.nodea.wan}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodea.gw],
    ]);
    // Node B: public address on the node; the pod behind it, SNATed with random ports the way the
    // AWS VPC CNI's AWS-SNAT-CHAIN rule does (SNAT --to-source <node> --random-fully).
    await inNs(NS.nodeb, [
        ["ip", "addr", "add", `${NET.nodeb.wan}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "addr", "add", `${NET.nodeb.podGw}/24`, "dev", "vethpod"], ["ip", "link", "set", "vethpod", "up"],
        ["ip", "route", "add", "default", "via", NET.nodeb.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", NET.nodeb.podCidr, "!", "-d", NET.nodeb.clusterPodCidr, "-o", "wan0",
            "-m", "comment", "--comment", "like AWS-SNAT-CHAIN-1 of the VPC CNI", "-j", "SNAT", "--to-source", NET.nodeb.wan, "--random-fully"],
    ]);
    await inNs(NS.podb, [
        ["ip", "addr", "add", `${NET.nodeb.pod}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodeb.podGw],
    ]);
    // Node C's internet gateway: 1:1 NAT between the Elastic IP and the node's private address
    // (port-preserving, like AWS's), so only the node's own rules can randomize ports.
    await inNs(NS.igwc, [
        ["ip", "addr", "add", `${NET.nodec.eip}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "addr", "add", `${NET.nodec.vpcGw}/24`, "dev", "vpc0"], ["ip", "link", "set", "vpc0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodec.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-d", NET.nodec.eip, "-j", "DNAT", "--to-destination", NET.nodec.node],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", NET.nodec.node, "-j", "SNAT", "--to-source", NET.nodec.eip],
    ]);
    // Node C: host network, but the VPC CNI's rule (AWS-SNAT-CHAIN-1: everything leaving the VPC,
    // host traffic included, SNAT to the primary address with --random-fully) is still there.
    await inNs(NS.nodec, [
        ["ip", "addr", "add", `${NET.nodec.node}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodec.vpcGw],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "!", "-d", NET.nodec.vpcCidr, "-m", "addrtype", "!", "--dst-type", "LOCAL",
            "-m", "comment", "--comment", "like AWS-SNAT-CHAIN-1 of the VPC CNI", "-j", "SNAT", "--to-source", NET.nodec.node, "--random-fully"],
    ]);
}

/** Starts the WAN emulator and sends everything the router forwards between sites through it. */
async function startWan(): Promise<ChildProcess> {
    const args = [path.join(BIN, "dpt-wanem"), "-dev", "dpt-wan0",
        ...SITES.flatMap((s) => ["-site", `${s.cidr}=${s.delayMs}`])];
    const child = daemon("wanem", NS.inet, args);
    await waitFor("the WAN emulator's TUN device", 10_000, async () => ((await exec(["ip", "link", "show", "dpt-wan0"], { ns: NS.inet })).code === 0 ? true : undefined));
    await inNs(NS.inet, [
        ["ip", "link", "set", "dpt-wan0", "up"],
        ["sysctl", "-qw", "net.ipv4.conf.dpt-wan0.rp_filter=0"],
        ["ip", "route", "add", "default", "dev", "dpt-wan0", "table", "100"],
        ...SITE_LINKS.map((d) => ["ip", "rule", "add", "iif", d, "lookup", "100"]),
    ]);
    return child;
}

/** The node firewalls, like security groups on the nodes' interfaces: stateful, inbound closed except for the given rules. */
async function applyFirewalls(plan: PlanFacts): Promise<void> {
    const base = (ns: string, chains: string[], dev = "wan0") => inNs(ns, [
        ["iptables", "-N", "DPT-SG"],
        ["iptables", "-A", "DPT-SG", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ...chains.map((c) => ["iptables", "-A", c, "-i", dev, "-j", "DPT-SG"]),
    ]);
    await base(NS.nodea, ["INPUT"]);
    for (const r of plan.iptables) await must(["iptables", ...r], { ns: NS.nodea });
    await must(["iptables", "-A", "DPT-SG", "-j", "DROP"], { ns: NS.nodea });
    // Node C gets directpath's rules too: only the SNAT rule differs from node A.
    await base(NS.nodec, ["INPUT"], "eth0");
    for (const r of plan.iptables) await must(["iptables", ...r], { ns: NS.nodec });
    await must(["iptables", "-A", "DPT-SG", "-j", "DROP"], { ns: NS.nodec });
    await base(NS.nodeb, ["INPUT", "FORWARD"]);
    await must(["iptables", "-A", "DPT-SG", "-j", "DROP"], { ns: NS.nodeb });
}

// ---------------------------------------------------------------------------------------------
// Underlay baseline (plain UDP, before the firewalls go up)
// ---------------------------------------------------------------------------------------------

const PROBE = path.join(ROOT, "lab", "tailscale", "udp-probe.ts");
const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");

async function udpRtt(fromNs: string, toAddr: string): Promise<number> {
    const out = await must([process.execPath, TSX, PROBE, "probe", toAddr, "7", "13", "1000"], { ns: fromNs, timeoutMs: 30_000 });
    const { rttsMs } = JSON.parse(out.trim().split("\n").pop()!) as { rttsMs: number[] };
    if (rttsMs.length < 6) throw new StepError(`UDP probe ${fromNs} -> ${toAddr}: only ${rttsMs.length} of 13 answers`);
    return round1(median(rttsMs.slice(1)));
}

interface Baseline {
    link: Map<string, number>;
    derp: Map<string, number>;
}

async function measureBaseline(devices: Record<"laptop" | "nodea" | "nodeb" | "nodec", Device>): Promise<Baseline> {
    const echo = [
        daemon("echo-nodec", NS.nodec, [process.execPath, TSX, PROBE, "echo", NET.nodec.node, "7"]),
        daemon("echo-nodea", NS.nodea, [process.execPath, TSX, PROBE, "echo", NET.nodea.wan, "7"]),
        daemon("echo-nodeb", NS.nodeb, [process.execPath, TSX, PROBE, "echo", NET.nodeb.wan, "7"]),
        daemon("echo-svc", NS.svc, [process.execPath, TSX, PROBE, "echo", NET.svc.derp1, "7"]),
    ];
    await waitFor("the UDP echo servers", 20_000, async () => {
        const logs = ["echo-nodea", "echo-nodeb", "echo-nodec", "echo-svc"].map((n) => fs.readFileSync(path.join(WORK, "logs", `${n}.log`), "utf8"));
        return logs.every((l) => l.includes("listening")) ? true : undefined;
    });
    const b: Baseline = { link: new Map(), derp: new Map() };
    // Measured from where each device's traffic really starts (through the home NAT and the pod SNAT).
    b.link.set("laptop|node-a", await udpRtt(NS.laptop, NET.nodea.wan));
    b.link.set("laptop|node-b", await udpRtt(NS.laptop, NET.nodeb.wan));
    b.link.set("node-a|node-b", await udpRtt(NS.podb, NET.nodea.wan));
    b.link.set("laptop|node-c", await udpRtt(NS.laptop, NET.nodec.eip));
    b.link.set("node-b|node-c", await udpRtt(NS.podb, NET.nodec.eip));
    b.link.set("node-a|node-c", await udpRtt(NS.nodea, NET.nodec.eip));
    for (const d of Object.values(devices)) b.derp.set(d.name, await udpRtt(d.ns, NET.svc.derp1));
    for (const c of echo) c.kill("SIGKILL");
    return b;
}

// ---------------------------------------------------------------------------------------------
// Control plane and relays
// ---------------------------------------------------------------------------------------------

async function startDerpers(): Promise<string[]> {
    const certNames: string[] = [];
    for (const [i, ip] of [NET.svc.derp1, NET.svc.derp2].entries()) {
        const dir = path.join(WORK, `derper${i + 1}`);
        fs.mkdirSync(dir, { recursive: true });
        // -certmode manual with an IP hostname: derper creates a self-signed certificate for the IP.
        // STUN binds to the -a address, so each instance answers STUN on its own IP.
        daemon(`derper${i + 1}`, NS.svc, [path.join(BIN, "derper"), "-a", `${ip}:${DERP_PORT}`, "-http-port", "80", "-stun-port", String(STUN_PORT),
            "-certmode", "manual", "-certdir", dir, "-hostname", ip, "-c", path.join(dir, "derper.key"), "-home", "blank"]);
        const crt = path.join(dir, `${ip}.crt`);
        const pem = await waitFor(`derper on ${ip} (its self-signed certificate)`, 20_000, async () => (fs.existsSync(crt) && fs.statSync(crt).size > 0 ? fs.readFileSync(crt, "utf8") : undefined));
        await waitFor(`derper on ${ip}:${DERP_PORT}`, 20_000, async () => ((await exec(["ss", "-Htln", `sport = :${DERP_PORT}`], { ns: NS.svc })).stdout.includes(ip) ? true : undefined));
        certNames.push(`sha256-raw:${crypto.createHash("sha256").update(new crypto.X509Certificate(pem).raw).digest("hex")}`);
    }
    return certNames;
}

function headscaleConfig(dir: string): string {
    return `# Written by lab/tailscale/run.ts. Plain HTTP on a lab address; no embedded DERP, no DERP URLs,
# no update checks, no log uploads.
server_url: ${HEADSCALE_URL}
listen_addr: ${NET.svc.headscale}:8080
metrics_listen_addr: 127.0.0.1:9090
grpc_listen_addr: 127.0.0.1:50443
grpc_allow_insecure: false
noise:
  private_key_path: ${dir}/noise_private.key
prefixes:
  v4: 100.64.0.0/10
  v6: fd7a:115c:a1e0::/48
  allocation: sequential
derp:
  server:
    enabled: false
  urls: []
  paths:
    - ${dir}/derpmap.yaml
  auto_update_enabled: false
disable_check_updates: true
database:
  type: sqlite
  sqlite:
    path: ${dir}/db.sqlite
    write_ahead_log: true
log:
  level: info
policy:
  mode: file
  path: ""
dns:
  magic_dns: false
  override_local_dns: false
  base_domain: ""
  nameservers:
    global: []
unix_socket: ${dir}/headscale.sock
unix_socket_permission: "0770"
logtail:
  enabled: false
taildrop:
  enabled: false
`;
}

async function startHeadscale(certNames: string[]): Promise<{ config: string; authKeyFile: string }> {
    const dir = path.join(WORK, "headscale");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "derpmap.yaml"), derpMapYaml([
        { id: 900, code: "lab-a", ip: NET.svc.derp1, certName: certNames[0]!, stunPort: STUN_PORT, derpPort: DERP_PORT },
        { id: 901, code: "lab-b", ip: NET.svc.derp2, certName: certNames[1]!, stunPort: STUN_PORT, derpPort: DERP_PORT },
    ]));
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, headscaleConfig(dir));
    daemon("headscale", NS.svc, [path.join(BIN, "headscale"), "-c", config, "serve"]);
    const hs = (...a: string[]) => must([path.join(BIN, "headscale"), "-c", config, ...a, "-o", "json"], { ns: NS.svc });
    await waitFor(`headscale on ${HEADSCALE_URL} and its CLI socket`, 30_000, async () => {
        const listening = (await exec(["ss", "-Htln", "sport = :8080"], { ns: NS.svc })).stdout.includes(NET.svc.headscale);
        return listening && (await exec([path.join(BIN, "headscale"), "-c", config, "users", "list", "-o", "json"], { ns: NS.svc })).code === 0 ? true : undefined;
    }, 500);
    const user = JSON.parse(await hs("users", "create", "lab")) as { id: string | number };
    const key = JSON.parse(await hs("preauthkeys", "create", "--user", String(user.id), "--reusable", "--expiration", "1h")) as { key: string };
    if (!key.key) throw new StepError("headscale preauthkeys create returned no key");
    const authKeyFile = path.join(dir, "authkey");
    fs.writeFileSync(authKeyFile, key.key, { mode: 0o600 });
    return { config, authKeyFile };
}

// ---------------------------------------------------------------------------------------------
// Tailscale devices
// ---------------------------------------------------------------------------------------------

/** Environment for every tailscaled and tailscale CLI in the lab: nothing phones home. */
const TS_ENV = {
    TS_NO_LOGS_NO_SUPPORT: "true",
    TS_DISABLE_PORTMAPPER: "1",
    TS_PANIC_IF_HIT_MAIN_CONTROL: "1",
};

function ts(d: Device, args: string[], timeoutMs = LIMITS.cmdMs): Promise<Res> {
    return exec([path.join(BIN, "tailscale"), `--socket=${d.socket}`, ...args], { ns: d.ns, timeoutMs, env: { ...process.env, ...TS_ENV } });
}

async function startTailscaled(d: Device, opts: { tun: string; extraArgs: string[]; env: Record<string, string> }): Promise<void> {
    fs.mkdirSync(d.dir, { recursive: true });
    // Lab flags first, then the rendered TS_TAILSCALED_EXTRA_ARGS (Go's flag package: the last one wins).
    daemon(`tailscaled-${d.name}`, d.ns, [path.join(BIN, "tailscaled"), `--state=${d.dir}/tailscaled.state`, `--statedir=${d.dir}`,
        `--socket=${d.socket}`, `--tun=${opts.tun}`, "--no-logs-no-support", ...opts.extraArgs],
    { ...TS_ENV, TS_LOGS_DIR: d.dir, ...opts.env });
    await waitFor(`tailscaled ${d.name}'s socket`, 20_000, async () => (fs.existsSync(d.socket) ? true : undefined));
}

async function up(d: Device, authKeyFile: string): Promise<void> {
    const r = await ts(d, ["up", `--login-server=${HEADSCALE_URL}`, `--auth-key=file:${authKeyFile}`, `--hostname=${d.name}`, "--accept-dns=false", "--timeout=60s"], 75_000);
    if (r.code !== 0) throw new StepError(`tailscale up on ${d.name} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ")}`);
    d.ip = (await ts(d, ["ip", "-4"])).stdout.trim();
}

async function statusOf(d: Device): Promise<unknown> {
    const r = await ts(d, ["status", "--json"], 10_000);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** Which local UDP ports tailscaled holds in a namespace (from ss). */
async function tailscaledUdpPorts(ns: string): Promise<number[]> {
    const out = (await exec(["ss", "-Hulnp"], { ns })).stdout;
    return out.split("\n").filter((l) => l.includes('"tailscaled"'))
        .map((l) => Number(/:(\d+)$/.exec(l.trim().split(/\s+/)[3] ?? "")?.[1] ?? 0)).filter((n) => n > 0);
}

interface PairMeasurement {
    result: PairResult;
    finalVia: string[];
    curAddr: string;
}

async function measurePair(from: Device, to: Device, directpathNode: string, base: Baseline): Promise<PairMeasurement> {
    // 1) First contact: ping until direct (at most 15 pings) while polling status for CurAddr,
    //    and for 3 s more after the ping stops (it stops at its first direct pong).
    const t0 = Date.now();
    let timeToDirectMs: number | null = null;
    let pingDoneAt: number | undefined;
    const ping = ts(from, ["ping", "-c", "15", "--timeout=2s", to.ip!], 60_000).finally(() => (pingDoneAt = Date.now()));
    while (pingDoneAt === undefined || Date.now() - pingDoneAt < 3000) {
        const st = await statusOf(from);
        const peer = st ? peerFromStatus(st, { ip: to.ip }) : undefined;
        if (peer && classifyPeer(peer) === "direct") {
            timeToDirectMs = Date.now() - t0;
            break;
        }
        await sleep(100);
    }
    await ping;
    // 2) RTT: a fixed number of pings, not stopping at the first direct pong.
    const r = await ts(from, ["ping", "--until-direct=false", "-c", String(PINGS), "--timeout=2s", to.ip!], PINGS * 4000);
    const pongs = parsePingOutput(r.stdout);
    const st = await statusOf(from);
    const peer = st ? peerFromStatus(st, { ip: to.ip }) : undefined;
    const curAddr = peer?.curAddr ?? "";
    const direct = pongs.filter((p) => p.path === "direct");
    const relayed = pongs.filter((p) => p.path === "relayed");
    const path: PathKind = direct.length >= relayed.length && direct.length > 0 ? "direct" : "relayed";
    const rtts = (path === "direct" ? direct : relayed).map((p) => p.rttMs);
    if (rtts.length === 0) throw new StepError(`${from.name} -> ${to.name}: no pongs (${r.stdout.trim().split("\n").pop() ?? ""} ${r.stderr.trim()})`);
    const key = [from.name, to.name].sort().join("|");
    return {
        result: {
            from: from.name, to: to.name, setup: setupOf(from.name, to.name, directpathNode), path,
            timeToDirectMs: path === "direct" ? timeToDirectMs : null,
            rttMedianMs: round1(median(rtts)), rttP95Ms: round1(percentile(rtts, 95)),
            linkRttMs: base.link.get(key) ?? NaN,
            derpPathRttMs: round1((base.derp.get(from.name) ?? NaN) + (base.derp.get(to.name) ?? NaN)),
        },
        finalVia: [...new Set(pongs.map((p) => p.via))],
        curAddr,
    };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): { planDir?: string; keep: boolean } {
    const out: { planDir?: string; keep: boolean } = { keep: false };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--plan-dir") out.planDir = path.resolve(argv[++i] ?? "");
        else if (argv[i] === "--keep") out.keep = true;
        else throw new Error(`unknown argument ${argv[i]} (usage: npm run lab:tailscale [-- --plan-dir <dir>] [--keep])`);
    }
    return out;
}

async function lab(args: { planDir?: string; keep: boolean }): Promise<void> {
    if (!(await prerequisites())) return;
    if (!(await step("install", installTools, LIMITS.installMs))) return;
    const plan = await step("plan", () => readPlan(args.planDir), 240_000);
    if (!plan) return;

    const labDeadline = setTimeout(() => {
        check("the lab finished within its time limit", false, `${LIMITS.labMs} ms`);
        finish(1);
    }, LIMITS.labMs);
    labDeadline.unref();

    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(path.join(WORK, "logs"), { recursive: true });
    const dev = (name: string, ns: string, siteAddr: string): Device => {
        const dir = path.join(WORK, name);
        return { name, ns, dir, socket: path.join(dir, "tailscaled.sock"), siteAddr };
    };
    const devices = {
        laptop: dev("laptop", NS.laptop, NET.home.wan), nodea: dev("node-a", NS.nodea, NET.nodea.wan),
        nodeb: dev("node-b", NS.nodeb, NET.nodeb.wan), nodec: dev("node-c", NS.nodec, NET.nodec.eip),
    };
    devices.nodeb.ns = NS.podb;

    await step("topology", buildTopology);
    await step("WAN emulator", startWan, 20_000);
    info(`one-way delays: DERP/control site ${NET.svc.delayMs} ms, laptop's home ${NET.home.delayMs} ms, node A ${NET.nodea.delayMs} ms, node B ${NET.nodeb.delayMs} ms, node C ${NET.nodec.delayMs} ms`);
    const base = await step("underlay baseline", () => measureBaseline(devices), 120_000);
    check("the WAN emulator delays traffic between sites", (base.link.get("node-a|node-b") ?? 0) >= 4 * NET.nodea.delayMs,
        `plain UDP RTT laptop-A ${base.link.get("laptop|node-a")} ms, laptop-B ${base.link.get("laptop|node-b")} ms, A-B ${base.link.get("node-a|node-b")} ms; to DERP: ${[...base.derp].map(([k, v]) => `${k} ${v} ms`).join(", ")}`);

    await step("firewalls", () => applyFirewalls(plan), 20_000);
    const certNames = await step("derpers", startDerpers, 60_000);
    info(`two derpers (DERP + STUN): regions 900 and 901: ${NET.svc.derp1} and ${NET.svc.derp2}, DERP on :${DERP_PORT} (self-signed, pinned by CertName), STUN on :${STUN_PORT}`);
    const { authKeyFile } = await step("headscale", () => startHeadscale(certNames), 60_000);
    info(`headscale on ${HEADSCALE_URL}: DERP map from a file, embedded DERP off, no DERP URLs, update checks off; one reusable preauth key`);

    // Kernel TUN when namespaces can have TUN devices (the WAN emulator already proved they can).
    const probe = await exec(["ip", "tuntap", "add", "mode", "tun", "dev", "dpt-probe"], { ns: NS.laptop });
    await exec(["ip", "link", "del", "dpt-probe"], { ns: NS.laptop });
    const tun = probe.code === 0 ? "tailscale0" : "userspace-networking";
    info(`tailscaled networking: ${tun === "tailscale0" ? "kernel TUN (tailscale0 in each namespace)" : "userspace networking (no TUN in namespaces)"}`);

    await step("tailscaled", async () => {
        await startTailscaled(devices.laptop, { tun, extraArgs: ["--port=41641"], env: {} });
        // Node A exactly as the rendered DaemonSet runs it: PORT env and TS_TAILSCALED_EXTRA_ARGS.
        await startTailscaled(devices.nodea, { tun, extraArgs: plan.port.extraArgs, env: { PORT: String(plan.port.envPort) } });
        // Node B like the default image in a pod: no PORT, no --port (tailscaled picks a port).
        await startTailscaled(devices.nodeb, { tun, extraArgs: [], env: {} });
        // Node C: the same rendered settings as node A.
        await startTailscaled(devices.nodec, { tun, extraArgs: plan.port.extraArgs, env: { PORT: String(plan.port.envPort) } });
    }, 60_000);
    await step("tailscale up", async () => {
        for (const d of Object.values(devices)) await up(d, authKeyFile);
    }, 180_000);
    check("every device joined the lab tailnet", Object.values(devices).every((d) => /^100\./.test(d.ip ?? "")),
        Object.values(devices).map((d) => `${d.name} ${d.ip}`).join(", "));

    // headscale's own DERP and Tailscale's public DERP map must be off: clients know only the lab's relays.
    const maps = await Promise.all(Object.values(devices).map(async (d) => {
        const r = await ts(d, ["debug", "derp-map"]);
        try {
            return Object.keys((JSON.parse(r.stdout) as { Regions?: Record<string, unknown> }).Regions ?? {}).sort().join(",");
        } catch {
            return `unreadable (${r.stderr.trim().split("\n").pop()})`;
        }
    }));
    check("every client got only the lab's DERP map from headscale", maps.every((m) => m === "900,901"), `regions per client: ${maps.join(" | ")}`);

    const portsC = [...new Set(await tailscaledUdpPorts(NS.nodec))];
    check(`node C's tailscaled listens on the fixed port ${plan.port.port} too`, portsC.includes(plan.port.port), `tailscaled UDP ports in node C: ${portsC.join(", ") || "none"}`);

    const portsA = [...new Set(await tailscaledUdpPorts(NS.nodea))];
    check(`node A's tailscaled listens on the fixed port ${plan.port.port} from the DaemonSet`, portsA.includes(plan.port.port), `tailscaled UDP ports in node A: ${portsA.join(", ") || "none"}`);

    // Everyone sees everyone before measuring.
    await step("netmaps", () => waitFor("every device to see its two peers", 60_000, async () => {
        for (const d of Object.values(devices)) {
            const st = await statusOf(d);
            const others = Object.values(devices).filter((o) => o !== d);
            if (!st || others.some((o) => !peerFromStatus(st, { ip: o.ip }))) return undefined;
        }
        return true;
    }, 500));

    // netcheck: hard NAT shows up as MappingVariesByDestIP (two STUN addresses, two mappings).
    const mapping: Record<string, unknown> = {};
    for (const d of Object.values(devices)) {
        const r = await ts(d, ["netcheck", "--format=json"], 45_000);
        let nc: { MappingVariesByDestIP?: boolean; GlobalV4?: string; PreferredDERP?: number; UDP?: boolean } = {};
        try {
            nc = JSON.parse(r.stdout);
        } catch {
            /* reported below */
        }
        mapping[d.name] = { mappingVariesByDestIP: nc.MappingVariesByDestIP ?? null, globalV4: nc.GlobalV4 ?? null, preferredDERP: nc.PreferredDERP ?? null };
        const want = d !== devices.nodea;
        check(`netcheck on ${d.name}: ${want ? "hard NAT (MappingVariesByDestIP true)" : "no NAT (MappingVariesByDestIP false)"}`,
            nc.MappingVariesByDestIP === want, `UDP ${nc.UDP}, GlobalV4 ${nc.GlobalV4 ?? "?"}, MappingVariesByDestIP ${String(nc.MappingVariesByDestIP)}`);
    }

    // Node C's random-port SNAT makes its STUN mapping vary, yet with a fixed port tailscaled also
    // advertises its public IP with that local port (magicsock: EndpointSTUN4LocalPort), which the
    // 1:1 NAT and the open port make reachable.
    const selfC = await statusOf(devices.nodec) as { Self?: { Addrs?: string[] } } | undefined;
    const addrsC = selfC?.Self?.Addrs ?? [];
    check("node C advertises its public IP with the fixed port despite the SNAT", addrsC.includes(`${NET.nodec.eip}:${plan.port.port}`), `endpoints: ${addrsC.join(", ") || "none"}`);

    const pairs: Array<[Device, Device]> = [
        [devices.laptop, devices.nodea], [devices.laptop, devices.nodeb], [devices.nodea, devices.nodeb],
        [devices.laptop, devices.nodec], [devices.nodeb, devices.nodec], [devices.nodea, devices.nodec],
    ];
    const expected: Expectation[] = [
        { from: "laptop", to: "node-a", path: "direct" },
        { from: "laptop", to: "node-b", path: "relayed" },
        { from: "node-a", to: "node-b", path: "direct" },
        { from: "laptop", to: "node-c", path: "direct" },
        { from: "node-b", to: "node-c", path: "direct" },
        { from: "node-a", to: "node-c", path: "direct" },
    ];
    const measured: PairMeasurement[] = [];
    for (const [a, b] of pairs) {
        const m = await step(`measure ${a.name} -> ${b.name}`, () => measurePair(a, b, devices.nodea.name, base), 150_000);
        info(`${a.name} -> ${b.name}: via ${m.finalVia.join(", ")}; CurAddr ${m.curAddr || "(none: relayed)"}`);
        measured.push(m);
    }
    for (const m of measured) {
        check(`${m.result.from} -> ${m.result.to}: status CurAddr agrees with ping's via`, (m.curAddr !== "") === (m.result.path === "direct"),
            `CurAddr ${m.curAddr || "empty"}, pongs ${m.result.path}`);
    }
    const lines: CheckLine[] = checkPairs(measured.map((m) => m.result), expected);
    for (const l of lines) check(l.name, l.ok, l.detail);

    const edge = (await exec(["iptables", "-t", "raw", "-L", "DPT-EDGE", "-nvx"], { ns: NS.inet })).stdout.split("\n").find((l) => /\bDROP\b/.test(l));
    const edgeDests = (await exec(["cat", "/proc/net/xt_recent/dpt-edge"], { ns: NS.inet })).stdout.split("\n").map((l) => /src=(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x);
    // Peers try each other's private candidate endpoints (the laptop's LAN address, the pod IP);
    // the "internet" can't route those. Anything else would be traffic trying to leave the lab.
    const privateLab = [NET.home.lanCidr, NET.nodeb.clusterPodCidr, NET.nodec.vpcCidr];
    const foreign = edgeDests.filter((a) => !privateLab.some((c) => cidrContains(c, a)));
    check("nothing tried to leave the lab", foreign.length === 0,
        `unroutable at the router: ${edge?.trim().split(/\s+/)[0] ?? "?"} packet(s), to ${edgeDests.join(", ") || "nobody"}${foreign.length ? `; NOT lab addresses: ${foreign.join(", ")}` : " (peers' private candidate endpoints)"}`);

    const results = measured.map((m) => m.result);
    fs.mkdirSync(RESULTS, { recursive: true });
    const doc = {
        pairs: results,
        lab: {
            generatedBy: "npm run lab:tailscale",
            versions: { tailscale: VERSIONS.tailscale, headscale: VERSIONS.headscale },
            tailscaledNetworking: tun === "tailscale0" ? "kernel TUN" : "userspace-networking",
            fixedPort: { port: plan.port.port, from: `manifests/${plan.manifest}` },
            firewallRules: plan.iptables.map((r) => r.slice(2).join(" ")),
            oneWayDelayMs: { derpSite: NET.svc.delayMs, home: NET.home.delayMs, nodeA: NET.nodea.delayMs, nodeB: NET.nodeb.delayMs, nodeC: NET.nodec.delayMs },
            nodes: {
                laptop: "behind a home router: MASQUERADE --random-fully",
                "node-a": "directpath: public address on the node, tailscaled in the node namespace on the rendered fixed port, firewall from firewallRules",
                "node-b": "default: tailscaled in a pod behind the node's SNAT --random-fully, no inbound rule",
                "node-c": "directpath's tailscaled settings and firewall, private address + 1:1 Elastic-IP NAT, and the VPC CNI's SNAT --random-fully on host traffic still in place",
            },
            delayMethod: "userspace WAN emulator on a TUN device in the router namespace (lab/tailscale/wanem); this kernel has no sch_netem",
            pingsPerPair: PINGS,
            netcheck: mapping,
            checks: { passed, failed },
        },
    };
    fs.writeFileSync(path.join(RESULTS, "direct-connection.json"), JSON.stringify(doc, null, 2) + "\n");
    fs.writeFileSync(path.join(RESULTS, "direct-connection.md"), [
        "# Direct connections: measured with real Tailscale (`npm run lab:tailscale`)",
        "",
        `tailscaled/tailscale/derper ${VERSIONS.tailscale}, headscale ${VERSIONS.headscale}, ${doc.lab.tailscaledNetworking}. ` +
        `Fixed port ${plan.port.port} from \`${doc.lab.fixedPort.from}\`. One-way delays: DERP site ${NET.svc.delayMs} ms, every other site ${NET.home.delayMs} ms. ` +
        `RTT from ${PINGS} \`tailscale ping\`s per pair; link and DERP-path RTT from plain UDP between the sites.`,
        "",
        markdownTable(results),
        "",
        ...Object.entries(doc.lab.nodes).map(([n, d]) => `- ${n}: ${d}`),
        "",
        "`setup` follows the results schema: `directpath` when one end is node A, else `default`.",
        "",
        `Checks: ${passed} passed, ${failed} failed.`,
        "",
    ].join("\n"));
    info(`wrote bench/results/direct-connection.json and .md`);
    if (args.keep) {
        info(`--keep: namespaces ${Object.values(NS).join(" ")} are left running; the next run removes them`);
        keepRunning = true;
    }
}

let keepRunning = false;
let finished = false;

function finish(code: number): never {
    if (!finished) {
        finished = true;
        if (!keepRunning) cleanup();
        cleanedUp = true;
        console.log(`${passed} passed, ${failed} failed`);
    }
    process.exit(failed > 0 || code !== 0 ? 1 : 0);
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.on(sig, () => {
            console.log(`\n      interrupted (${sig}): cleaning up`);
            check("the lab ran to the end", false, `interrupted by ${sig}`);
            finish(130);
        });
    }
    process.on("exit", () => {
        if (!cleanedUp && !keepRunning) cleanup();
    });
    const staleTemp = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("dpt-plan-")).map((f) => path.join(os.tmpdir(), f));
    for (const d of staleTemp) fs.rmSync(d, { recursive: true, force: true });
    const leftovers = labNamespaces();
    if (leftovers.length > 0) {
        info(`removing leftovers of an earlier run: ${leftovers.join(" ")}`);
        cleanup();
    }
    const total = setTimeout(() => {
        check("the lab finished within its total time limit", false, `${(LIMITS.installMs + LIMITS.labMs) / 60_000} min`);
        finish(1);
    }, LIMITS.installMs + LIMITS.labMs);
    total.unref();
    try {
        await lab(args);
    } catch (e) {
        check("the lab ran to the end", false, e instanceof StepError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e));
    }
    finish(0);
}

void main();
