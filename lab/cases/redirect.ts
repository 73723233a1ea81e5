/**
 * Case 4: directpath's iptables redirect. The DaemonSet and ConfigMap that the `local-iptables`
 * stack renders run on node2 (a hostNetwork pod = a process in node2's namespace) with the env the
 * DaemonSet gives it. The external IP:port must reach the backend (port mapping included: the same
 * stack rendered with the backend on another port), a restart after a crash must leave exactly the
 * same nat table (no duplicates), and SIGTERM must remove every rule, bringing case 2's failure back.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { describe, EXTERNAL, fromNode2, LAN, natRules, served, synAckCounters, WEB_PORT, zeroSynAckCounters } from "../hairpin";
import { podSpecOf } from "../lib/k8s-local";
import { stopDaemon } from "../lib/proc";
import { renderStack, type K8sObject, type Rendered } from "../lib/rendered";
import { crash, startDaemonSet, waitUntilSleeping } from "../lib/run-daemonset";
import { nodeFieldRefs } from "./hosts";
import { stackOrSkip, type CaseDef, type LabContext } from "./types";

/** Backend port the lab's port-mapping variant moves the endpoint to. */
export const MAPPED_PORT = 8443;
export const PORTMAP_STACK = "local-iptables-portmap";

interface RedirectObjects {
    ds: K8sObject;
    configMaps: K8sObject[];
    /** Parsed rules.conf lines: external ip/port -> target ip/port. */
    rules: Array<{ name: string; protocol: string; externalIp: string; externalPort: number; target: string; targetPort: number }>;
}

/** The redirect DaemonSet (mounts a ConfigMap with a *.sh script and a rules file) of a rendered stack. */
export function redirectObjects(r: Rendered): RedirectObjects | undefined {
    const configMaps = r.objects.filter((o) => o.object.kind === "ConfigMap").map((o) => o.object);
    for (const o of r.objects) {
        if (o.object.kind !== "DaemonSet" || !/hairpin|redirect|iptables/.test(o.object.metadata?.name ?? "")) continue;
        const vols = (podSpecOf(o.object).volumes ?? []) as Array<{ configMap?: { name: string } }>;
        for (const v of vols) {
            const cm = configMaps.find((c) => c.metadata?.name === v.configMap?.name);
            const data = (cm?.data ?? {}) as Record<string, string>;
            const rulesText = Object.entries(data).find(([k]) => k.endsWith(".conf"))?.[1];
            if (cm && Object.keys(data).some((k) => k.endsWith(".sh")) && rulesText !== undefined) {
                const rules = rulesText.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean).map((l) => {
                    const [name, protocol, externalIp, externalPort, target, targetPort] = l.split(/\s+/);
                    return { name: name!, protocol: protocol!, externalIp: externalIp!, externalPort: Number(externalPort), target: target!, targetPort: Number(targetPort) };
                });
                return { ds: o.object, configMaps, rules };
            }
        }
    }
    return undefined;
}

/**
 * Renders the `local-iptables` stack once more from a temp copy of its stack file in which only the
 * endpoint's targetPort differs, so the rendered rule must map 443 to another port.
 */
export function renderPortmapVariant(root: string, work: string): Rendered {
    const doc = parse(fs.readFileSync(path.join(root, "Pulumi.local-iptables.yaml"), "utf8")) as { config: Record<string, { endpoints?: Array<{ ports: Array<{ targetPort?: number }> }> }> };
    const port = doc.config["directpath:hairpin"]?.endpoints?.[0]?.ports?.[0];
    if (!port) throw new Error("Pulumi.local-iptables.yaml has no directpath:hairpin endpoints[0].ports[0]");
    port.targetPort = MAPPED_PORT;
    const dir = path.join(work, "stack-portmap");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.local-iptables.yaml"), stringify(doc));
    return renderStack("local-iptables", path.join(work, "out", PORTMAP_STACK), dir);
}

function start(ctx: LabContext, o: RedirectObjects, tag: string) {
    return startDaemonSet(ctx.session.daemons, o.ds, ctx.hairpin.ns.node2, path.join(ctx.logDir, `case4-${tag}.log`), {
        root: path.join(ctx.work, `case4-${tag}`),
        fieldRefs: nodeFieldRefs("node2", LAN.node2, o.ds),
        hostPaths: { "/run/xtables.lock": "/run/xtables.lock" },
        configMaps: o.configMaps,
    });
}

const count = (text: string, needle: string) => text.split("\n").filter((l) => l.includes(needle)).length;

