/**
 * Hairpin topology (shared/seeds/000): a LAN bridge, a router that DNATs its external IPs to the
 * nodes without SNAT, node1 serving HTTP, node2 as the client; plus a DNS server host and an
 * "upstream" DNS host on the same LAN for case 5.
 *
 *                         dpl-router  169.233.100.10 -> 192.168.10.100 (DNAT, no SNAT; external IPs on lo)
 *                          lan0 .1    169.233.100.11 -> 192.168.10.101
 *                             |
 *    dpl-lan (bridge br0) ----+-------------+---------------+----------------+
 *        |                    |             |               |
 *    dpl-node1 .100       dpl-node2 .101   dpl-dns .53     dpl-upstream .54
 *    HTTP backend         client           CoreDNS         stub DNS (node dgram)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, httpGet, served, startHttpServer, type HttpResult } from "./lib/agent-client";
import type { Netns } from "./lib/netns";
import type { LabSession } from "./lib/session";
import { run } from "./lib/proc";

export const LAN = {
    cidr: "192.168.10.0/24",
    router: "192.168.10.1",
    node1: "192.168.10.100",
    node2: "192.168.10.101",
    dns: "192.168.10.53",
    upstream: "192.168.10.54",
};
export const EXTERNAL = { node1: "169.233.100.10", node2: "169.233.100.11", net: "169.233.100.0/24" };
/** The local stack's endpoint (seed 000 and Pulumi.local.yaml): the name clients use, and where it really lives. */
export const REGISTRY = { hostname: "registry.example.com", external: "169.233.100.10", internal: "192.168.10.100" };
/** The port the router exposes and node1 serves on (the local stack's registry endpoint: 443). */
export const WEB_PORT = 443;
export const CLIENT_TIMEOUT_MS = 2500;

export interface HairpinTopology {
    ns: { lan: string; router: string; node1: string; node2: string; dns: string; upstream: string };
    logDir: string;
}

/** Builds the hairpin LAN. `backendPorts`: every port node1 serves HTTP on. */
export async function buildHairpin(session: LabSession, logDir: string, backendPorts: number[]): Promise<HairpinTopology> {
    const netns = session.netns;
    const ns = {
        lan: netns.add("lan"),
        router: netns.add("router"),
        node1: netns.add("node1"),
        node2: netns.add("node2"),
        dns: netns.add("dns"),
        upstream: netns.add("upstream"),
    };
    netns.ip(ns.lan, "link add br0 type bridge", "link set br0 up");
    const hosts: Array<[keyof typeof ns, string, string]> = [
        ["router", "lan0", LAN.router], ["node1", "eth0", LAN.node1], ["node2", "eth0", LAN.node2],
        ["dns", "eth0", LAN.dns], ["upstream", "eth0", LAN.upstream],
    ];
    for (const [host, ifname, addr] of hosts) attachToLan(netns, ns.lan, `p-${host}`, ns[host], ifname, addr, host !== "router");
    // Router: holds the external IPs, forwards, DNATs external -> internal 1:1, and never SNATs.
    // (On loopback: the kernel may lack the dummy driver. DNAT happens before routing anyway.)
    netns.ip(ns.router, `addr add ${EXTERNAL.node1}/32 dev lo`, `addr add ${EXTERNAL.node2}/32 dev lo`);
    netns.sysctl(ns.router, "net.ipv4.ip_forward", 1);
    for (const k of ["all", "default", "lan0"]) netns.sysctl(ns.router, `net.ipv4.conf.${k}.send_redirects`, 0);
    run(["iptables-restore"], {
        ns: ns.router,
        input: [
            "*nat",
            ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
            `-A PREROUTING -d ${EXTERNAL.node1}/32 -m comment --comment "router DNAT (seed 000)" -j DNAT --to-destination ${LAN.node1}`,
            `-A PREROUTING -d ${EXTERNAL.node2}/32 -m comment --comment "router DNAT (seed 000)" -j DNAT --to-destination ${LAN.node2}`,
            "COMMIT", "",
        ].join("\n"),
    });
    // node2's way to the external range is explicitly through the router (the hairpin path).
    netns.ip(ns.node2, `route add ${EXTERNAL.net} via ${LAN.router} dev eth0`);
    netns.sysctl(ns.node2, "net.ipv4.conf.all.accept_redirects", 0);
    netns.sysctl(ns.node2, "net.ipv4.conf.eth0.accept_redirects", 0);
    // node2's probe: counts SYN-ACKs by source, so the lab can show where replies really come from.
    run(["iptables-restore", "--noflush"], {
        ns: ns.node2,
        input: ["*filter", ":DPL-PROBE - [0:0]", "-A INPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -j DPL-PROBE",
            `-A DPL-PROBE -s ${LAN.node1}/32 -m comment --comment synack-from-internal`,
            `-A DPL-PROBE -s ${EXTERNAL.node1}/32 -m comment --comment synack-from-external`, "COMMIT", ""].join("\n"),
    });
    await startHttpServer(session.daemons, ns.node1, "node1", [...new Set([WEB_PORT, ...backendPorts])], path.join(logDir, "http-node1.log"));
    return { ns, logDir };
}

