/**
 * Pure parts of the direct-connection lab (`npm run lab:tailscale`): reading the fixed port out of
 * the rendered TailscaleDirect DaemonSet, the DERP map, parsing `tailscale ping` / `tailscale
 * status --json`, statistics, and the expectations the lab checks. No I/O here (the other modules
 * of lab/tailscale do the work); `test/tailscale-lab.test.ts` tests these directly. The plan's
 * `firewallRules` become iptables rules in lab/lib/firewall.ts, the translator both labs share.
 */
import { parseAllDocuments, stringify } from "yaml";

// ---------------------------------------------------------------------------------------------
// The fixed port, from the rendered DaemonSet
// ---------------------------------------------------------------------------------------------

/** Where the port appears in the rendered pod spec, and the one value they all agree on. */
export interface FixedPort {
    port: number;
    /** Name of the DaemonSet and of the container that carries the settings. */
    workload: string;
    container: string;
    /** `PORT` env value. */
    envPort: number;
    /** `--port` from the `TS_TAILSCALED_EXTRA_ARGS` env value. */
    argPort: number;
    /** The UDP containerPort and its hostPort. */
    containerPort: number;
    hostPort: number;
    /** `TS_TAILSCALED_EXTRA_ARGS`, split into arguments (the lab passes them to tailscaled). */
    extraArgs: string[];
    hostNetwork: boolean;
}

/** A rendered manifest did not have what the lab needs; `problems` says what and where. */
export class ManifestError extends Error {
    constructor(readonly problems: string[]) {
        super(`the rendered TailscaleDirect DaemonSet is not usable by the lab:\n  - ${problems.join("\n  - ")}`);
        this.name = "ManifestError";
    }
}

interface EnvVar {
    name?: string;
    value?: unknown;
}
interface ContainerPort {
    containerPort?: unknown;
    hostPort?: unknown;
    protocol?: string;
    name?: string;
}
interface Container {
    name?: string;
    env?: EnvVar[];
    ports?: ContainerPort[];
}

function toPort(v: unknown): number | undefined {
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** Splits an args string the way a shell would for plain words and simple quotes. */
export function splitArgs(s: string): string[] {
    const out: string[] = [];
    const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
    for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]!);
    return out;
}

/** The value of `--port` (`--port=N`, `-port=N`, `--port N`) in tailscaled's args; the last one wins, as in Go's flag package. */
export function portFromArgs(args: string[]): number | undefined {
    let port: number | undefined;
    let seen = false;
    for (let i = 0; i < args.length; i++) {
        const m = /^--?port(?:=(.*))?$/.exec(args[i]!);
        if (!m) continue;
        seen = true;
        const raw = m[1] ?? args[++i];
        port = toPort(raw);
        if (port === undefined) return undefined;
    }
    return seen ? port : undefined;
}

/**
 * Reads the fixed UDP port from a rendered DaemonSet manifest (YAML, one or more documents) and
 * checks that every place it appears agrees: the `PORT` env, `--port` in `TS_TAILSCALED_EXTRA_ARGS`,
 * and a UDP containerPort with an equal hostPort, in the same container. Throws a ManifestError
 * listing every problem otherwise.
 */
