/**
 * Network-namespace helpers. Every namespace a lab creates carries its lab's prefix (`dpl-` for the
 * network lab, `dpt-` for the Tailscale lab), so a later run can find and remove what a killed run
 * left behind. Links are created directly inside
 * the namespaces (`ip link add ... netns X`), so the host's own namespace is never touched.
 */
import * as fs from "node:fs";
import { run, type RunOptions, type RunResult } from "./proc";

/** Names of existing network namespaces that start with `prefix`. */
export function listNamespaces(prefix: string): string[] {
    const out = run(["ip", "netns", "list"], { allowFail: true }).stdout;
    return out.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n.startsWith(prefix));
}

/** Kills every process inside a namespace (SIGKILL), then deletes the namespace. */
export function destroyNamespace(name: string): void {
    const pids = run(["ip", "netns", "pids", name], { allowFail: true }).stdout.split(/\s+/).filter(Boolean);
    for (const pid of pids) {
        try {
            process.kill(Number(pid), "SIGKILL");
        } catch {
            /* gone */
        }
    }
    run(["ip", "netns", "del", name], { allowFail: true });
    fs.rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
}

/**
 * Removes everything a previous (possibly killed) run left: namespaces with the prefix, and any
 * stray link with the prefix in the host namespace (there should be none; this is belt and braces).
 * Returns what it removed.
 */
export function removeLeftovers(prefix: string): string[] {
    const removed: string[] = [];
    for (const ns of listNamespaces(prefix)) {
        destroyNamespace(ns);
        removed.push(`netns ${ns}`);
    }
    // Per-namespace /etc files (`ip netns exec` bind-mounts /etc/netns/<ns>/*).
    for (const dir of fs.existsSync("/etc/netns") ? fs.readdirSync("/etc/netns") : []) {
        if (!dir.startsWith(prefix)) continue;
        fs.rmSync(`/etc/netns/${dir}`, { recursive: true, force: true });
        removed.push(`/etc/netns/${dir}`);
    }
    const links = run(["ip", "-o", "link", "show"], { allowFail: true }).stdout;
    for (const line of links.split("\n")) {
        const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
        if (name && name.startsWith(prefix)) {
            run(["ip", "link", "del", name], { allowFail: true });
            removed.push(`link ${name}`);
        }
    }
    return removed;
}

/** A set of namespaces created for one run, removed together. */
export class Netns {
    readonly created: string[] = [];

    constructor(readonly prefix: string) {}

    /** Full name of a lab namespace. */
    name(short: string): string {
        return `${this.prefix}${short}`;
    }

    /** Creates a namespace with loopback up; returns its full name. */
    add(short: string): string {
        const ns = this.name(short);
        run(["ip", "netns", "add", ns]);
        this.created.push(ns);
        // The lab has no DNS server: without this, `ip netns exec` would hand the namespace the
        // host's /etc/resolv.conf, and a daemon's lookup would try to leave the lab for the host's
        // resolver. Pointing at the namespace's own loopback makes such a lookup fail at once, in place.
        fs.mkdirSync(`/etc/netns/${ns}`, { recursive: true });
        if (!fs.existsSync(`/etc/netns/${ns}/resolv.conf`)) fs.writeFileSync(`/etc/netns/${ns}/resolv.conf`, "nameserver 127.0.0.1\n");
        this.exec(ns, ["ip", "link", "set", "lo", "up"]);
        return ns;
    }

    exec(ns: string, argv: readonly string[], opts: Omit<RunOptions, "ns"> = {}): RunResult {
        return run(argv, { ...opts, ns });
    }

    /** Runs several `ip` commands in one namespace (`ip -batch`). */
    ip(ns: string, ...commands: string[]): void {
        run(["ip", "-n", ns, "-batch", "-"], { input: commands.join("\n") + "\n" });
    }

    /** A veth pair with one end in each namespace. */
    veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
        run(["ip", "link", "add", ifA, "netns", nsA, "type", "veth", "peer", "name", ifB, "netns", nsB]);
    }

    /** Sets a sysctl inside a namespace (net.* sysctls are per namespace). */
    sysctl(ns: string, key: string, value: string | number): void {
        this.exec(ns, ["sysctl", "-q", "-w", `${key}=${value}`]);
    }

    /** Deletes every namespace this instance created (killing what runs inside). Idempotent. */
    destroy(): void {
        for (const ns of this.created.splice(0).reverse()) destroyNamespace(ns);
    }
}
