/**
 * The direct-connection lab's view of `directpath check` (pure): what the check reads from a
 * rendered plan for one TailscaleDirect stack (the same targetsFromPlan the CLI uses), what the
 * pod's container hands the probe, and the lab's check lines on a device's probe output, judged by
 * the check's own checkTailscaleProbes / tailscaleVerdict against what the lab set up and measured.
 */
import * as path from "node:path";
import type { Verdict } from "../../check/model";
import { checkTailscaleProbes, type PathKind } from "../../check/tailscale";
import { targetsFromPlan, type K8s } from "../../check/targets";
import { ManifestError, type CheckLine } from "./model";

/** What the check is told about a stack's TailscaleDirect (as `directpath check` reads it from the plan). */
export interface Configured {
    namespace: string;
    workloadName: string;
    port: number;
}

/** One stack's TailscaleDirect as the probe meets it in a pod. */
export interface CheckProbeSetup {
    configured: Configured;
    /** The readiness probe's check-port.sh: its path in the pod and its text from the rendered ConfigMap. */
    checkPort?: { podPath: string; script: string };
    /** The container's literal env (what `kubectl exec` inherits), minus {@link dropped}. */
    env: Record<string, string>;
    /** Env names left out, each with the reason. */
    dropped: string[];
    /** DIRECTPATH_RELAY_PORT (check-port.sh checks the peer relay's port too), when the stack has a relay. */
    relayPort?: number;
}

/** Env the lab can't honour: containerboot's health endpoint (the lab starts tailscaled without containerboot). */
const NEEDS_CONTAINERBOOT: Record<string, string> = {
    TS_ENABLE_HEALTH_CHECK: "containerboot's /healthz, and the lab runs tailscaled without containerboot",
};

/**
 * From a rendered plan (plan.json and the manifests): the TailscaleDirect target as `directpath
 * check` sees it, the check-port script its readiness probe runs, and the container's env.
 */
export function checkProbeSetup(plan: Parameters<typeof targetsFromPlan>[0], objects: readonly K8s[]): CheckProbeSetup {
    const t = targetsFromPlan(plan, objects).tailscale;
    if (!t) throw new ManifestError(["no TailscaleDirect DaemonSet (label app.kubernetes.io/name=tailscale-direct) in the plan: directpath check would say not applicable"]);
    type Ds = K8s & { spec?: { template?: { spec?: { containers?: Array<{ name?: string; env?: Array<{ name: string; value?: string }> }> } } } };
    const ds = objects.find((o) => o.kind === "DaemonSet" && o.metadata?.name === t.workloadName && (o.metadata?.namespace ?? "default") === t.namespace) as Ds | undefined;
    const c = (ds?.spec?.template?.spec?.containers ?? []).find((x) => x.name === t.container);
    const problems: string[] = [];
    if (!c) problems.push(`DaemonSet ${t.namespace}/${t.workloadName} has no container ${t.container}`);
    const env: Record<string, string> = {};
    const dropped: string[] = [];
    for (const e of c?.env ?? []) {
        if (typeof e.value !== "string") dropped.push(`${e.name} (valueFrom: Kubernetes fills it in)`);
        else if (e.value.includes("$(")) dropped.push(`${e.name} (refers to ${/\$\(([^)]*)\)/.exec(e.value)![1]}, which Kubernetes fills in)`);
        else if (NEEDS_CONTAINERBOOT[e.name]) dropped.push(`${e.name} (${NEEDS_CONTAINERBOOT[e.name]})`);
        else env[e.name] = e.value;
    }
    let checkPort: CheckProbeSetup["checkPort"];
    if (t.checkPortScript) {
        const key = path.posix.basename(t.checkPortScript);
        const cm = objects.find((o) => o.kind === "ConfigMap" && typeof (o.data as Record<string, unknown> | undefined)?.[key] === "string");
        if (cm) checkPort = { podPath: t.checkPortScript, script: (cm.data as Record<string, string>)[key]! };
        else problems.push(`the readiness probe runs ${t.checkPortScript}, but no ConfigMap has ${key}`);
    }
    if (problems.length > 0) throw new ManifestError(problems);
    const relay = Number(env.DIRECTPATH_RELAY_PORT);
    return {
        configured: { namespace: t.namespace, workloadName: t.workloadName, port: t.port }, env, dropped,
        ...(checkPort ? { checkPort } : {}), ...(Number.isInteger(relay) && relay > 0 ? { relayPort: relay } : {}),
    };
}

/** A peer the probe should ping, and what the lab says its path is. */
export interface PeerExpectation {
    name: string;
    /** Tailscale IPv4 address (what the probe pings and the verdict's evidence names). */
    ip: string;
    path: PathKind;
    /** Acceptable `via`s: direct: the endpoints ("ip:port"); derp: region codes; peer-relay: the relay's "ip:port". */
    via?: readonly string[];
}

/** One device's probe, and what the lab expects the check to find there. */
export interface DeviceCheck {
    /** Lab device name (also the pod and node name in the verdict's evidence). */
    device: string;
    /** "pod": a TailscaleDirect pod of `configured` (its port is checked); "client": the laptop. */
    role: "pod" | "client";
    /** The output of check/probes/tailscale.sh (its last run). */
    output: string;
    configured: Configured;
    /** Every peer the probe should have pinged. */
    peers: readonly PeerExpectation[];
    /** Pods: whether tailscaled should hold `configured.port` (and `relayPort`), and the UDP ports it really has (from ss). */
    port?: { held: boolean; relayPort?: number; actual: readonly number[] };
    /** Peers with a line each (the rest share one line). */
    own?: readonly string[];
    /** Start of each line's name, e.g. "check from laptop". */
    label: string;
}