export function fixedPortFromDaemonSet(yamlText: string): FixedPort {
    const docs = parseAllDocuments(yamlText).map((d) => d.toJSON() as Record<string, unknown> | null);
    const ds = docs.find((d) => d && d.kind === "DaemonSet") as
        | { metadata?: { name?: string }; spec?: { template?: { spec?: { hostNetwork?: boolean; containers?: Container[] } } } }
        | undefined;
    if (!ds) throw new ManifestError(["no document of kind DaemonSet"]);
    const name = ds.metadata?.name ?? "(unnamed)";
    const podSpec = ds.spec?.template?.spec;
    const containers = podSpec?.containers ?? [];
    const container = containers.find((c) => (c.env ?? []).some((e) => e.name === "PORT")) ?? containers.find((c) => (c.env ?? []).some((e) => e.name === "TS_TAILSCALED_EXTRA_ARGS"));
    if (!container) throw new ManifestError([`DaemonSet ${name}: no container has a PORT or TS_TAILSCALED_EXTRA_ARGS env var`]);
    const where = `DaemonSet ${name}, container ${container.name ?? "(unnamed)"}`;
    const problems: string[] = [];
    const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));

    const envRaw = env.get("PORT");
    const envPort = toPort(envRaw);
    if (envPort === undefined) problems.push(`${where}: env PORT is ${JSON.stringify(envRaw)}, want a literal port 1-65535`);

    const extraRaw = env.get("TS_TAILSCALED_EXTRA_ARGS");
    const extraArgs = typeof extraRaw === "string" ? splitArgs(extraRaw) : [];
    const argPort = portFromArgs(extraArgs);
    if (typeof extraRaw !== "string") problems.push(`${where}: env TS_TAILSCALED_EXTRA_ARGS is ${JSON.stringify(extraRaw)}, want a string with --port=N`);
    else if (argPort === undefined) problems.push(`${where}: env TS_TAILSCALED_EXTRA_ARGS is ${JSON.stringify(extraRaw)}, want --port=N with N 1-65535`);

    const udp = (container.ports ?? []).filter((p) => (p.protocol ?? "TCP").toUpperCase() === "UDP");
    const declared = udp.find((p) => toPort(p.containerPort) === envPort) ?? udp[0];
    const containerPort = toPort(declared?.containerPort);
    const hostPort = toPort(declared?.hostPort);
    if (!declared) problems.push(`${where}: no UDP containerPort is declared`);
    else if (hostPort === undefined || hostPort !== containerPort) problems.push(`${where}: UDP containerPort ${String(declared.containerPort)} has hostPort ${JSON.stringify(declared.hostPort)}, want the same port`);

    if (envPort !== undefined && argPort !== undefined && envPort !== argPort) problems.push(`${where}: env PORT=${envPort} but --port=${argPort} in TS_TAILSCALED_EXTRA_ARGS; they must agree`);
    if (envPort !== undefined && containerPort !== undefined && envPort !== containerPort) problems.push(`${where}: env PORT=${envPort} but the UDP containerPort is ${containerPort}; they must agree`);
    if (problems.length > 0) throw new ManifestError(problems);
    return {
        port: envPort!, workload: name, container: container.name ?? "", envPort: envPort!, argPort: argPort!,
        containerPort: containerPort!, hostPort: hostPort!, extraArgs, hostNetwork: podSpec?.hostNetwork === true,
    };
}

// ---------------------------------------------------------------------------------------------
// The DERP map headscale hands out
// ---------------------------------------------------------------------------------------------

/** One lab DERP region: one derper that also answers STUN. */
export interface LabDerpRegion {
    id: number;
    code: string;
    ip: string;
    /** `sha256-raw:<hex>` of the derper's self-signed certificate (tailcfg.DERPNode.CertName). */
    certName: string;
    stunPort: number;
    derpPort: number;
}

/**
 * The DERP map file for headscale's `derp.paths`: one region per derper, IPv4 only, the derper's
 * self-signed certificate pinned by CertName. headscale reads it with gopkg.in/yaml.v3 into
 * tailcfg.DERPMap, so the keys are the lower-cased Go field names.
 *
 * Why one region per STUN address: netcheck calls a NAT hard (MappingVariesByDestIP) when two STUN
 * replies report different mapped ip:ports, but the probes to the nodes of one region form one set
 * and the first reply cancels the rest (net/netcheck runProbe: cancelSet). Two STUN addresses in
 * ONE region are only compared when that region is slower than the 100 ms retransmit delay.
 */
export function derpMapYaml(regions: readonly LabDerpRegion[]): string {
    // Integer keys (a Map, so they aren't quoted): yaml.v3 won't unmarshal the string "900" into tailcfg's int key.
    const byId = new Map<number, unknown>();
    for (const r of regions) {
        byId.set(r.id, {
            regionid: r.id,
            regioncode: r.code,
            regionname: `directpath lab ${r.code}`,
            nodes: [{ name: `${r.id}a`, regionid: r.id, hostname: r.ip, certname: r.certName, ipv4: r.ip, ipv6: "none", stunport: r.stunPort, derpport: r.derpPort }],
        });
    }
    return stringify({ regions: byId });
}

// ---------------------------------------------------------------------------------------------
// tailscale ping / status
// ---------------------------------------------------------------------------------------------

