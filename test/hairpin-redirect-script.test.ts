/**
 * The iptables node script (components/hairpin/scripts/hairpin-redirect.sh), run for real: `sh -n`,
 * then in network namespaces this test creates (root; skipped with a message otherwise), asserting
 * the exact nat rule set after one run, after a crash (SIGKILL) and restart, after the nat table is
 * flushed, after a Service name resolves to a new address, and after SIGTERM. The rules file is the
 * one the component renders for the local-iptables stack.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { iptablesRules, renderRulesConf } from "../components/hairpin/iptables";
import { validateHairpinArgs, type HairpinBypassArgs, type ResolvedEndpoint } from "../components/hairpin";
import { netnsUnavailableReason, ROOT } from "./harness";

const SCRIPT = path.join(ROOT, "components", "hairpin", "scripts", "hairpin-redirect.sh");

describe("hairpin-redirect.sh: static checks", () => {
    it("parses as POSIX sh (sh -n)", () => {
        const res = spawnSync("sh", ["-n", SCRIPT], { encoding: "utf8" });
        expect(res.stderr).toBe("");
        expect(res.status).toBe(0);
    });

    it("has no bashisms that dash rejects, and documents its env contract at the top", () => {
        const dash = ["/bin/dash", "/usr/bin/dash"].find((p) => fs.existsSync(p));
        if (dash) expect(spawnSync(dash, ["-n", SCRIPT]).status).toBe(0);
        const head = fs.readFileSync(SCRIPT, "utf8").split("\n").slice(0, 40).join("\n");
        for (const v of ["DIRECTPATH_CONFIG", "DIRECTPATH_INTERVAL", "DIRECTPATH_IPTABLES", "DIRECTPATH_ONCE", "SIGNALS", "TERM", "once", "cleanup"]) expect(head).toContain(v);
        const text = fs.readFileSync(SCRIPT, "utf8");
        for (const bashism of [/\[\[ /, /^\s*function\s/m, /^\s*local\s/m, /\[ [^\]\n]*==/, /\$\{[A-Za-z_]+\/\//, /<<</]) expect(text).not.toMatch(bashism);
    });
});

describe("hairpin-redirect.sh: its functions, sourced with DIRECTPATH_LIB=1", () => {
    const shells = [["sh"], ...(fs.existsSync("/usr/bin/busybox") || fs.existsSync("/bin/busybox") ? [["busybox", "sh"]] : [])];
    const lib = (body: string, shell: string[]) => {
        const res = spawnSync(shell[0]!, [...shell.slice(1), "-c", `DIRECTPATH_LIB=1 . '${SCRIPT}'\n${body}`], { encoding: "utf8" });
        expect(res.stderr).toBe("");
        return res.stdout.trim().split("\n");
    };
    it.each(shells)("is_ipv4 and is_port accept exactly dotted quads and 1-65535 (%s)", (...shell) => {
        const ips = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3", "256.1.1.1", "1.2.3.4.5", "a.b.c.d", "", "1..2.3", "1.2.3.4/32"];
        expect(lib(ips.map((x) => `is_ipv4 '${x}' && echo yes || echo no`).join("\n"), shell)).toEqual(["yes", "yes", "yes", "no", "no", "no", "no", "no", "no", "no", "no"]);
        const ports = ["1", "443", "65535", "65536", "0", "08", "abc", "", "-1"];
        expect(lib(ports.map((x) => `is_port '${x}' && echo yes || echo no`).join("\n"), shell)).toEqual(["yes", "yes", "yes", "no", "no", "no", "no", "no", "no"]);
    });
    it.each(shells)("tool finds each flavour's commands by their installed names (iptables-nft-save), else xtables-<flavour>-multi (%s)", (...shell) => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "dp-tool-"));
        try {
            for (const f of ["iptables-nft", "iptables-nft-save", "iptables-nft-restore", "xtables-legacy-multi"]) fs.writeFileSync(path.join(bin, f), "#!/bin/sh\n", { mode: 0o755 });
            const out = lib(`PATH='${bin}'\nfor t in iptables iptables-save iptables-restore; do tool nft $t; tool legacy $t; done`, shell);
            expect(out).toEqual(["iptables-nft", "xtables-legacy-multi iptables", "iptables-nft-save", "xtables-legacy-multi iptables-save", "iptables-nft-restore", "xtables-legacy-multi iptables-restore"]);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });
    it.each(shells)("lookup falls back to nslookup and reads both busybox output formats (%s)", (...shell) => {
        const out = lib([
            "getent() { return 2; }",
            "nslookup() { printf 'Server:\\t10.96.0.10\\nAddress:\\t10.96.0.10:53\\n\\nName:\\tapi.apps.svc.cluster.local\\nAddress: 10.96.0.77\\n'; }",
            "echo \"$(lookup api.apps.svc.cluster.local)\"",
            "nslookup() { printf 'Server:    10.96.0.10\\nAddress 1: 10.96.0.10 kube-dns\\n\\nName:      api\\nAddress 1: 10.96.0.78 api.apps.svc.cluster.local\\n'; }",
            "echo \"$(lookup api)\"",
            "nslookup() { printf 'Server: 10.96.0.10\\nAddress: 10.96.0.10#53\\n\\n** server cannot find nope: NXDOMAIN\\n'; }",
            "echo \"[$(lookup nope)]\"",
        ].join("\n"), shell);
        expect(out).toEqual(["10.96.0.77", "10.96.0.78", "[]"]);
    });
});

// ---- real runs in network namespaces ----

function iptablesMissing(): string | undefined {
    for (const tool of ["iptables-nft", "iptables-legacy", "iptables-nft-restore", "iptables-legacy-restore"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install iptables)`;
    }
    return undefined;
}
const skipReason = netnsUnavailableReason() ?? (process.platform === "linux" ? iptablesMissing() : undefined);
if (skipReason) console.warn(`skipping the network-namespace runs of hairpin-redirect.sh: ${skipReason}`);

let seq = 0;
const namespaces: string[] = [];
const children: ChildProcess[] = [];
const tmpDirs: string[] = [];

function run(cmd: string, args: string[]) {
    const res = spawnSync(cmd, args, { encoding: "utf8" });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${res.stderr}`);
    return res.stdout;
}

/** A fresh network namespace with its own /etc/hosts (ip netns exec bind-mounts /etc/netns/<ns>/hosts). */
function newNamespace(hosts: string): string {
    const ns = `dphr-${process.pid}-${++seq}`;
    run("ip", ["netns", "add", ns]);
    namespaces.push(ns);
    fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    fs.writeFileSync(`/etc/netns/${ns}/hosts`, hosts);
    return ns;
}

