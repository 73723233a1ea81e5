/**
 * The Corefile reader (components/hairpin/corefile.ts `parseCorefile`): what it accepts and
 * refuses, and proof that it agrees with the real CoreDNS, which refuses to start on a Corefile it
 * can't load. The live half runs when the pinned CoreDNS binary is at
 * ${XDG_CACHE_HOME:-~/.cache}/directpath/bin/coredns@<version>/coredns, lab/.bin/coredns or on
 * PATH, and skips with a message otherwise.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CorefileError, parseCorefile, parseZoneKey, rootZoneBlock, servedZones } from "../components/hairpin/corefile";
import { ROOT } from "./harness";

/** Corefiles CoreDNS loads. `P`, `Q`, `R` are replaced by free loopback ports; every block binds loopback. */
const ACCEPTED: Record<string, string> = {
    "a root block": ".:P {\n    bind 127.0.0.1\n    errors\n    cache 30\n    forward . 127.0.0.1:Q\n}\n",
    "keys continued with a trailing comma": "example.org:P,\n  example.net:P {\n    bind 127.0.0.1\n    whoami\n}\n",
    "comments, and braces inside a quoted token": ".:P { # the main block\n    bind 127.0.0.1 # loopback\n    template IN A example.org {\n        answer \"{{ .Name }} 60 IN A 10.0.0.1\"\n        fallthrough\n    }\n    forward . 127.0.0.1:Q\n}\n",
    "a reverse CIDR zone": "10.0.0.0/24:P {\n    bind 127.0.0.1\n    whoami\n}\n",
    "an uppercase zone with a trailing dot": "Example.ORG.:P {\n    bind 127.0.0.1\n    whoami\n}\n",
    "a dns:// key": "dns://example.org:P {\n    bind 127.0.0.1\n    whoami\n}\n",
    "one zone on two ports": "example.org:P {\n    bind 127.0.0.1\n    whoami\n}\nexample.org:Q {\n    bind 127.0.0.1\n    whoami\n}\n",
    "one zone and port on two listen addresses": "example.org:P {\n    bind 127.0.0.1\n    whoami\n}\nexample.org:P {\n    bind 127.0.0.2\n    whoami\n}\n",
    "a snippet and an import": "(common) {\n    errors\n    cache 30\n}\n.:P {\n    bind 127.0.0.1\n    import common\n    whoami\n}\n",
    "a block without braces to the end of the file": ".:P\nbind 127.0.0.1\nwhoami\n",
    "kubespray's NodeLocal DNSCache shape": "cluster.local:P {\n    errors\n    cache {\n        success 9984 30\n        denial 9984 5\n    }\n    reload\n    loop\n    bind 127.0.0.1\n    forward . 127.0.0.1:Q {\n        force_tcp\n    }\n    prometheus 127.0.0.1:R\n}\nin-addr.arpa:P {\n    errors\n    cache 30\n    bind 127.0.0.1\n    forward . 127.0.0.1:Q {\n        force_tcp\n    }\n}\n.:P {\n    errors\n    cache 30\n    bind 127.0.0.1\n    forward . /etc/resolv.conf\n}\n",
    "an empty block": ".:P {\n    bind 127.0.0.1\n}\nexample.org:P {\n}\n".replace("example.org:P {\n}", "example.org:P {\n    bind 127.0.0.1\n}"),
};

/** Corefiles CoreDNS refuses to load, and what the parser says about each. */
const REJECTED: Record<string, { text: string; reason: RegExp }> = {
    "an empty label (a..b)": { text: "a..b:P {\n    bind 127.0.0.1\n    whoami\n}\n", reason: /line 1: zone "a\.\.b".*not a valid domain name/ },
    "a leading dot": { text: ".example.org:P {\n    bind 127.0.0.1\n    whoami\n}\n", reason: /not a valid domain name/ },
    "a label over 63 characters": { text: `${"x".repeat(64)}.example.org:P {\n    bind 127.0.0.1\n    whoami\n}\n`, reason: /not a valid domain name/ },
    "a key ending in ':'": { text: "example.org: {\n    bind 127.0.0.1\n    whoami\n}\n", reason: /ends with ':' and no port/ },
    "a trailing comma before '{'": { text: "example.org:P, {\n    bind 127.0.0.1\n    whoami\n}\n", reason: /expected another server block key/ },
    "a block that is never closed": { text: ".:P {\n    bind 127.0.0.1\n    whoami\n", reason: /line 1: the server block \.:\d+ opened with '\{' is never closed/ },
    "a nested block whose brace opens on the next line": { text: ".:P {\n    bind 127.0.0.1\n    forward . 127.0.0.1:Q\n    {\n        max_concurrent 10\n    }\n}\n", reason: /line 4: a '\{' on a line of its own: the block of directive "forward" \(line 3\)/ },
    "a '}' on a directive's line": { text: ".:P {\n    bind 127.0.0.1\n    whoami }\n}\n", reason: /line 3: unexpected '\}' on the line of directive "whoami"/ },
    "a misspelt plugin": { text: ".:P {\n    bind 127.0.0.1\n    forwrd . 127.0.0.1:Q\n}\n", reason: /line 3: unknown directive "forwrd"/ },
    "one zone served twice on one port": { text: "example.org:P {\n    bind 127.0.0.1\n    whoami\n}\nexample.org:P {\n    bind 127.0.0.1\n    whoami\n}\n", reason: /line 5: zone example\.org\. on port \d+ is served twice \(also by the block at line 1\)/ },
    "a bound and an unbound block for one zone and port": { text: "example.org:P {\n    bind 127.0.0.1\n    whoami\n}\nexample.org:P {\n    whoami\n}\n", reason: /served twice/ },
    "a one-line block": { text: ".:P { whoami }\n", reason: /unexpected '\}' on the line of directive "whoami"/ },
};

