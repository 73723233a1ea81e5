/**
 * Case 5: a real CoreDNS runs the Corefile server blocks the local stack renders (the
 * `coredns-custom` ConfigMap's `*.server` files, or the directpath-marked region of a `coredns`
 * Corefile), unchanged. What stands in for the cluster around them:
 * - the cluster's own Corefile (not rendered by directpath) is a k3s-style `.:53` block that
 *   forwards to the node's resolver, plus `import <dir>/*.server` (the coredns-custom convention);
 * - the node's resolver (/etc/resolv.conf, which the rendered `forward . /etc/resolv.conf` reads,
 *   as a CoreDNS pod with dnsPolicy Default does) is the lab's stub DNS server: `ip netns exec`
 *   bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf for CoreDNS alone.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, dnsQuery, httpGet, served, startAndWait, startDnsStub } from "../lib/agent-client";
import { LabError, waitFor } from "../lib/proc";
import type { Rendered } from "../lib/rendered";
import { CLIENT_TIMEOUT_MS, EXTERNAL, LAN, REGISTRY, WEB_PORT } from "../hairpin";
import { stackOrSkip, type CaseDef, type LabContext } from "./types";

/** The public answer the upstream gives for the registry, and a name only the upstream knows. */
const UPSTREAM_ENTRIES: Record<string, string> = { [REGISTRY.hostname]: REGISTRY.external, "node2.example.net": EXTERNAL.node2 };
const OTHER_NAME = "node2.example.net";

export interface RenderedServerBlocks {
    /** File name -> server block text, exactly as rendered. */
    files: Record<string, string>;
    source: string;
}

/** The CoreDNS server blocks a rendered stack delivers. */
export function renderedServerBlocks(r: Rendered): RenderedServerBlocks | undefined {
    for (const o of r.objects) {
        const obj = o.object;
        if (obj.kind !== "ConfigMap") continue;
        const data = (obj.data ?? {}) as Record<string, string>;
        const servers = Object.entries(data).filter(([k]) => k.endsWith(".server"));
        if (obj.metadata?.name === "coredns-custom" && servers.length > 0) {
            return { files: Object.fromEntries(servers), source: `${o.file} (ConfigMap ${obj.metadata.namespace}/coredns-custom, keys ${servers.map(([k]) => k).join(", ")})` };
        }
        const corefile = data.Corefile;
        if (obj.metadata?.name === "coredns" && corefile && corefile.includes("# BEGIN directpath")) {
            const regions: Record<string, string> = {};
            let current: string[] | undefined;
            let i = 0;
            for (const line of corefile.split("\n")) {
                if (line.trim().startsWith("# BEGIN directpath")) current = [];
                else if (line.trim().startsWith("# END directpath") && current) {
                    regions[`region-${i++}.server`] = current.join("\n") + "\n";
                    current = undefined;
                } else current?.push(line);
            }
            return { files: regions, source: `${o.file} (the directpath region of ConfigMap kube-system/coredns's Corefile)` };
        }
    }
    return undefined;
}

export function labCorefile(customDir: string, upstreamComment: string): string {
    return [
        `# Stand-in for the cluster's own Corefile (k3s style); ${upstreamComment}`,
        ".:53 {",
        "    errors",
        "    forward . /etc/resolv.conf",
        "}",
        `import ${customDir}/*.server`,
        "",
    ].join("\n");
}

