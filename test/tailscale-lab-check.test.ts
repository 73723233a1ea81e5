/**
 * The direct-connection lab's use of `directpath check` (lab/tailscale/check-model.ts, pure): what
 * the check reads from a rendered plan for the probe (targetsFromPlan, the readiness probe's
 * check-port.sh, the container's env), and the lab's check lines on REAL probe output (the frames
 * check/probes/tailscale.sh printed against real tailscaled, test/fixtures/check/probe-tailscale-*),
 * including that every line fails when the output says otherwise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkProbeSetup, deviceCheckLines, type DeviceCheck, type PeerExpectation } from "../lab/tailscale/check-model";
import { readRendered } from "../lab/lib/rendered";
import { ManifestError } from "../lab/tailscale/model";
import { ROOT, sharedPlanRun } from "./harness";

const FX = path.join(__dirname, "fixtures", "check");
const fx = (f: string) => fs.readFileSync(path.join(FX, f), "utf8");
const configured = { namespace: "tailscale", workloadName: "tailscale", port: 41641 };

describe("checkProbeSetup", () => {
    it("the local plan: the check's target, the readiness probe's check-port.sh from its ConfigMap, the container env", () => {
        const run = sharedPlanRun("local");
        expect(run.status).toBe(0);
        const r = readRendered("local", run.outDir);
        const s = checkProbeSetup(r.plan, r.objects.map((o) => o.object));
        expect(s.configured).toEqual(configured);
        expect(s.checkPort?.podPath).toBe("/etc/directpath/check-port.sh");
        expect(s.checkPort?.script).toBe(fs.readFileSync(path.join(ROOT, "components", "tailscale", "check-port.sh"), "utf8"));
        expect(s.env).toMatchObject({ PORT: "41641", TS_TAILSCALED_EXTRA_ARGS: "--port=41641" });
        expect(s.env.TS_ENABLE_HEALTH_CHECK).toBeUndefined();
        expect(s.dropped).toEqual(expect.arrayContaining([expect.stringMatching(/^NODE_NAME \(valueFrom/), expect.stringMatching(/^TS_ENABLE_HEALTH_CHECK \(containerboot's/)]));
        expect(s.relayPort).toBeUndefined();
    }, 240_000);

    const objects = (o: { env?: Array<{ name: string; value?: string }>; cm?: boolean; label?: string } = {}) => [
        {
            kind: "DaemonSet", metadata: { name: "ts", namespace: "tsns", labels: { "app.kubernetes.io/name": o.label ?? "tailscale-direct" } },
            spec: { selector: { matchLabels: { app: "ts" } }, template: { spec: { containers: [{
                name: "tailscale", image: "tailscale/tailscale:v1.102.3", readinessProbe: { exec: { command: ["/bin/sh", "/etc/directpath/check-port.sh"] } },
                env: o.env ?? [{ name: "PORT", value: "41000" }, { name: "DIRECTPATH_RELAY_PORT", value: "40000" }, { name: "POD_IP", valueFrom: {} } as { name: string }, { name: "TS_LOCAL_ADDR_PORT", value: "$(POD_IP):9002" }],
            }] } } },
        },
        ...(o.cm === false ? [] : [{ kind: "ConfigMap", metadata: { name: "ts-checks", namespace: "tsns" }, data: { "check-port.sh": "#!/bin/sh\necho ok\n" } }]),
    ];

    it("the relay port from DIRECTPATH_RELAY_PORT; env Kubernetes fills in is left out, with why", () => {
        const s = checkProbeSetup({}, objects());
        expect(s).toEqual({
            configured: { namespace: "tsns", workloadName: "ts", port: 41000 }, relayPort: 40000,
            checkPort: { podPath: "/etc/directpath/check-port.sh", script: "#!/bin/sh\necho ok\n" },
            env: { PORT: "41000", DIRECTPATH_RELAY_PORT: "40000" },
            dropped: ["POD_IP (valueFrom: Kubernetes fills it in)", "TS_LOCAL_ADDR_PORT (refers to POD_IP, which Kubernetes fills in)"],
        });
    });

    it("refuses a plan without TailscaleDirect, or a readiness script no ConfigMap carries", () => {
        const problems = (f: () => unknown) => {
            try {
                f();
            } catch (e) {
                return e instanceof ManifestError ? e.problems : [String(e)];
            }
            return [];
        };
        expect(problems(() => checkProbeSetup({}, objects({ label: "other" })))[0]).toMatch(/^no TailscaleDirect DaemonSet/);
        expect(problems(() => checkProbeSetup({}, objects({ cm: false })))).toEqual(["the readiness probe runs /etc/directpath/check-port.sh, but no ConfigMap has check-port.sh"]);
    });
});

describe("deviceCheckLines on real probe output", () => {
    const nodeA: PeerExpectation = { name: "node-a", ip: "100.64.0.1", path: "direct", via: ["10.80.0.10:41641"] };
    const nodeB: PeerExpectation = { name: "node-b", ip: "100.64.0.2", path: "derp", via: ["lab"] };
    const laptop = (peers: PeerExpectation[], output = fx("probe-tailscale-laptop.out")): DeviceCheck =>
        ({ device: "laptop", role: "client", output, configured, peers, own: ["node-b", "node-a"], label: "check from laptop" });
    const failed = (d: DeviceCheck) => deviceCheckLines(d).lines.filter((l) => !l.ok).map((l) => l.name);

    it("from the laptop: node-b relayed via DERP, node-a direct via its endpoint, the verdict present naming node-b only", () => {
        const r = deviceCheckLines(laptop([nodeA, nodeB]));
        expect(r.lines.map((l) => [l.name, l.ok])).toEqual([
            ["check from laptop: node-a direct via 10.80.0.10:41641", true],
            ["check from laptop: node-b relayed via DERP (lab)", true],
            ["check from laptop: verdict present, naming node-b only (negative control: never absent here)", true],
        ]);
        expect(r.verdict.verdict).toBe("present");
        expect(r.lines[1]!.detail).toBe("node-b 100.64.0.2: derp via lab; verdict evidence: laptop@laptop -> 100.64.0.2: relayed via DERP(lab), 3 pong(s), none direct");
    });

    it("every line can fail: a wrong path, a wrong endpoint, an unknown peer, an unusable output", () => {
        expect(failed(laptop([nodeA, { ...nodeB, path: "direct", via: undefined }]))).toEqual([
            "check from laptop: node-b direct", "check from laptop: verdict absent (port held, every peer direct)"]);
        expect(failed(laptop([{ ...nodeA, via: ["10.80.0.10:40000"] }, nodeB]))).toEqual(["check from laptop: node-a direct via 10.80.0.10:40000"]);
        expect(failed(laptop([nodeB]))).toEqual(["check from laptop: verdict present, naming node-b only (negative control: never absent here)"]);
        expect(failed(laptop([nodeA, nodeB], fx("probe-tailscale-laptop.out").slice(0, 400)))).toHaveLength(3);
    });

    it("peers without their own line share one; a peer relay is matched by its address", () => {
        const relayed = fx("probe-tailscale-laptop.out").replace(/via DERP\(lab\) in (\S+)\n(\| direct connection not established\n)?/g, "via peer-relay(192.0.2.10:40000:vni:1) in $1\n");
        const r = deviceCheckLines({ ...laptop([nodeA, { ...nodeB, path: "peer-relay", via: ["192.0.2.10:40000"] }], relayed), own: ["node-b"] });
        expect(r.lines.map((l) => [l.name, l.ok])).toEqual([
            ["check from laptop: node-b relayed via the peer relay 192.0.2.10:40000", true],
            ["check from laptop: node-a direct", true],
            ["check from laptop: verdict present, naming node-b only (negative control: never absent here)", true],
        ]);
        expect(r.verdict.evidence[0]).toBe("laptop@laptop -> 100.64.0.2: relayed via a peer relay (192.0.2.10:40000:vni:1), 3 pong(s), none direct");
        expect(failed({ ...laptop([nodeA, { ...nodeB, path: "peer-relay", via: ["192.0.2.10:40001"] }], relayed), own: ["node-b"] })).toEqual(["check from laptop: node-b relayed via the peer relay 192.0.2.10:40001"]);
    });

    const pod = (output: string, port: DeviceCheck["port"]): DeviceCheck => ({
        device: "node-a", role: "pod", output, configured, peers: [{ name: "laptop", ip: "100.64.0.3", path: "direct" }], port, label: "check on node-a",
    });
    const moved = fx("probe-tailscale-node-a.out").replace(/:41641\b/g, ":38625");

    it("on a TailscaleDirect pod: the port held and every peer direct is absent; on a fallback port the port line fails", () => {
        const r = deviceCheckLines(pod(fx("probe-tailscale-node-a.out"), { held: true, actual: [41641] }));
        expect(r.lines.map((l) => [l.name, l.ok])).toEqual([
            ["check on node-a: laptop direct", true],
            ["check on node-a: tailscaled holds the configured port 41641 (not a random fallback)", true],
            ["check on node-a: verdict absent (port held, every peer direct)", true],
        ]);
        expect(failed(pod(moved, { held: true, actual: [38625] }))).toEqual([
            "check on node-a: tailscaled holds the configured port 41641 (not a random fallback)", "check on node-a: verdict absent (port held, every peer direct)"]);
        // A relay port the output does not show fails too.
        expect(failed(pod(fx("probe-tailscale-node-a.out"), { held: true, relayPort: 40000, actual: [41641] }))).toEqual([
            "check on node-a: tailscaled holds the configured port 41641 and the relay port 40000 (not a random fallback)"]);
    });

    it("the negative control: a port not held, naming the port tailscaled really has; the verdict present", () => {
        expect(failed(pod(moved, { held: false, actual: [38625] }))).toEqual([]);
        expect(deviceCheckLines(pod(moved, { held: false, actual: [38625] })).lines[1]!.name).toBe("check on node-a: port 41641 NOT held, tailscaled on its random port 38625 (negative control)");
        // The port ss saw must be the one the check names, and a held port is no negative control.
        expect(failed(pod(moved, { held: false, actual: [12345] }))).toEqual(["check on node-a: port 41641 NOT held, tailscaled on its random port 12345 (negative control)"]);
        expect(failed(pod(fx("probe-tailscale-node-a.out"), { held: false, actual: [41641] }))).toHaveLength(2);
    });

    it("check-port.sh's own answers (what the lab's pods run): OK with the relay port, FAIL naming tailscaled's ports", () => {
        const withPortCheck = (line: string, rc: number) => fx("probe-tailscale-node-a.out").replace(/@run port listeners netstat\n(\|.*\n)*@rc port 0\n/, `@run port check-port /x/check-port.sh\n| ${line}\n@rc port ${rc}\n`);
        const ok = withPortCheck("directpath check-port: OK: tailscaled owns UDP 41641 (2 socket(s)), and the peer relay's UDP 40000 (1 socket(s))", 0);
        expect(failed(pod(ok, { held: true, relayPort: 40000, actual: [40000, 41641] }))).toEqual([]);
        const fail = withPortCheck("directpath check-port: FAIL: tailscaled is not listening on UDP 41641; its UDP sockets are on udp:17329 udp6:17329. Peers will be relayed through DERP.", 1);
        expect(failed(pod(fail, { held: false, actual: [17329] }))).toEqual([]);
        expect(failed(pod(fail, { held: true, actual: [17329] }))).toHaveLength(2);
    });
});
