/**
 * The direct-connection lab's network: the namespaces and links, the NATs of each site, the WAN
 * emulator that delays what the router forwards, the node firewalls, and the router's count of
 * what tried to leave the lab.
 *
 *                            dpt-svc  203.0.113.10 derper (DERP region 900 + STUN), .11 derper
 *                               |      (region 901 + STUN), .20 headscale (plain HTTP)  17.5 ms each way
 *   dpt-laptop -- dpt-home ---- dpt-inet (router; every forwarded packet goes through the WAN
 *   192.168.1.10   198.51.100.2    |       emulator, which delays it by its two sites' delays)
 *            MASQUERADE             |--- dpt-nodea 192.0.2.10    tailscaled :PORT, firewall from
 *            --random-fully         |      2.5 ms                firewallRules          (directpath)
 *            2.5 ms                 |--- dpt-nodeb 198.18.0.10   SNAT --random-fully, no inbound
 *                                   |      2.5 ms  '-- dpt-podb 10.244.1.10 tailscaled  (default)
 *                                   |--- dpt-igwc 198.18.1.10 (1:1 NAT) -- dpt-nodec 10.0.1.10
 *                                   |      2.5 ms    tailscaled :PORT, firewall from firewallRules,
 *                                   |                VPC CNI SNAT --random-fully on host traffic
 *                                   '--- dpt-nodep 198.18.2.10   SNAT --random-fully for the pod; UDP NodePort
 *                                          2.5 ms  |             DNAT (no SNAT) to the pod; firewall from the
 *                                                  |             pod-mode plan's firewallRules      (directpath pod mode)
 *                                                  '-- dpt-podp 10.244.2.10 tailscaled --config (userspace)
 */
import * as path from "node:path";
import { cidrContains } from "../../components/common/net";
import { exec, execEach, waitUntil } from "../lib/proc";
import type { LabSession } from "../lib/session";
import { WANEM_BIN } from "./build";
import { NET, PATHS, SITE_LINKS, SITES } from "./config";
import { SG_CHAIN, type PodPlanFacts } from "./plan";

export interface Topology {
    ns: { inet: string; svc: string; home: string; laptop: string; nodea: string; nodeb: string; podb: string; igwc: string; nodec: string; nodep: string; podp: string };
}

const EDGE_CHAIN = "DPT-EDGE";
/** xt_recent list of the destinations that tried to leave (/proc/net/xt_recent/dpt-edge). */
const EDGE_LIST = "dpt-edge";
const WAN_DEV = "dpt-wan0";