const describe = (p: PeerExpectation) => p.path === "direct" ? `direct${p.via?.length ? ` via ${p.via.join(" or ")}` : ""}`
    : p.path === "derp" ? `relayed via DERP${p.via?.length ? ` (${p.via.join(" or ")})` : ""}`
        : p.path === "peer-relay" ? `relayed via the peer relay ${p.via?.join(" or ") ?? ""}`.trim() : "unreachable";

/** Whether a pong's `via` is one the expectation allows (a peer relay's via is "ip:port:vni:N"). */
function viaOk(p: PeerExpectation, via: string | undefined): boolean {
    if (!p.via || p.via.length === 0) return true;
    if (via === undefined) return false;
    return p.path === "peer-relay" ? p.via.some((v) => via === v || via.startsWith(`${v}:`)) : p.via.includes(via);
}

/**
 * The check's verdict on one device's probe (checkTailscaleProbes, as in the cluster) and the lab's
 * lines on it: each expected peer's path (and endpoint), the port check for pods, and the verdict:
 * `present` exactly when the lab expects a relayed peer or a port not held, naming exactly the
 * relayed peers, `absent` otherwise. A verdict of could-not-check fails every line that needs it.
 */
export function deviceCheckLines(d: DeviceCheck): { verdict: Verdict; lines: CheckLine[]; peers: ReturnType<typeof checkTailscaleProbes>["peers"] } {
    const r = checkTailscaleProbes({
        configured: d.configured,
        ...(d.role === "pod" ? { pods: [{ pod: d.device, node: d.device, output: d.output }] } : { clients: [{ name: d.device, output: d.output }] }),
    });
    const v = r.verdict;
    const who = `${d.device}@${d.device}`;
    const lines: CheckLine[] = [];
    const seen = (p: PeerExpectation) => r.peers.find((x) => x.peer === p.ip);
    const peerOk = (p: PeerExpectation) => {
        const s = seen(p);
        return s !== undefined && s.status === "pong" && s.path === p.path && viaOk(p, s.via);
    };
    const peerSaw = (p: PeerExpectation) => {
        const s = seen(p);
        return `${p.name} ${p.ip}: ${!s ? "not pinged" : s.status !== "pong" ? s.status : `${s.path} via ${s.via}`}`;
    };
    const own = d.peers.filter((p) => d.own?.includes(p.name));
    const rest = d.peers.filter((p) => !d.own?.includes(p.name));
    for (const p of own) {
        const ev = v.evidence.find((e) => e.startsWith(`${who} -> ${p.ip}:`));
        lines.push({ name: `${d.label}: ${p.name} ${describe(p)}`, ok: peerOk(p), detail: `${peerSaw(p)}; verdict evidence: ${ev ?? "none"}` });
    }
    if (rest.length > 0) {
        const paths = [...new Set(rest.map((p) => p.path))];
        lines.push({
            name: `${d.label}: ${rest.map((p) => p.name).join(", ")} ${paths.length === 1 ? describe({ ...rest[0]!, via: undefined }) : "as the lab measured"}`,
            ok: rest.every(peerOk), detail: rest.map(peerSaw).join("; "),
        });
    }
    const extra = r.peers.filter((x) => !d.peers.some((p) => p.ip === x.peer)).map((x) => x.peer);
    if (d.port) {
        const pc = v.evidence.find((e) => e.startsWith(`${who}: `) && !e.startsWith(`${who} -> `)) ?? "";
        const port = d.configured.port;
        const held = d.port.held
            ? new RegExp(`^${who}: (OK: tailscaled owns UDP ${port} |tailscaled listens on UDP ${port}$)`).test(pc) && (d.port.relayPort === undefined || pc.includes(`peer relay's UDP ${d.port.relayPort} `))
            : pc.includes(`port ${port} NOT held`) && d.port.actual.length > 0 && d.port.actual.every((a) => new RegExp(`[: ]${a}\\b`).test(pc.split("NOT held")[1] ?? ""));
        lines.push({
            name: d.port.held
                ? `${d.label}: tailscaled holds the configured port ${port}${d.port.relayPort !== undefined ? ` and the relay port ${d.port.relayPort}` : ""} (not a random fallback)`
                : `${d.label}: port ${port} NOT held, tailscaled on its random port ${d.port.actual.join(", ") || "?"} (negative control)`,
            ok: held, detail: `${pc || "no port check in the evidence"}; tailscaled's UDP ports from ss: ${d.port.actual.join(", ") || "none"}`,
        });
    }
    const relayed = d.peers.filter((p) => p.path !== "direct");
    const want: Verdict["verdict"] = relayed.length > 0 || d.port?.held === false ? "present" : "absent";
    const blamed = v.evidence.filter((e) => / -> \S+: relayed via /.test(e)).map((e) => / -> (\S+):/.exec(e)![1]!).sort();
    const named = blamed.join(",") === relayed.map((p) => p.ip).sort().join(",");
    lines.push({
        name: want === "present"
            ? `${d.label}: verdict present${relayed.length ? `, naming ${relayed.map((p) => p.name).join(", ")} only` : ""} (negative control: never absent here)`
            : `${d.label}: verdict absent (port held, every peer direct)`,
        ok: v.verdict === want && named && extra.length === 0 && r.peers.length === d.peers.length,
        detail: `${v.verdict}: ${v.summary}${extra.length ? `; pinged peers the lab does not know: ${extra.join(", ")}` : ""}; ${v.evidence.slice(0, 3).join(" | ")}`,
    });
    return { verdict: v, lines, peers: r.peers };
}