function nat(ns: string, flavour: "nft" | "legacy" = "nft"): string[] {
    return run("ip", ["netns", "exec", ns, `iptables-${flavour}`, "-w", "-t", "nat", "-S"]).trim().split("\n");
}

const POLICIES = ["-P PREROUTING ACCEPT", "-P INPUT ACCEPT", "-P OUTPUT ACCEPT", "-P POSTROUTING ACCEPT"];
const JUMPS = [
    "-A PREROUTING -m comment --comment directpath-hairpin -j DIRECTPATH-HAIRPIN",
    "-A OUTPUT -m comment --comment directpath-hairpin -j DIRECTPATH-HAIRPIN",
];
const REGISTRY_RULE = '-A DIRECTPATH-HAIRPIN -d 169.233.100.10/32 -p tcp -m tcp --dport 443 -m comment --comment "directpath:registry-https-0" -j DNAT --to-destination 192.168.10.100:443';
const svcRule = (ip: string) => `-A DIRECTPATH-HAIRPIN -d 169.233.100.12/32 -p udp -m udp --dport 53 -m comment --comment "directpath:api-dns-0" -j DNAT --to-destination ${ip}:5353`;
const expected = (svcIp = "10.233.0.50") => [...POLICIES, "-N DIRECTPATH-HAIRPIN", ...JUMPS, REGISTRY_RULE, svcRule(svcIp)];

/** The rules file the component renders: the local-iptables registry endpoint plus a Service backend. */
function rulesFile(): string {
    const args = validateHairpinArgs({
        defaultMode: "iptables",
        endpoints: [
            { name: "registry", externalIps: ["169.233.100.10"], ports: [{ port: 443, name: "https" }], backend: { address: { ip: "192.168.10.100" } } },
            { name: "api", externalIps: ["169.233.100.12"], ports: [{ port: 53, name: "dns", protocol: "UDP", targetPort: 5353 }], backend: { service: { namespace: "apps", name: "api" } } },
        ],
    } as HairpinBypassArgs);
    const conf = renderRulesConf(args.endpoints.flatMap((e) => iptablesRules(e as ResolvedEndpoint, "cluster.local")));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dphr-"));
    tmpDirs.push(dir);
    const file = path.join(dir, "rules.conf");
    fs.writeFileSync(file, conf);
    return file;
}

const HOSTS = "127.0.0.1 localhost\n10.233.0.50 api.apps.svc.cluster.local\n";

interface Started { child: ChildProcess; log: () => string; exited: Promise<number | null> }

let SHELL = ["sh"];

