/**
 * Undoing the `corefile` delivery on delete (components/hairpin/dns-restore.ts): the pure region
 * removal, the restore requests sent to an API server (a recording HTTP server in this process,
 * loopback only), and how the patches are wired (a `beforeDelete` hook where the engine runs
 * hooks, `retainOnDelete` where it doesn't). The deploy lab (lab/deploy) runs the same restore
 * against a real kube-apiserver through the real engine.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HairpinBypass, type HairpinBypassArgs } from "../components/hairpin";
import { markRegion, mergeCorefile } from "../components/hairpin/corefile";
import { removeRegion, restoreConfigMapKey, RESTORE_FIELD_MANAGER, type RestoreTarget } from "../components/hairpin/dns-restore";
import { kubeTargetFromKubeconfig } from "../components/hairpin/kube-api";
import { installMocks, settle } from "../plan/runtime";

const BASE = `.:53 {
    errors
    health
    ready
    bind 169.254.25.10
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
    }
    forward . /etc/resolv.conf
    reload
}
`;
const BLOCK = "registry.example.com:53 {\n    template IN A registry.example.com {\n        answer \"{{ .Name }} 30 IN A 192.168.10.100\"\n    }\n}\n";

describe("removeRegion", () => {
    it("takes a merged Corefile back to the base byte for byte", () => {
        const merged = mergeCorefile(BASE, "hairpin-local", BLOCK);
        expect(merged).not.toBe(BASE);
        expect(removeRegion(merged, "hairpin-local")).toBe(BASE);
    });
    it("keeps what the owner changed outside the region, and other components' regions", () => {
        const owners = BASE.replace("forward . /etc/resolv.conf", "forward . 10.0.0.53") + "# owner's trailing comment\n";
        const other = markRegion("hairpin-other", "other.example:53 {\n}\n");
        const both = other + mergeCorefile(owners, "hairpin-local", BLOCK);
        const restored = removeRegion(both, "hairpin-local")!;
        expect(restored).toBe(other + owners);
        expect(restored).toContain("# BEGIN directpath hairpin-other");
        expect(restored).not.toContain("hairpin-local");
    });
    it("is undefined when the region is gone (the owner rewrote the Corefile), and refuses an unterminated region", () => {
        expect(removeRegion(BASE, "hairpin-local")).toBeUndefined();
        const broken = mergeCorefile(BASE, "hairpin-local", BLOCK).replace("# END directpath hairpin-local\n", "");
        expect(() => removeRegion(broken, "hairpin-local")).toThrow(/without its '# END directpath hairpin-local' line/);
    });
    it("does not mistake a longer id for its own", () => {
        const merged = mergeCorefile(BASE, "hairpin-local2", BLOCK);
        expect(removeRegion(merged, "hairpin-local")).toBeUndefined();
    });
});

/** A recording stand-in for the API server's ConfigMap endpoints (the lab uses the real one). */
interface Seen {
    method: string;
    url: string;
    contentType?: string;
    body?: unknown;
}
let server: http.Server;
let seen: Seen[] = [];
let liveObject: { metadata: { uid: string; name: string; namespace: string }; data: Record<string, string> } | undefined;
let url = "";

beforeAll(async () => {
    server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            seen.push({ method: req.method!, url: req.url!, contentType: req.headers["content-type"], body: text ? JSON.parse(text) : undefined });
            if (!liveObject) {
                res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 404 }));
                return;
            }
            if (req.method === "PATCH") liveObject.data = { ...liveObject.data, ...(JSON.parse(text) as { data: Record<string, string> }).data };
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(liveObject));
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const target: RestoreTarget = { namespace: "kube-system", configMap: "coredns", key: "Corefile", regionId: "hairpin-local" };

