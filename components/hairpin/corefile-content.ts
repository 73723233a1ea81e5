/**
 * What a pasted base Corefile must contain, because directpath writes it back with force as the
 * cluster's whole DNS configuration: anything missing from it is missing from the cluster. Pure;
 * the parser (./corefile.ts) has already accepted the text.
 */
import { type CorefileDirective, type CorefileServerBlock, type ParsedCorefile } from "./corefile";

/** Plugins that send a question on to another server (CoreDNS 1.14's upstream plugins). */
const UPSTREAM_PLUGINS = ["forward", "grpc"] as const;

const fq = (zone: string) => (zone.endsWith(".") ? zone : `${zone}.`).toLowerCase();

/** The plain arguments of a directive (no nested `{ ... }` block). */
function plainArgs(d: CorefileDirective): string[] {
    const out: string[] = [];
    let depth = 0;
    for (const a of d.args) {
        if (a === "{") depth++;
        else if (a === "}") depth--;
        else if (depth === 0) out.push(a);
    }
    return out;
}

/** True when `zone` (fully qualified) is `parent` or below it. */
function under(zone: string, parent: string): boolean {
    return parent === "." || zone === parent || zone.endsWith(`.${parent}`);
}

/** The blocks on port 53 (plain DNS) that CoreDNS would pick for a question in `domain`: the most specific zone wins. */
function blocksFor(corefile: ParsedCorefile, domain: string): CorefileServerBlock[] {
    const d = fq(domain);
    let best = -1;
    const out: CorefileServerBlock[] = [];
    for (const b of corefile.blocks) {
        for (const k of b.keys) {
            if (k.transport !== "dns" || k.port !== "53") continue;
            for (const z of k.zones) {
                if (!under(d, z)) continue;
                const depth = z === "." ? 0 : z.split(".").length;
                if (depth > best) {
                    best = depth;
                    out.length = 0;
                }
                if (depth === best && !out.includes(b)) out.push(b);
            }
        }
    }
    return out;
}

/** True when the block's `kubernetes` plugin answers for `domain` (its zones are the block's when it lists none). */
function servesKubernetes(block: CorefileServerBlock, domain: string): boolean {
    const d = fq(domain);
    return block.directives.some((dir) => {
        if (dir.name !== "kubernetes") return false;
        const zones = plainArgs(dir);
        const own = zones.length > 0 ? zones.map(fq) : block.keys.flatMap((k) => k.zones);
        return own.some((z) => under(d, z));
    });
}

const has = (corefile: ParsedCorefile, plugin: string) => corefile.blocks.some((b) => b.directives.some((d) => d.name === plugin));

/** One missing piece: `rule` says what the cluster would lose. */
export interface MissingPiece {
    piece: string;
    rule: string;
}

/**
 * CoreDNS's Corefile: a block for the cluster domain with the `kubernetes` plugin, an upstream
 * (`forward` or `grpc`) in the root block, and `health`, `ready` and `reload`.
 */
export function corednsMissingPieces(corefile: ParsedCorefile, clusterDomain: string): MissingPiece[] {
    const out: MissingPiece[] = [];
    const domainBlocks = blocksFor(corefile, clusterDomain);
    if (!domainBlocks.some((b) => servesKubernetes(b, clusterDomain))) {
        out.push({
            piece: "kubernetes",
            rule: `has no kubernetes plugin for the cluster domain ${clusterDomain} (in the server block that serves it): written as the cluster's Corefile, no Service or pod name would resolve any more (a cluster-wide DNS outage); paste the whole Corefile from the cluster`,
        });
    }
    const root = blocksFor(corefile, ".").filter((b) => b.keys.some((k) => k.zones.includes(".")));
    if (!root.some((b) => b.directives.some((d) => (UPSTREAM_PLUGINS as readonly string[]).includes(d.name)))) {
        out.push({
            piece: "forward",
            rule: "has no upstream (forward or grpc) in its root zone block '.:53': written as the cluster's Corefile, no pod could resolve a name outside the cluster; paste the whole Corefile from the cluster",
        });
    }
    if (!has(corefile, "health")) {
        out.push({ piece: "health", rule: "has no health plugin: CoreDNS's liveness probe (GET :8080/health) would fail and the kubelet would restart every CoreDNS pod in a loop" });
    }
    if (!has(corefile, "ready")) {
        out.push({ piece: "ready", rule: "has no ready plugin: CoreDNS's readiness probe (GET :8181/ready) would fail, so no CoreDNS pod would be Ready and the kube-dns Service would have no endpoints" });
    }
    if (!has(corefile, "reload")) {
        out.push({ piece: "reload", rule: "has no reload plugin: directpath's later changes (and its removal) reach CoreDNS only through reload, so they would not take effect until CoreDNS restarts" });
    }
    return out;
}

/**
 * NodeLocal DNSCache's Corefile: every block binds to the node-local addresses (`bind`), the
 * cluster domain has an upstream (`forward`, to CoreDNS), and `reload`.
 */
export function nodeLocalMissingPieces(corefile: ParsedCorefile, clusterDomain: string, bind: readonly string[]): MissingPiece[] {
    const out: MissingPiece[] = [];
    const unbound = corefile.blocks.filter((b) => {
        const bound = b.directives.filter((d) => d.name === "bind").flatMap(plainArgs);
        return !bind.every((a) => bound.includes(a));
    });
    if (unbound.length > 0) {
        out.push({
            piece: "bind",
            rule: `has server blocks that don't bind the node-local address${bind.length === 1 ? "" : "es"} ${bind.join(", ")} (dns.nodeLocalDns.bind): ${unbound.map((b) => b.keys.map((k) => k.text).join(" ")).join(", ")}; node-cache would listen on every address of the node (port 53 on the node's own IPs, where systemd-resolved or another resolver may already be) or not where the pods and the kubelet ask`,
        });
    }
    const domainBlocks = blocksFor(corefile, clusterDomain);
    if (!domainBlocks.some((b) => b.directives.some((d) => (UPSTREAM_PLUGINS as readonly string[]).includes(d.name)))) {
        out.push({
            piece: "forward",
            rule: `has no upstream (forward) for the cluster domain ${clusterDomain}: written as NodeLocal DNSCache's config, no Service or pod name would resolve on any node (pods and, on kubespray, the kubelet ask node-cache first)`,
        });
    }
    if (!has(corefile, "reload")) {
        out.push({ piece: "reload", rule: "has no reload plugin: node-cache picks up directpath's blocks (and their removal) only through reload, so they would not take effect until every node-cache pod restarts" });
    }
    return out;
}
