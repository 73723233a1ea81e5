/**
 * The readiness check that TailscaleDirect's pods run (components/tailscale/check-port.sh), run
 * with /bin/sh against scratch /proc fixtures: it must pass only when tailscaled itself owns the
 * socket bound to $PORT, and fail loudly (exit 1, with the reason) otherwise.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import * as http from "node:http";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "./harness";

const SCRIPT = path.join(ROOT, "components", "tailscale", "check-port.sh");

interface Sock {
    /** Local address in /proc/net/udp hex form, without the port (e.g. 00000000). */
    addr?: string;
    port: number;
    inode: number;
}

interface Fixture {
    /** pid -> { comm, socket inodes it holds } */
    procs: Record<number, { comm: string; sockets: number[] }>;
    udp?: Sock[];
    udp6?: Sock[];
}

const dirs: string[] = [];
afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function table(socks: Sock[], v6: boolean): string {
    const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
    const zero = v6 ? "0".repeat(32) : "00000000";
    return header + socks.map((s, i) => {
        const local = `${s.addr ?? zero}:${s.port.toString(16).toUpperCase().padStart(4, "0")}`;
        return `  ${i}: ${local} ${zero}:0000 07 00000000:00000000 00:00000000 00000000     0        0 ${s.inode} 2 0000000000000000 0\n`;
    }).join("");
}

function makeProc(f: Fixture): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-proc-"));
    dirs.push(root);
    fs.mkdirSync(path.join(root, "net"));
    if (f.udp) fs.writeFileSync(path.join(root, "net", "udp"), table(f.udp, false));
    if (f.udp6) fs.writeFileSync(path.join(root, "net", "udp6"), table(f.udp6, true));
    // Not a process: must be ignored.
    fs.mkdirSync(path.join(root, "sys"));
    for (const [pid, p] of Object.entries(f.procs)) {
        const dir = path.join(root, pid);
        fs.mkdirSync(path.join(dir, "fd"), { recursive: true });
        fs.writeFileSync(path.join(dir, "comm"), `${p.comm}\n`);
        fs.symlinkSync("/dev/null", path.join(dir, "fd", "0"));
        fs.symlinkSync("anon_inode:[eventpoll]", path.join(dir, "fd", "1"));
        p.sockets.forEach((ino, i) => fs.symlinkSync(`socket:[${ino}]`, path.join(dir, "fd", String(10 + i))));
    }
    return root;
}

/**
 * The shells to run the script with: the system /bin/sh (dash on Debian), and busybox alone on
 * PATH when it is installed: the tailscale/tailscale image is Alpine, so busybox ash, awk and wget
 * are what runs in the pod.
 */
function shells(): Array<{ label: string; sh: string; path: string; wgetCrashes?: boolean }> {
    const list: Array<{ label: string; sh: string; path: string; wgetCrashes?: boolean }> = [{ label: "/bin/sh", sh: "/bin/sh", path: process.env.PATH ?? "/usr/bin:/bin" }];
    const busybox = ["/usr/bin/busybox", "/bin/busybox"].find((p) => fs.existsSync(p));
    if (busybox) {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-busybox-"));
        for (const applet of ["sh", "awk", "readlink", "printf", "cat"]) fs.symlinkSync(busybox, path.join(bin, applet));
        // A wget on PATH (the image has one): busybox's shell finds it there, then runs its own
        // wget applet instead of it (Debian's busybox prefers applets).
        const wget = ["/usr/bin/wget", "/bin/wget"].find((p) => fs.existsSync(p));
        if (wget) fs.symlinkSync(wget, path.join(bin, "wget"));
        // busybox's shell runs its own wget applet for it, and Debian's busybox 1.35
        // wget crashes (SIGSEGV) on -T, which the script uses; Alpine's doesn't. Where it crashes,
        // the health-endpoint cases run with /bin/sh only (see `run`), and say so.
        const probe = spawnSync(path.join(bin, "sh"), ["-c", "wget -q -T 1 -O /dev/null http://127.0.0.1:9/"], { env: { PATH: bin }, timeout: 10_000 });
        const wgetCrashes = probe.signal === "SIGSEGV" || probe.status === 139;
        if (wgetCrashes) console.warn("check-port.sh: this machine's busybox wget crashes on -T (Debian busybox); the health-endpoint cases run with /bin/sh only");
        list.push({ label: "busybox sh/awk (as in the Alpine image)", sh: path.join(bin, "sh"), path: bin, wgetCrashes });
    } else {
        console.warn("check-port.sh: busybox is not installed; testing with /bin/sh only (apt-get install busybox to also test the image's shell)");
    }
    return list;
}
const SHELLS = shells();

