/**
 * `npm run lab:deploy [-- --stack local,local-iptables] [--keep] [--build-only]`: the default program, run by the
 * real Pulumi engine (the Automation API's inline program, the pinned CLI built from source) with
 * the Kubernetes provider built from source, against a real kube-apiserver on loopback. For each
 * stack, on a fresh cluster, it checks (one named PASS/FAIL line each):
 *   preview = plan, up + live specs = plan's manifests, DaemonSet pods admitted, a second preview
 *   is a no-op, a config change previews exactly the updates two plans differ by, a plain destroy
 *   refuses (delete hooks), destroy --run-program removes everything and restores what was patched.
 * `local-cilium` installs Cilium through Helm; `local-pod` applies a pod-mode plan and asks the API
 * server's RBAC what the tailscaled pods may do with their state Secrets.
 * Every process and temp dir it starts is removed on exit, failure, Ctrl-C or the time limit.
 * See docs/deploying.md.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { parse as parseYaml } from "yaml";
import { kubeRequest } from "../../components/hairpin/kube-api";
import { Daemons, ROOT, stopDaemon, withTimeout } from "../lib/proc";

/** Every daemon this run starts (the entry point owns them; exit handlers kill what is left). */
const DAEMONS = new Daemons();
import { ensureLabBinaries, type LabBinaries } from "./build";
import { startCluster, seedCluster, type Cluster } from "./cluster";
import { canonical, changingSteps, comparable, comparePlanToPreview, expectedChanges, ownedState, subsetDiff, urnTail, type EngineStep } from "./compare";
import { FakeKubelet, type NodeSpec } from "./kubelet";
import { podStateAccess } from "./pod-state";
import { ciliumModuleDir, CILIUM_VERSION, docsOf, engine, readStackConfig, runPlan, withChange, type Cfg } from "./engine";

const LIMITS = { buildMs: 45 * 60_000, stackMs: 12 * 60_000, previewMs: 120_000, upMs: 300_000, destroyMs: 240_000, planMs: 120_000 };

/** Per stack: the config change to preview, as a path in the stack file and the new value. */
const CHANGES: Record<string, { key: string[]; value: unknown }> = {
    local: { key: ["directpath:tailscale", "port"], value: 41642 },
    "local-iptables": { key: ["directpath:hairpin", "redirect", "iptables", "reconcileSeconds"], value: 45 },
};

let passed = 0;
let failed = 0;
const failures: string[] = [];
function check(name: string, ok: boolean, detail = ""): boolean {
    if (ok) passed++;
    else {
        failed++;
        failures.push(name);
    }
    console.log(`${ok ? "PASS" : "FAIL"} ${name}${detail ? ` — ${detail}` : ""}`);
    return ok;
}
const info = (l: string) => console.log(`     ${l}`);

// ---- cleanup on every exit path ----

/** Pids of this process's descendants (the Pulumi CLI and its plugins the Automation API spawned), deepest first. */
function descendants(root: number): number[] {
    const children = new Map<number, number[]>();
    for (const d of fs.readdirSync("/proc").filter((f) => /^\d+$/.test(f))) {
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
        } catch {
            /* gone */
        }
    }
    const out: number[] = [];
    const walk = (pid: number) => {
        for (const c of children.get(pid) ?? []) {
            walk(c);
            out.push(c);
        }
    };
    walk(root);
    return out;
}

/** Ends the processes this run started that the daemon list doesn't track (by pid, children first). */
async function endDescendants(): Promise<void> {
    const pids = descendants(process.pid);
    for (const pid of pids) {
        try {
            process.kill(pid, "SIGTERM");
        } catch {
            /* gone */
        }
    }
    await new Promise((r) => setTimeout(r, 2000));
    for (const pid of descendants(process.pid)) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* gone */
        }
    }
}