export const case4: CaseDef = {
    id: "4",
    title: "directpath iptables redirect (local-iptables stack) run on node2",
    expected: `${EXTERNAL.node1}:${WEB_PORT} reaches node1 (and :${MAPPED_PORT} when the stack maps it); restart: same nat table; SIGTERM: rules gone, hairpin fails again`,
    timeoutMs: 90_000,
    run: async (ctx) => {
        const main = redirectObjects(stackOrSkip(ctx, "local-iptables"));
        if (!main) throw new Error("the local-iptables stack renders no redirect DaemonSet with a script and rules file");
        const facts: string[] = [];
        let ok = true;
        const baseline = natRules(ctx.hairpin.ns.node2);

        // 1. As rendered.
        const rule = main.rules.find((r) => r.externalIp === EXTERNAL.node1 && r.externalPort === WEB_PORT);
        const first = start(ctx, main, "run1");
        if (!(await waitUntilSleeping(first.daemon, 20_000))) throw new Error(`the script did not settle:\n${first.daemon.log().slice(-1500)}`);
        const after1 = natRules(ctx.hairpin.ns.node2);
        const r1 = fromNode2(ctx.hairpin, `http://${EXTERNAL.node1}:${WEB_PORT}/`);
        const s1 = served(r1);
        const reached = s1?.server === "node1" && s1.local === `${LAN.node1}:${rule?.targetPort ?? "?"}`;
        ok &&= reached && rule !== undefined;
        facts.push(`GET ${EXTERNAL.node1}:${WEB_PORT}: ${describe(r1)}`);
        const dnat = count(after1, `--to-destination ${rule?.target}:${rule?.targetPort}`);

        // 2. Crash and restart: exactly the same rules.
        await crash(first.daemon);
        const second = start(ctx, main, "run2");
        if (!(await waitUntilSleeping(second.daemon, 20_000))) throw new Error(`the restarted script did not settle:\n${second.daemon.log().slice(-1500)}`);
        const after2 = natRules(ctx.hairpin.ns.node2);
        const rulesAfter2 = after2.split("\n").filter((l) => l.startsWith("-A "));
        const duplicates = rulesAfter2.filter((l, i) => rulesAfter2.indexOf(l) !== i);
        const same = after1 === after2 && dnat === 1 && duplicates.length === 0;
        ok &&= same;
        facts.push(same ? `restart after SIGKILL: nat table identical (${rulesAfter2.length} rules, no duplicate, 1 DNAT)` : `restart: nat table DIFFERS or has duplicates (${dnat} DNAT rules; duplicated: ${duplicates.join(" | ") || "none"})`);

        // 3. SIGTERM: every rule gone, the hairpin fault is back.
        const how = await stopDaemon(second.daemon, "SIGTERM", 15_000);
        const after3 = natRules(ctx.hairpin.ns.node2);
        zeroSynAckCounters(ctx.hairpin);
        const r3 = fromNode2(ctx.hairpin, `http://${EXTERNAL.node1}:${WEB_PORT}/`);
        const c = synAckCounters(ctx.hairpin);
        const cleaned = after3 === baseline && !r3.ok && c.internal > 0;
        ok &&= cleaned;
        facts.push(`SIGTERM (exit ${how}): nat table ${after3 === baseline ? "back to before" : "NOT restored"}; GET again: ${describe(r3)} with ${c.internal} SYN-ACK(s) from ${LAN.node1}`);

        // 4. Port mapping: the same stack with the backend on another port.
        const variant = ctx.stacks[PORTMAP_STACK];
        const pm = typeof variant === "object" ? redirectObjects(variant) : undefined;
        if (pm) {
            const d = start(ctx, pm, "portmap");
            const settled = await waitUntilSleeping(d.daemon, 20_000);
            const r4 = fromNode2(ctx.hairpin, `http://${EXTERNAL.node1}:${WEB_PORT}/`);
            await stopDaemon(d.daemon, "SIGTERM", 15_000);
            const s4 = served(r4);
            const mapped = settled && s4?.server === "node1" && s4.local === `${LAN.node1}:${MAPPED_PORT}` && natRules(ctx.hairpin.ns.node2) === baseline;
            ok &&= mapped;
            facts.push(`port mapping (targetPort ${MAPPED_PORT}): GET ${EXTERNAL.node1}:${WEB_PORT}: ${describe(r4)}`);
        } else {
            ok = false;
            facts.push(`port-mapping variant not rendered: ${String(variant)}`);
        }
        return {
            observed: facts.join("; "),
            pass: ok,
            notes: [
                `ran ${main.ds.metadata?.namespace}/${main.ds.metadata?.name} (rules.conf: ${main.rules.map((r) => `${r.protocol} ${r.externalIp}:${r.externalPort} -> ${r.target}:${r.targetPort}`).join(", ")}) in dpl-node2; substitutions:`,
                ...first.substitutions.map((s) => `  ${s}`),
                "nat table after the first run:",
                ...after1.split("\n").filter((l) => l.startsWith("-A") || l.startsWith(":DIRECTPATH")).map((l) => `  ${l}`),
            ],
        };
    },
};
