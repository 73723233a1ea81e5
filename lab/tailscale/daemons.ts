/**
 * The direct-connection lab's daemons, all started through the session (so cleanup ends them):
 * two derpers (DERP + STUN), headscale as the control server, and one tailscaled per device, plus
 * the `tailscale` CLI calls the lab makes against them.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { exec, LabError, waitUntil, type Daemon, type RunResult } from "../lib/proc";
import type { LabSession } from "../lib/session";
import { toolBin } from "./build";
import { DERP_PORT, DERP_REGIONS, HEADSCALE_URL, LIMITS, NET, PATHS, STUN_PORT } from "./config";
import { derpMapYaml, labPolicy, labTailscaledConfig, type ConfigFileFacts } from "./model";
import type { Topology } from "./topology";

const bin = toolBin;

/** Starts a daemon in `ns` with the lab's environment plus `env`, logging to .lab/tailscale/logs/<name>.log. */
export function startLogged(session: LabSession, name: string, ns: string, argv: string[], env: Record<string, string> = {}): Daemon {
    return session.daemons.start(name, argv, { ns, env: { ...process.env, ...env }, logFile: path.join(PATHS.logs, `${name}.log`) });
}

// ---------------------------------------------------------------------------------------------
// Relays and control
// ---------------------------------------------------------------------------------------------

/** Starts the two derpers; returns the CertName (`sha256-raw:<hex>`) of each one's self-signed certificate. */
export async function startDerpers(session: LabSession, topo: Topology): Promise<string[]> {
    const certNames: string[] = [];
    for (const [i, ip] of DERP_REGIONS.map((r) => r.ip).entries()) {
        const dir = path.join(PATHS.work, `derper${i + 1}`);
        fs.mkdirSync(dir, { recursive: true });
        // -certmode manual with an IP hostname: derper creates a self-signed certificate for the IP.
        // STUN binds to the -a address, so each instance answers STUN on its own IP.
        startLogged(session, `derper${i + 1}`, topo.ns.svc, [bin("derper"), "-a", `${ip}:${DERP_PORT}`, "-http-port", "80", "-stun-port", String(STUN_PORT),
            "-certmode", "manual", "-certdir", dir, "-hostname", ip, "-c", path.join(dir, "derper.key"), "-home", "blank"]);
        const crt = path.join(dir, `${ip}.crt`);
        const pem = await waitUntil(`derper on ${ip} (its self-signed certificate)`, 20_000, () => (fs.existsSync(crt) && fs.statSync(crt).size > 0 ? fs.readFileSync(crt, "utf8") : undefined));
        await waitUntil(`derper on ${ip}:${DERP_PORT}`, 20_000, async () => (await exec(["ss", "-Htln", `sport = :${DERP_PORT}`], { ns: topo.ns.svc, allowFail: true })).stdout.includes(ip));
        certNames.push(`sha256-raw:${crypto.createHash("sha256").update(new crypto.X509Certificate(pem).raw).digest("hex")}`);
    }
    return certNames;
}

function headscaleConfig(dir: string, policyFile: string): string {
    return `# Written by lab/tailscale/daemons.ts. Plain HTTP on a lab address; no embedded DERP, no DERP URLs,
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
  path: ${policyFile}
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

/** The lab's headscale: its daemon (SIGHUP reloads the policy file), config, policy file and the preauth key files. */
export interface Headscale {
    daemon: Daemon;
    config: string;
    policyFile: string;
    user: string;
    /** A reusable key (untagged) and a reusable key carrying the relay tags (0600 files). */
    authKeyFile: string;
    taggedKeyFile: string;
}

export const HEADSCALE_USER = "lab";

/**
 * Starts headscale with a DERP map of only the lab's two regions and a policy file (everyone may
 * reach everyone; `tags` owned by the lab's user; no relay grant yet); creates a user, a reusable
 * preauth key, and a reusable key tagged with `tags` (each written to a 0600 file).
 */
export async function startHeadscale(session: LabSession, topo: Topology, certNames: string[], tags: readonly string[]): Promise<Headscale> {
    const dir = path.join(PATHS.work, "headscale");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "derpmap.yaml"), derpMapYaml([
        ...DERP_REGIONS.map((r, i) => ({ ...r, certName: certNames[i]!, stunPort: STUN_PORT, derpPort: DERP_PORT })),
    ]));
    const config = path.join(dir, "config.yaml");
    const policyFile = path.join(dir, "policy.hujson");
    fs.writeFileSync(policyFile, JSON.stringify(labPolicy(HEADSCALE_USER, tags), null, 2));
    fs.writeFileSync(config, headscaleConfig(dir, policyFile));
    const daemon = startLogged(session, "headscale", topo.ns.svc, [bin("headscale"), "-c", config, "serve"]);
    const cli = (args: string[], allowFail = false) => exec([bin("headscale"), "-c", config, ...args, "-o", "json"], { ns: topo.ns.svc, allowFail, timeoutMs: LIMITS.cmdMs });
    await waitUntil(`headscale on ${HEADSCALE_URL} and its CLI socket`, 30_000, async () => {
        const listening = (await exec(["ss", "-Htln", "sport = :8080"], { ns: topo.ns.svc, allowFail: true })).stdout.includes(NET.svc.headscale);
        return listening && (await cli(["users", "list"], true)).code === 0;
    }, 500);
    const user = JSON.parse((await cli(["users", "create", HEADSCALE_USER])).stdout) as { id: string | number };
    const keyFile = async (name: string, extra: string[]) => {
        const r = await cli(["preauthkeys", "create", "--user", String(user.id), "--reusable", "--expiration", "1h", ...extra], true);
        const key = r.code === 0 ? (JSON.parse(r.stdout) as { key?: string }).key : undefined;
        if (!key) throw new LabError(`headscale preauthkeys create ${extra.join(" ")} returned no key: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
        const file = path.join(dir, name);
        fs.writeFileSync(file, key, { mode: 0o600 });
        return file;
    };
    const authKeyFile = await keyFile("authkey", []);
    const taggedKeyFile = await keyFile("authkey-tagged", tags.length ? ["--tags", tags.join(",")] : []);
    return { daemon, config, policyFile, user: HEADSCALE_USER, authKeyFile, taggedKeyFile };
}

