/**
 * What the direct-connection lab takes from the project's own rendered files (`npm run plan --
 * --stack local`): the fixed port, from the rendered TailscaleDirect DaemonSet, and the nodes'
 * firewalls, from plan.json's `firewallRules` output. Two variant stacks (temp copies of
 * Pulumi.local.yaml with only the tailscale section changed, rendered with `--stack-dir`) give
 * pod mode (node P) and host mode + peer relay (node A): their config files, NodePorts, firewall
 * rules and `relayGrant`. Nothing is hard-coded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { FirewallRule } from "../../components/common/firewall";
import { iptablesFromFirewallRules } from "../lib/firewall";
import type { CheckLog } from "../lib/report";
import { readRendered, renderStack, type Rendered } from "../lib/rendered";
import { ROOT } from "../lib/proc";
import type { LabSession } from "../lib/session";
import { HEADSCALE_URL, NET, VARIANTS } from "./config";
import { configFileFacts, fixedPortFromDaemonSet, ManifestError, tailscaleVariantStack, type ConfigFileFacts, type FixedPort } from "./model";

/** The chain the node firewalls jump to (lab/tailscale/topology.ts). */
export const SG_CHAIN = "DPT-SG";

export interface PlanFacts {
    port: FixedPort;
    /** The DaemonSet's file under manifests/. */
    manifest: string;
    firewallRules: FirewallRule[];
    /** Node A's inbound rules (iptables arguments, appended to SG_CHAIN). */
    iptables: string[][];
    /** The rendered plan's directory (plan.json, manifests/). */
    dir: string;
}

/**
 * Renders the local stack into a fresh directory of the session's temp dir (or reads `planDir`,
 * rendered earlier), and checks that the fixed port and the firewall rules are usable.
 */
export function readPlan(session: LabSession, checks: CheckLog, planDir: string | undefined): PlanFacts | undefined {
    let rendered: Rendered;
    if (!planDir) {
        // A path that does not exist yet: plan --out refuses a non-empty folder it did not create.
        const out = path.join(session.tempDir(), "plan");
        try {
            rendered = renderStack("local", out);
        } catch (e) {
            checks.check("npm run plan -- --stack local", false, (e as Error).message.trim().split("\n").slice(-3).join(" | "));
            return undefined;
        }
        checks.check("npm run plan -- --stack local", true, `rendered into ${out}`);
    } else {
        checks.info(`using the rendered plan in ${planDir}`);
        rendered = readRendered("local", planDir);
    }
    // Read the rendered files as they are: the DaemonSet is whichever manifest has that kind.
    const candidates = rendered.objects.filter((o) => o.file.startsWith("manifests/") && o.object.kind === "DaemonSet");
    let port: FixedPort | undefined;
    let manifest = "";
    const problems: string[] = [];
    for (const o of candidates) {
        try {
            port = fixedPortFromDaemonSet(fs.readFileSync(path.join(rendered.dir, o.file), "utf8"));
            manifest = path.basename(o.file);
            break;
        } catch (e) {
            if (e instanceof ManifestError) problems.push(`${o.file}: ${e.problems.join("; ")}`);
            else throw e;
        }
    }
    // fixedPortFromDaemonSet refuses a DaemonSet whose PORT, --port and UDP containerPort/hostPort disagree.
    if (!checks.check("the plan renders the TailscaleDirect DaemonSet, and PORT, --port and its UDP port agree", port !== undefined,
        port ? `manifests/${manifest}: PORT=${port.envPort}, --port=${port.argPort} in TS_TAILSCALED_EXTRA_ARGS, UDP containerPort/hostPort ${port.containerPort}/${port.hostPort}, hostNetwork: ${port.hostNetwork}`
            : candidates.length === 0 ? `no DaemonSet in ${path.join(rendered.dir, "manifests")}` : problems.join(" / "))) return undefined;
    const firewallRules = (rendered.plan.outputs?.firewallRules as FirewallRule[] | undefined) ?? [];
    const t = iptablesFromFirewallRules(firewallRules, { chain: SG_CHAIN, family: 4, direction: "ingress" });
    const opensPort = t.rules.some((r) => r.includes("udp") && r[r.indexOf("--dport") + 1] === String(port!.port));
    checks.check("plan.json firewallRules open the fixed port for inbound UDP", opensPort,
        `${firewallRules.length} rule(s); IPv4 ingress translated: ${t.rules.map((r) => r.slice(2, 8).join(" ")).join("; ") || "none"}${t.skipped.length ? `; not applicable here: ${t.skipped.map((s) => s.reason).join("; ")}` : ""}`);
    return { port: port!, manifest, firewallRules, iptables: t.rules, dir: rendered.dir };
}