async function runWith(shell: { sh: string; path: string }, procRoot: string, env: Record<string, string | undefined>) {
    const clean: Record<string, string> = { PATH: shell.path, DIRECTPATH_PROC_ROOT: procRoot };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
    try {
        const { stdout, stderr } = await promisify(execFile)(shell.sh, [SCRIPT], { encoding: "utf8", env: clean });
        return { status: 0, out: `${stdout}${stderr}` };
    } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return { status: typeof err.code === "number" ? err.code : -1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
}

/** Runs the script with every shell; asserts they agree, returns the result. */
async function run(procRoot: string, env: Record<string, string | undefined>) {
    const shells = env.TS_ENABLE_HEALTH_CHECK === "true" ? SHELLS.filter((s) => !s.wgetCrashes) : SHELLS;
    const results = await Promise.all(shells.map((s) => runWith(s, procRoot, env)));
    for (let i = 1; i < results.length; i++) {
        expect(results[i], `${shells[i]!.label} disagrees with ${shells[0]!.label}`).toEqual(results[0]);
    }
    return results[0]!;
}

/** A stand-in for containerboot's health endpoint on loopback. */
async function healthServer(healthy: boolean): Promise<{ addr: string; close: () => Promise<void> }> {
    const server = http.createServer((req, res) => {
        if (req.url === "/healthz" && healthy) res.end("ok");
        else {
            res.statusCode = 503;
            res.end("node currently has no tailscale IPs");
        }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    return { addr: `127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("check-port.sh", () => {
    it("is valid POSIX sh (sh -n)", () => {
        const res = spawnSync("/bin/sh", ["-n", SCRIPT], { encoding: "utf8" });
        expect(res.status, res.stderr).toBe(0);
    });

    it("passes when tailscaled owns the IPv4 and IPv6 sockets on $PORT", async () => {
        const proc = makeProc({
            procs: { 1: { comm: "containerboot", sockets: [] }, 17: { comm: "tailscaled", sockets: [5001, 5002, 5003] } },
            udp: [{ port: 53, inode: 900 }, { port: 41641, inode: 5001 }, { port: 44444, inode: 5003 }],
            udp6: [{ port: 41641, inode: 5002 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.out).toContain("OK: tailscaled owns UDP 41641 (2 socket(s))");
        expect(r.status).toBe(0);
    });

    it("with DIRECTPATH_RELAY_PORT: passes only when tailscaled also owns the relay port", async () => {
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [5001, 5004, 5005] } },
            udp: [{ port: 41641, inode: 5001 }, { port: 40000, inode: 5004 }],
            udp6: [{ port: 40000, inode: 5005 }],
        });
        const ok = await run(proc, { PORT: "41641", DIRECTPATH_RELAY_PORT: "40000" });
        expect(ok.out).toContain("OK: tailscaled owns UDP 41641 (1 socket(s)), and the peer relay's UDP 40000 (2 socket(s))");
        expect(ok.status).toBe(0);
    });

    it("with DIRECTPATH_RELAY_PORT: fails when the relay server isn't listening, or another process holds its port", async () => {
        const off = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [5001] } }, udp: [{ port: 41641, inode: 5001 }] });
        const r1 = await run(off, { PORT: "41641", DIRECTPATH_RELAY_PORT: "40000" });
        expect(r1.status).toBe(1);
        expect(r1.out).toContain("FAIL: tailscaled's peer relay is not listening on UDP 40000; its UDP sockets are on udp:41641");
        const taken = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [5001] }, 30: { comm: "other", sockets: [6000] } }, udp: [{ port: 41641, inode: 5001 }, { port: 40000, inode: 6000 }] });
        const r2 = await run(taken, { PORT: "41641", DIRECTPATH_RELAY_PORT: "40000" });
        expect(r2.status).toBe(1);
        expect(r2.out).toContain("FAIL: the peer relay's UDP 40000 on this node is held by another process (udp:inode=6000)");
        const bad = await run(off, { PORT: "41641", DIRECTPATH_RELAY_PORT: "4x" });
        expect(bad.out).toContain("DIRECTPATH_RELAY_PORT is '4x'");
    });

    it("passes on an IPv4-only node (no udp6 table)", async () => {
        const proc = makeProc({ procs: { 9: { comm: "tailscaled", sockets: [77] } }, udp: [{ port: 3478, inode: 77 }] });
        expect((await run(proc, { PORT: "3478" })).status).toBe(0);
    });

    it("fails when tailscaled fell back to a random port, and says which", async () => {
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [5001, 5002] } },
            udp: [{ port: 51820, inode: 5001 }],
            udp6: [{ port: 51821, inode: 5002 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("FAIL: tailscaled is not listening on UDP 41641; its UDP sockets are on udp:51820 udp6:51821");
    });

    it("fails when another process on the node holds the port (something listens, but not tailscaled)", async () => {
        // Under hostNetwork the table shows the node's sockets: inode 4242 is, say, a host tailscaled.
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [5001] } },
            udp: [{ port: 41641, inode: 4242 }, { port: 50000, inode: 5001 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("UDP 41641 on this node is held by another process (udp:inode=4242), not by tailscaled");
        expect(r.out).toContain("it uses udp:50000");
    });

    it("fails when tailscaled has the IPv4 port but someone else holds it over IPv6", async () => {
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [5001, 5002] } },
            udp: [{ port: 41641, inode: 5001 }],
            udp6: [{ port: 41641, inode: 6666 }, { port: 40000, inode: 5002 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("held by another process (udp6:inode=6666)");
    });

    it("does not mistake a socket bound to a different address-part for the port (exact port match)", async () => {
        // Port 0xA049 = 41641; 0xA0491 would be a different (invalid) field: make sure a prefix doesn't match.
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [5001] } },
            udp: [{ addr: "0100007F", port: 41642, inode: 5001 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("its UDP sockets are on udp:41642");
    });

    it("does not match an inode that is only a prefix of tailscaled's", async () => {
        const proc = makeProc({
            procs: { 17: { comm: "tailscaled", sockets: [50011] } },
            udp: [{ port: 41641, inode: 5001 }],
        });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("held by another process (udp:inode=5001)");
    });

    it("fails when there is no tailscaled process", async () => {
        const proc = makeProc({ procs: { 1: { comm: "containerboot", sockets: [5001] } }, udp: [{ port: 41641, inode: 5001 }] });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("no tailscaled process found");
    });

    it("fails on a missing or bad PORT", async () => {
        const proc = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [] } }, udp: [] });
        for (const port of [undefined, "", "abc", "0", "70000"]) {
            const r = await run(proc, { PORT: port });
            expect(r.status, `PORT=${String(port)}`).toBe(1);
            expect(r.out).toMatch(/FAIL: PORT is/);
        }
    });

    it("fails when the socket tables can't be read", async () => {
        const proc = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [1] } } });
        const r = await run(proc, { PORT: "41641" });
        expect(r.status).toBe(1);
        expect(r.out).toContain("cannot read");
    });

    it("brackets an unbracketed IPv6 pod IP in TS_LOCAL_ADDR_PORT (pod mode's $(POD_IP):<port>)", async () => {
        const server = http.createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : ""));
        const ok = await new Promise<boolean>((r) => { server.once("error", () => r(false)); server.listen(0, "::1", () => r(true)); });
        if (!ok) {
            console.warn("check-port.sh IPv6 health test skipped: no ::1 on this machine");
            return;
        }
        try {
            const port = (server.address() as { port: number }).port;
            const proc = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [5001] } }, udp: [{ port: 41641, inode: 5001 }] });
            const r = await run(proc, { PORT: "41641", TS_ENABLE_HEALTH_CHECK: "true", TS_LOCAL_ADDR_PORT: `::1:${port}` });
            expect(r.out).toContain("OK: tailscaled owns UDP 41641");
            expect(r.status).toBe(0);
        } finally {
            await new Promise((r) => server.close(r));
        }
    });

    it("also requires the health endpoint when TS_ENABLE_HEALTH_CHECK=true", async () => {
        const proc = makeProc({ procs: { 17: { comm: "tailscaled", sockets: [5001] } }, udp: [{ port: 41641, inode: 5001 }] });
        const up = await healthServer(true);
        const down = await healthServer(false);
        try {
            const ok = await run(proc, { PORT: "41641", TS_ENABLE_HEALTH_CHECK: "true", TS_LOCAL_ADDR_PORT: up.addr });
            expect(ok.out).toContain("OK: tailscaled owns UDP 41641");
            expect(ok.status).toBe(0);
            const bad = await run(proc, { PORT: "41641", TS_ENABLE_HEALTH_CHECK: "true", TS_LOCAL_ADDR_PORT: down.addr });
            expect(bad.status).toBe(1);
            expect(bad.out).toContain(`health endpoint http://${down.addr}/healthz is not OK`);
        } finally {
            await up.close();
            await down.close();
        }
    });
    describe("against the real /proc of this machine", () => {
        const python = ["/usr/bin/python3", "/bin/python3"].find((p) => fs.existsSync(p));
        const why = process.platform !== "linux" ? "needs Linux /proc" : !python ? "needs python3 to hold sockets" : undefined;
        if (why) console.warn(`check-port.sh real-/proc tests skipped: ${why}`);

        /** Starts `python3` (under the name `comm`) holding a UDP socket on 127.0.0.1; resolves its port. */
        async function holdUdp(comm: string, port = 0): Promise<{ port: number; stop: () => void }> {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "directpath-comm-"));
            dirs.push(dir);
            // The kernel names a process after the file it executes: a symlink named tailscaled.
            const exe = path.join(dir, comm);
            fs.symlinkSync(python!, exe);
            const code = `import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("127.0.0.1",${port}))\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)`;
            const child = spawn(exe, ["-c", code], { stdio: ["ignore", "pipe", "inherit"] });
            const bound = await new Promise<number>((resolve, reject) => {
                child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
                child.once("exit", (c) => reject(new Error(`${comm} exited ${String(c)}`)));
            });
            return { port: bound, stop: () => child.kill("SIGKILL") };
        }

        it.skipIf(why !== undefined)("passes for a process named tailscaled that holds the port", async () => {
            const ts = await holdUdp("tailscaled");
            try {
                const r = await run("/proc", { PORT: String(ts.port) });
                expect(r.out).toContain(`OK: tailscaled owns UDP ${ts.port}`);
                expect(r.status).toBe(0);
            } finally {
                ts.stop();
            }
        });

        it.skipIf(why !== undefined)("fails when the port is held by a process that isn't tailscaled", async () => {
            const other = await holdUdp("not-tailscaled");
            const ts = await holdUdp("tailscaled");
            try {
                const r = await run("/proc", { PORT: String(other.port) });
                expect(r.status).toBe(1);
                expect(r.out).toContain(`UDP ${other.port} on this node is held by another process (udp:inode=`);
            } finally {
                other.stop();
                ts.stop();
            }
        });
    });
});