export function case5(corednsProblem: string | undefined): CaseDef {
    return {
        id: "5",
        title: "directpath CoreDNS override (local stack) in a real CoreDNS",
        expected: `${REGISTRY.hostname} -> ${REGISTRY.internal} (not ${REGISTRY.external}); ${OTHER_NAME} via the upstream stub; client reaches node1`,
        timeoutMs: 60_000,
        run: async (ctx: LabContext) => {
            const r = stackOrSkip(ctx, "local");
            const blocks = renderedServerBlocks(r);
            if (!blocks) throw new LabError("the local stack renders no CoreDNS override (no coredns-custom *.server key, no directpath region in a coredns Corefile)");
            if (corednsProblem) throw new LabError(`CoreDNS is not available: ${corednsProblem}`);
            const ns = ctx.hairpin.ns;
            const dir = path.join(ctx.work, "case5");
            const customDir = path.join(dir, "custom");
            fs.mkdirSync(customDir, { recursive: true });
            for (const [name, text] of Object.entries(blocks.files)) fs.writeFileSync(path.join(customDir, name), text);
            const corefile = path.join(dir, "Corefile");
            fs.writeFileSync(corefile, labCorefile(customDir, `the node resolver is the lab's stub at ${LAN.upstream}`));
            // The node's resolver, seen by processes started with `ip netns exec <dns ns>`.
            const etcDir = path.join("/etc/netns", ns.dns);
            const hadNetnsDir = fs.existsSync("/etc/netns");
            fs.mkdirSync(etcDir, { recursive: true });
            ctx.session.onCleanup(() => {
                fs.rmSync(etcDir, { recursive: true, force: true });
                if (!hadNetnsDir && fs.readdirSync("/etc/netns").length === 0) fs.rmdirSync("/etc/netns");
            });
            fs.writeFileSync(path.join(etcDir, "resolv.conf"), `nameserver ${LAN.upstream}\n`);

            const stub = await startDnsStub(ctx.session.daemons, ns.upstream, LAN.upstream, 53, UPSTREAM_ENTRIES, path.join(ctx.logDir, "stub-dns.log"));
            const coredns = await startAndWait(ctx.session.daemons, "coredns", [ctx.corednsBin, "-conf", corefile], { ns: ns.dns, logFile: path.join(ctx.logDir, "coredns.log"), ready: /CoreDNS-\d/, timeoutMs: 20_000 });
            // Ready when it answers the stand-in block (forwarded to the stub).
            await waitFor(() => dnsQuery(ns.node2, LAN.dns, 53, OTHER_NAME, 1000).ok, 10_000, 200);
            const queriesBefore = stub.log().split("\n").filter((l) => l.startsWith(`query ${REGISTRY.hostname} 1`)).length;
            const override = dnsQuery(ns.node2, LAN.dns, 53, REGISTRY.hostname, 2000);
            const other = dnsQuery(ns.node2, LAN.dns, 53, OTHER_NAME, 2000);
            const upstreamSawRegistry = stub.log().split("\n").filter((l) => l.startsWith(`query ${REGISTRY.hostname} 1`)).length - queriesBefore;
            const upstreamSawOther = stub.log().split("\n").some((l) => l.startsWith(`query ${OTHER_NAME} 1`));
            const address = override.answers?.[0];
            const http = address ? httpGet(ns.node2, `http://${address}:${WEB_PORT}/`, CLIENT_TIMEOUT_MS, REGISTRY.hostname) : undefined;
            const s = http ? served(http) : undefined;
            coredns.child.kill("SIGTERM");
            const pass = override.rcode === "NOERROR" && JSON.stringify(override.answers) === JSON.stringify([REGISTRY.internal]) && upstreamSawRegistry === 0
                && other.rcode === "NOERROR" && JSON.stringify(other.answers) === JSON.stringify([EXTERNAL.node2]) && upstreamSawOther
                && s?.server === "node1" && s.host === REGISTRY.hostname;
            return {
                observed: `${REGISTRY.hostname} -> ${override.answers?.join(",") || override.rcode || override.error} (upstream asked ${upstreamSawRegistry}x); ${OTHER_NAME} -> ${other.answers?.join(",") || other.rcode || other.error} (${upstreamSawOther ? "answered by the stub" : "stub never asked"}); GET http://${address ?? "?"}:${WEB_PORT}/ Host ${REGISTRY.hostname}: ${http ? describe(http) : "not sent"}`,
                pass,
                notes: [`CoreDNS ${path.basename(ctx.corednsBin)} ran ${blocks.source} unchanged, imported by a stand-in cluster Corefile (${corefile}); /etc/resolv.conf for CoreDNS = nameserver ${LAN.upstream} (the lab's stub)`],
            };
        },
    };
}