/** Rewrites headscale's policy file and sends SIGHUP, which makes headscale reload it (hscontrol/app.go). */
export async function reloadPolicy(hs: Headscale, policy: Record<string, unknown>): Promise<void> {
    fs.writeFileSync(hs.policyFile, JSON.stringify(policy, null, 2));
    const before = hs.daemon.log().split("reloading ACL policy").length;
    hs.daemon.child.kill("SIGHUP");
    await waitUntil("headscale to reload its policy (SIGHUP)", 10_000, () => hs.daemon.log().split("reloading ACL policy").length > before);
}

// ---------------------------------------------------------------------------------------------
// Tailscale devices
// ---------------------------------------------------------------------------------------------

/** A tailnet device: its name, namespace, state dir and socket. */
export interface Device {
    name: string;
    ns: string;
    dir: string;
    socket: string;
    /** Public address of the device's site (its edge), for the underlay baseline. */
    siteAddr: string;
    /** Its Tailscale IPv4 address, once it is up. */
    ip?: string;
}

export type Devices = Record<"laptop" | "nodea" | "nodeb" | "nodec" | "nodep", Device>;

/** The four devices: the laptop, node A (directpath), node B (a default pod, in its pod namespace) and node C. */
export function devicesOf(topo: Topology): Devices {
    const dev = (name: string, ns: string, siteAddr: string): Device => {
        const dir = path.join(PATHS.work, name);
        return { name, ns, dir, socket: path.join(dir, "tailscaled.sock"), siteAddr };
    };
    return {
        laptop: dev("laptop", topo.ns.laptop, NET.home.wan), nodea: dev("node-a", topo.ns.nodea, NET.nodea.wan),
        nodeb: dev("node-b", topo.ns.podb, NET.nodeb.wan), nodec: dev("node-c", topo.ns.nodec, NET.nodec.eip),
        nodep: dev("node-p", topo.ns.podp, NET.nodep.wan),
    };
}

/** Environment for every tailscaled and tailscale CLI in the lab: nothing phones home. */
export const TS_ENV = {
    TS_NO_LOGS_NO_SUPPORT: "true",
    TS_DISABLE_PORTMAPPER: "1",
    TS_PANIC_IF_HIT_MAIN_CONTROL: "1",
};

/** The `tailscale` CLI against a device's tailscaled; never throws (the result says how it went). */
export function ts(d: Device, args: string[], timeoutMs: number = LIMITS.cmdMs): Promise<RunResult> {
    return exec([bin("tailscale"), `--socket=${d.socket}`, ...args], { ns: d.ns, timeoutMs, env: { ...process.env, ...TS_ENV }, allowFail: true });
}

/** Kernel TUN when namespaces can have TUN devices, else userspace networking. */
export async function tunMode(topo: Topology): Promise<"tailscale0" | "userspace-networking"> {
    const probe = await exec(["ip", "tuntap", "add", "mode", "tun", "dev", "dpt-probe"], { ns: topo.ns.laptop, allowFail: true });
    await exec(["ip", "link", "del", "dpt-probe"], { ns: topo.ns.laptop, allowFail: true });
    return probe.code === 0 ? "tailscale0" : "userspace-networking";
}

/** Starts a device's tailscaled and waits for its socket. */
export async function startTailscaled(session: LabSession, d: Device, opts: { tun: string; extraArgs: string[]; env: Record<string, string>; logName?: string }): Promise<Daemon> {
    fs.mkdirSync(d.dir, { recursive: true });
    fs.rmSync(d.socket, { force: true });
    // Lab flags first, then the rendered TS_TAILSCALED_EXTRA_ARGS (Go's flag package: the last one wins).
    const daemon = startLogged(session, opts.logName ?? `tailscaled-${d.name}`, d.ns, [bin("tailscaled"), `--state=${d.dir}/tailscaled.state`, `--statedir=${d.dir}`,
        `--socket=${d.socket}`, `--tun=${opts.tun}`, "--no-logs-no-support", ...opts.extraArgs],
    { ...TS_ENV, TS_LOGS_DIR: d.dir, ...opts.env });
    await waitUntil(`tailscaled ${d.name}'s socket`, 20_000, () => fs.existsSync(d.socket));
    return daemon;
}

