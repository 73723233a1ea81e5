/**
 * Case 6: the node hosts DaemonSet (local stack) keeps its block in a scratch copy of a hosts file:
 * the right entry appears, a restart changes no byte (not even the mtime), and SIGTERM restores the
 * original byte for byte, in place (same inode). Run on two originals: with and without a trailing
 * newline.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LAN, REGISTRY } from "../hairpin";
import { podSpecOf } from "../lib/k8s-local";
import { stopDaemon } from "../lib/proc";
import type { K8sObject, Rendered } from "../lib/rendered";
import { crash, startDaemonSet, waitUntilSleeping } from "../lib/run-daemonset";
import { stackOrSkip, type CaseDef, type LabContext } from "./types";

const ORIGINAL = [
    "127.0.0.1 localhost localhost.localdomain",
    "::1 localhost6 localhost6.localdomain",
    "# Ansible inventory hosts BEGIN",
    `${LAN.node1} node1.cluster.local node1`,
    `${LAN.node2} node2.cluster.local node2`,
    "# Ansible inventory hosts END",
].join("\n");

/** The DaemonSet that mounts the node's /etc/hosts. */
export function hostsDaemonSet(r: Rendered): { ds: K8sObject; hostPath: string } | undefined {
    for (const o of r.objects) {
        if (o.object.kind !== "DaemonSet") continue;
        const vols = (podSpecOf(o.object).volumes ?? []) as Array<{ hostPath?: { path: string } }>;
        const hp = vols.find((v) => v.hostPath?.path === "/etc/hosts");
        if (hp) return { ds: o.object, hostPath: hp.hostPath!.path };
    }
    return undefined;
}

export function nodeFieldRefs(node: string, address: string, ds: K8sObject): Record<string, string> {
    return {
        "spec.nodeName": node,
        "status.hostIP": address,
        "status.podIP": address,
        "metadata.name": `${ds.metadata?.name ?? "pod"}-lab`,
        "metadata.namespace": ds.metadata?.namespace ?? "default",
    };
}

async function oneFile(ctx: LabContext, ds: K8sObject, hostPath: string, original: string, tag: string): Promise<{ ok: boolean; facts: string[]; notes: string[] }> {
    const dir = path.join(ctx.work, `case6-${tag}`);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "hosts");
    fs.writeFileSync(file, original);
    const ino = fs.statSync(file).ino;
    const facts: string[] = [];
    const start = (run: number) => startDaemonSet(ctx.session.daemons, ds, ctx.hairpin.ns.node2, path.join(ctx.logDir, `case6-${tag}-run${run}.log`), {
        root: path.join(dir, `run${run}`), fieldRefs: nodeFieldRefs("node2", LAN.node2, ds), hostPaths: { [hostPath]: file }, configMaps: ctx_configMaps(ctx),
    });
    const first = start(1);
    if (!(await waitUntilSleeping(first.daemon, 15_000))) return { ok: false, facts: [`first run did not settle: ${first.daemon.log().slice(-300)}`], notes: first.substitutions };
    const r1 = fs.readFileSync(file);
    const origLines = new Set(original.split("\n"));
    const added = r1.toString("utf8").split("\n").filter((l) => l !== "" && !origLines.has(l));
    const entries = added.filter((l) => !l.startsWith("#"));
    const want = `${REGISTRY.internal} ${REGISTRY.hostname}`;
    const entriesOk = entries.length === 1 && entries[0]!.split(/\s+/).join(" ") === want && r1.toString("utf8").startsWith(original);
    facts.push(`entries ${JSON.stringify(entries)}`);
    const m1 = fs.statSync(file, { bigint: true }).mtimeNs;
    await crash(first.daemon);
    const second = start(2);
    if (!(await waitUntilSleeping(second.daemon, 15_000))) return { ok: false, facts: [...facts, "second run did not settle"], notes: second.substitutions };
    const r2 = fs.readFileSync(file);
    const idempotent = r1.equals(r2) && fs.statSync(file, { bigint: true }).mtimeNs === m1;
    facts.push(idempotent ? "restart: identical bytes, not rewritten" : "restart: CHANGED the file");
    const how = await stopDaemon(second.daemon, "SIGTERM", 10_000);
    const r3 = fs.readFileSync(file);
    const restored = r3.equals(Buffer.from(original)) && fs.statSync(file).ino === ino;
    facts.push(restored ? `SIGTERM (exit ${how}): original restored byte for byte, same inode` : `SIGTERM (exit ${how}): NOT restored (${r3.length} vs ${original.length} bytes, inode ${fs.statSync(file).ino === ino ? "same" : "changed"})`);
    return { ok: entriesOk && idempotent && restored, facts, notes: second.substitutions };
}

// The ConfigMaps of the local stack (volumes and configMapKeyRefs resolve against them).
function ctx_configMaps(ctx: LabContext): K8sObject[] {
    const r = stackOrSkip(ctx, "local");
    return r.objects.filter((o) => o.object.kind === "ConfigMap").map((o) => o.object);
}

export const case6: CaseDef = {
    id: "6",
    title: "directpath node hosts DaemonSet (local stack) on a scratch hosts file",
    expected: `block with "${REGISTRY.internal} ${REGISTRY.hostname}"; restart changes no byte; SIGTERM restores the original byte for byte`,
    timeoutMs: 60_000,
    run: async (ctx) => {
        const r = stackOrSkip(ctx, "local");
        const found = hostsDaemonSet(r);
        if (!found) throw new Error("the local stack renders no DaemonSet mounting /etc/hosts");
        const a = await oneFile(ctx, found.ds, found.hostPath, ORIGINAL + "\n", "newline");
        const b = await oneFile(ctx, found.ds, found.hostPath, ORIGINAL, "no-newline");
        return {
            observed: `with trailing newline: ${a.facts.join("; ")} | without: ${b.facts.join("; ")}`,
            pass: a.ok && b.ok,
            notes: [`ran ${found.ds.metadata?.namespace}/${found.ds.metadata?.name} from ${r.dir} in dpl-node2; substitutions:`, ...a.notes.map((n) => `  ${n}`)],
        };
    },
};
