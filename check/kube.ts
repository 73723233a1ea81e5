/**
 * kubectl, with a time limit on every call. The check talks to the API server through the user's own
 * kubectl (not @kubernetes/client-node): it then authenticates exactly as the user's kubectl does,
 * exec credential plugins (aws eks get-token, OIDC, gke-gcloud-auth-plugin) included, and adds no
 * dependency to the library. The kubeconfig is passed by path and never read or printed.
 */
import { spawn } from "node:child_process";

export interface KubeResult {
    code: number;
    stdout: string;
    stderr: string;
    timedOut: boolean;
}

export class KubeError extends Error {}

export interface Kube {
    /** Runs `kubectl <args>`; never throws on a non-zero exit (the result says it). */
    run(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubeResult>;
    /** What the CLI prints about the connection (context name, no secrets). */
    describe(): string;
}

export interface KubectlOptions {
    kubectl?: string;
    kubeconfig?: string;
    context?: string;
    /** Default per-call limit. */
    timeoutMs?: number;
}

export function kubectl(o: KubectlOptions = {}): Kube {
    const bin = o.kubectl ?? "kubectl";
    const base = [...(o.kubeconfig ? ["--kubeconfig", o.kubeconfig] : []), ...(o.context ? ["--context", o.context] : [])];
    return {
        describe: () => `${bin}${o.kubeconfig ? ` --kubeconfig ${o.kubeconfig}` : ""}${o.context ? ` --context ${o.context}` : ""}`,
        run: (args, opts = {}) => new Promise((resolve) => {
            const limit = opts.timeoutMs ?? o.timeoutMs ?? 30_000;
            const child = spawn(bin, [...base, ...args], { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            let timedOut = false;
            const timer = setTimeout(() => {
                timedOut = true;
                child.kill("SIGKILL");
            }, limit);
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
            child.on("error", (e) => {
                clearTimeout(timer);
                resolve({ code: 127, stdout, stderr: `${stderr}${(e as NodeJS.ErrnoException).code === "ENOENT" ? `${bin} not found on PATH` : e.message}`, timedOut });
            });
            child.on("close", (code) => {
                clearTimeout(timer);
                resolve({ code: timedOut ? 124 : (code ?? 1), stdout, stderr: timedOut ? `${stderr}\nkubectl ${args[0]} timed out after ${limit / 1000}s` : stderr, timedOut });
            });
            child.stdin.end(opts.input ?? "");
        }),
    };
}

/** The first line of kubectl's error, for messages. */
export function kubeReason(r: KubeResult): string {
    return (r.stderr.trim().split("\n").find((l) => l.trim()) ?? `exit ${r.code}`).trim();
}
