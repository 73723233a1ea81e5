/**
 * Cilium (1.17+, so the pinned 1.19.x) skips an addressMatcher LocalRedirectPolicy whose address is
 * already a Service frontend (a Service's `spec.externalIPs` or a LoadBalancer's ingress IP) unless
 * the agent runs with `--enable-lrp-address-matcher-override`: the LRP then silently does nothing.
 * The stack's own Services are refused at validation; this finds the cluster's other Services that
 * claim a `cilium-lrp` endpoint's external IP. Pure.
 */
import type { CheckTargets } from "./targets";

export interface ServiceLike {
    metadata?: { name?: string; namespace?: string };
    spec?: { externalIPs?: string[]; type?: string; loadBalancerIP?: string };
    status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

export interface LrpFrontendClash {
    endpoint: string;
    ip: string;
    service: string;
    how: "externalIPs" | "LoadBalancer IP";
}

/** Every (cilium-lrp endpoint IP, Service) pair where the Service already serves that IP. */
export function lrpFrontendClashes(t: CheckTargets, services: readonly ServiceLike[]): LrpFrontendClash[] {
    const out: LrpFrontendClash[] = [];
    for (const e of t.hairpin?.endpoints ?? []) {
        if (e.mode !== "cilium-lrp") continue;
        for (const ip of e.externalIps) {
            for (const s of services) {
                const service = `${s.metadata?.namespace ?? "?"}/${s.metadata?.name ?? "?"}`;
                if ((s.spec?.externalIPs ?? []).includes(ip)) out.push({ endpoint: e.name, ip, service, how: "externalIPs" });
                else if ((s.status?.loadBalancer?.ingress ?? []).some((g) => g.ip === ip) || s.spec?.loadBalancerIP === ip) out.push({ endpoint: e.name, ip, service, how: "LoadBalancer IP" });
            }
        }
    }
    return out;
}

/** The report's note for one clash. */
export function clashNote(c: LrpFrontendClash): string {
    return `hairpin endpoint '${c.endpoint}' (mode cilium-lrp): ${c.ip} is also Service ${c.service}'s ${c.how}; Cilium skips an addressMatcher LocalRedirectPolicy for an address a Service already serves unless the agent runs with --enable-lrp-address-matcher-override, so this endpoint's LRP does nothing. Remove the address from that Service, set the flag, or use mode service-external-ips or iptables for it`;
}

/** True when the targets have a cilium-lrp endpoint (the check then lists Services). */
export function hasLrpEndpoints(t: CheckTargets): boolean {
    return (t.hairpin?.endpoints ?? []).some((e) => e.mode === "cilium-lrp" && e.externalIps.length > 0);
}