describe("restoreConfigMapKey", () => {
    it("writes the base Corefile back with a forced apply under its own field manager", async () => {
        seen = [];
        liveObject = { metadata: { uid: "u-1", name: "coredns", namespace: "kube-system" }, data: { Corefile: mergeCorefile(BASE, "hairpin-local", BLOCK), other: "x" } };
        const r = await restoreConfigMapKey({ server: url, source: "test" }, target, "u-1");
        expect(r.action).toBe("restored");
        expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
            "GET /api/v1/namespaces/kube-system/configmaps/coredns",
            `PATCH /api/v1/namespaces/kube-system/configmaps/coredns?fieldManager=${RESTORE_FIELD_MANAGER}&force=true`,
        ]);
        expect(seen[1]!.contentType).toBe("application/apply-patch+yaml");
        // Only the one key, nothing else of the object.
        expect(seen[1]!.body).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" }, data: { Corefile: BASE } });
        expect(liveObject.data.Corefile).toBe(BASE);
    });
    it("with no region left, keeps the owner's text but still takes the key over (so the relinquish can't remove it)", async () => {
        seen = [];
        liveObject = { metadata: { uid: "u-1", name: "coredns", namespace: "kube-system" }, data: { Corefile: BASE + "# rewritten by kubespray\n" } };
        const r = await restoreConfigMapKey({ server: url, source: "test" }, target, "u-1");
        expect(r.action).toBe("kept");
        expect((seen[1]!.body as { data: Record<string, string> }).data.Corefile).toBe(BASE + "# rewritten by kubespray\n");
    });
    it("refuses another object of the same name (another cluster): nothing written", async () => {
        seen = [];
        liveObject = { metadata: { uid: "u-2", name: "coredns", namespace: "kube-system" }, data: { Corefile: mergeCorefile(BASE, "hairpin-local", BLOCK) } };
        await expect(restoreConfigMapKey({ server: url, source: "/home/me/.kube/config" }, target, "u-1")).rejects.toThrow(/kube-system\/coredns reached via \/home\/me\/.kube\/config has uid u-2, not u-1/);
        expect(seen.map((s) => s.method)).toEqual(["GET"]);
    });
    it("does nothing when the ConfigMap is gone", async () => {
        seen = [];
        liveObject = undefined;
        expect((await restoreConfigMapKey({ server: url, source: "test" }, target, "u-1")).action).toBe("gone");
        expect(seen.map((s) => s.method)).toEqual(["GET"]);
    });
});

describe("kubeconfig", () => {
    it("reads the current context's server, CA, client certificate and key", () => {
        const b64 = (s: string) => Buffer.from(s).toString("base64");
        const text = [
            "apiVersion: v1",
            "current-context: lab",
            "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:16443/', certificate-authority-data: " + b64("CA") + "}}]",
            "users: [{name: u, user: {client-certificate-data: " + b64("CERT") + ", client-key-data: " + b64("KEY") + "}}, {name: t, user: {token: abc}}]",
            "contexts: [{name: lab, context: {cluster: c, user: u}}, {name: tok, context: {cluster: c, user: t}}]",
        ].join("\n");
        const t = kubeTargetFromKubeconfig(text, "kc", "/");
        expect({ server: t.server, ca: t.ca?.toString(), cert: t.cert?.toString(), key: t.key?.toString(), token: t.token }).toEqual({ server: "https://127.0.0.1:16443", ca: "CA", cert: "CERT", key: "KEY", token: undefined });
        expect(kubeTargetFromKubeconfig(text.replace("current-context: lab", "current-context: tok"), "kc", "/").token).toBe("abc");
        expect(() => kubeTargetFromKubeconfig(text.replace("current-context: lab", "current-context: nope"), "kc", "/")).toThrow(/kc has no current context/);
    });
});

// ---- how the patches are wired ----

