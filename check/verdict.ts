/** Observations -> verdicts for the hairpin and the overlay. Pure. (Tailscale: tailscale.ts.) */
import type { HairpinCheckMeaning, OverlayCheckMeaning, PathObservation } from "./checks";
import type { Verdict } from "./model";
import type { CheckTargets } from "./targets";

const FAILED = new Set(["refused", "timeout", "unreachable", "bad-name", "wrong-backend"]);
type HObs = PathObservation<HairpinCheckMeaning>;
type OObs = PathObservation<OverlayCheckMeaning>;
const at = (o: PathObservation) => `${o.vantage}@${o.node}`;
const MAX_EVIDENCE = 12;

function cap(lines: string[]): string[] {
    return lines.length <= MAX_EVIDENCE ? lines : [...lines.slice(0, MAX_EVIDENCE - 1), `... and ${lines.length - MAX_EVIDENCE + 1} more (--json has all)`];
}

/** The hairpin verdict: an external IP or hostname of an endpoint that fails from inside the cluster. */
export function hairpinVerdict(t: CheckTargets, obs: readonly PathObservation[]): Verdict {
    const eps = t.hairpin?.endpoints ?? [];
    if (eps.length === 0) return { fault: "hairpin", verdict: "not-applicable", summary: "the stack has no hairpin endpoints (directpath:hairpin)", evidence: [], fix: "-" };
    const hp = obs.filter((o): o is HObs => o.what.fault === "hairpin");
    const paths = hp.filter((o) => o.what.via === "ip" || o.what.via === "name");
    const baseline = hp.filter((o) => o.what.via === "internal");
    const computed = t.hairpin?.computed ?? [];
    if (paths.length === 0) {
        return { fault: "hairpin", verdict: "could-not-check", summary: computed.length > 0 ? `nothing to connect to: ${computed.join(", ")} known only at deploy time` : "no external IP or hostname to connect to", evidence: [], fix: computed.length > 0 ? "pass --targets with the deployed addresses (the stack outputs after pulumi up)" : "-" };
    }
    const failing = paths.filter((o) => FAILED.has(o.status));
    const unknown = paths.filter((o) => o.status === "unknown");
    const baselineOk = (o: HObs) => baseline.some((b) => b.node === o.node && b.vantage === o.vantage && b.what.endpoint === o.what.endpoint && b.status === "connected");
    const baselineKnown = (o: HObs) => baseline.some((b) => b.node === o.node && b.vantage === o.vantage && b.what.endpoint === o.what.endpoint);
    // A failing path counts as the hairpin fault unless the backend is unreachable even by its internal address.
    const attributable = failing.filter((o) => !baselineKnown(o) || baselineOk(o));
    const deadBackend = failing.filter((o) => baselineKnown(o) && !baselineOk(o));
    const line = (o: HObs) => `${at(o)} -> ${o.what.target}:${o.what.port} (${o.what.endpoint}${o.what.via === "name" ? ", by name" : ""}): ${o.status}${o.detail && o.status !== "connected" ? ` (${o.detail})` : ""}${baselineOk(o) && FAILED.has(o.status) ? "; internal address connects" : ""}`;
    const names = hp.filter((o) => ["dns", "system", "hosts"].includes(o.what.via)).map((o) => {
        const src = o.what.via === "dns" ? o.what.resolver : o.what.via === "system" ? "system resolver (kubelet's view)" : "/etc/hosts";
        return `${at(o)} ${o.what.target} via ${src}: ${o.status === "answer" ? o.addresses.join(", ") : o.detail}`;
    });
    const okLines = paths.filter((o) => o.status === "connected").map(line);
    const byEndpoint = [...new Set(attributable.map((o) => o.what.endpoint))];
    const fixFor = (name: string) => {
        const e = eps.find((x) => x.name === name);
        const viaIp = attributable.some((o) => o.what.endpoint === name && o.what.via === "ip");
        const objects = e?.objects.length ? ` (${e.objects.join(", ")})` : "";
        return viaIp
            ? `directpath:hairpin endpoint ${name}: mode ${e?.mode ?? "cilium-lrp"}${objects} must be deployed and running on every node (pulumi up; the redirect keeps pods, host-network pods and the kubelet inside the cluster)`
            : `directpath:hairpin endpoint ${name}: dns (CoreDNS override${t.hairpin?.nodeLocalDns.length ? ", NodeLocal DNSCache" : ""}${t.hairpin?.hostsDaemonSet ? `, hosts ${t.hairpin.hostsDaemonSet}` : ""}) so the name answers the internal address`;
    };
    if (attributable.length > 0) {
        return {
            fault: "hairpin", verdict: "present",
            summary: `${attributable.length} of ${paths.length} paths to the cluster's own external addresses fail from inside`,
            evidence: cap([...attributable.map(line), ...deadBackend.map((o) => `${line(o)}; internal address fails too`), ...unknown.map(line), ...names, ...okLines]),
            fix: byEndpoint.map(fixFor).join("; "),
        };
    }
    if (unknown.length > 0 || deadBackend.length > 0) {
        return {
            fault: "hairpin", verdict: "could-not-check",
            summary: deadBackend.length > 0 ? `${deadBackend.length} path(s) fail but the backend is unreachable by its internal address too: not a hairpin answer` : `${unknown.length} of ${paths.length} paths gave no usable answer`,
            evidence: cap([...deadBackend.map(line), ...unknown.map(line), ...okLines, ...names]),
            fix: deadBackend.length > 0 ? "bring the backend up (its internal address must answer), then re-run the check" : "-",
        };
    }
    return {
        fault: "hairpin", verdict: "absent",
        summary: `all ${paths.length} paths connect (${[...new Set(paths.map(at))].length} vantage points)${computed.length ? `; not checked: ${computed.join(", ")}` : ""}`,
        evidence: cap([...okLines, ...names]), fix: "-",
    };
}

