/**
 * Overlay topology (shared/seeds/003): two nodes, each with a pod namespace behind it, joined by
 * Linux VXLAN devices on UDP 8472 (Cilium's tunnel port), routed through a "cloud firewall"
 * namespace whose FORWARD rules come from the dev stack's security groups (lib/firewall.ts).
 *
 *   dpl-poda 10.244.1.10          dpl-fw (iptables from plan.json SGs)         dpl-podb 10.244.2.10
 *       |                     fw-a 10.0.1.1         fw-b 10.0.2.1                   |
 *   dpl-nodea  eth0 10.0.1.10 ------+                    +------ eth0 10.0.2.10  dpl-nodeb
 *     vxlan0 10.244.0.1  <======== UDP 8472 (VXLAN, VNI 1) ========>  vxlan0 10.244.0.2
 *
 * A fresh topology is built for each case, so no connection-tracking state carries over.
 */
import * as path from "node:path";
import { httpGet, startHttpServer, type HttpResult } from "./lib/agent-client";
import type { LabSession } from "./lib/session";
import { run } from "./lib/proc";
import type { LabNode } from "./lib/firewall";

export const VXLAN_PORT = 8472;
export const OVERLAY = {
    nodeA: { address: "10.0.1.10", gw: "10.0.1.1", fwIf: "fw-a", vtep: "10.244.0.1", podNet: "10.244.1.0/24", podGw: "10.244.1.1", pod: "10.244.1.10" },
    nodeB: { address: "10.0.2.10", gw: "10.0.2.1", fwIf: "fw-b", vtep: "10.244.0.2", podNet: "10.244.2.0/24", podGw: "10.244.2.1", pod: "10.244.2.10" },
};
export const POD_PORT = 8080;

export interface OverlayTopology {
    ns: { fw: string; nodeA: string; nodeB: string; podA: string; podB: string };
}

/** The lab's two nodes as the firewall generator sees them (members of `nodeGroup`). */
export function labNodes(nodeGroup: string): LabNode[] {
    return [
        { name: "nodea", address: OVERLAY.nodeA.address, fwInterface: OVERLAY.nodeA.fwIf, groups: [nodeGroup] },
        { name: "nodeb", address: OVERLAY.nodeB.address, fwInterface: OVERLAY.nodeB.fwIf, groups: [nodeGroup] },
    ];
}

/** Builds the overlay with `firewallRules` (iptables-restore text) loaded in the firewall. */
export async function buildOverlay(session: LabSession, logDir: string, firewallRules: string, tag: string): Promise<OverlayTopology> {
    const netns = session.netns;
    const ns = { fw: netns.add(`fw${tag}`), nodeA: netns.add(`nodea${tag}`), nodeB: netns.add(`nodeb${tag}`), podA: netns.add(`poda${tag}`), podB: netns.add(`podb${tag}`) };
    netns.sysctl(ns.fw, "net.ipv4.ip_forward", 1);
    // The firewall's rules go in before any link is up: nothing passes unfiltered.
    run(["iptables-restore"], { ns: ns.fw, input: firewallRules });
    // Counters the lab reads (no target: they only count): VXLAN packets that reached the end of
    // FORWARD (about to be dropped by the policy).
    run(["iptables", "-w", "-A", "FORWARD", "-p", "udp", "--dport", String(VXLAN_PORT), "-m", "comment", "--comment", "dpl-vxlan-dropped"], { ns: ns.fw });
    const sides = [
        { node: ns.nodeA, pod: ns.podA, cfg: OVERLAY.nodeA, peer: OVERLAY.nodeB },
        { node: ns.nodeB, pod: ns.podB, cfg: OVERLAY.nodeB, peer: OVERLAY.nodeA },
    ];
    for (const s of sides) {
        netns.veth(ns.fw, s.cfg.fwIf, s.node, "eth0");
        netns.ip(ns.fw, `addr add ${s.cfg.gw}/24 dev ${s.cfg.fwIf}`, `link set ${s.cfg.fwIf} up`);
        netns.ip(s.node, `addr add ${s.cfg.address}/24 dev eth0`, "link set eth0 up", `route add default via ${s.cfg.gw}`);
        netns.sysctl(s.node, "net.ipv4.ip_forward", 1);
        // VXLAN between the node addresses, on the overlay port.
        netns.ip(s.node,
            `link add vxlan0 type vxlan id 1 local ${s.cfg.address} remote ${s.peer.address} dstport ${VXLAN_PORT} dev eth0`,
            `addr add ${s.cfg.vtep}/24 dev vxlan0`, "link set vxlan0 up",
            `route add ${s.peer.podNet} via ${s.peer.vtep} dev vxlan0`);
        // The pod behind the node.
        netns.veth(s.node, "pod0", s.pod, "eth0");
        netns.ip(s.node, `addr add ${s.cfg.podGw}/24 dev pod0`, "link set pod0 up");
        netns.ip(s.pod, `addr add ${s.cfg.pod}/24 dev eth0`, "link set eth0 mtu 1400", "link set eth0 up", `route add default via ${s.cfg.podGw}`);
    }
    await startHttpServer(session.daemons, ns.podB, "podb", [POD_PORT], path.join(logDir, `http-podb${tag}.log`));
    return { ns };
}

export function podAToPodB(t: OverlayTopology, timeoutMs: number): HttpResult {
    return httpGet(t.ns.podA, `http://${OVERLAY.nodeB.pod}:${POD_PORT}/`, timeoutMs);
}

/** FORWARD counters in the firewall: VXLAN packets accepted by an SG rule, and VXLAN packets dropped. */
export function vxlanCounters(t: OverlayTopology): { accepted: number; dropped: number } {
    const out = run(["iptables-save", "-c", "-t", "filter"], { ns: t.ns.fw }).stdout.split("\n");
    let accepted = 0;
    let dropped = 0;
    for (const l of out) {
        const m = /^\[(\d+):\d+\]\s+(.*)$/.exec(l);
        if (!m || !m[2]!.includes(`--dport ${VXLAN_PORT}`) || !m[2]!.includes("-p udp")) continue;
        if (m[2]!.includes("dpl-vxlan-dropped")) dropped += Number(m[1]);
        else if (/-j ACCEPT/.test(m[2]!)) accepted += Number(m[1]);
    }
    return { accepted, dropped };
}
