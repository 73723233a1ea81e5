/**
 * `directpath check` as a library: the same pieces the CLI (check/cli.ts) and the network lab use.
 *
 *   import { runClusterCheck, kubectl, targetsFromPlanDir, formatTable } from "pulumi-directpath/check";
 *
 * Pure parts (parsers, verdicts, check plans, report) take and return plain data; the runner talks to
 * the API server through kubectl. The Tailscale lab calls {@link checkTailscaleProbes} on the output of
 * check/probes/tailscale.sh.
 */
export * from "./model";
export * from "./frame";
export * from "./parse";
export * from "./targets";
export * from "./checks";
export * from "./verdict";
export * from "./tailscale";
export * from "./report";
export * from "./rbac";
export { probeEnv, probePath, probeText, tailscaleProbeCommand, TAILSCALE_PINGS, PROBE_SCRIPTS, type ProbeScript } from "./probes";
export { readPlanDir, runPlan, targetsFromPlanDir, PlanError } from "./plan";
export { kubectl, type Kube, type KubeResult } from "./kube";
export { runClusterCheck, CheckRunError, DEFAULT_NAMESPACE, MANAGED_BY, type ClusterCheckOptions, type ClusterCheckResult } from "./cluster";