function start(ns: string, env: Record<string, string>, args: string[] = []): Started {
    let log = "";
    const child = spawn("ip", ["netns", "exec", ns, ...SHELL, SCRIPT, ...args], { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    child.stdout!.on("data", (d) => (log += String(d)));
    child.stderr!.on("data", (d) => (log += String(d)));
    // "close", not "exit": it fires after stdout and stderr are drained, so log() is complete.
    const exited = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    return { child, log: () => log, exited };
}

function runOnce(ns: string, env: Record<string, string>): { status: number | null; log: string } {
    const res = spawnSync("ip", ["netns", "exec", ns, ...SHELL, SCRIPT, "once"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
    return { status: res.status, log: res.stderr + res.stdout };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
        if (check()) return;
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`timed out waiting for: ${what}`);
}

const same = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);

// dash (Debian's sh) and busybox ash (the DaemonSet image's sh).
const NETNS_SHELLS = [["sh"], ...(fs.existsSync("/usr/bin/busybox") || fs.existsSync("/bin/busybox") ? [["busybox", "sh"]] : [])];

describe.skipIf(!!skipReason).each(NETNS_SHELLS)("hairpin-redirect.sh in a network namespace (root) under %s", (...shell: string[]) => {
    beforeAll(() => {
        expect(fs.existsSync(SCRIPT)).toBe(true);
        SHELL = shell;
    });

    afterEach(async () => {
        for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
        for (const ns of namespaces.splice(0)) {
            spawnSync("ip", ["netns", "del", ns]);
            fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
        }
        for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    });

    it("one run installs exactly the rule set; a second run changes nothing", () => {
        const ns = newNamespace(HOSTS);
        const env = { DIRECTPATH_CONFIG: rulesFile() };
        const first = runOnce(ns, env);
        expect(first.status, first.log).toBe(0);
        expect(first.log).toContain("using iptables-nft (rules: nft=0 legacy=0)");
        expect(nat(ns)).toEqual(expected());
        const second = runOnce(ns, env);
        expect(second.status, second.log).toBe(0);
        expect(nat(ns)).toEqual(expected());
    });

    it("crash (SIGKILL) and restart: exactly the same rule set; a flushed nat table heals; SIGTERM removes it all", async () => {
        const ns = newNamespace(HOSTS);
        const env = { DIRECTPATH_CONFIG: rulesFile(), DIRECTPATH_INTERVAL: "1" };
        const a = start(ns, env);
        await waitFor(() => same(nat(ns), expected()), "the first rule set");

        a.child.kill("SIGKILL");
        expect(await a.exited).toBe(null);
        expect(nat(ns)).toEqual(expected()); // a crash leaves the rules in place
        // A jump duplicated by someone else is cut back to one on restart.
        run("ip", ["netns", "exec", ns, "iptables-nft", "-w", "-t", "nat", "-A", "OUTPUT", "-m", "comment", "--comment", "directpath-hairpin", "-j", "DIRECTPATH-HAIRPIN"]);
        const b = start(ns, env);
        await waitFor(() => /reconciled: 2 rule/.test(b.log()), "the restarted script's first reconcile");
        expect(nat(ns)).toEqual(expected());

        run("ip", ["netns", "exec", ns, "iptables-nft", "-w", "-t", "nat", "-F"]);
        expect(nat(ns)).toEqual([...POLICIES, "-N DIRECTPATH-HAIRPIN"]);
        await waitFor(() => same(nat(ns), expected()), "the flushed table to heal");

        // The Service name moves to a new ClusterIP: re-resolved on the next reconcile.
        fs.writeFileSync(`/etc/netns/${ns}/hosts`, HOSTS.replace("10.233.0.50", "10.233.0.77"));
        await waitFor(() => same(nat(ns), expected("10.233.0.77")), "the new ClusterIP");
        // The log arrives through a pipe, possibly after the rules changed: wait for it, too.
        await waitFor(() => b.log().includes("api.apps.svc.cluster.local resolves to 10.233.0.77 (was 10.233.0.50)"), "the re-resolution to be logged");

        b.child.kill("SIGTERM");
        expect(await b.exited).toBe(0);
        expect(nat(ns)).toEqual(POLICIES);
        expect(b.log()).toContain("removed DIRECTPATH-HAIRPIN and its jumps");
    });

    function probe(ns: string, what: "ready" | "alive", env: Record<string, string>): { status: number | null; log: string } {
        const res = spawnSync("ip", ["netns", "exec", ns, ...SHELL, SCRIPT, what], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
        return { status: res.status, log: res.stderr + res.stdout };
    }

    it("probes: ready once the rules are in, not ready when a rule or a jump is removed (and ready again when the loop heals it); alive while the loop runs, not alive when it is stopped", async () => {
        const ns = newNamespace(HOSTS);
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "dphr-state-"));
        tmpDirs.push(state);
        const env = { DIRECTPATH_CONFIG: rulesFile(), DIRECTPATH_INTERVAL: "1", DIRECTPATH_STATE_DIR: state, DIRECTPATH_ALIVE_SECONDS: "3" };
        // Before any round: neither.
        expect(probe(ns, "ready", env)).toMatchObject({ status: 1, log: expect.stringContaining("no round recorded") });
        expect(probe(ns, "alive", env)).toMatchObject({ status: 1, log: expect.stringContaining("no round recorded") });
        const a = start(ns, env);
        await waitFor(() => probe(ns, "ready", env).status === 0, "ready after the first round");
        expect(probe(ns, "alive", env).status).toBe(0);

        // Stop the loop (SIGSTOP: the process exists, its loop is dead), then take a rule away.
        a.child.kill("SIGSTOP");
        run("ip", ["netns", "exec", ns, "iptables-nft", "-w", "-t", "nat", "-D", "DIRECTPATH-HAIRPIN", "-d", "169.233.100.10/32", "-p", "tcp", "-m", "tcp", "--dport", "443", "-m", "comment", "--comment", "directpath:registry-https-0", "-j", "DNAT", "--to-destination", "192.168.10.100:443"]);
        const notReady = probe(ns, "ready", env);
        expect(notReady.status).toBe(1);
        expect(notReady.log).toContain("not ready: missing: -A DIRECTPATH-HAIRPIN -d 169.233.100.10/32 -p tcp -m tcp --dport 443 -m comment --comment directpath:registry-https-0 -j DNAT --to-destination 192.168.10.100:443");
        await waitFor(() => probe(ns, "alive", env).status === 1, "not alive once the stopped loop's last round is older than 3 s", 10_000);
        expect(probe(ns, "alive", env).log).toMatch(/not alive: the last round was \d+s ago \(limit 3s\)/);

        // The loop resumes: it heals the chain, and both probes pass again.
        a.child.kill("SIGCONT");
        await waitFor(() => probe(ns, "ready", env).status === 0 && probe(ns, "alive", env).status === 0, "ready and alive after the loop resumes");
        expect(nat(ns)).toEqual(expected());

        // A jump removed: not ready (stop the loop first, so it can't heal it before the probe).
        a.child.kill("SIGSTOP");
        run("ip", ["netns", "exec", ns, "iptables-nft", "-w", "-t", "nat", "-D", "OUTPUT", "-m", "comment", "--comment", "directpath-hairpin", "-j", "DIRECTPATH-HAIRPIN"]);
        expect(probe(ns, "ready", env)).toMatchObject({ status: 1, log: expect.stringContaining("not ready: the jump from nat OUTPUT to DIRECTPATH-HAIRPIN is missing") });
        a.child.kill("SIGCONT");
        await waitFor(() => probe(ns, "ready", env).status === 0, "ready after the loop re-inserts the jump");
        a.child.kill("SIGTERM");
        expect(await a.exited).toBe(0);
        expect(probe(ns, "ready", env).status).toBe(1); // TERM removed the rules
    });

    it("probes: a rule whose target never resolves keeps the pod unready", async () => {
        const ns = newNamespace("127.0.0.1 localhost\n"); // the Service name does not resolve
        const state = fs.mkdtempSync(path.join(os.tmpdir(), "dphr-state-"));
        tmpDirs.push(state);
        const env = { DIRECTPATH_CONFIG: rulesFile(), DIRECTPATH_INTERVAL: "1", DIRECTPATH_STATE_DIR: state };
        const a = start(ns, env);
        await waitFor(() => fs.existsSync(path.join(state, "skipped")), "the first round");
        expect(probe(ns, "ready", env)).toMatchObject({ status: 1, log: expect.stringContaining("could not install 1 rule(s)") });
        expect(probe(ns, "alive", env).status).toBe(0);
        a.child.kill("SIGTERM");
        await a.exited;
    });

    it("picks iptables-legacy where the kubelet marked it (KUBE-KUBELET-CANARY), and nft stays untouched", () => {
        const ns = newNamespace(HOSTS);
        run("ip", ["netns", "exec", ns, "iptables-legacy", "-w", "-t", "mangle", "-N", "KUBE-KUBELET-CANARY"]);
        const res = runOnce(ns, { DIRECTPATH_CONFIG: rulesFile() });
        expect(res.status, res.log).toBe(0);
        expect(res.log).toContain("using iptables-legacy (kube hint chain in legacy)");
        expect(nat(ns, "legacy")).toEqual(expected());
        expect(nat(ns, "nft")).toEqual(POLICIES);
        const cleanup = spawnSync("ip", ["netns", "exec", ns, ...SHELL, SCRIPT, "cleanup"], { encoding: "utf8" });
        expect(cleanup.status, cleanup.stderr).toBe(0);
        expect(nat(ns, "legacy")).toEqual(POLICIES);
    });

    it("without a hint, the flavour with more rules wins; DIRECTPATH_IPTABLES forces one", () => {
        const ns = newNamespace(HOSTS);
        for (const c of ["A", "B"]) run("ip", ["netns", "exec", ns, "iptables-legacy", "-w", "-t", "filter", "-A", "INPUT", "-s", `10.9.9.${c === "A" ? 1 : 2}/32`, "-j", "ACCEPT"]);
        const auto = runOnce(ns, { DIRECTPATH_CONFIG: rulesFile() });
        expect(auto.log).toContain("using iptables-legacy (rules: nft=0 legacy=2)");
        expect(nat(ns, "legacy")).toEqual(expected());

        const ns2 = newNamespace(HOSTS);
        const forced = runOnce(ns2, { DIRECTPATH_CONFIG: rulesFile(), DIRECTPATH_IPTABLES: "legacy" });
        expect(forced.status, forced.log).toBe(0);
        expect(forced.log).toContain("using iptables-legacy (DIRECTPATH_IPTABLES=legacy)");
        expect(nat(ns2, "legacy")).toEqual(expected());
    });

    it("a name that never resolves: the other rules go in, once exits 1; bad lines and bad env are reported", () => {
        const ns = newNamespace("127.0.0.1 localhost\n");
        const file = rulesFile();
        fs.appendFileSync(file, "broken tcp 169.233.100.300 443 10.0.0.1 443\nshort tcp 169.233.100.13\n");
        const res = runOnce(ns, { DIRECTPATH_CONFIG: file });
        expect(res.status).toBe(1);
        expect(res.log).toMatch(/api\.apps\.svc\.cluster\.local does not resolve \(yet\); rule api-dns-0 waits for the next round/);
        expect(res.log).toMatch(/rules\.conf:5: bad external IPv4 '169\.233\.100\.300'/);
        expect(res.log).toMatch(/rules\.conf:6: want 6 fields .* got 3/);
        expect(nat(ns)).toEqual([...POLICIES, "-N DIRECTPATH-HAIRPIN", ...JUMPS, REGISTRY_RULE]);

        const bad = runOnce(ns, { DIRECTPATH_CONFIG: file, DIRECTPATH_INTERVAL: "soon" });
        expect(bad.status).toBe(2);
        expect(bad.log).toContain("DIRECTPATH_INTERVAL must be a number of seconds, not 'soon'");
        const missing = runOnce(ns, { DIRECTPATH_CONFIG: "/nonexistent/rules.conf" });
        expect(missing.status).toBe(1);
        expect(missing.log).toContain("cannot read /nonexistent/rules.conf; rules left as they are");
    });

    it("the DNAT works: a host process connecting to the external IP reaches the internal address", async () => {
        const ns = newNamespace(HOSTS);
        // Inside the namespace only: the node's internal address on a dummy link, and a route to the external one.
        run("ip", ["-n", ns, "link", "set", "lo", "up"]);
        run("ip", ["-n", ns, "link", "add", "node0", "type", "veth", "peer", "name", "node0p"]);
        run("ip", ["-n", ns, "link", "set", "node0p", "up"]);
        run("ip", ["-n", ns, "addr", "add", "192.168.10.100/24", "dev", "node0"]);
        run("ip", ["-n", ns, "link", "set", "node0", "up"]);
        run("ip", ["-n", ns, "route", "add", "169.233.100.0/24", "dev", "node0"]);
        const res = runOnce(ns, { DIRECTPATH_CONFIG: rulesFile() });
        expect(res.status, res.log).toBe(0);
        const probe = `
            const net = require("node:net");
            const srv = net.createServer((s) => s.end("registry\\n")).listen(443, "192.168.10.100", () => {
                const c = net.connect(443, "169.233.100.10");
                let got = ""; c.on("data", (d) => got += d);
                c.on("end", () => { console.log(got.trim() + " from " + c.remoteAddress); srv.close(); });
                c.on("error", (e) => { console.log("error " + e.code); process.exit(1); });
            });`;
        const out = spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", probe], { encoding: "utf8", timeout: 20_000 });
        expect(out.stdout.trim()).toBe("registry from 169.233.100.10");
    });
});