const cleanups: Array<() => void | Promise<void>> = [];
let cleaning: Promise<void> | undefined;
/** Runs the cleanups once; every caller (a signal, the end of main) waits for the same run. */
function cleanup(): Promise<void> {
    cleaning ??= runCleanups();
    return cleaning;
}
async function runCleanups(): Promise<void> {
    await endDescendants();
    for (const fn of cleanups.reverse()) {
        try {
            await fn();
        } catch (e) {
            console.error(`cleanup: ${(e as Error).message}`);
        }
    }
    DAEMONS.killAll();
}
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
        console.error(`\n${sig}: stopping the lab and removing what it started`);
        interrupted = true;
        void cleanup().then(() => process.exit(130));
    });
}
process.on("exit", () => DAEMONS.killAll());




interface Run {
    steps: EngineStep[];
    summary: Record<string, number>;
    output: string;
}
function collector(): { steps: EngineStep[]; onEvent: (e: EngineEvent) => void } {
    const steps: EngineStep[] = [];
    return {
        steps,
        onEvent: (e) => {
            const m = e.resourcePreEvent?.metadata;
            if (m) steps.push({ op: m.op, urn: m.urn, type: m.type });
        },
    };
}

async function timed<T>(what: string, ms: number, stack: Stack, fn: () => Promise<T>): Promise<T> {
    try {
        return await withTimeout(what, ms, fn);
    } catch (e) {
        if ((e as Error).message.includes("timed out")) await stack.cancel().catch(() => undefined);
        throw e;
    }
}

async function preview(stack: Stack): Promise<Run> {
    const c = collector();
    let output = "";
    const r = await timed("preview", LIMITS.previewMs, stack, () => stack.preview({ onEvent: c.onEvent, onOutput: (o) => (output += o) }));
    return { steps: c.steps, summary: r.changeSummary as Record<string, number>, output };
}

/** The live object a rendered document names (looked up by apiVersion, kind, namespace and name only). */
async function liveObject(cluster: Cluster, doc: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const m = (doc.metadata ?? {}) as { name?: string; namespace?: string };
    const ref = { apiVersion: doc.apiVersion, kind: doc.kind, metadata: { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}) } };
    const r = cluster.kubectl(["get", "-f", "-", "-o", "json"], JSON.stringify(ref));
    if (r.code !== 0) return undefined;
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    // `get -f` answers a List of what the file names.
    if (got.kind === "List") return ((got.items as Record<string, unknown>[]) ?? [])[0];
    return got;
}


/** The objects the cluster already has, which destroy must leave as they were before up. */
const PRE_EXISTING = [
    ["configmap", "kube-system", "coredns"],
    ["configmap", "kube-system", "nodelocaldns"],
    ["deployment", "kube-system", "coredns"],
    ["daemonset", "kube-system", "nodelocaldns"],
    ["namespace", "", "ingress"],
] as const;
function snapshot(cluster: Cluster): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [kind, ns, name] of PRE_EXISTING) {
        const r = cluster.kubectl(["get", kind, name, ...(ns ? ["-n", ns] : []), "-o", "json"]);
        out[`${kind}/${ns}/${name}`] = r.code === 0 ? canonical(ownedState(JSON.parse(r.stdout) as Record<string, unknown>)) : "(absent)";
    }
    return out;
}

