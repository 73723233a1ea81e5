/**
 * The rendered Corefile text, run by a real CoreDNS on loopback. Runs when a `coredns` binary is
 * on PATH or at lab/.bin/coredns (install: GOBIN=$PWD/lab/.bin go install
 * github.com/coredns/coredns@$(cat /work/notes/coredns-version.txt) — v1.14.7 here); otherwise
 * skips with a message. The upstream is a stub resolver in this process (node's dgram), so no
 * packet leaves 127.0.0.0/8.
 *
 * Three real setups:
 * - `coredns-custom` delivery as k3s wires it: a `.:PORT` block plus `import custom/*.server`, with
 *   directpath's block in that directory under its ConfigMap key name;
 * - `corefile` delivery: the merged Corefile exactly as the ConfigMapPatch would write it;
 * - NodeLocal DNSCache: a second CoreDNS with kubespray's node-local shape plus directpath's blocks,
 *   forwarding to the first;
 * - a Service backend: the rewrite block with its `kubernetes` plugin, pointed (the one edit to the
 *   rendered text) at a fake API server in this process, answering the Service's ClusterIP and
 *   following it when the Service is re-created with a new one.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as dgram from "node:dgram";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeCorefile, renderOverrideServerBlock } from "../components/hairpin/corefile";
import { renderNodeLocalBlocks } from "../components/hairpin/nodelocaldns";
import { startFakeKubeApi, type FakeKubeApi } from "./coredns-fake-api";
import { query, startStubUpstream, TYPE, type StubUpstream } from "./coredns-wire";
import { ROOT } from "./harness";

function findCoredns(): string | undefined {
    const local = path.join(ROOT, "lab", ".bin", "coredns");
    if (fs.existsSync(local)) return local;
    const which = spawnSync("sh", ["-c", "command -v coredns"], { encoding: "utf8" });
    return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

const COREDNS = findCoredns();
if (!COREDNS) {
    console.warn("coredns-live: SKIPPED: no coredns binary on PATH or at lab/.bin/coredns (GOBIN=$PWD/lab/.bin go install github.com/coredns/coredns@v1.14.7)");
}

const LO = "127.0.0.1";
const STUB_A = "203.0.113.7";
const INTERNAL = "192.168.10.100";

/** A loopback port free for both UDP and TCP (CoreDNS listens on both). */
async function freePort(address: string): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 40000);
        const ok = await new Promise<boolean>((resolve) => {
            const u = dgram.createSocket("udp4");
            u.once("error", () => resolve(false));
            u.bind(port, address, () => {
                const t = net.createServer();
                t.once("error", () => u.close(() => resolve(false)));
                t.listen(port, address, () => t.close(() => u.close(() => resolve(true))));
            });
        });
        if (ok) return port;
    }
    throw new Error("no free loopback port");
}

interface Running {
    proc: ChildProcess;
    log: () => string;
}

const running: Running[] = [];
const dirs: string[] = [];

/** Starts CoreDNS on `dir/Corefile` and waits (at most 10 s) until `probe` answers. */
async function startCoredns(dir: string, server: { address: string; port: number }, probeName: string): Promise<Running> {
    let output = "";
    const proc = spawn(COREDNS!, ["-conf", path.join(dir, "Corefile")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d) => (output += String(d)));
    proc.stderr!.on("data", (d) => (output += String(d)));
    const r = { proc, log: () => output };
    running.push(r);
    const deadline = Date.now() + 10_000;
    for (;;) {
        if (proc.exitCode !== null) throw new Error(`coredns exited (${proc.exitCode}):\n${output}\nCorefile:\n${fs.readFileSync(path.join(dir, "Corefile"), "utf8")}`);
        try {
            await query(server, probeName, TYPE.A, 300);
            return r;
        } catch {
            if (Date.now() > deadline) throw new Error(`coredns did not answer within 10 s:\n${output}`);
            await new Promise((res) => setTimeout(res, 100));
        }
    }
}

function scratch(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-coredns-"));
    dirs.push(d);
    return d;
}