/**
 * Plugs namespace `hostNs` into the LAN's bridge (bridge port `port`) as `ifname` with `addr`/24,
 * routing everything through the router when `viaRouter`. The nodes lab adds its control plane so.
 */
export function attachToLan(netns: Netns, lanNs: string, port: string, hostNs: string, ifname: string, addr: string, viaRouter: boolean): void {
    netns.veth(lanNs, port, hostNs, ifname);
    netns.ip(lanNs, `link set ${port} master br0`, `link set ${port} up`);
    netns.ip(hostNs, `addr add ${addr}/24 dev ${ifname}`, `link set ${ifname} up`);
    if (viaRouter) netns.ip(hostNs, `route add default via ${LAN.router}`);
}

/** SYN-ACK counters on node2 by source (internal 192.168.10.100 / external 169.233.100.10). */
export function synAckCounters(t: HairpinTopology): { internal: number; external: number } {
    const out = run(["iptables", "-w", "-nvx", "-L", "DPL-PROBE"], { ns: t.ns.node2 }).stdout;
    const count = (tag: string) => Number(out.split("\n").find((l) => l.includes(tag))?.trim().split(/\s+/)[0] ?? NaN);
    return { internal: count("synack-from-internal"), external: count("synack-from-external") };
}

export function zeroSynAckCounters(t: HairpinTopology): void {
    run(["iptables", "-w", "-Z", "DPL-PROBE"], { ns: t.ns.node2 });
}

/** GET from node2. */
export function fromNode2(t: HairpinTopology, url: string, host?: string): HttpResult {
    return httpGet(t.ns.node2, url, CLIENT_TIMEOUT_MS, host);
}

export { describe, served };

/** The router's SNAT for LAN-to-LAN hairpin traffic (case 3), added and removed. */
export function setRouterSnat(t: HairpinTopology, on: boolean): void {
    run(["iptables", "-w", "-t", "nat", on ? "-A" : "-D", "POSTROUTING", "-s", LAN.cidr, "-d", LAN.cidr, "-m", "comment", "--comment", "hairpin SNAT (classic fix)", "-j", "SNAT", "--to-source", LAN.router], { ns: t.ns.router });
}

/** `iptables-save -t nat` of a namespace without counters or comments lines, for comparing rule sets. */
export function natRules(ns: string): string {
    const parts: string[] = [];
    // Legacy tables are only read when they exist in the namespace: reading would create them.
    const legacy = run(["cat", "/proc/net/ip_tables_names"], { ns, allowFail: true }).stdout.split("\n").includes("nat");
    for (const save of legacy ? ["iptables-nft-save", "iptables-legacy-save"] : ["iptables-nft-save"]) {
        const out = run([save, "-t", "nat"], { ns, allowFail: true }).stdout;
        parts.push(`# ${save}`, ...out.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/g, "[0:0]")));
    }
    return parts.join("\n");
}

export function writeFileEnsured(file: string, content: string, mode = 0o644): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
}
