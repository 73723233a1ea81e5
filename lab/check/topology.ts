/**
 * The check lab's two topologies, in dpc- network namespaces (own code: the main lab's builders in
 * lab/hairpin.ts and lab/overlay.ts are being refactored; these follow the same field reports).
 *
 * Hairpin (field report 000): a LAN bridge, a router that DNATs the external IPs to the nodes
 * without SNAT, node1 serving the endpoint, node2 (the host-network vantage point) with a pod
 * namespace behind it that node2 masquerades like a CNI does, and a DNS server (dnsmasq) that
 * answers the endpoint's hostname with its public address, as an unfixed cluster DNS would.
 *
 *     dpc-router 192.168.10.1 (169.233.100.10 -> .100, 169.233.100.11 -> .101: DNAT, no SNAT)
 *         |
 *     dpc-lan br0 --- dpc-node1 .100 (listen.sh on the endpoint's port)
 *         |      \--- dpc-dns .53 (dnsmasq: registry.example.com -> 169.233.100.10)
 *     dpc-node2 .101 --- pod0 10.233.65.1 --- dpc-pod2 10.233.65.10
 *
 * Overlay (field report 003): two nodes joined by Linux VXLAN on the stack's tunnel port through a
 * "cloud firewall" namespace whose FORWARD rules come from the stack's security-group table; behind
 * each node a bridge with a server pod (listen.sh + dnsmasq standing in for a CoreDNS pod) and a
 * client pod (where the probe runs).
 *
 *     dpc-poda .1.10  dpc-ca .1.20          dpc-fw             dpc-podb .2.10  dpc-cb .2.20
 *         \___ cbr0 ___/                fw-a    fw-b               \___ cbr0 ___/
 *           dpc-nodea 10.0.1.10 --------+        +-------- 10.0.2.10 dpc-nodeb
 *                vxlan0 10.244.0.1 <== UDP <tunnel port> ==> vxlan0 10.244.0.2
 */
import * as path from "node:path";
import { addNs, daemon, etcFile, ip, run, sleep, sysctl, veth } from "./ns";

export const HAIRPIN = {
    router: "192.168.10.1", node1: "192.168.10.100", node2: "192.168.10.101", dns: "192.168.10.53",
    ext1: "169.233.100.10", ext2: "169.233.100.11", extNet: "169.233.100.0/24",
    podGw: "10.233.65.1", pod: "10.233.65.10", podNet: "10.233.65.0/24",
};

export interface HairpinLab {
    ns: { lan: string; router: string; node1: string; node2: string; pod2: string; dns: string };
    /** node2's hosts file as `ip netns exec` shows it at /etc/hosts. */
    node2Hosts: string;
}

/** Waits until `ns` has a TCP listener on `port`. */
export async function waitListening(ns: string, port: number, proto: "t" | "u" = "t", timeoutMs = 10_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
        if (run(["ss", `-Hln${proto}`, `sport = :${port}`], { ns, allowFail: true }).stdout.trim()) return true;
        await sleep(100);
    }
    return false;
}

/**
 * `busyboxDir`: a directory of busybox applet links put first on PATH (nc, nslookup, ...), as in
 * the Tailscale image. `listenSh`: check/probes/listen.sh. `hostname`/`port`: the endpoint.
 */
