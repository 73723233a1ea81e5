/**
 * Property-based fuzz of the four stack files: random mutations (values swapped for wrong types,
 * empties, extremes, addresses of every class, broken Corefiles, deleted keys), then the plan's
 * validation in-process: the stack resolver (program/resolve.ts) and the components' own
 * validation on what it resolved, exactly what `npm run plan` runs before registering anything.
 *
 * Asserted for every run: the stack is either accepted, or refused with a ValidationError (plan's
 * exit 2) whose every problem names a `directpath:` key (a component's problem a field) and a rule,
 * never any other exception (plan's exit 1, a stack trace). Every accepted stack satisfies the
 * invariants: no redirect, DNS pin or hosts entry for an address of a refused class, no world-open
 * TCP, and every Corefile directpath would write keeps the kubernetes plugin (CoreDNS) or the
 * cluster domain's upstream (NodeLocal DNSCache).
 *
 * The seed is printed; replay a failure with DIRECTPATH_FUZZ_SEED=<seed> (and the path fast-check
 * prints). DIRECTPATH_FUZZ_RUNS overrides the 1,000 runs per stack. The time it takes is in
 * docs/development.md.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAddress } from "../components/common/address-class";
import { ValidationError, type Problem } from "../components/common/errors";
import { addressContext, EXTERNAL_IP_POLICY, INTERNAL_ADDRESS_POLICY } from "../components/hairpin/addresses";
import { parseCorefile } from "../components/hairpin/corefile";
import { corednsMissingPieces, nodeLocalMissingPieces } from "../components/hairpin/corefile-content";
import { planDns } from "../components/hairpin/dns-plan";
import { validateHairpinArgs } from "../components/hairpin";
import { internalAddressOf } from "../components/hairpin/model";
import { tailscaleModeFirewallRules } from "../components/tailscale/render";
import { validateTailscaleArgs } from "../components/tailscale";
import { clusterSecurityRules, validateClusterSecurityOptions } from "../components/aws/security/rules";
import { resolveStack, type StackSpec } from "../program/resolve";
import { TAILSCALE_COMPONENT_NAME } from "../program/sections/tailscale";
import { stackConfigRaw } from "./harness";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const STACKS = ["local", "local-iptables", "dev", "prod"] as const;
const RUNS = Number(process.env.DIRECTPATH_FUZZ_RUNS ?? 1000);
const SEED = process.env.DIRECTPATH_FUZZ_SEED !== undefined ? Number(process.env.DIRECTPATH_FUZZ_SEED) : Date.now() % 2 ** 31;

/** A stack file's config as the program receives it. */
function stackConfig(stack: string): { raw: Record<string, Json>; secretKeys: Set<string> } {
    return stackConfigRaw(stack) as { raw: Record<string, Json>; secretKeys: Set<string> };
}

/** Every path into the config: the root keys, objects' keys and arrays' indices below them. */
function paths(v: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
    const out: Array<Array<string | number>> = [];
    if (Array.isArray(v)) v.forEach((x, i) => out.push([...prefix, i], ...paths(x, [...prefix, i])));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
    return out;
}

const DELETE = Symbol("delete");
type Replacement = Json | typeof DELETE | { corefile: number; how: "drop-line" | "drop-brace" | "junk" };

/** Addresses of every class, as single addresses and as CIDRs. */
const ADDRESSES = [
    "0.0.0.0", "::", "127.0.0.1", "::1", "::ffff:127.0.0.1", "255.255.255.255", "224.0.0.251", "ff02::1", "169.254.169.254", "169.254.25.10", "fe80::1",
    "192.0.2.1", "198.51.100.7", "2001:db8::1", "240.0.0.1", "10.233.0.1", "10.233.0.3", "10.233.64.5", "192.168.10.100", "192.168.10.101",
    "169.233.100.10", "169.233.100.11", "8.8.8.8", "fd00::1",
    "0.0.0.0/0", "::/0", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "fe80::/64", "2001:db8::/32", "10.233.0.0/18", "10.233.64.0/18", "10.0.0.0/8", "192.168.10.0/24",
];

