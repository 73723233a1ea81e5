/**
 * A real kube-apiserver and etcd on loopback for tests (the pinned binaries the deploy lab builds
 * into ${XDG_CACHE_HOME:-~/.cache}/directpath/bin), with an admin kubeconfig. No kubelet, no
 * controllers: objects are stored and admitted, pods never run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath", "bin");
export const APISERVER = path.join(CACHE, "kubernetes@v1.33.13", "kube-apiserver");
export const ETCD = path.join(CACHE, "etcd@v3.5.35", "etcd");

/** Why a real API server can't run here, or undefined when it can. */
export function apiServerUnavailable(): string | undefined {
    if (!fs.existsSync(APISERVER) || !fs.existsSync(ETCD)) return `needs ${APISERVER} and ${ETCD} (built by npm run lab:deploy)`;
    if (spawnSync("kubectl", ["version", "--client"]).status !== 0) return "needs kubectl on PATH";
    return undefined;
}

const freePort = () => new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
    });
});

export interface ApiServer {
    dir: string;
    port: number;
    /** The admin's (system:masters). */
    kubeconfig: string;
    /** A kubeconfig in `dir` for a bearer token (one of `tokens`, or any other, which the server refuses). */
    kubeconfigFor: (token: string, file: string) => string;
    kubectl: (args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }) => { status: number | null; stdout: string; stderr: string };
    stop: () => void;
}

/** `tokens`: more lines of the token file (`token,user,uid[,groups]`), beside the admin's. */
export async function startApiServer(opts: { tokens?: string[] } = {}): Promise<ApiServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dp-apiserver-"));
    const procs: ChildProcess[] = [];
    const stop = () => {
        for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const log = (n: string) => fs.openSync(path.join(dir, `${n}.log`), "a");
    procs.push(spawn(ETCD, ["--data-dir", path.join(dir, "etcd"), "--listen-client-urls", `http://127.0.0.1:${etcdPort}`, "--advertise-client-urls", `http://127.0.0.1:${etcdPort}`,
        "--listen-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-cluster", `default=http://127.0.0.1:${peerPort}`], { stdio: ["ignore", log("etcd"), log("etcd")] }));
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    fs.writeFileSync(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }));
    fs.writeFileSync(path.join(dir, "tokens.csv"), ["admin-token,admin,1,system:masters", ...(opts.tokens ?? [])].join("\n") + "\n");
    procs.push(spawn(APISERVER, ["--etcd-servers", `http://127.0.0.1:${etcdPort}`, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", String(apiPort),
        "--cert-dir", path.join(dir, "certs"), "--token-auth-file", path.join(dir, "tokens.csv"), "--authorization-mode", "RBAC",
        "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", path.join(dir, "sa.key"), "--service-account-signing-key-file", path.join(dir, "sa.key"),
        "--service-cluster-ip-range", "10.96.0.0/16"], { stdio: ["ignore", log("apiserver"), log("apiserver")] }));
    const kubeconfigFor = (token: string, file: string) => {
        const p = path.join(dir, file);
        fs.writeFileSync(p, ["apiVersion: v1", "kind: Config", `clusters: [{name: c, cluster: {server: "https://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true}}]`,
            `users: [{name: u, user: {token: ${token}}}]`, "contexts: [{name: c, context: {cluster: c, user: u}}]", "current-context: c", ""].join("\n"), { mode: 0o600 });
        return p;
    };
    const kubeconfig = kubeconfigFor("admin-token", "admin.kubeconfig");
    const kubectl: ApiServer["kubectl"] = (args, opts = {}) => {
        const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", input: opts.input, timeout: 60_000, env: opts.env ?? process.env });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const until = Date.now() + 90_000;
    while (kubectl(["get", "--raw", "/readyz"]).status !== 0) {
        if (Date.now() > until) {
            const tail = fs.readFileSync(path.join(dir, "apiserver.log"), "utf8").slice(-2000);
            stop();
            throw new Error(`kube-apiserver not ready:\n${tail}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
    // The namespaces a cluster has from the start (the API server creates them only with its controllers' help).
    for (const ns of ["kube-system"]) if (kubectl(["get", "namespace", ns]).status !== 0) kubectl(["create", "namespace", ns]);
    return { dir, port: apiPort, kubeconfig, kubeconfigFor, kubectl, stop };
}