async function runStack(stackName: string, bins: LabBinaries, work: string): Promise<void> {
    console.log(`\n== stack ${stackName}`);
    const dir = path.join(work, stackName);
    fs.mkdirSync(dir, { recursive: true });
    const cfg = readStackConfig(stackName);
    const plan = runPlan(stackName, path.join(dir, "plan"));
    info(`plan: ${plan.resources.length} resources, ${plan.manifests.length} manifests, ${plan.patches.length} patches`);

    const { cluster, kubelet, base } = await freshCluster(dir, bins, cfg);
    const before = snapshot(cluster);

    const { stack, setConfig } = await engine(dir, cluster, stackName, bins, cfg, async () => {
        // The default program itself: index.ts is `export = runDefaultProgram()`; each engine run calls it afresh.
        const { runDefaultProgram } = await import("../../program/main");
        return runDefaultProgram();
    });
    const ws = stack.workspace;
    // 1. preview plans exactly what plan lists.
    const p1 = await preview(stack);
    const cmp = comparePlanToPreview(plan.resources, p1.steps);
    check(`${stackName}: preview plans exactly plan's ${plan.resources.length} resources (+ the stack)`, cmp.missing.length === 0 && cmp.extra.length === 0 && cmp.notCreate.length === 0,
        [cmp.missing.length ? `missing ${cmp.missing.join(", ")}` : "", cmp.extra.length ? `extra ${cmp.extra.join(", ")}` : "", cmp.notCreate.length ? `not creates: ${cmp.notCreate.join(", ")}` : "", `${p1.steps.length} steps`].filter(Boolean).join("; "));

    // 2. up, then every object's live spec contains what plan rendered.
    let upOk = false;
    try {
        let out = "";
        const up = await timed("up", LIMITS.upMs, stack, () => stack.up({ onOutput: (o) => (out += o) }));
        upOk = up.summary.result === "succeeded";
        check(`${stackName}: up succeeds`, upOk, JSON.stringify(up.summary.resourceChanges));
    } catch (e) {
        check(`${stackName}: up succeeds`, false, (e as Error).message.split("\n").filter((l) => /error|timed out/i.test(l)).slice(0, 6).join(" | "));
    }
    if (upOk) {
        const problems: string[] = [];
        for (const file of [...plan.manifests, ...plan.patches]) {
            for (const doc of docsOf(file)) {
                const live = await liveObject(cluster, doc);
                if (!live) {
                    problems.push(`${path.basename(file)}: not in the cluster`);
                    continue;
                }
                const d = subsetDiff(comparable(doc), live);
                if (d.length) problems.push(`${path.basename(file)}: ${d.slice(0, 3).join("; ")}`);
            }
        }
        check(`${stackName}: every object in the cluster has the spec plan rendered (${plan.manifests.length} objects, ${plan.patches.length} patches)`, problems.length === 0, problems.slice(0, 6).join(" | "));

        // 3. DaemonSet pods created and admitted.
        const dsProblems: string[] = [];
        const dsDocs = plan.manifests.flatMap(docsOf).filter((d) => d.kind === "DaemonSet");
        for (const ds of dsDocs) {
            const m = ds.metadata as { name: string; namespace: string };
            const { status: s, refused } = await daemonSetAdmission(cluster, m.namespace, m.name);
            info(`DaemonSet ${m.namespace}/${m.name}: desired ${s.desiredNumberScheduled}, scheduled ${s.currentNumberScheduled}, ready ${s.numberReady}${refused.length ? `, FailedCreate: ${refused[0]!.message}` : ""}`);
            if (refused.length) dsProblems.push(`${m.name}: ${refused[0]!.message}`);
            if (!s.desiredNumberScheduled || s.numberReady !== s.desiredNumberScheduled) dsProblems.push(`${m.name}: ${s.numberReady ?? 0}/${s.desiredNumberScheduled ?? 0} ready`);
        }
        check(`${stackName}: the DaemonSets' pods are created and admitted on every node (${dsDocs.length} DaemonSets, no FailedCreate)`, dsDocs.length > 0 && dsProblems.length === 0, dsProblems.join(" | "));

        // 4. a second preview changes nothing.
        const p2 = await preview(stack);
        const churn = changingSteps(p2.steps).filter((s) => s.type !== "pulumi:pulumi:Stack");
        check(`${stackName}: a second preview reports no changes`, churn.length === 0, churn.length ? churn.map((s) => `${s.op} ${urnTail(s.urn)}`).join(", ") : JSON.stringify(p2.summary));

        // 5. a config change previews as exactly the updates two plans differ by.
        const change = CHANGES[stackName];
        if (change) {
            const changed = withChange(cfg.plain, change.key, change.value);
            const stackDir = path.join(dir, "changed-stack");
            fs.mkdirSync(stackDir, { recursive: true });
            const original = parseYaml(fs.readFileSync(path.join(ROOT, `Pulumi.${stackName}.yaml`), "utf8")) as { config: Cfg };
            fs.writeFileSync(path.join(stackDir, `Pulumi.${stackName}.yaml`), JSON.stringify({ config: withChange(original.config, change.key, change.value) }));
            const plan2 = runPlan(stackName, path.join(dir, "plan-changed"), stackDir);
            const want = expectedChanges(plan.resources, plan2.resources);
            await setConfig(changed);
            const p3 = await preview(stack);
            await setConfig(cfg.plain);
            const got = changingSteps(p3.steps).filter((s) => s.type !== "pulumi:pulumi:Stack");
            const gotSet = got.map((s) => urnTail(s.urn)).sort();
            const ok = want.added.length === 0 && want.removed.length === 0 && want.changed.length > 0 && canonical(gotSet) === canonical(want.changed) && got.every((s) => s.op === "update");
            check(`${stackName}: changing ${change.key.join(".")} to ${JSON.stringify(change.value)} previews exactly the updates plan predicts`, ok,
                `plan predicts ${want.changed.join(", ") || "(none)"}; preview: ${got.map((s) => `${s.op} ${urnTail(s.urn)}`).join(", ") || "(none)"}`);
        }
    }

    // 6. destroy: plain `destroy` refuses (delete hooks need the program), `destroy --run-program`
    // removes everything the stack created and restores what it patched.
    const hasHooks = plan.patches.some((f) => docsOf(f).some((d) => d.kind === "ConfigMap" && "Corefile" in ((d.data as object) ?? {})));
    if (hasHooks && upOk) {
        const snapMid = snapshot(cluster);
        let refused = "";
        try {
            await timed("destroy", LIMITS.destroyMs, stack, () => stack.destroy({ runProgram: false }));
        } catch (e) {
            refused = (e as Error).message;
        }
        check(`${stackName}: plain destroy refuses (the Corefile restore hooks need --run-program) and changes nothing`, /--run-program/.test(refused) && canonical(snapshot(cluster)) === canonical(snapMid), refused ? "engine: must run with --run-program" : "destroy ran without the program");
    }
    try {
        const d = await timed("destroy", LIMITS.destroyMs, stack, () => stack.destroy({ runProgram: true }));
        check(`${stackName}: destroy --run-program succeeds`, d.summary.result === "succeeded", JSON.stringify(d.summary.resourceChanges));
    } catch (e) {
        check(`${stackName}: destroy --run-program succeeds`, false, (e as Error).message.split("\n").filter((l) => /error/i.test(l)).slice(0, 4).join(" | "));
    }
    const left: string[] = [];
    for (const file of plan.manifests) for (const doc of docsOf(file)) if (await liveObject(cluster, doc)) left.push(path.basename(file));
    check(`${stackName}: destroy removes every object the stack created`, left.length === 0, left.join(", "));
    const after = snapshot(cluster);
    const changedObjs = Object.keys(before).filter((k) => before[k] !== after[k]);
    check(`${stackName}: destroy leaves the cluster's own objects as they were before up (data, labels, annotations, spec)`, changedObjs.length === 0,
        changedObjs.map((k) => `${k} differs`).join(", ") || PRE_EXISTING.map(([k, n, m]) => `${k}/${n}/${m}`).join(", "));
    const cm = (await kubeRequest(cluster.kube, "GET", "/api/v1/namespaces/kube-system/configmaps/coredns")).body as { data?: { Corefile?: string } };
    check(`${stackName}: kube-system/coredns Corefile is kubespray's byte for byte`, cm.data?.Corefile === base.coredns);
    // What the plan's next-step line tells a user to run, for real, on this lab's own API server
    // (after destroy, on a cluster the lab throws away): every written object is validated,
    // admitted and stored by the server. (A dry run can't do this: it stores no Namespace.)
    const planDir = path.join(dir, "plan");
    // secrets/ (placeholders) is created once, never applied: re-applying never overwrites a real secret.
    for (const [sub, verb] of [["manifests", ["apply"]], ["secrets", ["create"]], ["patches", ["apply", "--server-side", "--field-manager=directpath", "--force-conflicts"]]] as const) {
        if (!fs.existsSync(path.join(planDir, sub)) || fs.readdirSync(path.join(planDir, sub)).length === 0) continue;
        const r = cluster.kubectl([...verb, "-f", path.join(planDir, sub)]);
        check(`${stackName}: kubectl ${verb[0]}${verb.length > 1 ? " --server-side" : ""} -f <plan>/${sub}/ is accepted by the API server`, r.code === 0, r.code === 0 ? `${r.stdout.trim().split("\n").length} object(s)` : r.stderr.trim().split("\n").slice(0, 4).join(" | "));
    }
    kubelet.stop();
    if (kubelet.errors.length) info(`stand-in kubelet errors: ${kubelet.errors.slice(0, 3).join(" | ")}`);
    await ws.removeStack(stackName).catch(() => undefined);
    for (const d of [...cluster.daemons].reverse()) await stopDaemon(d, "SIGTERM", 5000);
}