export type PathKind = "direct" | "relayed";

/** One `pong from NAME (IP[, PORT]) via VIA in LATENCY` line. */
export interface Pong {
    peer: string;
    ip: string;
    via: string;
    path: PathKind;
    rttMs: number;
}

/** Parses a Go `time.Duration.String()` value ("12ms", "1.5s", "1m2.5s", "850µs", "0s") into milliseconds. */
export function parseGoDuration(s: string): number | undefined {
    if (s === "0" || s === "0s") return 0;
    const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, "µs": 0.001, "us": 0.001, ns: 0.000001 };
    const re = /(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
        total += Number(m[1]) * units[m[2]!]!;
        consumed += m[0].length;
    }
    return consumed === s.length && consumed > 0 ? total : undefined;
}

/**
 * Direct or relayed, from `tailscale ping`'s via: `DERP(code)` and `peer-relay(...)` are relayed,
 * an `ip:port` or `[ipv6]:port` endpoint is direct. Anything else is not a path we know.
 */
export function classifyVia(via: string): PathKind | undefined {
    if (/^DERP\(.*\)$/.test(via) || /^peer-relay\(.*\)$/.test(via)) return "relayed";
    if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(via) || /^\[[0-9a-fA-F:.%\w]+\]:\d+$/.test(via)) return "direct";
    return undefined;
}

/** Parses `tailscale ping` output into pongs (timeouts and other lines are ignored). */
export function parsePingOutput(text: string): Pong[] {
    const pongs: Pong[] = [];
    for (const line of text.split("\n")) {
        const m = /^pong from (\S+) \(([^,)]+)(?:, \d+)?\) via (\S+) in (\S+)$/.exec(line.trim());
        if (!m) continue;
        const path = classifyVia(m[3]!);
        const rttMs = parseGoDuration(m[4]!);
        if (!path || rttMs === undefined) continue;
        pongs.push({ peer: m[1]!, ip: m[2]!, via: m[3]!, path, rttMs });
    }
    return pongs;
}

/** The parts of a `tailscale status --json` peer the lab reads. */
export interface PeerStatus {
    hostName: string;
    ips: string[];
    /** The direct ip:port in use; empty while relayed. */
    curAddr: string;
    /** The DERP region code the peer is reached through (home relay). */
    relay: string;
    peerRelay: string;
}

/** Finds the peer with the given Tailscale IP (or host name) in `tailscale status --json`. */
export function peerFromStatus(status: unknown, peer: { ip?: string; hostName?: string }): PeerStatus | undefined {
    const peers = (status as { Peer?: Record<string, Record<string, unknown>> } | null)?.Peer ?? {};
    for (const p of Object.values(peers)) {
        const ips = Array.isArray(p.TailscaleIPs) ? (p.TailscaleIPs as string[]) : [];
        if ((peer.ip && ips.includes(peer.ip)) || (peer.hostName && p.HostName === peer.hostName)) {
            return { hostName: String(p.HostName ?? ""), ips, curAddr: String(p.CurAddr ?? ""), relay: String(p.Relay ?? ""), peerRelay: String(p.PeerRelay ?? "") };
        }
    }
    return undefined;
}

