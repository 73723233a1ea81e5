/**
 * A tiny fake Kubernetes API for CoreDNS's `kubernetes` plugin in tests: serves Services,
 * Namespaces and (empty) EndpointSlices as JSON, over client-go's streaming list (watch with
 * sendInitialEvents) and plain list + watch, and lets a test replace a Service (a delete and a
 * re-create with a new ClusterIP). Loopback only. Test helper, not a test.
 */
import * as http from "node:http";

export interface FakeService {
    namespace: string;
    name: string;
    clusterIP: string;
    port: number;
}

export interface FakeKubeApi {
    url: string;
    /** Deletes the Service of that namespace/name and creates it again with a new ClusterIP. */
    recreateService(svc: FakeService): void;
    close(): Promise<void>;
}

type Obj = Record<string, unknown>;

export function startFakeKubeApi(address: string, services: FakeService[]): Promise<FakeKubeApi> {
    let rv = 100;
    let uid = 0;
    const toObj = (s: FakeService): Obj => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: s.name, namespace: s.namespace, resourceVersion: String(++rv), uid: `uid-${++uid}` },
        spec: { type: "ClusterIP", clusterIP: s.clusterIP, clusterIPs: [s.clusterIP], ports: [{ name: "p", port: s.port, protocol: "TCP" }] },
    });
    const svcs = new Map<string, Obj>(services.map((s) => [`${s.namespace}/${s.name}`, toObj(s)]));
    const namespaces = () => [...new Set(services.map((s) => s.namespace))].map((n) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name: n, resourceVersion: "1", uid: `ns-${n}` } }));
    const watchers = new Set<{ path: string; res: http.ServerResponse }>();
    const KINDS: Record<string, [string, string, () => Obj[]]> = {
        "/api/v1/services": ["Service", "v1", () => [...svcs.values()]],
        "/api/v1/namespaces": ["Namespace", "v1", namespaces],
        "/apis/discovery.k8s.io/v1/endpointslices": ["EndpointSlice", "discovery.k8s.io/v1", () => []],
    };

    const server = http.createServer((req, res) => {
        const u = new URL(req.url ?? "/", "http://fake");
        const kind = KINDS[u.pathname];
        if (!kind) {
            res.writeHead(404, { "content-type": "application/json" });
            res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
            return;
        }
        const [k, apiVersion, items] = kind;
        if (u.searchParams.get("watch") === "true" || u.searchParams.get("watch") === "1") {
            res.writeHead(200, { "content-type": "application/json" });
            if (u.searchParams.get("sendInitialEvents") === "true") {
                for (const o of items()) res.write(JSON.stringify({ type: "ADDED", object: o }) + "\n");
                res.write(JSON.stringify({ type: "BOOKMARK", object: { kind: k, apiVersion, metadata: { resourceVersion: String(rv), annotations: { "k8s.io/initial-events-end": "true" } } } }) + "\n");
            }
            const w = { path: u.pathname, res };
            watchers.add(w);
            req.on("close", () => watchers.delete(w));
            return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ kind: `${k}List`, apiVersion, metadata: { resourceVersion: String(rv) }, items: items() }));
    });

    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, address, () => {
            const port = (server.address() as { port: number }).port;
            resolve({
                url: `http://${address}:${port}`,
                recreateService(s) {
                    const key = `${s.namespace}/${s.name}`;
                    const old = svcs.get(key);
                    const next = toObj(s);
                    svcs.set(key, next);
                    for (const w of watchers) {
                        if (w.path !== "/api/v1/services") continue;
                        if (old) w.res.write(JSON.stringify({ type: "DELETED", object: { ...old, metadata: { ...(old.metadata as Obj), resourceVersion: String(++rv) } } }) + "\n");
                        w.res.write(JSON.stringify({ type: "ADDED", object: next }) + "\n");
                    }
                },
                close: () =>
                    new Promise((r) => {
                        for (const w of watchers) w.res.end();
                        server.closeAllConnections();
                        server.close(() => r());
                    }),
            });
        });
    });
}
