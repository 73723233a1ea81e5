/**
 * The probe scripts (check/probes/*.sh, shipped next to the compiled JavaScript) and the
 * environment that tells probe.sh what to run. The cluster runner puts the same script and the
 * same environment into a pod that the lab puts into a network namespace.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PlannedCheck } from "./checks";

export const PROBE_SCRIPTS = ["probe.sh", "listen.sh", "tailscale.sh"] as const;
export type ProbeScript = (typeof PROBE_SCRIPTS)[number];

/** Absolute path of a probe script (source tree or dist/). */
export function probePath(name: ProbeScript): string {
    const p = path.join(__dirname, "probes", name);
    if (!fs.existsSync(p)) throw new Error(`probe script ${p} is missing (a build without scripts/copy-assets.mjs?)`);
    return p;
}

export function probeText(name: ProbeScript): string {
    return fs.readFileSync(probePath(name), "utf8");
}

/** probe.sh's environment for a check plan. */
export function probeEnv(checks: readonly PlannedCheck[], meta: Record<string, string>, timeoutSeconds: number): Record<string, string> {
    const bad = Object.entries(meta).find(([k, v]) => !/^[A-Za-z0-9_.-]+$/.test(k) || !/^[A-Za-z0-9_.:@/-]*$/.test(v));
    if (bad) throw new Error(`probe meta ${bad[0]}=${JSON.stringify(bad[1])}: keys and values are letters, digits and . _ : @ / -`);
    return {
        DPC_CHECKS: checks.map((c) => c.line).join("\n"),
        DPC_TIMEOUT: String(timeoutSeconds),
        DPC_META: Object.entries(meta).map(([k, v]) => `${k}=${v}`).join(" "),
    };
}

/** Pings per peer the Tailscale probe makes (tailscale ping stops early once a pong comes direct). */
export const TAILSCALE_PINGS = 5;

/**
 * The command that runs check/probes/tailscale.sh next to a tailscaled: the cluster runner execs it
 * in a TailscaleDirect pod (`kubectl exec ... -- <argv>`), the direct-connection lab in a device's
 * network namespace. `socket` and `checkPortScript` as the pod has them; `peers` to `tailscale ping`.
 */
export function tailscaleProbeCommand(o: { socket: string; checkPortScript?: string; peers: readonly string[]; timeoutSeconds: number; pod: string }): { argv: string[]; timeoutMs: number } {
    return {
        argv: ["env", `DPC_SOCKET=${o.socket}`, `DPC_PORT_CHECK=${o.checkPortScript ?? ""}`, `DPC_PEERS=${o.peers.join(" ")}`, `DPC_PINGS=${TAILSCALE_PINGS}`,
            `DPC_TIMEOUT=${o.timeoutSeconds}`, `DPC_META=pod=${o.pod}`, "sh", "-c", probeText("tailscale.sh")],
        timeoutMs: 30_000 + o.peers.length * TAILSCALE_PINGS * (o.timeoutSeconds + 1) * 1000,
    };
}