export async function buildHairpin(o: { busyboxDir: string; listenSh: string; logDir: string; hostname: string; port: number }): Promise<HairpinLab> {
    const ns = { lan: addNs("lan"), router: addNs("router"), node1: addNs("node1"), node2: addNs("node2"), pod2: addNs("pod2"), dns: addNs("dns") };
    ip(ns.lan, "link add br0 type bridge", "link set br0 up");
    for (const [host, ifname, addr] of [["router", "lan0", HAIRPIN.router], ["node1", "eth0", HAIRPIN.node1], ["node2", "eth0", HAIRPIN.node2], ["dns", "eth0", HAIRPIN.dns]] as const) {
        veth(ns.lan, `p-${host}`, ns[host], ifname);
        ip(ns.lan, `link set p-${host} master br0`, `link set p-${host} up`);
        ip(ns[host], `addr add ${addr}/24 dev ${ifname}`, `link set ${ifname} up`);
        if (host !== "router") ip(ns[host], `route add default via ${HAIRPIN.router}`);
    }
    ip(ns.router, `addr add ${HAIRPIN.ext1}/32 dev lo`, `addr add ${HAIRPIN.ext2}/32 dev lo`);
    sysctl(ns.router, "net.ipv4.ip_forward", 1);
    for (const k of ["all", "default", "lan0"]) sysctl(ns.router, `net.ipv4.conf.${k}.send_redirects`, 0);
    run(["iptables-restore"], {
        ns: ns.router,
        input: ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
            `-A PREROUTING -d ${HAIRPIN.ext1}/32 -j DNAT --to-destination ${HAIRPIN.node1}`,
            `-A PREROUTING -d ${HAIRPIN.ext2}/32 -j DNAT --to-destination ${HAIRPIN.node2}`, "COMMIT", ""].join("\n"),
    });
    for (const k of ["all", "eth0"]) sysctl(ns.node2, `net.ipv4.conf.${k}.accept_redirects`, 0);
    // The pod behind node2, masqueraded to node2's address on the way out (as a CNI does).
    sysctl(ns.node2, "net.ipv4.ip_forward", 1);
    veth(ns.node2, "pod0", ns.pod2, "eth0");
    ip(ns.node2, `addr add ${HAIRPIN.podGw}/24 dev pod0`, "link set pod0 up");
    ip(ns.pod2, `addr add ${HAIRPIN.pod}/24 dev eth0`, "link set eth0 up", `route add default via ${HAIRPIN.podGw}`);
    run(["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", HAIRPIN.podNet, "!", "-o", "pod0", "-j", "MASQUERADE"], { ns: ns.node2 });
    // Resolvers: the pod and node2 both ask the LAN's DNS; node2 has a node-style hosts file, the pod a pod's.
    for (const n of [ns.node2, ns.pod2]) etcFile(n, "resolv.conf", `nameserver ${HAIRPIN.dns}\n`);
    const node2Hosts = etcFile(ns.node2, "hosts", `127.0.0.1 localhost\n${HAIRPIN.node1} node1\n${HAIRPIN.node2} node2\n`);
    etcFile(ns.pod2, "hosts", `127.0.0.1 localhost\n${HAIRPIN.pod} probe-pod\n`);
    daemon(ns.dns, ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", `--listen-address=${HAIRPIN.dns}`, "--bind-interfaces", `--local=/${o.hostname.split(".").slice(1).join(".")}/`,
        `--host-record=${o.hostname},${HAIRPIN.ext1}`, "--log-facility=-"], path.join(o.logDir, "dnsmasq-hairpin.log"));
    daemon(ns.node1, ["env", `PATH=${o.busyboxDir}:/usr/sbin:/usr/bin:/sbin:/bin`, `DPC_PORT=${o.port}`, "DPC_ID=node1", "busybox", "sh", o.listenSh], path.join(o.logDir, "listen-node1.log"));
    if (!(await waitListening(ns.node1, o.port))) throw new Error(`listen.sh on node1 is not listening on ${o.port}`);
    if (!(await waitListening(ns.dns, 53, "u"))) throw new Error("dnsmasq in dpc-dns is not listening");
    return { ns, node2Hosts };
}

export const OVERLAY = {
    a: { node: "10.0.1.10", gw: "10.0.1.1", fwIf: "fw-a", vtep: "10.244.0.1", net: "10.244.1.0/24", br: "10.244.1.1", server: "10.244.1.10", client: "10.244.1.20" },
    b: { node: "10.0.2.10", gw: "10.0.2.1", fwIf: "fw-b", vtep: "10.244.0.2", net: "10.244.2.0/24", br: "10.244.2.1", server: "10.244.2.10", client: "10.244.2.20" },
};
export const DNS_NAME = "kubernetes.default.svc.cluster.local";
export const DNS_ANSWER = "10.96.0.1";

export interface OverlayLab {
    ns: { fw: string; nodea: string; nodeb: string; poda: string; podb: string; ca: string; cb: string };
}