const veth = (nsA: string, ifA: string, nsB: string, ifB: string) => exec(["ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
const prefixLen = (cidr: string) => cidr.split("/")[1]!;

/** Creates every namespace (through the session, so cleanup removes them) and wires the sites. */
export async function buildTopology(session: LabSession): Promise<Topology> {
    const add = (short: string) => session.netns.add(short);
    const ns = {
        inet: add("inet"), svc: add("svc"), home: add("home"), laptop: add("laptop"),
        nodea: add("nodea"), nodeb: add("nodeb"), podb: add("podb"), igwc: add("igwc"), nodec: add("nodec"),
        nodep: add("nodep"), podp: add("podp"),
    };
    await veth(ns.inet, "to-svc", ns.svc, "wan0");
    await veth(ns.inet, "to-home", ns.home, "wan0");
    await veth(ns.inet, "to-nodea", ns.nodea, "wan0");
    await veth(ns.inet, "to-nodeb", ns.nodeb, "wan0");
    await veth(ns.home, "lan0", ns.laptop, "eth0");
    await veth(ns.nodeb, "vethpod", ns.podb, "eth0");
    await veth(ns.inet, "to-nodec", ns.igwc, "wan0");
    await veth(ns.igwc, "vpc0", ns.nodec, "eth0");
    await veth(ns.inet, "to-nodep", ns.nodep, "wan0");
    await veth(ns.nodep, "vethpod", ns.podp, "eth0");

    await execEach(ns.inet, [
        ...SITES.map((s, i) => ["ip", "addr", "add", `${s.gw}/${prefixLen(s.cidr)}`, "dev", SITE_LINKS[i]!]),
        ...SITE_LINKS.map((d) => ["ip", "link", "set", d, "up"]),
        ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"],
        // Nothing may leave the lab: the router has no default route, and this counts what tried.
        ["iptables", "-t", "raw", "-N", EDGE_CHAIN],
        ...SITES.map((s) => ["iptables", "-t", "raw", "-A", EDGE_CHAIN, "-d", s.cidr, "-j", "RETURN"]),
        // xt_recent keeps the destinations that tried, for the report.
        ["iptables", "-t", "raw", "-A", EDGE_CHAIN, "-m", "recent", "--name", EDGE_LIST, "--rdest", "--set"],
        ["iptables", "-t", "raw", "-A", EDGE_CHAIN, "-j", "DROP"],
        ["iptables", "-t", "raw", "-A", "PREROUTING", "-j", EDGE_CHAIN],
    ]);
    await execEach(ns.svc, [
        ["ip", "addr", "add", `${NET.svc.derp1}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.svc.derp2}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.svc.headscale}/24`, "dev", "wan0"],
        ["ip", "link", "set", "wan0", "up"],
        ["ip", "route", "add", "default", "via", NET.svc.gw],
    ]);
    // The laptop's home router: a hard NAT (new random source port per destination).
    await execEach(ns.home, [
        ["ip", "addr", "add", `${NET.home.wan}/24`, "dev", "wan0"],
        ["ip", "addr", "add", `${NET.home.lan}/24`, "dev", "lan0"],
        ["ip", "link", "set", "wan0", "up"], ["ip", "link", "set", "lan0", "up"],
        ["ip", "route", "add", "default", "via", NET.home.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE", "--random-fully"],
        ["iptables", "-A", "FORWARD", "-i", "wan0", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ["iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP"],
    ]);
    await execEach(ns.laptop, [
        ["ip", "addr", "add", `${NET.home.laptop}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.home.lan],
    ]);
    await execEach(ns.nodea, [
        ["ip", "addr", "add", `${NET.nodea.wan}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodea.gw],
    ]);
    // Node B: public address on the node; the pod behind it, SNATed with random ports the way the
    // AWS VPC CNI's AWS-SNAT-CHAIN rule does (SNAT --to-source <node> --random-fully).
    await execEach(ns.nodeb, [
        ["ip", "addr", "add", `${NET.nodeb.wan}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "addr", "add", `${NET.nodeb.podGw}/24`, "dev", "vethpod"], ["ip", "link", "set", "vethpod", "up"],
        ["ip", "route", "add", "default", "via", NET.nodeb.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", NET.nodeb.podCidr, "!", "-d", NET.nodeb.clusterPodCidr, "-o", "wan0",
            "-m", "comment", "--comment", "like AWS-SNAT-CHAIN-1 of the VPC CNI", "-j", "SNAT", "--to-source", NET.nodeb.wan, "--random-fully"],
    ]);
    await execEach(ns.podb, [
        ["ip", "addr", "add", `${NET.nodeb.pod}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodeb.podGw],
    ]);
    // Node C's internet gateway: 1:1 NAT between the Elastic IP and the node's private address
    // (port-preserving, like AWS's), so only the node's own rules can randomize ports.
    await execEach(ns.igwc, [
        ["ip", "addr", "add", `${NET.nodec.eip}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "addr", "add", `${NET.nodec.vpcGw}/24`, "dev", "vpc0"], ["ip", "link", "set", "vpc0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodec.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-d", NET.nodec.eip, "-j", "DNAT", "--to-destination", NET.nodec.node],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", NET.nodec.node, "-j", "SNAT", "--to-source", NET.nodec.eip],
    ]);
    // Node C: host network, but the VPC CNI's rule (AWS-SNAT-CHAIN-1: everything leaving the VPC,
    // host traffic included, SNAT to the primary address with --random-fully) is still there.
    await execEach(ns.nodec, [
        ["ip", "addr", "add", `${NET.nodec.node}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodec.vpcGw],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "!", "-d", NET.nodec.vpcCidr, "-m", "addrtype", "!", "--dst-type", "LOCAL",
            "-m", "comment", "--comment", "like AWS-SNAT-CHAIN-1 of the VPC CNI", "-j", "SNAT", "--to-source", NET.nodec.node, "--random-fully"],
    ]);
    // Node P (pod mode): like node B, the pod's traffic leaves with the node's random-port SNAT
    // (kube-proxy/Cilium masquerade, MASQUERADE --random-fully); applyNodePort adds the NodePort.
    await execEach(ns.nodep, [
        ["ip", "addr", "add", `${NET.nodep.wan}/24`, "dev", "wan0"], ["ip", "link", "set", "wan0", "up"],
        ["ip", "addr", "add", `${NET.nodep.podGw}/24`, "dev", "vethpod"], ["ip", "link", "set", "vethpod", "up"],
        ["ip", "route", "add", "default", "via", NET.nodep.gw],
        ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
        ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", NET.nodep.podCidr, "!", "-d", NET.nodeb.clusterPodCidr, "-o", "wan0",
            "-m", "comment", "--comment", "the node's masquerade of pod traffic", "-j", "MASQUERADE", "--random-fully"],
    ]);
    await execEach(ns.podp, [
        ["ip", "addr", "add", `${NET.nodep.pod}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"],
        ["ip", "route", "add", "default", "via", NET.nodep.podGw],
    ]);
    return { ns };
}

/**
 * Node P's NodePort, as kube-proxy/Cilium implement a UDP NodePort Service with
 * externalTrafficPolicy Local: DNAT from the node's public address and each rendered nodePort to
 * the pod's IP and the Service's targetPort, no SNAT (the peer's source address reaches the pod).
 * And the node's "security group": stateful, inbound closed except the pod-mode plan's
 * firewallRules, matched before the DNAT (mangle PREROUTING), so on the NodePort the rules name.
 */
export async function applyNodePort(topo: Topology, pod: PodPlanFacts): Promise<string[][]> {
    const dnat = Object.values(pod.facts.nodePorts).map((p) => ["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-d", NET.nodep.wan, "-p", "udp", "--dport", String(p.nodePort),
        "-m", "comment", "--comment", "NodePort, externalTrafficPolicy Local", "-j", "DNAT", "--to-destination", `${NET.nodep.pod}:${p.targetPort}`]);
    await execEach(topo.ns.nodep, [
        ...dnat,
        ["iptables", "-t", "mangle", "-N", SG_CHAIN],
        ["iptables", "-t", "mangle", "-A", SG_CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ...pod.iptables.map((r) => ["iptables", "-t", "mangle", ...r]),
        ["iptables", "-t", "mangle", "-A", SG_CHAIN, "-j", "DROP"],
        ["iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "wan0", "-j", SG_CHAIN],
    ]);
    return dnat;
}

/** Starts the WAN emulator (a session daemon) and sends everything the router forwards between sites through it. */
export async function startWan(session: LabSession, topo: Topology): Promise<void> {
    const argv = [WANEM_BIN, "-dev", WAN_DEV, ...SITES.flatMap((s) => ["-site", `${s.cidr}=${s.delayMs}`])];
    session.daemons.start("wanem", argv, { ns: topo.ns.inet, logFile: path.join(PATHS.logs, "wanem.log") });
    await waitUntil("the WAN emulator's TUN device", 10_000, async () => (await exec(["ip", "link", "show", WAN_DEV], { ns: topo.ns.inet, allowFail: true })).code === 0);
    await execEach(topo.ns.inet, [
        ["ip", "link", "set", WAN_DEV, "up"],
        ["sysctl", "-qw", `net.ipv4.conf.${WAN_DEV}.rp_filter=0`],
        ["ip", "route", "add", "default", "dev", WAN_DEV, "table", "100"],
        ...SITE_LINKS.map((d) => ["ip", "rule", "add", "iif", d, "lookup", "100"]),
    ]);
}

/** The node firewalls, like security groups on the nodes' interfaces: stateful, inbound closed except for the given rules. */
export async function applyFirewalls(topo: Topology, nodeA: string[][], nodeC: string[][]): Promise<void> {
    const chain = (ns: string, jumps: string[], dev: string, allow: string[][]) => execEach(ns, [
        ["iptables", "-N", SG_CHAIN],
        ["iptables", "-A", SG_CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
        ...jumps.map((c) => ["iptables", "-A", c, "-i", dev, "-j", SG_CHAIN]),
        ...allow.map((r) => ["iptables", ...r]),
        ["iptables", "-A", SG_CHAIN, "-j", "DROP"],
    ]);
    await chain(topo.ns.nodea, ["INPUT"], "wan0", nodeA);
    // Node C gets directpath's rules too (the local stack's): only the SNAT rule differs from node A.
    await chain(topo.ns.nodec, ["INPUT"], "eth0", nodeC);
    await chain(topo.ns.nodeb, ["INPUT", "FORWARD"], "wan0", []);
}

/** What the router could not route: its DROP count, and every destination that was not a peer's private candidate endpoint. */
export async function edgeReport(topo: Topology): Promise<{ dropped: string; tried: string[]; foreign: string[] }> {
    const counters = (await exec(["iptables", "-t", "raw", "-L", EDGE_CHAIN, "-nvx"], { ns: topo.ns.inet, allowFail: true })).stdout;
    const dropLine = counters.split("\n").find((l) => /\bDROP\b/.test(l));
    const tried = (await exec(["cat", `/proc/net/xt_recent/${EDGE_LIST}`], { ns: topo.ns.inet, allowFail: true })).stdout.split("\n")
        .map((l) => /src=(\S+)/.exec(l)?.[1]).filter((x): x is string => !!x);
    // Peers try each other's private candidate endpoints (the laptop's LAN address, the pod IP);
    // the "internet" can't route those. Anything else would be traffic trying to leave the lab.
    const privateLab = [NET.home.lanCidr, NET.nodeb.clusterPodCidr, NET.nodec.vpcCidr];
    return { dropped: dropLine?.trim().split(/\s+/)[0] ?? "?", tried, foreign: tried.filter((a) => !privateLab.some((c) => cidrContains(c, a))) };
}