const replacement: fc.Arbitrary<Replacement> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 65535, 65536, 2 ** 53, "", " ", "x".repeat(300), [], {}, [""], [null], "Registry.Example.COM", "/etc/passwd", "latest", "busybox", `busybox@sha256:${"a".repeat(64)}`) },
    { weight: 4, arbitrary: fc.constantFrom<Json>(...ADDRESSES) },
    { weight: 1, arbitrary: fc.ipV4() },
    { weight: 1, arbitrary: fc.ipV6() },
    { weight: 1, arbitrary: fc.constantFrom<Json>(...ADDRESSES).map((a) => [a] as Json) },
    { weight: 2, arbitrary: fc.record({ corefile: fc.nat(200), how: fc.constantFrom("drop-line" as const, "drop-brace" as const, "junk" as const) }) },
    { weight: 2, arbitrary: fc.constant(DELETE) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
);

function brokenCorefile(text: string, r: { corefile: number; how: "drop-line" | "drop-brace" | "junk" }): string {
    const lines = text.split("\n");
    const i = r.corefile % Math.max(1, lines.length);
    if (r.how === "drop-line") lines.splice(i, 1);
    else if (r.how === "junk") lines.splice(i, 0, "    nosuchplugin {");
    else {
        const j = lines.findIndex((l, k) => k >= i && l.includes("}"));
        if (j !== -1) lines[j] = lines[j]!.replace("}", "");
    }
    return lines.join("\n");
}

/** As a stack file's YAML would give it (plain objects: fast-check's records have no prototype). */
const plain = (v: unknown): Json => JSON.parse(JSON.stringify(v)) as Json;

function apply(raw: Record<string, Json>, path: Array<string | number>, r: Replacement): void {
    let cur: Json = raw as Json;
    for (const k of path.slice(0, -1)) cur = (cur as Record<string | number, Json>)[k]!;
    const last = path[path.length - 1]!;
    const box = cur as Record<string | number, Json>;
    if (r === DELETE) {
        if (Array.isArray(box) && typeof last === "number") box.splice(last, 1);
        else delete box[last];
    } else if (r !== null && typeof r === "object" && "corefile" in r && !Array.isArray(r)) {
        const old = box[last];
        box[last] = typeof old === "string" && old.includes("{") ? brokenCorefile(old, r as { corefile: number; how: "drop-line" | "drop-brace" | "junk" }) : plain(r);
    } else box[last] = plain(r);
}

/** A refusal is fine when it is a ValidationError whose every problem names a key and a rule. */
function expectClearRefusal(e: unknown, keyPrefix: RegExp): void {
    if (!(e instanceof ValidationError)) throw new Error(`not a ValidationError (plan would exit 1 with a stack trace): ${(e as Error)?.stack ?? String(e)}`);
    expect(e.problems.length).toBeGreaterThan(0);
    for (const p of e.problems as readonly Problem[]) {
        expect(p.path, JSON.stringify(p)).toMatch(keyPrefix);
        expect(typeof p.rule === "string" && p.rule.length > 0, JSON.stringify(p)).toBe(true);
    }
}

/** The components' own validation on the resolved stack, as the deploy steps construct them. */
function componentArgs(spec: StackSpec) {
    const hairpin = spec.hairpin && {
        ...spec.hairpin,
        // Endpoints that take the environment's Elastic IPs get them as Outputs at deploy time; stand-ins here.
        endpoints: spec.hairpin.endpoints.map(({ externalIpsFrom, ...e }, i) => (externalIpsFrom !== undefined ? { ...e, externalIps: [`198.51.100.${i + 1}`] } : e)),
    };
    const tailscale = spec.tailscale && (() => {
        const { key, enabled: _e, ...settings } = spec.tailscale;
        return { ...settings, ...(key === "apiKey" ? { apiKey: "api-key" } : { authKey: "auth-key" }) };
    })();
    return { hairpin, tailscale };
}

