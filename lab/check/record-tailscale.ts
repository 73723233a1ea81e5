/**
 * `node --import tsx lab/check/record-tailscale.ts` (root): records REAL `tailscale status --json`
 * and `tailscale ping` outputs with peers, direct and relayed, for the check's Tailscale parser and
 * verdict tests (test/fixtures/check/tailscale-*). Real tailscaled/tailscale/derper v1.98.10 and
 * headscale v0.29.1 from ${XDG_CACHE_HOME:-~/.cache}/directpath/bin/<name>@<version>/ (build them
 * with `go install`; headscale from lab/tailscale/headscale-build), in dpc- namespaces on one bridge:
 *
 *   dpc-tssvc 10.80.0.2 headscale, 10.80.0.3 derper (DERP region 900 "lab", STUN)
 *   dpc-tsa   10.80.0.10 "node-a": tailscaled on the fixed port 41641       -> direct
 *   dpc-tsb   10.80.0.11 "node-b": its UDP dropped except to the DERP/STUN host -> relayed via DERP
 *   dpc-tsl   10.80.0.12 "laptop": runs check/probes/tailscale.sh against both
 *
 * tailscaled runs with userspace networking (no TUN device needed for status and ping).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { probePath } from "../../check/probes";
import { addNs, cleanupAll, daemon, ip, removeLeftovers, run, sleep, veth } from "./ns";

const ROOT = path.resolve(__dirname, "..", "..");
const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath", "bin");
const BIN = {
    tailscaled: path.join(CACHE, "tailscaled@v1.98.10", "tailscaled"),
    tailscale: path.join(CACHE, "tailscale@v1.98.10", "tailscale"),
    derper: path.join(CACHE, "derper@v1.98.10", "derper"),
    headscale: path.join(CACHE, "headscale@v0.29.1", "headscale"),
};
const FX = path.join(ROOT, "test", "fixtures", "check");
const TS_ENV = { TS_NO_LOGS_NO_SUPPORT: "true", TS_DISABLE_PORTMAPPER: "1", TS_PANIC_IF_HIT_MAIN_CONTROL: "1" };

async function until<T>(what: string, ms: number, f: () => T | undefined): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
        const v = f();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(250);
    }
}

async function main(): Promise<void> {
    for (const [n, f] of Object.entries(BIN)) if (!fs.existsSync(f)) throw new Error(`${n} is not built at ${f}`);
    removeLeftovers();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dpc-ts-"));
    const net = addNs("tsnet");
    ip(net, "link add br0 type bridge", "link set br0 up");
    const hosts = { svc: addNs("tssvc"), a: addNs("tsa"), b: addNs("tsb"), l: addNs("tsl") };
    const addrs: Record<keyof typeof hosts, string[]> = { svc: ["10.80.0.2", "10.80.0.3"], a: ["10.80.0.10"], b: ["10.80.0.11"], l: ["10.80.0.12"] };
    for (const [k, ns] of Object.entries(hosts) as Array<[keyof typeof hosts, string]>) {
        veth(net, `p-${k}`, ns, "eth0");
        ip(net, `link set p-${k} master br0`, `link set p-${k} up`);
        ip(ns, ...addrs[k].map((a) => `addr add ${a}/24 dev eth0`), "link set eth0 up");
    }
    // node B: UDP only to the DERP/STUN host (its direct paths are blocked, DERP over TCP works).
    run(["iptables-restore"], { ns: hosts.b, input: ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
        "-A OUTPUT -p udp -d 10.80.0.3 -j ACCEPT", "-A OUTPUT -p udp -j DROP", "-A INPUT -p udp -s 10.80.0.3 -j ACCEPT", "-A INPUT -p udp -j DROP", "COMMIT", ""].join("\n") });

    const dd = path.join(work, "derper");
    fs.mkdirSync(dd);
    daemon(hosts.svc, [BIN.derper, "-a", "10.80.0.3:443", "-http-port", "-1", "-stun-port", "3478", "-certmode", "manual", "-certdir", dd, "-hostname", "10.80.0.3", "-c", path.join(dd, "derper.key"), "-home", "blank"], path.join(work, "derper.log"));
    const pem = await until("derper's certificate", 20_000, () => (fs.existsSync(path.join(dd, "10.80.0.3.crt")) && fs.statSync(path.join(dd, "10.80.0.3.crt")).size > 0 ? fs.readFileSync(path.join(dd, "10.80.0.3.crt"), "utf8") : undefined));
    const certName = `sha256-raw:${crypto.createHash("sha256").update(new crypto.X509Certificate(pem).raw).digest("hex")}`;
    const hd = path.join(work, "headscale");
    fs.mkdirSync(hd);
    fs.writeFileSync(path.join(hd, "derpmap.yaml"), ["regions:", "  900:", "    regionid: 900", "    regioncode: lab", "    regionname: dpc lab", "    nodes:",
        "      - name: 900a", "        regionid: 900", "        hostname: 10.80.0.3", `        certname: "${certName}"`, "        ipv4: 10.80.0.3", "        ipv6: none", "        stunport: 3478", "        derpport: 443", ""].join("\n"));
    const cfg = path.join(hd, "config.yaml");
    fs.writeFileSync(cfg, [`server_url: http://10.80.0.2:8080`, "listen_addr: 10.80.0.2:8080", "metrics_listen_addr: 127.0.0.1:9090", "grpc_listen_addr: 127.0.0.1:50443", "grpc_allow_insecure: false",
        `noise:\n  private_key_path: ${hd}/noise_private.key`, "prefixes:\n  v4: 100.64.0.0/10\n  v6: fd7a:115c:a1e0::/48\n  allocation: sequential",
        `derp:\n  server:\n    enabled: false\n  urls: []\n  paths:\n    - ${hd}/derpmap.yaml\n  auto_update_enabled: false`, "disable_check_updates: true",
        `database:\n  type: sqlite\n  sqlite:\n    path: ${hd}/db.sqlite\n    write_ahead_log: true`, "log:\n  level: info", 'policy:\n  mode: file\n  path: ""',
        'dns:\n  magic_dns: false\n  override_local_dns: false\n  base_domain: ""\n  nameservers:\n    global: []', `unix_socket: ${hd}/headscale.sock`, 'unix_socket_permission: "0770"',
        "logtail:\n  enabled: false", "taildrop:\n  enabled: false", ""].join("\n"));
    daemon(hosts.svc, [BIN.headscale, "-c", cfg, "serve"], path.join(work, "headscale.log"));
    const hs = (...a: string[]) => run([BIN.headscale, "-c", cfg, ...a, "-o", "json"], { ns: hosts.svc, allowFail: true });
    await until("headscale", 30_000, () => (hs("users", "list").code === 0 ? true : undefined));
    const user = JSON.parse(hs("users", "create", "lab").stdout) as { id: number };
    const key = (JSON.parse(hs("preauthkeys", "create", "--user", String(user.id), "--reusable", "--expiration", "1h").stdout) as { key: string }).key;
    const keyFile = path.join(hd, "authkey");
    fs.writeFileSync(keyFile, key, { mode: 0o600 });

    const dev = { a: { name: "node-a", ns: hosts.a, port: "41641" }, b: { name: "node-b", ns: hosts.b, port: "0" }, l: { name: "laptop", ns: hosts.l, port: "0" } };
    const sock = (k: string) => path.join(work, k, "s.sock");
    const ts = (k: keyof typeof dev, args: string[], timeoutMs = 30_000) => run([BIN.tailscale, `--socket=${sock(k)}`, ...args], { ns: dev[k].ns, allowFail: true, timeoutMs, env: { ...process.env, ...TS_ENV } });
    for (const k of Object.keys(dev) as Array<keyof typeof dev>) {
        fs.mkdirSync(path.join(work, k));
        daemon(dev[k].ns, [BIN.tailscaled, `--statedir=${path.join(work, k)}`, `--socket=${sock(k)}`, "--tun=userspace-networking", "--no-logs-no-support", `--port=${dev[k].port}`], path.join(work, `tailscaled-${k}.log`), { ...process.env, ...TS_ENV });
        await until(`tailscaled ${k}`, 20_000, () => (fs.existsSync(sock(k)) ? true : undefined));
        const up = ts(k, ["up", "--login-server=http://10.80.0.2:8080", `--auth-key=file:${keyFile}`, `--hostname=${dev[k].name}`, "--accept-dns=false", "--timeout=60s"], 75_000);
        if (up.code !== 0) throw new Error(`tailscale up ${k}: ${up.stderr}`);
    }
    const ipOf = (k: keyof typeof dev) => ts(k, ["ip", "-4"]).stdout.trim();
    const ipA = ipOf("a");
    const ipB = ipOf("b");
    await until("the laptop to see both peers online", 30_000, () => {
        const st = JSON.parse(ts("l", ["status", "--json"]).stdout || "{}") as { Peer?: Record<string, { Online?: boolean }> };
        return Object.values(st.Peer ?? {}).filter((p) => p.Online).length >= 2 ? true : undefined;
    });
    const save = (name: string, r: { stdout: string; stderr: string; code: number }, withRc = true) => {
        fs.writeFileSync(path.join(FX, name), r.stdout + r.stderr);
        if (withRc) fs.writeFileSync(path.join(FX, name.replace(/\.[a-z]+$/, ".rc")), `${r.code}\n`);
    };
    save("tailscale-ping-direct.out", ts("l", ["ping", "-c", "10", "--timeout=3s", ipA], 60_000));
    save("tailscale-ping-derp.out", ts("l", ["ping", "-c", "3", "--timeout=3s", ipB], 60_000));
    fs.writeFileSync(path.join(FX, "tailscale-status-laptop.json"), ts("l", ["status", "--json"]).stdout);
    fs.writeFileSync(path.join(FX, "tailscale-status-node-a.json"), ts("a", ["status", "--json"]).stdout);
    // The probe itself, as the Tailscale lab will run it on the laptop, and on node A (port check: the UDP table).
    const probe = (k: keyof typeof dev, peers: string, meta: string) => run(["env", `DPC_SOCKET=${sock(k)}`, `DPC_TAILSCALE=${BIN.tailscale}`, `DPC_PEERS=${peers}`, "DPC_PINGS=3", "DPC_TIMEOUT=3", `DPC_META=${meta}`,
        ...Object.entries(TS_ENV).map(([a, b]) => `${a}=${b}`), "busybox", "sh", probePath("tailscale.sh")], { ns: dev[k].ns, allowFail: true, timeoutMs: 120_000 });
    const pl = probe("l", `${ipA} ${ipB}`, "pod=laptop node=laptop");
    fs.writeFileSync(path.join(FX, "probe-tailscale-laptop.out"), pl.stdout);
    const pa = probe("a", ipOf("l"), "pod=node-a node=node-a");
    fs.writeFileSync(path.join(FX, "probe-tailscale-node-a.out"), pa.stdout);
    console.log(`recorded: node-a ${ipA} (fixed port 41641), node-b ${ipB} (UDP blocked except DERP); probe exit ${pl.code}/${pa.code}`);
    fs.rmSync(work, { recursive: true, force: true });
}

main().then(() => {
    cleanupAll();
    process.exit(0);
}, (e: unknown) => {
    console.error(`record-tailscale failed: ${e instanceof Error ? e.message : String(e)}`);
    cleanupAll();
    process.exit(1);
});