/**
 * The Cilium install through the real Helm code path (the provider's helm.v3.Release) from the
 * chart in the pinned Cilium module, as an air-gapped cluster would: the default program itself,
 * for the `local` stack's config with `cilium.install: true` and `cilium.chart` set to that chart.
 */
async function runCiliumInstall(bins: LabBinaries, work: string): Promise<void> {
    const name = "local-cilium";
    console.log(`\n== ${name}: the local stack with cilium.install: true, Cilium ${CILIUM_VERSION} from the module's chart`);
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const base = readStackConfig("local");
    const chart = path.join(ciliumModuleDir(), "install", "kubernetes", "cilium");
    // The stack's own config turns the install on and names the local chart (directpath:cilium.chart,
    // the key air-gapped clusters use): the default program itself installs it.
    const withInstall = withChange(base.plain, ["directpath:cilium", "install"], true);
    const cfg = { plain: withChange(withInstall, ["directpath:cilium", "chart"], chart), secretKeys: base.secretKeys };
    const { cluster, kubelet } = await freshCluster(dir, bins, cfg);
    const { stack } = await engine(dir, cluster, name, bins, cfg, async () => {
        const { runDefaultProgram } = await import("../../program/main");
        return runDefaultProgram();
    });
    let values: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
        const up = await timed("up", LIMITS.upMs, stack, () => stack.up());
        values = up.outputs.ciliumValues?.value as Record<string, unknown>;
        check(`${name}: up installs the chart through Helm from a local chart`, up.summary.result === "succeeded", JSON.stringify(up.summary.resourceChanges));
    } catch (e) {
        check(`${name}: up installs the chart through Helm from a local chart`, false, (e as Error).message.split("\n").filter((l) => /error|timed out/i.test(l)).slice(0, 6).join(" | "));
    }
    if (values) {
        const cm = (await kubeRequest(cluster.kube, "GET", "/api/v1/namespaces/kube-system/configmaps/cilium-config")).body as { data?: Record<string, string> };
        const want: Record<string, string> = {
            "kube-proxy-replacement": "true",
            "routing-mode": "tunnel",
            "tunnel-protocol": String(values.tunnelProtocol),
            "tunnel-port": String(values.tunnelPort),
            "bpf-lb-sock-hostns-only": "false",
            "enable-hubble": String(values.hubble?.enabled === true),
        };
        if (values.localRedirectPolicies?.enabled) want["enable-local-redirect-policy"] = "true";
        if (values.localRedirectPolicies?.addressMatcherCIDRs?.length) want["lrp-address-matcher-cidrs"] = values.localRedirectPolicies.addressMatcherCIDRs.join(",");
        const wrong = Object.entries(want).filter(([k, v]) => cm.data?.[k] !== v).map(([k, v]) => `${k}: want ${v}, got ${cm.data?.[k] ?? "(absent)"}`);
        check(`${name}: cilium-config has the values directpath needs`, !!cm.data && wrong.length === 0, wrong.join("; ") || Object.entries(want).map(([k, v]) => `${k}=${v}`).join(", "));
    }
    try {
        const d = await timed("destroy", LIMITS.destroyMs, stack, () => stack.destroy({ runProgram: true }));
        const gone = (await kubeRequest(cluster.kube, "GET", "/api/v1/namespaces/kube-system/configmaps/cilium-config")).status === 404;
        check(`${name}: destroy uninstalls the release`, d.summary.result === "succeeded" && gone, gone ? "cilium-config gone" : "cilium-config still there");
    } catch (e) {
        check(`${name}: destroy uninstalls the release`, false, (e as Error).message.split("\n").filter((l) => /error/i.test(l)).slice(0, 4).join(" | "));
    }
    kubelet.stop();
    for (const d of [...cluster.daemons].reverse()) await stopDaemon(d, "SIGTERM", 5000);
}