afterAll(async () => {
    for (const r of running) {
        if (r.proc.exitCode === null) {
            r.proc.kill("SIGTERM");
            await new Promise((res) => {
                const t = setTimeout(() => {
                    r.proc.kill("SIGKILL");
                    res(undefined);
                }, 3000);
                r.proc.once("exit", () => {
                    clearTimeout(t);
                    res(undefined);
                });
            });
        }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!COREDNS)("real CoreDNS runs the rendered config", () => {
    let stub: StubUpstream;
    beforeAll(async () => {
        stub = await startStubUpstream(LO, STUB_A);
    });
    afterAll(async () => {
        await stub?.close();
    });

    /** The cluster's own block, as the base every delivery must leave intact. */
    const clusterBlock = (port: number) => `.:${port} {\n    bind ${LO}\n    errors\n    forward . ${LO}:${stub.port}\n    cache 30\n    reload\n}\n`;
    const overrideBlock = (port: number) =>
        renderOverrideServerBlock({
            addresses: [{ hostname: "registry.example.com", addresses: [INTERNAL] }],
            services: [],
            upstream: [`${LO}:${stub.port}`],
            ttl: 30,
            clusterDomain: "cluster.local",
            port,
            bind: [LO],
        });

    async function expectOverrides(server: { address: string; port: number }) {
        const before = stub.asked.length;
        const a = await query(server, "registry.example.com", TYPE.A);
        expect(a.rcode).toBe(0);
        expect(a.answers).toEqual([{ name: "registry.example.com", type: TYPE.A, ttl: expect.any(Number), data: INTERNAL }]);
        expect(a.answers[0]!.ttl).toBeLessThanOrEqual(30);
        // Mixed case is the same name.
        const mixed = await query(server, "Registry.Example.COM", TYPE.A);
        expect(mixed.answers.map((r) => r.data)).toEqual([INTERNAL]);
        // The other family: the name exists, no records (NODATA), not the public AAAA.
        const aaaa = await query(server, "registry.example.com", TYPE.AAAA);
        expect(aaaa.rcode).toBe(0);
        expect(aaaa.answers).toEqual([]);
        // None of that reached the upstream.
        expect(stub.asked.slice(before).filter((q) => q.startsWith("registry.example.com/"))).toEqual([]);
        // A name below the overridden one, and an unrelated name: the upstream answers.
        const sub = await query(server, "v2.registry.example.com", TYPE.A);
        expect(sub.answers.map((r) => r.data)).toEqual([STUB_A]);
        const other = await query(server, "other.example.net", TYPE.A);
        expect(other.answers.map((r) => r.data)).toEqual([STUB_A]);
        expect(stub.asked).toContain("v2.registry.example.com/1");
        expect(stub.asked).toContain("other.example.net/1");
    }

    it("coredns-custom delivery: the .server key imported the way k3s and AKS import it", async () => {
        const dir = scratch();
        const port = await freePort(LO);
        fs.mkdirSync(path.join(dir, "custom"));
        fs.writeFileSync(path.join(dir, "custom", "directpath-hairpin-test.server"), overrideBlock(port));
        fs.writeFileSync(path.join(dir, "Corefile"), `${clusterBlock(port)}import custom/*.server\n`);
        await startCoredns(dir, { address: LO, port }, "probe.example.net");
        await expectOverrides({ address: LO, port });
    });

    it("corefile delivery: the merged Corefile the patch writes", async () => {
        const dir = scratch();
        const port = await freePort(LO);
        const merged = mergeCorefile(clusterBlock(port), "hairpin-test", overrideBlock(port));
        expect(merged.endsWith(clusterBlock(port))).toBe(true);
        fs.writeFileSync(path.join(dir, "Corefile"), merged);
        await startCoredns(dir, { address: LO, port }, "probe.example.net");
        await expectOverrides({ address: LO, port });
    });

    it("NodeLocal DNSCache blocks forward the overridden name to CoreDNS, the rest upstream", async () => {
        // CoreDNS with the override (corefile delivery).
        const coreDir = scratch();
        const corePort = await freePort(LO);
        fs.writeFileSync(path.join(coreDir, "Corefile"), mergeCorefile(clusterBlock(corePort), "hairpin-test", overrideBlock(corePort)));
        await startCoredns(coreDir, { address: LO, port: corePort }, "probe.example.net");

        // node-local-dns: kubespray's shape (cluster domain to CoreDNS, the rest upstream) on another
        // loopback address, plus directpath's blocks.
        const nlAddr = "127.0.0.2";
        const nlPort = await freePort(nlAddr);
        const base = [
            `cluster.local:${nlPort} {`, "    errors", "    cache 30", "    reload", "    loop", `    bind ${nlAddr}`, `    forward . ${LO}:${corePort} {`, "        force_tcp", "    }", "}",
            `.:${nlPort} {`, "    errors", "    cache 30", "    reload", "    loop", `    bind ${nlAddr}`, `    forward . ${LO}:${stub.port}`, "}", "",
        ].join("\n");
        const blocks = renderNodeLocalBlocks({ hostnames: ["registry.example.com"], bind: [nlAddr], corednsAddress: `${LO}:${corePort}`, cache: 30, prometheusPort: 0, port: nlPort });
        const nlDir = scratch();
        fs.writeFileSync(path.join(nlDir, "Corefile"), mergeCorefile(base, "hairpin-test", blocks));
        await startCoredns(nlDir, { address: nlAddr, port: nlPort }, "probe.example.net");

        const before = stub.asked.length;
        const a = await query({ address: nlAddr, port: nlPort }, "registry.example.com", TYPE.A);
        expect(a.answers.map((r) => r.data)).toEqual([INTERNAL]);
        expect(stub.asked.slice(before).filter((q) => q.startsWith("registry.example.com/"))).toEqual([]);
        const other = await query({ address: nlAddr, port: nlPort }, "elsewhere.example.org", TYPE.A);
        expect(other.answers.map((r) => r.data)).toEqual([STUB_A]);
    });

    it("Service backend: rewritten to the cluster name, answered with the ClusterIP, and a new ClusterIP is followed", async () => {
        const api: FakeKubeApi = await startFakeKubeApi(LO, [{ namespace: "git", name: "gitea", clusterIP: "10.233.7.7", port: 443 }]);
        try {
            const dir = scratch();
            const port = await freePort(LO);
            const block = renderOverrideServerBlock({
                addresses: [],
                services: [{ hostname: "git.example.com", target: "gitea.git.svc.cluster.local" }],
                upstream: [`${LO}:${stub.port}`],
                ttl: 5,
                clusterDomain: "cluster.local",
                port,
                bind: [LO],
            });
            const anchor = "    kubernetes cluster.local {\n";
            expect(block).toContain(anchor);
            const pointed = block.replace(anchor, `${anchor}        endpoint ${api.url}\n`);
            fs.writeFileSync(path.join(dir, "Corefile"), mergeCorefile(clusterBlock(port), "hairpin-test", pointed));
            await startCoredns(dir, { address: LO, port }, "probe.example.net");
            const server = { address: LO, port };

            const a = await query(server, "git.example.com", TYPE.A);
            expect(a.rcode).toBe(0);
            // The answer carries the asked name (exact rewrites are mapped back), not the cluster name.
            expect(a.answers).toEqual([{ name: "git.example.com", type: TYPE.A, ttl: expect.any(Number), data: "10.233.7.7" }]);

            api.recreateService({ namespace: "git", name: "gitea", clusterIP: "10.233.9.9", port: 443 });
            const deadline = Date.now() + 5000;
            let now = a;
            while (now.answers[0]?.data !== "10.233.9.9" && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 100));
                now = await query(server, "git.example.com", TYPE.A);
            }
            expect(now.answers.map((r) => r.data)).toEqual(["10.233.9.9"]);

            // Below the name: upstream, as before.
            const sub = await query(server, "v2.git.example.com", TYPE.A);
            expect(sub.answers.map((r) => r.data)).toEqual([STUB_A]);
        } finally {
            await api.close();
        }
    });
});
