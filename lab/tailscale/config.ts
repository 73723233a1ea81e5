/**
 * The direct-connection lab's fixed facts: pinned versions, time limits, addressing and delays of
 * the sites, ports, and where it writes. Constants only; the run's state lives in lab/lib/session.ts
 * and is passed down from lab/tailscale/run.ts.
 */
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../lib/proc";

/** Prefix of every namespace and link of this lab (and of its lock); temp dirs start with TEMP_PREFIX. */
export const PREFIX = "dpt-";
export const TEMP_PREFIX = "dpt-plan-";

/**
 * Pinned versions: tailscale = the component's pinned image tag (v1.102.0+ reads the config
 * file's RelayServerPort; pod mode and the relay need it); headscale v0.29.2 serves peer-relay
 * grants (and fixes map generation stalling on relay policies, juanfont/headscale#3358).
 */
export const VERSIONS = { tailscale: "v1.102.3", headscale: "v0.29.2" } as const;

/** Time limits. The first run compiles four Go programs on a small machine, hence the install budget. */
export const LIMITS = { installMs: 45 * 60_000, labMs: 18 * 60_000, stepMs: 90_000, cmdMs: 30_000, planMs: 240_000 } as const;

/** Where the pinned Go tools are cached, outside the repo: `${XDG_CACHE_HOME:-~/.cache}/directpath/bin/<name>@<version>/`. */
export const TOOL_CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "directpath", "bin");

export const PATHS = {
    /** The WAN emulator's build (git-ignored; built from lab/tailscale/wanem). */
    bin: path.join(ROOT, "lab", ".bin"),
    /** Daemon state and logs of the last run (git-ignored; kept after the run for reading). */
    work: path.join(ROOT, ".lab", "tailscale"),
    logs: path.join(ROOT, ".lab", "tailscale", "logs"),
    results: path.join(ROOT, "bench", "results"),
} as const;

/** Lab addressing and one-way delays (ms) per site, applied by the WAN emulator in dpt-inet. */
export const NET = {
    svc: { cidr: "203.0.113.0/24", gw: "203.0.113.1", derp1: "203.0.113.10", derp2: "203.0.113.11", headscale: "203.0.113.20", delayMs: 17.5 },
    home: { cidr: "198.51.100.0/24", gw: "198.51.100.1", wan: "198.51.100.2", lan: "192.168.1.1", lanCidr: "192.168.1.0/24", laptop: "192.168.1.10", delayMs: 2.5 },
    nodea: { cidr: "192.0.2.0/24", gw: "192.0.2.1", wan: "192.0.2.10", delayMs: 2.5 },
    nodeb: { cidr: "198.18.0.0/24", gw: "198.18.0.1", wan: "198.18.0.10", podGw: "10.244.1.1", pod: "10.244.1.10", podCidr: "10.244.1.0/24", clusterPodCidr: "10.244.0.0/16", delayMs: 2.5 },
    // Node C, EC2-style: a private address on the node, the public one as a 1:1 NAT in front of it
    // (the internet gateway's Elastic IP), and the VPC CNI's SNAT rule still in place.
    // Node P: pod mode. tailscaled in a pod (dpt-podp) behind the node's random-port SNAT, reached
    // through an emulated UDP NodePort (DNAT, no SNAT: externalTrafficPolicy Local).
    nodep: { cidr: "198.18.2.0/24", gw: "198.18.2.1", wan: "198.18.2.10", podGw: "10.244.2.1", pod: "10.244.2.10", podCidr: "10.244.2.0/24", delayMs: 2.5 },
    nodec: { cidr: "198.18.1.0/24", gw: "198.18.1.1", eip: "198.18.1.10", vpcCidr: "10.0.0.0/16", vpcGw: "10.0.1.1", node: "10.0.1.10", delayMs: 2.5 },
} as const;

/** The sites behind the router, and the router's links to them (same order). */
export const SITES = [NET.svc, NET.home, NET.nodea, NET.nodeb, NET.nodec, NET.nodep] as const;
export const SITE_LINKS = ["to-svc", "to-home", "to-nodea", "to-nodeb", "to-nodec", "to-nodep"] as const;

/** The lab's own settings for its variant stacks (written into temp copies of Pulumi.local.yaml; the lab reads the rendered values back). */
export const VARIANTS = {
    /** Pod mode: the NodePort, and the cluster node (of the stack's cluster.nodes) whose public IP is node P's. */
    pod: { nodePort: 30641 },
    /** Host mode + peer relay on node A. */
    relay: { port: 40000, tags: ["tag:k8s"] },
} as const;

/** The lab's two DERP regions (one derper each, in dpt-svc): the only relays headscale's DERP map has. */
export const DERP_REGIONS = [{ id: 900, code: "lab-a", ip: NET.svc.derp1 }, { id: 901, code: "lab-b", ip: NET.svc.derp2 }] as const;

export const STUN_PORT = 3478;
export const DERP_PORT = 443;
export const HEADSCALE_URL = `http://${NET.svc.headscale}:8080`;
/** `tailscale ping`s per pair for the RTT. */
export const PINGS = 20;