function invariants(spec: StackSpec): void {
    const { hairpin, tailscale } = componentArgs(spec);
    if (hairpin) {
        const parsed = validateHairpinArgs(hairpin as never);
        const ctx = addressContext(parsed.cluster);
        for (const e of parsed.endpoints) {
            for (const ip of e.externalIps) {
                if (typeof ip === "string") expect(checkAddress(ip, EXTERNAL_IP_POLICY, ctx)?.level, `redirect for ${ip}`).not.toBe("error");
            }
            const internal = internalAddressOf(e);
            if (internal !== undefined) expect(checkAddress(internal, INTERNAL_ADDRESS_POLICY, ctx)?.level, `DNS / hosts pin to ${internal}`).not.toBe("error");
        }
        const dns = planDns("hairpin", parsed);
        for (const line of dns.hostsEntries.split("\n").filter((l) => l && !l.startsWith("#"))) {
            const address = line.split(/\s+/)[0]!;
            expect(checkAddress(address, INTERNAL_ADDRESS_POLICY, ctx)?.level, `hosts entry ${line}`).not.toBe("error");
        }
        // The DNS half writes its patches only when an endpoint has hostnames (components/hairpin/dns.ts).
        const patches = parsed.endpoints.some((e) => e.hostnames.length > 0);
        if (patches && dns.corednsCorefile !== undefined) {
            expect(corednsMissingPieces(parseCorefile(dns.corednsCorefile), parsed.dns.clusterDomain).map((m) => m.piece)).not.toContain("kubernetes");
        }
        if (patches && dns.nodeLocalCorefile !== undefined) {
            expect(nodeLocalMissingPieces(parseCorefile(dns.nodeLocalCorefile), parsed.dns.clusterDomain, []).map((m) => m.piece)).not.toContain("forward");
        }
    }
    if (tailscale) {
        const settings = validateTailscaleArgs(TAILSCALE_COMPONENT_NAME, tailscale as never);
        for (const r of tailscaleModeFirewallRules(settings)) {
            if (r.direction === "ingress" && (r.peer === "0.0.0.0/0" || r.peer === "::/0")) expect(r.protocol, r.description).toBe("udp");
        }
    }
    if (spec.environment === "aws") {
        const rules = clusterSecurityRules(validateClusterSecurityOptions({ ...spec.aws.security, ipv6: false } as never));
        for (const r of rules) {
            const world = "cidr" in r.peer && (r.peer.cidr === "0.0.0.0/0" || r.peer.cidr === "::/0");
            if (r.direction === "ingress" && world) expect(r.protocol === "tcp" || r.protocol === "-1", `${r.key}: world-open ${r.protocol}`).toBe(false);
        }
    }
}

describe(`stack files under random mutation (fast-check seed ${SEED}, ${RUNS} runs per stack)`, () => {
    console.log(`fuzz-stacks: fast-check seed ${SEED} (replay: DIRECTPATH_FUZZ_SEED=${SEED} npx vitest run test/fuzz-stacks.test.ts)`);
    for (const stack of STACKS) {
        it(`Pulumi.${stack}.yaml: accepted with the invariants, or refused naming keys`, () => {
            const base = stackConfig(stack);
            const basePaths = paths(base.raw as Json);
            // The unmutated file is accepted and satisfies the invariants.
            invariants(resolveStack(structuredClone(base.raw), { secretKeys: base.secretKeys }));
            const mutation = fc.tuple(fc.nat(basePaths.length - 1), replacement);
            let accepted = 0;
            fc.assert(
                fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
                    const raw = structuredClone(base.raw);
                    for (const [i, r] of muts) {
                        const path = basePaths[i]!;
                        // A path an earlier mutation removed or replaced is skipped.
                        let cur: unknown = raw;
                        for (const k of path.slice(0, -1)) cur = cur && typeof cur === "object" ? (cur as Record<string | number, unknown>)[k] : undefined;
                        if (!cur || typeof cur !== "object") continue;
                        apply(raw, path, r);
                    }
                    let spec: StackSpec;
                    try {
                        spec = resolveStack(raw, { secretKeys: base.secretKeys, source: `Pulumi.${stack}.yaml` });
                    } catch (e) {
                        expectClearRefusal(e, /^directpath:[a-zA-Z]/);
                        return;
                    }
                    try {
                        invariants(spec);
                        accepted++;
                    } catch (e) {
                        // A component refusing what the resolver let through is still a clear refusal (exit 2) ...
                        if (e instanceof ValidationError) expectClearRefusal(e, /^[a-zA-Z]/);
                        // ... a broken invariant or any other error is a failure.
                        else throw e;
                    }
                }),
                { seed: SEED, numRuns: RUNS },
            );
            console.log(`fuzz-stacks: Pulumi.${stack}.yaml: ${RUNS} runs, ${accepted} accepted`);
        }, 120_000);
    }
});