/** A DaemonSet's status counts and the FailedCreate events (Pod Security refusals among them) of its pods' creation. */
async function daemonSetAdmission(cluster: Cluster, namespace: string, name: string): Promise<{ status: Record<string, number>; refused: Array<{ reason: string; message: string }> }> {
    const live = (await kubeRequest(cluster.kube, "GET", `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`)).body as { status?: Record<string, number> };
    const ev = (await kubeRequest(cluster.kube, "GET", `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`)).body as { items?: Array<{ reason: string; message: string }> };
    return { status: live.status ?? {}, refused: (ev.items ?? []).filter((e) => e.reason === "FailedCreate") };
}

/**
 * Pod mode's state Secrets against the real API server's RBAC: the `local` stack's config with
 * `tailscale.network: pod` (its `nodes` derived from `cluster.nodes`), rendered by `plan`, its
 * manifests applied with kubectl (what the plan's next-step line says), then what the tailscaled
 * pods' ServiceAccount may do, asked with `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>`,
 * and done for real as that ServiceAccount (get and PUT of its own Secret, as tailscaled's state
 * store does without patch; a list refused).
 */
async function runPodState(bins: LabBinaries, work: string): Promise<void> {
    const name = "local-pod";
    console.log(`\n== ${name}: the local stack with tailscale.network: pod (nodes derived from cluster.nodes), plan's manifests applied with kubectl`);
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const original = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config: Cfg };
    const podConfig = withChange(withChange(original.config, ["directpath:tailscale", "network"], "pod"), ["directpath:tailscale", "nodePort"], 30641);
    const stackDir = path.join(dir, "stack");
    fs.mkdirSync(stackDir, { recursive: true });
    fs.writeFileSync(path.join(stackDir, "Pulumi.local.yaml"), JSON.stringify({ config: podConfig }));
    const plan = runPlan("local", path.join(dir, "plan"), stackDir);
    const docs = plan.manifests.flatMap(docsOf);
    const access = podStateAccess(docs);
    const role = docs.find((d) => d.kind === "Role" && (d.metadata as { namespace?: string }).namespace === access.namespace) as { rules?: Array<{ resourceNames?: string[] }> } | undefined;
    info(`plan: ${plan.manifests.length} manifests; ServiceAccount ${access.namespace}/${access.serviceAccount}; state Secrets ${access.stateSecrets.map((s) => `${s.node} -> ${s.secret}`).join(", ")}; Role resourceNames ${JSON.stringify(role?.rules?.[0]?.resourceNames)}`);

    const { cluster, kubelet } = await freshCluster(dir, bins, readStackConfig("local"));
    const applied = cluster.kubectl(["apply", "-f", path.join(plan.dir, "manifests")]);
    const ok = check(`${name}: kubectl apply -f <plan>/manifests/ (pod mode: state Secrets, Role, RoleBinding) is accepted by the API server`, applied.code === 0,
        applied.code === 0 ? `${applied.stdout.trim().split("\n").length} object(s)` : applied.stderr.trim().split("\n").slice(0, 4).join(" | "));
    if (ok) {
        const as = `--as=system:serviceaccount:${access.namespace}:${access.serviceAccount}`;
        for (const c of access.checks) {
            const r = cluster.kubectl(["auth", "can-i", c.verb, c.resource, "-n", access.namespace, as]);
            const answer = r.stdout.trim();
            check(`${name}: ${access.serviceAccount} ${c.want ? "may" : "may not"} ${c.verb} ${c.resource}`, (answer === "yes" || answer === "no") && (answer === "yes") === c.want,
                `can-i: ${answer || r.stderr.trim().split("\n")[0]}; ${c.why}`);
        }
        // For real, as the ServiceAccount: what tailscaled's Secret store does without patch (get, then PUT).
        const own = access.stateSecrets[0]!.secret;
        const got = cluster.kubectl(["get", "secret", own, "-n", access.namespace, "-o", "json", as]);
        let put = { code: -1, stdout: "", stderr: "(not tried)" };
        if (got.code === 0) {
            const secret = JSON.parse(got.stdout) as { data?: Record<string, string> };
            secret.data = { ...(secret.data ?? {}), _machinekey: Buffer.from("lab").toString("base64") };
            put = cluster.kubectl(["replace", "-f", "-", as], JSON.stringify(secret));
        }
        const listed = cluster.kubectl(["get", "secrets", "-n", access.namespace, as]);
        check(`${name}: as ${access.serviceAccount}, GET and PUT of ${own} succeed and listing Secrets is Forbidden`, got.code === 0 && put.code === 0 && listed.code !== 0 && /forbidden/i.test(listed.stderr),
            `get ${got.code === 0 ? "ok" : got.stderr.trim()}; replace ${put.code === 0 ? "ok" : put.stderr.trim()}; list: ${listed.stderr.trim().split("\n")[0]}`);
        // The pods are created under the namespace's Pod Security baseline, token volume included.
        const ds = docs.find((d) => d.kind === "DaemonSet" && (d.metadata as { namespace?: string }).namespace === access.namespace)!;
        const dsName = (ds.metadata as { name: string }).name;
        let admitted: { st: Record<string, number>; refused?: { message: string } } = { st: {}, refused: { message: "not ready within 60 s" } };
        for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
            const { status: st, refused: all } = await daemonSetAdmission(cluster, access.namespace, dsName);
            const refused = all[0];
            if (refused || (st.desiredNumberScheduled && st.numberReady === st.desiredNumberScheduled)) {
                admitted = { st, refused };
                break;
            }
            await new Promise((res) => setTimeout(res, 1000));
        }
        check(`${name}: the pod-mode DaemonSet's pods are admitted under Pod Security baseline on the listed nodes`, !admitted.refused && admitted.st.desiredNumberScheduled === access.stateSecrets.length,
            admitted.refused ? admitted.refused.message : `desired ${admitted.st.desiredNumberScheduled}, ready ${admitted.st.numberReady}`);
    }
    kubelet.stop();
    for (const d of [...cluster.daemons].reverse()) await stopDaemon(d, "SIGTERM", 5000);
}