/**
 * The config-file flow's init container, for real: runs the rendered select-config script (from
 * its ConfigMap) with the init container's env, NODE_NAME = `node` and the rendered config files
 * as DIRECTPATH_CONFIG_SOURCE; returns the file it put in TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR.
 */
export async function selectConfig(d: Device, facts: ConfigFileFacts, node: string): Promise<string> {
    const root = path.join(d.dir, "config-flow");
    const src = path.join(root, "source");
    const dest = path.join(root, "tailscaled");
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(src, { recursive: true });
    fs.mkdirSync(dest, { recursive: true });
    for (const [k, v] of Object.entries(facts.sources)) fs.writeFileSync(path.join(src, k), v);
    const script = path.join(root, "select-config.sh");
    fs.writeFileSync(script, facts.selectScript);
    const file = facts.initEnv.DIRECTPATH_CONFIG_FILE ?? "";
    const r = await exec(["/bin/sh", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...facts.initEnv, NODE_NAME: node, DIRECTPATH_CONFIG_SOURCE: src, TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR: dest }, allowFail: true, timeoutMs: LIMITS.cmdMs });
    if (r.code !== 0) throw new LabError(`select-config for ${d.name} (NODE_NAME=${node}) failed: ${(r.stderr || r.stdout).trim()}`);
    return path.join(dest, file);
}

/**
 * Starts tailscaled the way containerboot's config-file flow does: `--config=<file>` (the selected
 * file with AuthKey pointed at the lab's key, StaticEndpoints dropped for the control run), the
 * rendered TS_TAILSCALED_EXTRA_ARGS, userspace networking when TS_USERSPACE=true. No `tailscale
 * up`: the file logs in; waits until the device has its Tailscale IP.
 */
export async function startFromConfig(session: LabSession, d: Device, selected: string, facts: ConfigFileFacts,
    opts: { tun: string; authKeyFile: string; staticEndpoints: boolean; logName?: string }): Promise<{ daemon: Daemon; configFile: string }> {
    const conf = labTailscaledConfig(JSON.parse(fs.readFileSync(selected, "utf8")) as Record<string, unknown>, opts.authKeyFile, { staticEndpoints: opts.staticEndpoints });
    const configFile = path.join(d.dir, `tailscaled-${opts.staticEndpoints ? "rendered" : "no-static-endpoints"}.hujson`);
    fs.writeFileSync(configFile, JSON.stringify(conf, null, 2), { mode: 0o600 });
    const tun = facts.userspace ? "userspace-networking" : opts.tun;
    const daemon = await startTailscaled(session, d, { tun, extraArgs: [`--config=${configFile}`, ...facts.extraArgs], env: { PORT: String(facts.port) }, logName: opts.logName });
    await waitUntil(`${d.name} to log in from its config file`, 60_000, async () => {
        const ip = (await ts(d, ["ip", "-4"])).stdout.trim();
        if (/^100\./.test(ip)) d.ip = ip;
        return d.ip !== undefined && /^100\./.test(d.ip);
    }, 500);
    return { daemon, configFile };
}

/** `tailscale up` against headscale with the preauth key; records the device's Tailscale IP. */
export async function up(d: Device, authKeyFile: string): Promise<void> {
    const r = await ts(d, ["up", `--login-server=${HEADSCALE_URL}`, `--auth-key=file:${authKeyFile}`, `--hostname=${d.name}`, "--accept-dns=false", "--timeout=60s"], 75_000);
    if (r.code !== 0) throw new LabError(`tailscale up on ${d.name} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" | ")}`);
    d.ip = (await ts(d, ["ip", "-4"])).stdout.trim();
}

/** `tailscale status --json`, or undefined when the CLI fails. */
export async function statusOf(d: Device): Promise<unknown> {
    const r = await ts(d, ["status", "--json"], 10_000);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** The DERP region ids a device's client knows, sorted and joined (`900,901`). */
export async function derpRegions(d: Device): Promise<string> {
    const r = await ts(d, ["debug", "derp-map"]);
    try {
        return Object.keys((JSON.parse(r.stdout) as { Regions?: Record<string, unknown> }).Regions ?? {}).sort().join(",");
    } catch {
        return `unreadable (${r.stderr.trim().split("\n").pop()})`;
    }
}

/** Which local UDP ports tailscaled holds in a namespace (from ss). */
export async function tailscaledUdpPorts(ns: string): Promise<number[]> {
    const out = (await exec(["ss", "-Hulnp"], { ns, allowFail: true })).stdout;
    return [...new Set(out.split("\n").filter((l) => l.includes('"tailscaled"'))
        .map((l) => Number(/:(\d+)$/.exec(l.trim().split(/\s+/)[3] ?? "")?.[1] ?? 0)).filter((n) => n > 0))];
}