/** Direct when the peer has a current direct address. */
export function classifyPeer(p: PeerStatus): PathKind {
    return p.curAddr !== "" && p.peerRelay === "" ? "direct" : "relayed";
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

/** The median (mean of the two middle values for an even count). Throws on an empty list. */
export function median(xs: readonly number[]): number {
    if (xs.length === 0) throw new Error("median of an empty list");
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The p-th percentile by the nearest-rank method (p in (0, 100]). Throws on an empty list. */
export function percentile(xs: readonly number[], p: number): number {
    if (xs.length === 0) throw new Error("percentile of an empty list");
    if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is not in (0, 100]`);
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.ceil((p / 100) * s.length) - 1]!;
}

/** Rounds to 0.1. */
export function round1(x: number): number {
    return Math.round(x * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// Results and expectations
// ---------------------------------------------------------------------------------------------

/** `control`: a directpath node set up without the piece under test (node P without its static endpoint). */
export type Setup = "directpath" | "default" | "control";

/** One measured pair, as written to bench/results/direct-connection.json. */
export interface PairResult {
    from: string;
    to: string;
    setup: Setup;
    path: PathKind;
    /** From the first ping until `CurAddr` was set; null when it never became direct. */
    timeToDirectMs: number | null;
    rttMedianMs: number;
    rttP95Ms: number;
    /** Median round trip of plain UDP between the two sites' public addresses (no Tailscale). */
    linkRttMs: number;
    /** Median round trip of plain UDP from each end's site to the DERP server, summed: what a relayed ping costs. */
    derpPathRttMs: number;
}

/** `directpath` when one end is a node set up by directpath. */
export function setupOf(from: string, to: string, directpathNodes: readonly string[]): Setup {
    return directpathNodes.includes(from) || directpathNodes.includes(to) ? "directpath" : "default";
}

export interface Expectation {
    from: string;
    to: string;
    path: PathKind;
}

export interface CheckLine {
    name: string;
    ok: boolean;
    detail: string;
}

/**
 * How close to the link (direct) or DERP path (relayed) the median RTT must be. Generous, because
 * the WAN emulator and the daemons share two busy cores: the point is telling a ~10 ms direct path
 * from a ~80 ms relayed one, not measuring to the millisecond.
 */
export const RTT_TOLERANCE = { factor: 0.5, minMs: 8 } as const;

/** The checks the lab prints for the measured pairs against what is expected of them. */
export function checkPairs(results: readonly PairResult[], expected: readonly Expectation[]): CheckLine[] {
    const lines: CheckLine[] = [];
    for (const want of expected) {
        const got = results.find((r) => r.from === want.from && r.to === want.to);
        const name = `${want.from} -> ${want.to}`;
        if (!got) {
            lines.push({ name: `${name}: measured`, ok: false, detail: "no measurement" });
            continue;
        }
        lines.push({ name: `${name}: path ${want.path}`, ok: got.path === want.path, detail: `observed ${got.path}${got.timeToDirectMs !== null ? `, direct after ${got.timeToDirectMs} ms` : ""}` });
        const target = want.path === "direct" ? got.linkRttMs : got.derpPathRttMs;
        const slack = Math.max(RTT_TOLERANCE.minMs, target * RTT_TOLERANCE.factor);
        const ok = Math.abs(got.rttMedianMs - target) <= slack;
        lines.push({
            name: `${name}: RTT near the ${want.path === "direct" ? "link" : "DERP path"}`,
            ok,
            detail: `median ${got.rttMedianMs} ms (p95 ${got.rttP95Ms}) vs ${want.path === "direct" ? "link" : "DERP path"} ${target} ms (allowed +-${round1(slack)} ms)`,
        });
    }
    return lines;
}

/** The Markdown table for bench/results/direct-connection.md. */
export function markdownTable(results: readonly PairResult[]): string {
    const rows = [
        "| from | to | setup | path | time to direct | RTT median | RTT p95 | link RTT | DERP path RTT |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
        ...results.map((r) => `| ${r.from} | ${r.to} | ${r.setup} | ${r.path} | ${r.timeToDirectMs === null ? "never" : `${r.timeToDirectMs} ms`} | ${r.rttMedianMs} ms | ${r.rttP95Ms} ms | ${r.linkRttMs} ms | ${r.derpPathRttMs} ms |`),
    ];
    return rows.join("\n");
}

// ---------------------------------------------------------------------------------------------
// The lab's variant stacks (pod mode, peer relay), and what their rendered objects say
// ---------------------------------------------------------------------------------------------

/**
 * A copy of a stack file (YAML text) with `directpath:tailscale` replaced by the given settings
 * merged over the stack's own (keys of `overrides` win; `undefined` removes a key). The rest of
 * the file is untouched. Throws when the stack has no `directpath:tailscale` section.
 */
export function tailscaleVariantStack(stackYaml: string, overrides: Record<string, unknown>): string {
    const doc = parseAllDocuments(stackYaml)[0]?.toJSON() as { config?: Record<string, unknown> } | null;
    const section = doc?.config?.["directpath:tailscale"];
    if (!doc?.config || typeof section !== "object" || section === null) throw new Error("the stack file has no directpath:tailscale section");
    const merged: Record<string, unknown> = { ...(section as Record<string, unknown>) };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
    }
    doc.config["directpath:tailscale"] = merged;
    return stringify(doc);
}

/** tailscaled's config file as rendered (the fields the lab reads; the rest is passed through). */
export interface TailscaledConfig {
    Version?: string;
    AuthKey?: string;
    Hostname?: string;
    ServerURL?: string;
    StaticEndpoints?: string[];
    RelayServerPort?: number;
    RelayServerStaticEndpoints?: string[];
    [k: string]: unknown;
}

/** What the config-file flow of a rendered plan gives the lab, checked for agreement. */
export interface ConfigFileFacts {
    /** The ConfigMap holding the config files, and the key the lab uses. */
    configMap: string;
    key: string;
    config: TailscaledConfig;
    /** tailscaled's port (PORT env and --port in TS_TAILSCALED_EXTRA_ARGS agree). */
    port: number;
    extraArgs: string[];
    /** TS_USERSPACE=true: userspace networking, as the pod spec renders it. */
    userspace: boolean;
    hostNetwork: boolean;
    /** Pod mode: the UDP Service's NodePorts, keyed by port name (`tailscale`, `relay`) with their targetPorts. */
    nodePorts: Record<string, { nodePort: number; targetPort: number }>;
    /** Every config file of the ConfigMap (what the init container's DIRECTPATH_CONFIG_SOURCE holds). */
    sources: Record<string, string>;
    /** The init container's script (from its ConfigMap) and its env: DIRECTPATH_CONFIG_FILE etc. */
    selectScript: string;
    initEnv: Record<string, string>;
}

type Obj = { kind?: string; metadata?: { name?: string }; data?: Record<string, string>; spec?: Record<string, unknown> };

/**
 * Reads the config-file flow out of the rendered objects: the DaemonSet's container env (PORT,
 * TS_TAILSCALED_EXTRA_ARGS, TS_USERSPACE, TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR), the ConfigMap key
 * `key` (parsed; the component writes JSON, a subset of HuJSON), and a UDP Service's NodePorts.
 * Checks that they agree: the Service's `tailscale` targetPort is PORT, the static endpoints'
 * port is its NodePort, the relay's targetPort is RelayServerPort and its static endpoints' port
 * the relay NodePort. Throws a ManifestError listing every problem.
 */
export function configFileFacts(rendered: readonly unknown[], key: string): ConfigFileFacts {
    const objects = rendered as readonly Obj[];
    const problems: string[] = [];
    type Ds = { metadata?: { name?: string }; spec?: { template?: { spec?: { hostNetwork?: boolean; containers?: Container[] } } } };
    const hasFlow = (x: Container) => (x.env ?? []).some((e) => e.name === "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR");
    const dss = objects.filter((o) => o.kind === "DaemonSet") as Ds[];
    if (dss.length === 0) throw new ManifestError(["no document of kind DaemonSet"]);
    // The DaemonSet whose container runs the config-file flow (a plan may render others).
    const ds = dss.find((d) => (d.spec?.template?.spec?.containers ?? []).some(hasFlow));
    if (!ds) throw new ManifestError([`no DaemonSet (of ${dss.map((d) => d.metadata?.name).join(", ")}) has a container with TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR (the config-file flow)`]);
    const c = (ds.spec?.template?.spec?.containers ?? []).find(hasFlow)!;
    const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
    const inits = ((ds.spec?.template?.spec as { initContainers?: Array<Container & { command?: string[] }> } | undefined)?.initContainers ?? []);
    const init = inits.find((x) => (x.env ?? []).some((e) => e.name === "DIRECTPATH_CONFIG_FILE"));
    const initEnv: Record<string, string> = {};
    for (const e of init?.env ?? []) if (e.name && typeof e.value === "string") initEnv[e.name] = e.value;
    const scriptName = (init?.command ?? []).map((a) => a.split("/").pop()!).find((a) => a.endsWith(".sh"));
    const scriptCm = scriptName ? objects.find((o) => o.kind === "ConfigMap" && o.data && scriptName in o.data) : undefined;
    if (!init) problems.push("no init container with DIRECTPATH_CONFIG_FILE (the config-file flow's select-config step)");
    else if (!scriptCm) problems.push(`the init container runs ${JSON.stringify(init.command)}, but no ConfigMap has that script`);
    const port = toPort(env.get("PORT"));
    const extraArgs = typeof env.get("TS_TAILSCALED_EXTRA_ARGS") === "string" ? splitArgs(env.get("TS_TAILSCALED_EXTRA_ARGS") as string) : [];
    const argPort = portFromArgs(extraArgs);
    if (port === undefined) problems.push(`env PORT is ${JSON.stringify(env.get("PORT"))}, want a literal port`);
    if (argPort !== port) problems.push(`env PORT=${String(env.get("PORT"))} but TS_TAILSCALED_EXTRA_ARGS is ${JSON.stringify(env.get("TS_TAILSCALED_EXTRA_ARGS"))}; they must agree`);

    const cms = objects.filter((o) => o.kind === "ConfigMap" && o.data && key in o.data);
    let config: TailscaledConfig = {};
    if (cms.length !== 1) problems.push(`want exactly one ConfigMap with the key ${key}, found ${cms.length}`);
    else {
        try {
            config = JSON.parse(cms[0]!.data![key]!) as TailscaledConfig;
        } catch (e) {
            problems.push(`ConfigMap ${cms[0]!.metadata?.name} key ${key} is not JSON: ${(e as Error).message}`);
        }
    }
    const nodePorts: ConfigFileFacts["nodePorts"] = {};
    for (const s of objects.filter((o) => o.kind === "Service")) {
        for (const p of ((s.spec?.ports ?? []) as Array<{ name?: string; protocol?: string; nodePort?: unknown; targetPort?: unknown }>)) {
            const np = toPort(p.nodePort);
            const tp = toPort(p.targetPort);
            if (p.protocol === "UDP" && p.name && np !== undefined && tp !== undefined) nodePorts[p.name] = { nodePort: np, targetPort: tp };
        }
    }
    const portOf = (ep: string) => Number(/:(\d+)$/.exec(ep)?.[1]);
    const agree = (what: string, eps: string[] | undefined, svcPort: string, podPort: number | undefined): void => {
        if (!eps || eps.length === 0) return;
        const np = nodePorts[svcPort];
        if (!np) {
            problems.push(`${what} ${eps.join(", ")} but no UDP Service port named ${svcPort}`);
            return;
        }
        if (eps.some((e) => portOf(e) !== np.nodePort)) problems.push(`${what} ${eps.join(", ")} but the Service's ${svcPort} nodePort is ${np.nodePort}`);
        if (np.targetPort !== podPort) problems.push(`the Service's ${svcPort} targetPort is ${np.targetPort} but the pod's port is ${String(podPort)}`);
    };
    agree("StaticEndpoints", config.StaticEndpoints, "tailscale", port);
    agree("RelayServerStaticEndpoints", config.RelayServerStaticEndpoints, "relay", config.RelayServerPort);
    if (problems.length > 0) throw new ManifestError(problems);
    return {
        configMap: cms[0]!.metadata?.name ?? "", key, config, port: port!, extraArgs,
        userspace: env.get("TS_USERSPACE") === "true", hostNetwork: ds.spec?.template?.spec?.hostNetwork === true, nodePorts,
        sources: { ...cms[0]!.data! }, selectScript: scriptCm!.data![scriptName!]!, initEnv,
    };
}

/**
 * The config file the lab hands tailscaled: the rendered one with `AuthKey` pointed at the lab's
 * key file, and (for the control run) without `StaticEndpoints`. Everything else as rendered.
 */
export function labTailscaledConfig(config: TailscaledConfig, authKeyFile: string, opts: { staticEndpoints: boolean }): TailscaledConfig {
    const out: TailscaledConfig = { ...config, AuthKey: `file:${authKeyFile}` };
    if (!opts.staticEndpoints) delete out.StaticEndpoints;
    return out;
}

/** Which way a pong came: a direct endpoint, a DERP region, or a peer relay. */
export type Via = "direct" | "derp" | "peer-relay";

export function viaKind(via: string): Via | undefined {
    if (/^peer-relay\(.*\)$/.test(via)) return "peer-relay";
    if (/^DERP\(.*\)$/.test(via)) return "derp";
    return classifyVia(via) === "direct" ? "direct" : undefined;
}

/** The relay server's ip:port in a `peer-relay(ip:port:vni:N)` via, or undefined. */
export function peerRelayAddr(via: string): string | undefined {
    return /^peer-relay\((\d{1,3}(?:\.\d{1,3}){3}:\d+)(?::.*)?\)$/.exec(via)?.[1];
}

/**
 * The headscale policy of the lab: everyone may reach everyone (the lab's usual access grant),
 * the relay tags owned by the lab's user, plus the rendered `relayGrant`'s grants when given.
 */
export function labPolicy(user: string, tags: readonly string[], relayGrants?: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
    return {
        tagOwners: Object.fromEntries(tags.map((t) => [t, [`${user}@`]])),
        grants: [{ src: ["*"], dst: ["*"], ip: ["*"] }, ...(relayGrants ?? [])],
    };
}

/**
 * What a peer-relay path should cost in the lab: laptop -> relay node -> node B, each leg one
 * WAN link, so the sum of the two legs' plain-UDP RTTs (plus the relay's own forwarding, a
 * fraction of a millisecond).
 */
export function expectedRelayRttMs(legsRttMs: readonly number[]): number {
    return round1(legsRttMs.reduce((a, b) => a + b, 0));
}

/** One peer-relay measurement against its expectation. */
export interface RelayResult {
    from: string;
    to: string;
    relay: string;
    via: string;
    rttMedianMs: number;
    rttP95Ms: number;
    expectedMs: number;
    linkRttMs: number;
    derpPathRttMs: number;
    /** The same pair's measured `tailscale ping` RTT over DERP (before the grant). */
    derpMeasuredMs: number;
}

/** Checks for the peer-relay pair: via the relay (not DERP), RTT near the expected legs and well below DERP. */
export function checkRelay(r: RelayResult, wantRelayAddr: string): CheckLine[] {
    const slack = Math.max(RTT_TOLERANCE.minMs, r.expectedMs * RTT_TOLERANCE.factor);
    return [
        { name: `${r.from} -> ${r.to}: path peer relay ${wantRelayAddr}, not DERP`, ok: viaKind(r.via) === "peer-relay" && peerRelayAddr(r.via) === wantRelayAddr, detail: `via ${r.via}` },
        {
            name: `${r.from} -> ${r.to}: peer-relay RTT near the expected ${r.expectedMs} ms`,
            ok: Math.abs(r.rttMedianMs - r.expectedMs) <= slack,
            detail: `median ${r.rttMedianMs} ms (p95 ${r.rttP95Ms}) vs expected ${r.expectedMs} ms (allowed +-${round1(slack)} ms); link ${r.linkRttMs} ms, DERP measured ${r.derpMeasuredMs} ms (DERP path ${r.derpPathRttMs} ms)`,
        },
        { name: `${r.from} -> ${r.to}: peer relay faster than DERP`, ok: r.rttMedianMs < r.derpMeasuredMs, detail: `${r.rttMedianMs} ms vs ${r.derpMeasuredMs} ms over DERP` },
    ];
}

/** A direct pair must be within `factor` times the link RTT (issue 14: 1.5x). */
export function withinLinkFactor(r: PairResult, factor: number): CheckLine {
    return {
        name: `${r.from} -> ${r.to}: RTT within ${factor}x the link RTT`,
        ok: r.path === "direct" && r.rttMedianMs <= factor * r.linkRttMs,
        detail: `${r.path}, median ${r.rttMedianMs} ms vs link ${r.linkRttMs} ms (limit ${round1(factor * r.linkRttMs)} ms)`,
    };
}

/** The Markdown table of the peer-relay pair(s). */
export function relayMarkdownTable(results: readonly RelayResult[]): string {
    return [
        "| from | to | relay | via | RTT median | RTT p95 | expected | link RTT | DERP measured | DERP path RTT |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
        ...results.map((r) => `| ${r.from} | ${r.to} | ${r.relay} | \`${r.via}\` | ${r.rttMedianMs} ms | ${r.rttP95Ms} ms | ${r.expectedMs} ms | ${r.linkRttMs} ms | ${r.derpMeasuredMs} ms | ${r.derpPathRttMs} ms |`),
    ].join("\n");
}