/** Pod mode as rendered for node P. */
export interface PodPlanFacts {
    /** The cluster node (of the stack's cluster.nodes) whose config file node P runs. */
    node: string;
    facts: ConfigFileFacts;
    firewallRules: FirewallRule[];
    iptables: string[][];
    dir: string;
}

/** Host mode + peer relay as rendered for node A. */
export interface RelayPlanFacts {
    facts: ConfigFileFacts;
    firewallRules: FirewallRule[];
    iptables: string[][];
    /** plan.json's `tailscale.relayGrant` (parsed), and the tags the stack gives. */
    grants: Array<Record<string, unknown>>;
    tags: string[];
    dir: string;
}

function ingress(rules: FirewallRule[]): string[][] {
    return iptablesFromFirewallRules(rules, { chain: SG_CHAIN, family: 4, direction: "ingress" }).rules;
}

const ruleText = (rules: string[][]) => rules.map((r) => r.slice(2, 8).join(" ")).join("; ") || "none";

/** Renders a temp copy of Pulumi.local.yaml whose tailscale section has `overrides` merged in. */
function renderVariant(session: LabSession, name: string, overrides: Record<string, unknown>): Rendered {
    const stackDir = path.join(session.tempDir(), `stack-${name}`);
    fs.mkdirSync(stackDir, { recursive: true });
    fs.writeFileSync(path.join(stackDir, "Pulumi.local.yaml"), tailscaleVariantStack(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8"), overrides));
    return renderStack("local", path.join(session.tempDir(), `plan-${name}`), stackDir);
}

/**
 * The pod-mode variant: `network: pod`, the lab's NodePort, the first cluster node listed with
 * node P's public address, `loginServer` = the lab's headscale. Checks the rendered objects agree
 * (config file, Service, DaemonSet) and that firewallRules open exactly the NodePort.
 */
export function readPodPlan(session: LabSession, checks: CheckLog): PodPlanFacts | undefined {
    const doc = parseYaml(fs.readFileSync(path.join(ROOT, "Pulumi.local.yaml"), "utf8")) as { config?: Record<string, { nodes?: Array<{ name?: string }> }> };
    const node = doc.config?.["directpath:cluster"]?.nodes?.[0]?.name;
    if (!checks.check("Pulumi.local.yaml names a cluster node for the pod-mode variant", !!node, node ?? "no directpath:cluster nodes")) return undefined;
    let rendered: Rendered;
    const overrides = { network: "pod", nodePort: VARIANTS.pod.nodePort, nodes: [{ name: node!, publicIps: [NET.nodep.wan] }], loginServer: HEADSCALE_URL };
    try {
        rendered = renderVariant(session, "pod", overrides);
    } catch (e) {
        checks.check("npm run plan -- --stack local --stack-dir <pod-mode copy>", false, (e as Error).message.trim().split("\n").slice(-3).join(" | "));
        return undefined;
    }
    let facts: ConfigFileFacts;
    try {
        facts = configFileFacts(rendered.objects.map((o) => o.object), `${node}.hujson`);
    } catch (e) {
        checks.check("the pod-mode plan renders a usable config-file flow", false, e instanceof ManifestError ? e.problems.join("; ") : (e as Error).message);
        return undefined;
    }
    checks.check("the pod-mode plan (temp copy of Pulumi.local.yaml, tailscale section: network pod, nodePort, nodes, loginServer) renders the config file, NodePort Service and DaemonSet in agreement",
        !facts.hostNetwork && facts.userspace && (facts.config.StaticEndpoints ?? []).length > 0,
        `ConfigMap ${facts.configMap} key ${facts.key}: StaticEndpoints ${JSON.stringify(facts.config.StaticEndpoints)}, ServerURL ${facts.config.ServerURL}; Service NodePort ${JSON.stringify(facts.nodePorts)}; PORT ${facts.port}; TS_USERSPACE ${facts.userspace}; hostNetwork ${facts.hostNetwork}`);
    const firewallRules = (rendered.plan.outputs?.firewallRules as FirewallRule[] | undefined) ?? [];
    const iptables = ingress(firewallRules);
    const ports = [...new Set(iptables.map((r) => r[r.indexOf("--dport") + 1]))];
    const want = Object.values(facts.nodePorts).map((p) => String(p.nodePort));
    checks.check("the pod-mode plan's firewallRules open exactly the NodePort(s)", ports.length === want.length && want.every((p) => ports.includes(p)), `IPv4 ingress: ${ruleText(iptables)}; NodePorts ${want.join(", ")}`);
    return { node: node!, facts, firewallRules, iptables, dir: rendered.dir };
}

/** The relay variant: host mode + `relay` + `tags` + `loginServer`. Checks firewallRules carry the relay port and the output carries the grant. */
export function readRelayPlan(session: LabSession, checks: CheckLog): RelayPlanFacts | undefined {
    let rendered: Rendered;
    try {
        rendered = renderVariant(session, "relay", { relay: { port: VARIANTS.relay.port }, tags: [...VARIANTS.relay.tags], loginServer: HEADSCALE_URL });
    } catch (e) {
        checks.check("npm run plan -- --stack local --stack-dir <relay copy>", false, (e as Error).message.trim().split("\n").slice(-3).join(" | "));
        return undefined;
    }
    let facts: ConfigFileFacts;
    try {
        facts = configFileFacts(rendered.objects.map((o) => o.object), "any-node.hujson");
    } catch (e) {
        checks.check("the relay plan renders a usable config-file flow", false, e instanceof ManifestError ? e.problems.join("; ") : (e as Error).message);
        return undefined;
    }
    const firewallRules = (rendered.plan.outputs?.firewallRules as FirewallRule[] | undefined) ?? [];
    const iptables = ingress(firewallRules);
    const relayPort = facts.config.RelayServerPort;
    const opens = (p: number | undefined) => iptables.some((r) => r.includes("udp") && r[r.indexOf("--dport") + 1] === String(p));
    const rawGrant = (rendered.plan.outputs?.tailscale as { relayGrant?: unknown } | undefined)?.relayGrant;
    let grants: Array<Record<string, unknown>> = [];
    try {
        grants = ((typeof rawGrant === "string" ? JSON.parse(rawGrant) : rawGrant) as { grants?: Array<Record<string, unknown>> } | undefined)?.grants ?? [];
    } catch { /* checked below */ }
    const relayCap = grants.some((g) => typeof g.app === "object" && g.app !== null && "tailscale.com/cap/relay" in g.app);
    checks.check("the relay plan (temp copy: relay, tags, loginServer) renders RelayServerPort, opens it and tailscaled's port in firewallRules, and outputs relayGrant",
        facts.hostNetwork && typeof relayPort === "number" && opens(relayPort) && opens(facts.port) && relayCap,
        `any-node.hujson: RelayServerPort ${String(relayPort)}, Hostname ${facts.config.Hostname}; PORT ${facts.port}; IPv4 ingress: ${ruleText(iptables)}; relayGrant grants ${JSON.stringify(grants)}`);
    if (!relayCap || typeof relayPort !== "number") return undefined;
    // The tags node A's key must carry: the grant's tag destinations (the relay nodes), as rendered.
    const tags = [...new Set(grants.flatMap((g) => (Array.isArray(g.dst) ? (g.dst as string[]) : []).filter((t) => t.startsWith("tag:"))))];
    return { facts, firewallRules, iptables, grants, tags, dir: rendered.dir };
}