/**
 * Corefiles CoreDNS loads although they are a mistake in a pasted Corefile; the parser refuses
 * them on purpose (unbalanced braces, a block without a zone). Not run against CoreDNS: it would
 * start on them (the keyless one on port 53 of every interface).
 */
const STRICTER: Record<string, { text: string; reason: RegExp }> = {
    "a server block left open after its last nested block": { text: ".:P {\n    bind 127.0.0.1\n    forward . 127.0.0.1:Q {\n        force_tcp\n}\n", reason: /line 1: the server block .* is never closed/ },
    "a '{' with no key": { text: "{\n    whoami\n}\n", reason: /line 1: a '\{' with no server block key/ },
    "a stray '}' at the top level (CoreDNS would take it for a zone named '}')": { text: ".:53 {\n    whoami\n}\n}\n", reason: /line 4: unexpected '\}': no server block is open/ },
};

const fill = (text: string, ports: Record<string, number>) => text.replace(/:([PQR])\b/g, (_m, k: string) => `:${ports[k]}`);
const PLACEHOLDER_PORTS = { P: 1053, Q: 1054, R: 1055 };

describe("parseCorefile", () => {
    for (const [what, text] of Object.entries(ACCEPTED)) {
        it(`accepts ${what}`, () => {
            expect(() => parseCorefile(fill(text, PLACEHOLDER_PORTS))).not.toThrow();
        });
    }
    for (const [what, { text, reason }] of [...Object.entries(REJECTED), ...Object.entries(STRICTER)]) {
        it(`refuses ${what}`, () => {
            let error: unknown;
            try {
                parseCorefile(fill(text, PLACEHOLDER_PORTS));
            } catch (e) {
                error = e;
            }
            expect(error).toBeInstanceOf(CorefileError);
            expect((error as Error).message).toMatch(reason);
        });
    }

    it("reads server blocks, their zones, ports and directives", () => {
        const c = parseCorefile(fill(ACCEPTED["kubespray's NodeLocal DNSCache shape"]!, PLACEHOLDER_PORTS));
        expect(c.blocks.map((b) => [b.line, b.keys.map((k) => `${k.zones.join(",")}@${k.port}`)])).toEqual([
            [1, ["cluster.local.@1053"]],
            [15, ["in-addr.arpa.@1053"]],
            [23, [".@1053"]],
        ]);
        expect(c.blocks[0]!.directives.map((d) => d.name)).toEqual(["errors", "cache", "reload", "loop", "bind", "forward", "prometheus"]);
        expect(c.blocks[0]!.directives.find((d) => d.name === "forward")!.args).toEqual([".", "127.0.0.1:1054", "{", "force_tcp", "}"]);
        expect(servedZones(c)).toEqual(["cluster.local", "in-addr.arpa", "."]);
        expect(rootZoneBlock(c, "1053")?.line).toBe(23);
        expect(rootZoneBlock(c)).toBeUndefined();
    });

    it("normalizes keys as CoreDNS does: transports, default ports, reverse zones split on octet boundaries", () => {
        expect(parseZoneKey("tls://Example.org")).toMatchObject({ transport: "tls", zones: ["example.org."], port: "853" });
        expect(parseZoneKey(".")).toMatchObject({ transport: "dns", zones: ["."], port: "53" });
        expect(parseZoneKey("10.0.0.0/8:53").zones).toEqual(["10.in-addr.arpa."]);
        expect(parseZoneKey("10.0.0.0/23").zones).toEqual(["0.0.10.in-addr.arpa.", "1.0.10.in-addr.arpa."]);
        expect(parseZoneKey("fd00::/16").zones).toEqual(["0.0.d.f.ip6.arpa."]);
    });

    it("reads the distributions' own Corefiles: k3s (imports, hosts), kubeadm, and the stack's pasted ones", async () => {
        const k3s = ".:53 {\n    errors\n    health\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n      pods insecure\n      fallthrough in-addr.arpa ip6.arpa\n    }\n    hosts /etc/coredns/NodeHosts {\n      ttl 60\n      reload 15s\n      fallthrough\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n    import /etc/coredns/custom/*.override\n}\nimport /etc/coredns/custom/*.server\n";
        const parsed = parseCorefile(k3s);
        expect(parsed.imports).toEqual(["/etc/coredns/custom/*.override", "/etc/coredns/custom/*.server"]);
        expect(rootZoneBlock(parsed)?.directives.map((d) => d.name)).toContain("hosts");
        const kubeadm = ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30 {\n       disable success cluster.local\n       disable denial cluster.local\n    }\n    loop\n    reload\n    loadbalance\n}\n";
        expect(servedZones(parseCorefile(kubeadm))).toEqual(["."]);
        const { parse } = await import("yaml");
        const stack = parse(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")).config["directpath:hairpin"].dns;
        expect(servedZones(parseCorefile(stack.coredns.baseCorefile))).toEqual(["."]);
        expect(servedZones(parseCorefile(stack.nodeLocalDns.baseCorefile))).toEqual(["cluster.local", "in-addr.arpa", "ip6.arpa", "."]);
    });

    it("an unclosed quote is refused with its line", () => {
        expect(() => parseCorefile(".:53 {\n    template IN A x {\n        answer \"x 60 IN A 1.2.3.4\n    }\n}\n")).toThrow(/line 3: a quoted string/);
    });
});

