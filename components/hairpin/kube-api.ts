/**
 * The smallest Kubernetes API client the DNS restore hook needs (dns-restore.ts): GET a ConfigMap
 * and server-side-apply one. It reads a kubeconfig the way kubectl does for the common cases
 * (KUBECONFIG's first file that exists, else ~/.kube/config; the current context; a CA file or
 * data, or insecure-skip-tls-verify; client certificate and key files or data, a bearer token or
 * token file, or an `exec` credential plugin such as `aws eks get-token`). It never prints
 * credentials; errors name the kubeconfig file and field instead.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

export interface KubeTarget {
    server: string;
    ca?: Buffer;
    insecure?: boolean;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
    /** Where the settings came from (for error messages). */
    source: string;
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
    "current-context"?: string;
    clusters?: Array<Named<{ cluster: Record<string, unknown> }>>;
    users?: Array<Named<{ user: Record<string, unknown> }>>;
    contexts?: Array<Named<{ context: { cluster: string; user: string } }>>;
}

/** The kubeconfig file kubectl would use: the first existing file in KUBECONFIG, else ~/.kube/config. */
export function ambientKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const candidates = env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).filter(Boolean) : [path.join(env.HOME || os.homedir(), ".kube", "config")];
    return candidates.find((f) => fs.existsSync(f));
}

/** Parses a kubeconfig's current context into a target. `baseDir` resolves relative file paths. */
export function kubeTargetFromKubeconfig(text: string, source: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): KubeTarget {
    const cfg = (parseYaml(text) ?? {}) as KubeconfigFile;
    const ctxName = cfg["current-context"];
    const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context;
    if (!ctx) throw new Error(`directpath: kubeconfig ${source} has no current context (current-context: ${JSON.stringify(ctxName ?? null)})`);
    const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
    const user = cfg.users?.find((u) => u.name === ctx.user)?.user ?? {};
    if (!cluster || typeof cluster.server !== "string") throw new Error(`directpath: kubeconfig ${source}: cluster ${JSON.stringify(ctx.cluster)} of context ${JSON.stringify(ctxName)} has no server`);
    const file = (p: unknown) => fs.readFileSync(path.resolve(baseDir, String(p)));
    const data = (v: unknown) => Buffer.from(String(v), "base64");
    const t: KubeTarget = { server: cluster.server.replace(/\/+$/, ""), source };
    if (cluster["certificate-authority-data"]) t.ca = data(cluster["certificate-authority-data"]);
    else if (cluster["certificate-authority"]) t.ca = file(cluster["certificate-authority"]);
    if (cluster["insecure-skip-tls-verify"] === true) t.insecure = true;
    if (user["client-certificate-data"]) t.cert = data(user["client-certificate-data"]);
    else if (user["client-certificate"]) t.cert = file(user["client-certificate"]);
    if (user["client-key-data"]) t.key = data(user["client-key-data"]);
    else if (user["client-key"]) t.key = file(user["client-key"]);
    if (typeof user.token === "string") t.token = user.token;
    else if (user.tokenFile) t.token = file(user.tokenFile).toString("utf8").trim();
    const exec = user.exec as { command?: string; args?: string[]; env?: Array<{ name: string; value: string }> } | undefined;
    if (exec?.command) {
        const res = spawnSync(exec.command, exec.args ?? [], {
            encoding: "utf8",
            timeout: 60_000,
            env: { ...env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) },
        });
        if (res.status !== 0) throw new Error(`directpath: kubeconfig ${source}: the exec credential plugin ${exec.command} failed (${res.error?.message ?? `exit ${res.status}`})`);
        const status = (JSON.parse(res.stdout) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string } }).status ?? {};
        if (status.token) t.token = status.token;
        if (status.clientCertificateData) t.cert = Buffer.from(status.clientCertificateData);
        if (status.clientKeyData) t.key = Buffer.from(status.clientKeyData);
    }
    return t;
}

/** The ambient target (KUBECONFIG or ~/.kube/config), as the provider would use with no kubeconfig set. */
export function ambientKubeTarget(env: NodeJS.ProcessEnv = process.env): KubeTarget {
    const file = ambientKubeconfigPath(env);
    if (!file) throw new Error("directpath: no kubeconfig found (KUBECONFIG is unset or names no existing file, and there is no ~/.kube/config)");
    return kubeTargetFromKubeconfig(fs.readFileSync(file, "utf8"), file, path.dirname(file), env);
}

export interface KubeResponse {
    status: number;
    body: unknown;
}

/** One API request with a JSON (or apply-patch) body; resolves with the status and parsed body. */
export function kubeRequest(t: KubeTarget, method: string, apiPath: string, body?: unknown, contentType = "application/json", timeoutMs = 30_000): Promise<KubeResponse> {
    const url = new URL(t.server + apiPath);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: "application/json" };
    if (payload) {
        headers["Content-Type"] = contentType;
        headers["Content-Length"] = String(payload.length);
    }
    if (t.token) headers.Authorization = `Bearer ${t.token}`;
    const mod = url.protocol === "http:" ? http : https;
    return new Promise((resolve, reject) => {
        const req = mod.request(url, { method, headers, ca: t.ca, cert: t.cert, key: t.key, rejectUnauthorized: !t.insecure, timeout: timeoutMs }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let parsed: unknown = text;
                try {
                    parsed = text ? JSON.parse(text) : undefined;
                } catch {
                    /* keep the text */
                }
                resolve({ status: res.statusCode ?? 0, body: parsed });
            });
        });
        req.on("timeout", () => req.destroy(new Error(`directpath: ${method} ${url.host}${apiPath} timed out after ${timeoutMs / 1000}s`)));
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}