/** Builds the overlay with `firewall` (iptables-restore text for the filter table) in dpc-fw<tag>. */
export async function buildOverlay(o: { busyboxDir: string; listenSh: string; logDir: string; tunnelPort: number; firewall: string; tag: string; listenPort: number }): Promise<OverlayLab> {
    const t = o.tag;
    const ns = { fw: addNs(`fw${t}`), nodea: addNs(`nodea${t}`), nodeb: addNs(`nodeb${t}`), poda: addNs(`poda${t}`), podb: addNs(`podb${t}`), ca: addNs(`ca${t}`), cb: addNs(`cb${t}`) };
    sysctl(ns.fw, "net.ipv4.ip_forward", 1);
    run(["iptables-restore"], { ns: ns.fw, input: o.firewall });
    // A counter only (no target): tunnel packets that reached the end of FORWARD, about to be dropped.
    run(["iptables", "-w", "-A", "FORWARD", "-p", "udp", "--dport", String(o.tunnelPort), "-m", "comment", "--comment", "dpc-tunnel-dropped"], { ns: ns.fw });
    const sides = [
        { node: ns.nodea, server: ns.poda, client: ns.ca, c: OVERLAY.a, peer: OVERLAY.b, id: "poda" },
        { node: ns.nodeb, server: ns.podb, client: ns.cb, c: OVERLAY.b, peer: OVERLAY.a, id: "podb" },
    ];
    for (const s of sides) {
        veth(ns.fw, s.c.fwIf, s.node, "eth0");
        ip(ns.fw, `addr add ${s.c.gw}/24 dev ${s.c.fwIf}`, `link set ${s.c.fwIf} up`);
        ip(s.node, `addr add ${s.c.node}/24 dev eth0`, "link set eth0 up", `route add default via ${s.c.gw}`);
        sysctl(s.node, "net.ipv4.ip_forward", 1);
        ip(s.node,
            `link add vxlan0 type vxlan id 1 local ${s.c.node} remote ${s.peer.node} dstport ${o.tunnelPort} dev eth0`,
            `addr add ${s.c.vtep}/24 dev vxlan0`, "link set vxlan0 up", `route add ${s.peer.net} via ${s.peer.vtep} dev vxlan0`,
            "link add cbr0 type bridge", `addr add ${s.c.br}/24 dev cbr0`, "link set cbr0 up");
        for (const [pns, addr, ifn] of [[s.server, s.c.server, "vs"], [s.client, s.c.client, "vc"]] as const) {
            veth(s.node, ifn, pns, "eth0");
            ip(s.node, `link set ${ifn} master cbr0`, `link set ${ifn} up`);
            ip(pns, `addr add ${addr}/24 dev eth0`, "link set eth0 mtu 1400", "link set eth0 up", `route add default via ${s.c.br}`);
        }
        daemon(s.server, ["env", `PATH=${o.busyboxDir}:/usr/sbin:/usr/bin:/sbin:/bin`, `DPC_PORT=${o.listenPort}`, `DPC_ID=${s.id}`, "busybox", "sh", o.listenSh], path.join(o.logDir, `listen-${s.id}${t}.log`));
        daemon(s.server, ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", `--listen-address=${s.c.server}`, "--bind-interfaces", "--local=/cluster.local/",
            `--host-record=${DNS_NAME},${DNS_ANSWER}`, "--log-facility=-"], path.join(o.logDir, `dnsmasq-${s.id}${t}.log`));
    }
    for (const s of [ns.poda, ns.podb]) {
        if (!(await waitListening(s, o.listenPort))) throw new Error(`listen.sh in ${s} is not listening`);
        if (!(await waitListening(s, 53, "u"))) throw new Error(`dnsmasq in ${s} is not listening`);
    }
    return { ns };
}

/** Tunnel packets the firewall accepted (by a rule) and dropped (reached the end of FORWARD). */
export function tunnelCounters(lab: OverlayLab, port: number): { accepted: number; dropped: number } {
    let accepted = 0;
    let dropped = 0;
    for (const l of run(["iptables-save", "-c", "-t", "filter"], { ns: lab.ns.fw }).stdout.split("\n")) {
        const m = /^\[(\d+):\d+\]\s+(.*)$/.exec(l);
        if (!m || !m[2]!.includes("-p udp") || !new RegExp(`--dport ${port}\\b`).test(m[2]!)) continue;
        if (m[2]!.includes("dpc-tunnel-dropped")) dropped += Number(m[1]);
        else if (m[2]!.includes("-j ACCEPT")) accepted += Number(m[1]);
    }
    return { accepted, dropped };
}