export interface OverlayContext {
    /** Every node the check ran on. */
    nodes: string[];
    /** Tunnel protocol and port, as read from the cluster (cilium-config) or the stack. */
    tunnel?: { protocol: string; port: number; source: string };
    environment: string;
    /** Stated in the report when the pairs were sampled. */
    sampled?: string;
}

/** The overlay verdict: the pattern of field report 003, cross-node fails while same-node works. */
export function overlayVerdict(ctx: OverlayContext, obs: readonly PathObservation[]): Verdict {
    const tun = ctx.tunnel ? `${ctx.tunnel.protocol} UDP ${ctx.tunnel.port} (${ctx.tunnel.source})` : "tunnel port unknown";
    if (ctx.nodes.length < 2) return { fault: "overlay", verdict: "not-applicable", summary: `one node (${ctx.nodes.join(", ") || "none"}): no cross-node path`, evidence: [], fix: "-" };
    const ov = obs.filter((o): o is OObs => o.what.fault === "overlay");
    const ok = (o: OObs) => o.status === "connected" || o.status === "answer";
    const bad = (o: OObs) => FAILED.has(o.status) || o.status === "no-answer";
    // A target is alive when a client on its own node reaches it.
    const alive = (o: OObs) => ov.some((s) => s.node === o.what.toNode && s.what.toNode === o.what.toNode && s.what.target === o.what.target && ok(s));
    const cross = ov.filter((o) => o.node !== o.what.toNode);
    const same = ov.filter((o) => o.node === o.what.toNode);
    const line = (o: OObs) => `${o.node} -> ${o.what.kind === "dns" ? "CoreDNS " : "pod "}${o.what.target}@${o.what.toNode}: ${ok(o) ? "ok" : o.status}${ok(o) ? "" : ` (${o.detail})`}`;
    const faults = cross.filter((o) => bad(o) && alive(o));
    const deadTargets = ov.filter((o) => bad(o) && !alive(o));
    const unknown = ov.filter((o) => o.status === "unknown");
    const pairs = (xs: OObs[]) => [...new Set(xs.map((o) => `${o.node} -> ${o.what.toNode}`))];
    const fix = ctx.environment === "aws"
        ? `directpath:aws security (tunnelPort ${ctx.tunnel?.port ?? 8472}): the node security group must allow UDP ${ctx.tunnel?.port ?? 8472} from itself (ClusterSecurity; npm run plan lists the rule)`
        : `open ${tun} between every pair of nodes on the node firewall / cloud security group (the firewall table npm run plan prints: directpath:cilium tunnel)`;
    const evidenceTail = [`tunnel: ${tun}`, ...(ctx.sampled ? [`pairs: ${ctx.sampled}`] : [])];
    if (faults.length > 0) {
        return {
            fault: "overlay", verdict: "present",
            summary: `cross-node fails, same-node works: ${pairs(faults).join(", ")}`,
            evidence: cap([...faults.map(line), ...same.filter(ok).map(line), ...evidenceTail]), fix,
        };
    }
    if (cross.length === 0 || unknown.length > 0 || deadTargets.length > 0) {
        return {
            fault: "overlay", verdict: "could-not-check",
            summary: cross.length === 0 ? "no cross-node probe ran" : unknown.length > 0 ? `${unknown.length} probe(s) gave no usable answer` : `${deadTargets.length} target(s) unreachable from their own node too: not an overlay answer`,
            evidence: cap([...unknown.map(line), ...deadTargets.map(line), ...ov.filter(ok).map(line), ...evidenceTail]), fix: "-",
        };
    }
    return {
        fault: "overlay", verdict: "absent",
        summary: `${pairs(cross).length} cross-node pair(s) and ${pairs(same).length} same-node pair(s) work (pods${ov.some((o) => o.what.kind === "dns") ? " and CoreDNS" : ""})`,
        evidence: cap([...cross.map(line), ...evidenceTail]), fix: "-",
    };
}