/** A fresh cluster with what a kubespray cluster already has, and the stand-in kubelet running. */
async function freshCluster(dir: string, bins: LabBinaries, cfg: { plain: Cfg }): Promise<{ cluster: Cluster; kubelet: FakeKubelet; base: { coredns: string; nodeLocal: string } }> {
    const cluster = await withTimeout("cluster start", 120_000, () => startCluster(path.join(dir, "cluster"), bins, info, DAEMONS));
    cleanups.push(async () => {
        for (const d of [...cluster.daemons].reverse()) await stopDaemon(d, "SIGTERM", 5000);
    });
    const clusterCfg = (cfg.plain["directpath:cluster"] ?? {}) as { nodes?: NodeSpec[] };
    const nodes = (clusterCfg.nodes ?? []).map((n) => ({ name: n.name, internalIp: n.internalIp, externalIp: n.externalIp }));
    const kubelet = new FakeKubelet(cluster.kube, nodes);
    cleanups.push(() => kubelet.stop());
    // kubespray's own Corefiles: the base Corefiles the `local` stack's config quotes from such a cluster.
    const localCfg = readStackConfig("local").plain["directpath:hairpin"] as { dns: { coredns: { baseCorefile: string }; nodeLocalDns: { baseCorefile: string } } };
    const crdDir = path.join(ciliumModuleDir(), "pkg", "k8s", "apis", "cilium.io", "client", "crds", "v2");
    const hairpin = (cfg.plain["directpath:hairpin"] ?? {}) as { endpoints?: Array<{ backend?: { pods?: { namespace?: string } } }> };
    const namespaces = [...new Set((hairpin.endpoints ?? []).map((e) => e.backend?.pods?.namespace).filter((n): n is string => !!n))];
    await seedCluster(cluster, {
        nodes,
        corednsCorefile: localCfg.dns.coredns.baseCorefile,
        nodeLocalCorefile: localCfg.dns.nodeLocalDns.baseCorefile,
        namespaces,
        crdFiles: fs.readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).map((f) => path.join(crdDir, f)),
    }, () => kubelet.markNodesReady());
    kubelet.start();
    info(`seeded: nodes ${nodes.map((n) => n.name).join(", ")}, kubespray's coredns + nodelocaldns, Cilium ${CILIUM_VERSION} CRDs, namespaces ${namespaces.join(", ") || "(none)"}`);
    return { cluster, kubelet, base: { coredns: localCfg.dns.coredns.baseCorefile, nodeLocal: localCfg.dns.nodeLocalDns.baseCorefile } };
}