type Args = HairpinBypassArgs;
const registry = () => ({
    name: "registry",
    hostnames: ["registry.example.com"],
    externalIps: ["169.233.100.10"],
    internalAddress: "192.168.10.100",
    ports: [{ port: 443, protocol: "TCP" as const, name: "https", targetPort: 8443, internalPort: 443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" as const } },
});
const corefileArgs = (endpoints: unknown[]) => ({
    endpoints,
    dns: {
        coredns: { delivery: "corefile", baseCorefile: BASE },
        nodeLocalDns: { enabled: true, corednsAddress: "10.233.0.3", baseCorefile: BASE },
    },
}) as unknown as Args;

interface Wiring {
    retainOnDelete: Record<string, boolean>;
    beforeDelete: Record<string, string[]>;
    hooks: string[];
}

/** Runs the component under mocks, optionally with an engine that supports hooks (recorded, never run). */
async function wiring(args: Args, hooksSupported: boolean): Promise<Wiring> {
    installMocks();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): Record<string, (...a: unknown[]) => unknown> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> };
    const monitor = settings.getMonitor();
    const out: Wiring = { retainOnDelete: {}, beforeDelete: {}, hooks: [] };
    const original = monitor.registerResource!.bind(monitor);
    monitor.registerResource = (req: unknown, cb: unknown) => {
        const r = req as { getName(): string; getType(): string; getRetainondelete?(): boolean | undefined; getHooks?(): { getBeforeDeleteList(): string[] } | undefined };
        if (r.getType().endsWith("Patch")) {
            out.retainOnDelete[r.getName()] = r.getRetainondelete?.() === true;
            out.beforeDelete[r.getName()] = r.getHooks?.()?.getBeforeDeleteList() ?? [];
        }
        return original(req, cb);
    };
    state.getStore().supportsResourceHooks = hooksSupported;
    if (hooksSupported) {
        // The mock monitor has no hook registration; record the names the way the engine would.
        monitor.registerResourceHook = (req: unknown, cb: unknown) => {
            out.hooks.push((req as { getName(): string }).getName());
            (cb as (e: null, r: unknown) => void)(null, {});
        };
        // A callback server bound to this monitor (the runtime keeps one per process).
        const store = state.getStore() as { callbacks?: { shutdown?(): void } };
        store.callbacks?.shutdown?.();
        store.callbacks = undefined;
    }
    try {
        new HairpinBypass("t", args);
        await settle();
        // Hook registration starts once the callback server listens; give it that moment.
        await new Promise((r) => setTimeout(r, 300));
        await settle();
    } finally {
        state.getStore().supportsResourceHooks = false;
    }
    return out;
}

describe("Corefile patches on delete", () => {
    it("where the engine runs hooks: a named beforeDelete restore hook on each, no retainOnDelete", async () => {
        const w = await wiring(corefileArgs([registry()]), true);
        expect(w.beforeDelete).toEqual({ "t-coredns-corefile": ["t-coredns-corefile-restore"], "t-nodelocaldns": ["t-nodelocaldns-restore"] });
        expect(w.retainOnDelete).toEqual({ "t-coredns-corefile": false, "t-nodelocaldns": false });
        expect(w.hooks.sort()).toEqual(["t-coredns-corefile-restore", "t-nodelocaldns-restore"]);
    });
    it("the hooks stay registered when the patches go (no hostnames), so deleting them finds the hook", async () => {
        const w = await wiring(corefileArgs([{ ...registry(), hostnames: [] }]), true);
        expect(w.beforeDelete).toEqual({});
        expect(w.hooks.sort()).toEqual(["t-coredns-corefile-restore", "t-nodelocaldns-restore"]);
    });
    it("where it doesn't (mocks, an old CLI): retainOnDelete, which keeps the override rather than removing the key", async () => {
        const w = await wiring(corefileArgs([registry()]), false);
        expect(w.retainOnDelete).toEqual({ "t-coredns-corefile": true, "t-nodelocaldns": true });
        expect(w.beforeDelete).toEqual({ "t-coredns-corefile": [], "t-nodelocaldns": [] });
    });
    it("the coredns-custom delivery owns only its key: no hook, no retain", async () => {
        const w = await wiring({ endpoints: [registry()] } as unknown as Args, true);
        expect(w.retainOnDelete).toEqual({ "t-coredns-custom": false, "t-coredns-rollout": false });
        expect(w.hooks).toEqual([]);
    });
});

