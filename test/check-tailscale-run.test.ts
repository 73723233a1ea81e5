/**
 * How the check runs check/probes/tailscale.sh (the cluster runner and the direct-connection lab
 * share it): the command and its environment, which peers it pings, and the two runs. The probe
 * script itself runs here under `sh` with a stub `tailscale` CLI that replays real recorded output.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { probeText, tailscaleProbeCommand, TAILSCALE_PINGS } from "../check/probes";
import { parseTailscaleStatus, peerPathsFromProbe, pingTargets, runTailscaleProbe, type TailscaleStatus } from "../check/tailscale";

const FX = path.join(__dirname, "fixtures", "check");
const fx = (f: string) => fs.readFileSync(path.join(FX, f), "utf8");
const laptopStatus = (): TailscaleStatus => {
    const r = parseTailscaleStatus(fx("tailscale-status-laptop.json"));
    if (!r.ok) throw new Error(r.reason);
    return r.status;
};

describe("pingTargets", () => {
    it("online peers' IPv4 addresses, by hostname (real v1.98.10 status of the laptop)", () => {
        expect(pingTargets(laptopStatus())).toEqual(["100.64.0.1", "100.64.0.2"]);
    });
    it("skips offline peers and peers without IPv4, sorts by hostname, caps at max", () => {
        const st = laptopStatus();
        const [a, b] = st.peers;
        const peers = [
            { ...b!, hostName: "zeta" }, { ...a!, hostName: "alpha" }, { ...a!, hostName: "offline", online: false },
            { ...a!, hostName: "v6only", ips: ["fd7a:115c:a1e0::9"] }, { ...a!, hostName: "beta", ips: ["fd7a:115c:a1e0::7", "100.64.0.7"] },
        ];
        expect(pingTargets({ ...st, peers })).toEqual(["100.64.0.1", "100.64.0.7", "100.64.0.2"]);
        expect(pingTargets({ ...st, peers }, 2)).toEqual(["100.64.0.1", "100.64.0.7"]);
        expect(pingTargets({ ...st, peers: [] })).toEqual([]);
    });
});

describe("runTailscaleProbe", () => {
    const statusOnly = (out: string) => out.split("\n@run port")[0] + "\nDPC-END 1\n";
    it("first the status, then pings to the peers that status lists", async () => {
        const calls: string[][] = [];
        const r = await runTailscaleProbe(async (peers) => {
            calls.push(peers);
            return { code: 0, stdout: peers.length === 0 ? statusOnly(fx("probe-tailscale-laptop.out")) : fx("probe-tailscale-laptop.out") };
        });
        expect(calls).toEqual([[], ["100.64.0.1", "100.64.0.2"]]);
        expect(r.peers).toEqual(["100.64.0.1", "100.64.0.2"]);
        expect(peerPathsFromProbe(r.last.stdout).map((p) => p.path)).toEqual(["direct", "derp"]);
    });
    it("one run only when the first printed no frame or its status is unusable", async () => {
        const calls: string[][] = [];
        const run = (stdout: string) => async (peers: string[]) => {
            calls.push(peers);
            return { code: 1, stdout };
        };
        const a = await runTailscaleProbe(run("error: unable to upgrade connection: Forbidden\n"));
        expect(a).toMatchObject({ peers: [], last: { code: 1 } });
        const b = await runTailscaleProbe(run("DPC-PROBE 1 tailscale\n@meta\n@run status tailscale-status /x\n| failed to connect to local tailscaled\n@rc status 1\nDPC-END 1\n"));
        expect(b.peers).toEqual([]);
        expect(b.first).toBe(b.last);
        expect(calls).toEqual([[], []]);
    });
});

describe("tailscaleProbeCommand", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dp-tsprobe-"));
    afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

    it("the env words and `sh -c <tailscale.sh>`; the time limit grows with the pings", () => {
        const c = tailscaleProbeCommand({ socket: "/tmp/tailscaled.sock", checkPortScript: "/etc/directpath/check-port.sh", peers: ["100.64.0.1", "100.64.0.2"], timeoutSeconds: 3, pod: "tailscale-x" });
        expect(c.argv.slice(0, 7)).toEqual(["env", "DPC_SOCKET=/tmp/tailscaled.sock", "DPC_PORT_CHECK=/etc/directpath/check-port.sh", "DPC_PEERS=100.64.0.1 100.64.0.2",
            `DPC_PINGS=${TAILSCALE_PINGS}`, "DPC_TIMEOUT=3", "DPC_META=pod=tailscale-x"]);
        expect(c.argv.slice(7)).toEqual(["sh", "-c", probeText("tailscale.sh")]);
        expect(c.timeoutMs).toBe(30_000 + 2 * TAILSCALE_PINGS * 4 * 1000);
        expect(tailscaleProbeCommand({ socket: "/s", peers: [], timeoutSeconds: 3, pod: "p" }).argv[2]).toBe("DPC_PORT_CHECK=");
    });

    it("runs under sh: status, the port check script, one ping section per peer (stub tailscale CLI)", () => {
        // A stub `tailscale` that answers from real recorded output and logs its arguments.
        const bin = path.join(work, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "tailscale"), [
            "#!/bin/sh",
            `echo "$*" >> ${work}/calls`,
            'case "$2" in',
            `  status) cat ${path.join(FX, "tailscale-status-laptop.json")} ;;`,
            `  ping) cat ${path.join(FX, "tailscale-ping-direct.out")} ;;`,
            "esac",
            "",
        ].join("\n"), { mode: 0o755 });
        const check = path.join(work, "check-port.sh");
        fs.writeFileSync(check, 'echo "directpath check-port: OK: tailscaled owns UDP $PORT (2 socket(s))"\n');
        const c = tailscaleProbeCommand({ socket: path.join(work, "ts.sock"), checkPortScript: check, peers: ["100.64.0.1"], timeoutSeconds: 2, pod: "node-a" });
        const r = spawnSync(c.argv[0]!, c.argv.slice(1), { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, PORT: "41641" }, timeout: c.timeoutMs });
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^DPC-PROBE 1 tailscale\n@meta pod=node-a\n/);
        expect(r.stdout).toContain("| directpath check-port: OK: tailscaled owns UDP 41641 (2 socket(s))");
        expect(r.stdout.trimEnd().split("\n").pop()).toBe("DPC-END 3");
        expect(peerPathsFromProbe(r.stdout)).toEqual([{ peer: "100.64.0.1", status: "pong", path: "direct", via: "10.80.0.10:41641" }]);
        expect(fs.readFileSync(path.join(work, "calls"), "utf8").trim().split("\n")).toEqual([
            `--socket=${path.join(work, "ts.sock")} status --json`,
            `--socket=${path.join(work, "ts.sock")} ping -c ${TAILSCALE_PINGS} --timeout=2s 100.64.0.1`,
        ]);
    });
});