async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    if (argv.includes("--build-only")) {
        // CI runs this in the background while the unit tests run.
        const t0 = Date.now();
        const bins = ensureLabBinaries((l) => console.log(`[build] ${l}`));
        for (const r of bins.results) console.log(`[build] ${r.name}@${r.version}: ${r.built ? `built in ${r.seconds} s` : "cached"}`);
        console.log(`[build] all binaries ready in ${Math.round((Date.now() - t0) / 1000)} s`);
        return 0;
    }
    const keep = argv.includes("--keep");
    const si = argv.indexOf("--stack");
    const stacks = si >= 0 ? argv[si + 1]!.split(",") : ["local", "local-iptables", "local-cilium", "local-pod"];
    const start = Date.now();
    for (const d of fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("dpd-deploy-"))) {
        // An earlier run's leftovers (killed with -9): only our own prefix.
        fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "dpd-deploy-"));
    cleanups.push(() => {
        if (keep) console.log(`kept ${work}`);
        else fs.rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
    });
    console.log("== binaries (built once, cached by version outside the repo)");
    const bins = ensureLabBinaries(info);
    for (const r of bins.results) info(`${r.name}@${r.version}: ${r.built ? `built in ${r.seconds} s` : "cached"}`);
    info(`Kubernetes provider: code ${"github.com/pulumi/pulumi-kubernetes/provider/v4"} (pseudo-version), installed as v${bins.providerVersion} (the npm SDK's version)`);
    for (const s of stacks) {
        try {
            await withTimeout(`stack ${s}`, LIMITS.stackMs, () => (s === "local-cilium" ? runCiliumInstall(bins, work) : s === "local-pod" ? runPodState(bins, work) : runStack(s, bins, work)));
        } catch (e) {
            check(`${s}: the stack's run completes`, false, (e as Error).message.split("\n").slice(0, 4).join(" | "));
        }
    }
    console.log(`\n${passed} passed, ${failed} failed (${Math.round((Date.now() - start) / 1000)} s)`);
    if (failures.length) console.log(`failed: ${failures.join("; ")}`);
    return failed === 0 ? 0 : 1;
}

main()
    .then(async (code) => {
        await cleanup();
        process.exit(interrupted ? 130 : code);
    })
    .catch(async (e) => {
        console.error(`lab:deploy: ${(e as Error).stack ?? e}`);
        console.log(`\n${passed} passed, ${failed + 1} failed`);
        await cleanup();
        process.exit(1);
    });