// ---- the real CoreDNS ----

function findCoredns(): string | undefined {
    const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath", "bin");
    const candidates: string[] = [];
    if (fs.existsSync(cache)) {
        for (const d of fs.readdirSync(cache).filter((d) => d.startsWith("coredns@")).sort().reverse()) candidates.push(path.join(cache, d, "coredns"));
    }
    candidates.push(path.join(ROOT, "lab", ".bin", "coredns"));
    const which = spawnSync("sh", ["-c", "command -v coredns"], { encoding: "utf8" });
    if (which.status === 0 && which.stdout.trim()) candidates.push(which.stdout.trim());
    return candidates.find((c) => {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

async function freePort(): Promise<number> {
    for (;;) {
        const port = await new Promise<number>((resolve, reject) => {
            const s = net.createServer();
            s.once("error", reject);
            s.listen(0, "127.0.0.1", () => {
                const p = (s.address() as net.AddressInfo).port;
                s.close(() => resolve(p));
            });
        });
        // The UDP side must be free too.
        const ok = await new Promise<boolean>((resolve) => {
            const u = require("node:dgram").createSocket("udp4");
            u.once("error", () => resolve(false));
            u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
        });
        if (ok) return port;
    }
}

/** Starts CoreDNS on the Corefile: "started" once it prints its version banner, or "refused" with its output when it exits. */
function runCoredns(bin: string, corefile: string): Promise<{ started: boolean; output: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-corefile-"));
    fs.writeFileSync(path.join(dir, "Corefile"), corefile);
    return new Promise((resolve) => {
        const proc = spawn(bin, ["-conf", path.join(dir, "Corefile")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        let done = false;
        const finish = (started: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            if (proc.exitCode === null) proc.kill("SIGKILL");
            fs.rmSync(dir, { recursive: true, force: true });
            resolve({ started, output });
        };
        const onData = (d: Buffer) => {
            output += d.toString();
            if (/CoreDNS-\d/.test(output)) finish(true);
        };
        proc.stdout.on("data", onData);
        proc.stderr.on("data", onData);
        proc.on("exit", () => finish(false));
        const timer = setTimeout(() => finish(proc.exitCode === null), 10_000);
    });
}

const coredns = findCoredns();
if (!coredns) {
    console.warn("corefile-parse: live CoreDNS check SKIPPED: no coredns binary in ${XDG_CACHE_HOME:-~/.cache}/directpath/bin/coredns@*/, lab/.bin or on PATH (GOBIN=~/.cache/directpath/bin/coredns@v1.14.7 go install github.com/coredns/coredns@v1.14.7)");
}

describe.skipIf(!coredns)("parseCorefile agrees with the real CoreDNS", () => {
    for (const [what, text] of Object.entries(ACCEPTED)) {
        it(`CoreDNS starts on ${what}, and so does the parser accept it`, async () => {
            const corefile = fill(text, { P: await freePort(), Q: await freePort(), R: await freePort() });
            expect(() => parseCorefile(corefile)).not.toThrow();
            const run = await runCoredns(coredns!, corefile);
            expect(run.started, `CoreDNS refused:\n${run.output}\n${corefile}`).toBe(true);
        }, 20_000);
    }
    for (const [what, { text }] of Object.entries(REJECTED)) {
        it(`CoreDNS refuses ${what}, and so does the parser`, async () => {
            const corefile = fill(text, { P: await freePort(), Q: await freePort(), R: await freePort() });
            expect(() => parseCorefile(corefile)).toThrow(CorefileError);
            const run = await runCoredns(coredns!, corefile);
            expect(run.started, `CoreDNS started:\n${run.output}\n${corefile}`).toBe(false);
        }, 20_000);
    }
});
