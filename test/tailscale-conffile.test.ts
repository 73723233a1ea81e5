/**
 * The rendered tailscaled config files, loaded by tailscale's own parser (tailscale.com/ipn/conffile
 * at the pinned version, strict about unknown fields) through a small Go program,
 * test/fixtures/tailscale-conffile. It is built once into the binary cache
 * (${XDG_CACHE_HOME:-~/.cache}/directpath/bin/tailscale-conffile@<version>/) from the Go module
 * proxy; without Go or the proxy the test skips with a message.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { validateTailscaleArgs, type TailscaleDirectArgs } from "../components/tailscale";
import { TAILSCALE_DEFAULT_IMAGE } from "../components/tailscale/args";
import { renderTailscaledConfigMap } from "../components/tailscale/render";
import { ROOT } from "./harness";

const SRC = path.join(ROOT, "test/fixtures/tailscale-conffile");
const VERSION = /require tailscale\.com (v\S+)/.exec(fs.readFileSync(path.join(SRC, "go.mod"), "utf8"))?.[1] ?? "unknown";
const CACHE = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "directpath", "bin", `tailscale-conffile@${VERSION}`);
// The binary's name carries a hash of its source, so an edited main.go never runs as a stale build.
const SOURCE_HASH = createHash("sha256").update(fs.readFileSync(path.join(SRC, "main.go"))).update(fs.readFileSync(path.join(SRC, "go.mod"))).digest("hex").slice(0, 12);
const BIN = path.join(CACHE, `tailscale-conffile-${SOURCE_HASH}`);

function ensureBinary(): string | undefined {
    if (fs.existsSync(BIN)) return undefined;
    const go = spawnSync("go", ["version"], { encoding: "utf8" });
    if (go.status !== 0) return "no go toolchain on PATH";
    fs.mkdirSync(CACHE, { recursive: true });
    const build = spawnSync("go", ["build", "-o", BIN, "."], { cwd: SRC, encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" }, timeout: 600_000 });
    if (build.status !== 0) return `go build failed (is the Go module proxy reachable?): ${(build.stderr || String(build.error)).trim().slice(-400)}`;
    return undefined;
}

const skipReason = ensureBinary();
if (skipReason) console.warn(`tailscale-conffile: SKIPPED: ${skipReason}`);

interface Loaded {
    path: string;
    error?: string;
    hostname?: string;
    authKey?: string;
    locked?: string;
    serverURL?: string;
    staticEndpoints?: string[];
    relayServerPort?: number;
    relayServerStaticEndpoints?: string[];
    advertiseRoutes: string[];
    corpDNS: boolean;
    routeAll: boolean;
    wantRunning: boolean;
}

function load(files: Record<string, string>): Record<string, Loaded> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-conffile-"));
    const paths = Object.entries(files).map(([k, v]) => {
        const p = path.join(dir, k);
        fs.writeFileSync(p, v);
        return p;
    });
    const res = spawnSync(BIN, paths, { encoding: "utf8" });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Loaded[];
    return Object.fromEntries(out.map((l) => [path.basename(l.path), l]));
}

describe("the parser is the pinned version", () => {
    it("test/fixtures/tailscale-conffile requires the tailscale.com version of the default image", () => {
        expect(VERSION).toBe(TAILSCALE_DEFAULT_IMAGE.tag);
    });
});

describe.skipIf(skipReason !== undefined)(`tailscale's conffile parser (${VERSION}) loads the rendered config files`, () => {
    it("pod mode with relay: every node's file loads, with its static endpoints, relay port and relay endpoints", () => {
        const s = validateTailscaleArgs("ts", {
            authKey: "k", tags: ["tag:k8s"], network: "pod", nodePort: 30641, routes: ["10.233.0.0/18", "fd00:10::/108"],
            nodes: [{ name: "node-a", publicIps: ["203.0.113.10"] }, { name: "node-b", publicIps: ["198.51.100.20", "2001:db8::20"] }],
            relay: { port: 40000, nodePort: 30640 },
        } as TailscaleDirectArgs);
        const loaded = load(renderTailscaledConfigMap("ts", s).data);
        expect(loaded["node-a.hujson"]).toEqual({
            path: expect.any(String),
            hostname: "k8s-node-a",
            authKey: "file:/etc/directpath/auth/TS_AUTHKEY",
            locked: "false",
            staticEndpoints: ["203.0.113.10:30641"],
            relayServerPort: 40000,
            relayServerStaticEndpoints: ["203.0.113.10:30640"],
            advertiseRoutes: ["10.233.0.0/18", "fd00:10::/108"],
            corpDNS: false,
            routeAll: false,
            wantRunning: true,
        });
        expect(loaded["node-b.hujson"]!.staticEndpoints).toEqual(["198.51.100.20:30641", "[2001:db8::20]:30641"]);
        expect(loaded["node-b.hujson"]!.relayServerStaticEndpoints).toEqual(["198.51.100.20:30640", "[2001:db8::20]:30640"]);
    });

    it("host mode with relay: the any-node file loads, relay port set, no static endpoints", () => {
        const s = validateTailscaleArgs("ts", { authKey: "k", tags: ["tag:k8s"], relay: { port: 40000 } });
        const loaded = load(renderTailscaledConfigMap("ts", s).data);
        const any = loaded["any-node.hujson"]!;
        expect(any.error).toBeUndefined();
        expect(any.relayServerPort).toBe(40000);
        expect(any.staticEndpoints).toBeUndefined();
        expect(any.advertiseRoutes).toEqual([]);
    });

    it("loginServer is the ServerURL tailscaled reads", () => {
        const s = validateTailscaleArgs("ts", { authKey: "k", tags: ["tag:k8s"], relay: {}, loginServer: "https://headscale.example.com" });
        const loaded = load(renderTailscaledConfigMap("ts", s).data);
        expect(loaded["any-node.hujson"]!.error).toBeUndefined();
        expect(loaded["any-node.hujson"]!.serverURL).toBe("https://headscale.example.com");
    });

    it("pod mode without relay: RelayServerPort stays unset (no relay server)", () => {
        const s = validateTailscaleArgs("ts", { authKey: "k", network: "pod", nodePort: 30641, nodes: [{ name: "n", publicIps: ["203.0.113.1"] }] } as TailscaleDirectArgs);
        const loaded = load(renderTailscaledConfigMap("ts", s).data);
        expect(loaded["n.hujson"]!.error).toBeUndefined();
        expect(loaded["n.hujson"]!.relayServerPort).toBeUndefined();
    });

    it("the parser is strict: a misspelt field is an error (so the passes above mean something)", () => {
        const loaded = load({ "bad.hujson": JSON.stringify({ Version: "alpha0", StaticEndpoint: ["203.0.113.1:1"] }) });
        expect(loaded["bad.hujson"]!.error).toMatch(/unknown field "StaticEndpoint"/);
    });
});
