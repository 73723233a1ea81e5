/**
 * What the direct-connection lab takes from the project's own rendered files (`npm run plan --
 * --stack local`): the fixed port, from the rendered TailscaleDirect DaemonSet, and node A's
 * firewall, from plan.json's `firewallRules` output. Nothing is hard-coded.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FirewallRule } from "../../components/common/firewall";
import { iptablesFromFirewallRules } from "../lib/firewall";
import type { CheckLog } from "../lib/report";
import { readRendered, renderStack, type Rendered } from "../lib/rendered";
import type { LabSession } from "../lib/session";
import { fixedPortFromDaemonSet, ManifestError, type FixedPort } from "./model";

/** The chain the node firewalls jump to (lab/tailscale/topology.ts). */
export const SG_CHAIN = "DPT-SG";

export interface PlanFacts {
    port: FixedPort;
    /** The DaemonSet's file under manifests/. */
    manifest: string;
    firewallRules: FirewallRule[];
    /** Node A's inbound rules (iptables arguments, appended to SG_CHAIN). */
    iptables: string[][];
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
    return { port: port!, manifest, firewallRules, iptables: t.rules };
}
