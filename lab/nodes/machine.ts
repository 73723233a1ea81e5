/**
 * What of the machine the nodes lab must never touch, as text to compare before and after a run
 * (and after a killed one): its /etc/hosts, the root namespace's iptables (nft, and legacy when its
 * tables exist), its routes, the lab's cgroups (none may be left), its namespaces, /etc/netns,
 * mounts and /sys/fs/bpf entries of the lab.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../lib/proc";
import { CGROUP_FS } from "./node";

const KUBELET_SYSCTLS = ["vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops", "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes"];

export type MachineState = Record<string, string>;

const noCounters = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.replace(/\[\d+:\d+\]/g, "[0:0]")).join("\n");

/** The lab's cgroup directories (named `<prefix>*`) at the root of every hierarchy. */
export function labCgroups(prefix: string): string[] {
    const out: string[] = [];
    for (const h of fs.readdirSync(CGROUP_FS)) {
        const dir = path.join(CGROUP_FS, h);
        try {
            for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && e.name.startsWith(prefix)) out.push(path.join(dir, e.name));
        } catch {
            /* not a directory */
        }
    }
    return out.sort();
}

export function machineState(prefix: string, tempPrefix: string): MachineState {
    const legacy = fs.existsSync("/proc/net/ip_tables_names") && fs.readFileSync("/proc/net/ip_tables_names", "utf8").trim() !== "";
    return {
        "/etc/hosts": fs.readFileSync("/etc/hosts", "utf8"),
        "iptables-nft-save (root namespace)": noCounters(run(["iptables-nft-save"], { allowFail: true }).stdout),
        ...(legacy ? { "iptables-legacy-save (root namespace)": noCounters(run(["iptables-legacy-save"], { allowFail: true }).stdout) } : {}),
        "ip route show table all": run(["ip", "route", "show", "table", "all"]).stdout,
        "ip -6 route show table all": run(["ip", "-6", "route", "show", "table", "all"], { allowFail: true }).stdout,
        "the lab's cgroups": labCgroups(prefix).join("\n"),
        "the lab's network namespaces": run(["ip", "netns", "list"], { allowFail: true }).stdout.split("\n").filter((l) => l.startsWith(prefix)).join("\n"),
        "/etc/netns entries of the lab": (fs.existsSync("/etc/netns") ? fs.readdirSync("/etc/netns") : []).filter((n) => n.startsWith(prefix)).join("\n"),
        "mounts of the lab's dirs": fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(tempPrefix)).join("\n"),
        // The global sysctls a kubelet sets at start (lab/nodes/node.sh keeps it from it).
        "kernel and vm sysctls the kubelet sets": KUBELET_SYSCTLS.map((k) => `${k}=${fs.readFileSync(`/proc/sys/${k}`, "utf8").trim()}`).join("\n"),
        "/sys/fs/bpf": fs.existsSync("/sys/fs/bpf") ? fs.readdirSync("/sys/fs/bpf").sort().join("\n") : "(none)",
    };
}

/** The keys whose text differs. */
export function machineDiff(before: MachineState, after: MachineState): string[] {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
}
