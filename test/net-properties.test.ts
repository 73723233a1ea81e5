/**
 * Property tests (fast-check) for the address arithmetic: `ipv4SubnetCidr`, `ipv6SubnetCidr`,
 * `cidrsOverlap`/`cidrContains`, the PublicVpc subnet plan and the name keys. Each property is
 * checked against an independent model (plain integer ranges), not against the code itself.
 */
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { defaultSubnetPrefix, ipv4SubnetCidr, ipv6SubnetCidr, planSubnets, validatePublicVpcArgs, zoneCount } from "../components/aws";
import { principalKey } from "../components/aws/names";
import { ValidationError } from "../components/common/errors";
import { cidrContains, cidrsOverlap, ipKey, parseCidr } from "../components/common/net";

const RUNS = { numRuns: 300 };

/** An IPv4 address as an unsigned 32-bit integer. */
const toInt = (ip: string) => ipaddr.IPv4.parse(ip).toByteArray().reduce((n, b) => n * 256 + b, 0);
const fromInt = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
/** The [first, last] addresses of an IPv4 CIDR, as integers. */
function range(cidr: string): [number, number] {
    const c = parseCidr(cidr)!;
    const first = toInt(c.address);
    return [first, first + 2 ** (32 - c.prefix) - 1];
}

/** Any IPv4 network CIDR (host bits cleared). */
const ipv4Cidr = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([n, p]) => {
    const size = 2 ** (32 - p);
    return `${fromInt(Math.floor(n / size) * size)}/${p}`;
});

/** A private VPC CIDR as PublicVpc accepts it: inside 10/8, 172.16/12 or 192.168/16, /16 to /24. */
const vpcCidr = fc.tuple(fc.constantFrom("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), fc.integer({ min: 0, max: 2 ** 24 - 1 }), fc.integer({ min: 16, max: 24 }))
    .map(([base, n, p]) => {
        const [first, last] = range(base);
        const prefix = Math.max(p, Number(base.split("/")[1]));
        const size = 2 ** (32 - prefix);
        const start = first + (Math.floor((n * 256) / size) * size) % (last - first + 1);
        return `${fromInt(start)}/${prefix}`;
    });

/** Zone names of one region, 1-6 distinct letters in any order. */
const zoneList = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f"), { minLength: 1, maxLength: 6 }).map((ls) => ls.map((l) => `eu-central-1${l}`));

describe("ipv4SubnetCidr", () => {
    const cut = vpcCidr.chain((vpc) => {
        const vp = parseCidr(vpc)!.prefix;
        return fc.integer({ min: vp, max: Math.min(28, vp + 8) }).chain((prefix) => {
            const count = 2 ** (prefix - vp);
            return fc.tuple(fc.constant(vpc), fc.constant(prefix), fc.integer({ min: 0, max: count - 1 }), fc.integer({ min: 0, max: count - 1 }));
        });
    });

    it("every block is a /prefix inside the VPC, blocks of different indices don't overlap, and they tile the VPC in order", () => {
        fc.assert(fc.property(cut, ([vpc, prefix, i, j]) => {
            const a = ipv4SubnetCidr(vpc, prefix, i);
            const b = ipv4SubnetCidr(vpc, prefix, j);
            expect(parseCidr(a)).toMatchObject({ prefix, family: 4 });
            const [vFirst, vLast] = range(vpc);
            const [aFirst, aLast] = range(a);
            expect(aFirst).toBeGreaterThanOrEqual(vFirst);
            expect(aLast).toBeLessThanOrEqual(vLast);
            expect(cidrContains(vpc, fromInt(aFirst)) && cidrContains(vpc, fromInt(aLast))).toBe(true);
            // Block i starts i blocks into the VPC: the blocks tile it with no gap.
            expect(aFirst).toBe(vFirst + i * 2 ** (32 - prefix));
            expect(cidrsOverlap(a, b)).toBe(i === j);
        }), RUNS);
    });

    it("refuses an index past the last block, a prefix shorter than the VPC's, and IPv6", () => {
        fc.assert(fc.property(vpcCidr, fc.integer({ min: 0, max: 8 }), (vpc, extra) => {
            const vp = parseCidr(vpc)!.prefix;
            const prefix = Math.min(32, vp + extra);
            expect(() => ipv4SubnetCidr(vpc, prefix, 2 ** (prefix - vp))).toThrow(/out of range/);
            expect(() => ipv4SubnetCidr(vpc, prefix, -1)).toThrow(/out of range/);
            if (vp > 0) expect(() => ipv4SubnetCidr(vpc, vp - 1, 0)).toThrow(/can't be cut/);
        }), RUNS);
        expect(() => ipv4SubnetCidr("fd00::/56", 64, 0)).toThrow(/not an IPv4 CIDR/);
    });
});

describe("cidrsOverlap and cidrContains", () => {
    it("cidrsOverlap is exactly 'the address ranges intersect' (symmetric, reflexive)", () => {
        fc.assert(fc.property(ipv4Cidr, ipv4Cidr, (a, b) => {
            const [af, al] = range(a);
            const [bf, bl] = range(b);
            const model = af <= bl && bf <= al;
            expect(cidrsOverlap(a, b)).toBe(model);
            expect(cidrsOverlap(b, a)).toBe(model);
            expect(cidrsOverlap(a, a)).toBe(true);
        }), RUNS);
    });

    it("cidrContains is exactly 'first <= ip <= last'", () => {
        fc.assert(fc.property(ipv4Cidr, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (c, n) => {
            const [f, l] = range(c);
            expect(cidrContains(c, fromInt(n))).toBe(n >= f && n <= l);
        }), RUNS);
    });

    it("CIDRs of different families never overlap", () => {
        fc.assert(fc.property(ipv4Cidr, fc.integer({ min: 0, max: 128 }), (a, p) => {
            expect(cidrsOverlap(a, p === 0 ? "::/0" : `fd00::/${Math.max(8, p)}`)).toBe(false);
        }), RUNS);
    });
});

describe("ipv6SubnetCidr", () => {
    /** An Amazon-style /56: 7 random bytes, the rest zero. */
    const block56 = fc.uint8Array({ minLength: 7, maxLength: 7 }).map((b) => `${ipaddr.fromByteArray([...b, 0, 0, 0, 0, 0, 0, 0, 0, 0]).toString()}/56`);

    it("index i is a /64 inside the /56; distinct indices give distinct, non-overlapping /64s", () => {
        fc.assert(fc.property(block56, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (block, i, j) => {
            const a = ipv6SubnetCidr(block, i);
            const b = ipv6SubnetCidr(block, j);
            expect(parseCidr(a)).toMatchObject({ prefix: 64, family: 6 });
            expect(cidrContains(block, parseCidr(a)!.address)).toBe(true);
            expect(cidrsOverlap(a, block)).toBe(true);
            expect(a === b).toBe(i === j);
            expect(cidrsOverlap(a, b)).toBe(i === j);
            expect(ipaddr.IPv6.parse(parseCidr(a)!.address).toByteArray()[7]).toBe(i);
        }), RUNS);
    });
});

describe("PublicVpc subnet plan", () => {
    /** Valid PublicVpc args: a private VPC, zones listed or counted, maybe an explicit prefix that fits. */
    const vpcArgs = fc.record({
        cidrBlock: vpcCidr,
        zones: fc.option(zoneList, { nil: undefined }),
        count: fc.integer({ min: 1, max: 6 }),
        extraBits: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    }).map(({ cidrBlock, zones, count, extraBits }) => {
        const vp = parseCidr(cidrBlock)!.prefix;
        const n = zones?.length ?? count;
        const minBits = Math.ceil(Math.log2(n));
        const subnetPrefixLength = extraBits === undefined ? undefined : Math.min(28, vp + minBits + extraBits);
        return { cidrBlock, ...(zones ? { availabilityZones: zones } : { availabilityZoneCount: count }), ...(subnetPrefixLength !== undefined ? { subnetPrefixLength } : {}) };
    }).filter((a) => {
        // Keep the args the validation accepts (tiny VPCs can't hold six /28s); the next property covers the rest.
        try { validatePublicVpcArgs(a); return true; } catch { return false; }
    });

    it("one subnet per zone, all of the expected prefix, inside the VPC, pairwise disjoint", () => {
        fc.assert(fc.property(vpcArgs, (raw) => {
            const args = validatePublicVpcArgs(raw);
            const plan = planSubnets(args);
            const vp = parseCidr(args.cidrBlock)!.prefix;
            expect(plan).toHaveLength(zoneCount(args));
            const prefix = args.subnetPrefixLength ?? defaultSubnetPrefix(vp, zoneCount(args));
            for (const s of plan) {
                expect(parseCidr(s.cidrBlock)!.prefix).toBe(prefix);
                const [f, l] = range(s.cidrBlock);
                const [vf, vl] = range(args.cidrBlock);
                expect(f >= vf && l <= vl).toBe(true);
            }
            for (let i = 0; i < plan.length; i++) for (let j = i + 1; j < plan.length; j++) expect(cidrsOverlap(plan[i]!.cidrBlock, plan[j]!.cidrBlock)).toBe(false);
            // Keys are unique (they name resources) and indices are 0..n-1.
            expect(new Set(plan.map((s) => s.key)).size).toBe(plan.length);
            expect(plan.map((s) => s.index)).toEqual(plan.map((_, i) => i));
            // The default leaves at least half of the VPC free for later growth.
            if (args.subnetPrefixLength === undefined && prefix < 28) expect(2 ** (prefix - vp)).toBeGreaterThanOrEqual(2 * plan.length);
        }), RUNS);
    });

    it("listed zones: the same zone gets the same block whatever the list's order; keys are the zones, in alphabetical order", () => {
        fc.assert(fc.property(vpcCidr, zoneList.chain((zs) => fc.tuple(fc.constant(zs), fc.shuffledSubarray(zs, { minLength: zs.length, maxLength: zs.length }))), (cidrBlock, [zones, shuffled]) => {
            const a = planSubnets(validatePublicVpcArgs({ cidrBlock, availabilityZones: zones }));
            const b = planSubnets(validatePublicVpcArgs({ cidrBlock, availabilityZones: shuffled }));
            expect(b).toEqual(a);
            expect(a.map((s) => s.key)).toEqual([...zones].sort());
            expect(a.every((s) => s.zone === s.key)).toBe(true);
            // The same blocks as the looked-up layout of as many zones (slot i = i-th zone).
            const looked = planSubnets(validatePublicVpcArgs({ cidrBlock, availabilityZoneCount: zones.length }));
            expect(a.map((s) => s.cidrBlock)).toEqual(looked.map((s) => s.cidrBlock));
            expect(looked.map((s) => s.key)).toEqual(looked.map((_, i) => String(i)));
        }), RUNS);
    });

    it("any input either validates into a plan or throws a ValidationError, never anything else", () => {
        const anyArgs = fc.record({
            cidrBlock: fc.oneof(ipv4Cidr, fc.constantFrom("fd00::/56", "10.0.0.1/16", "nope")),
            availabilityZoneCount: fc.option(fc.integer({ min: -1, max: 8 }), { nil: undefined }),
            availabilityZones: fc.option(fc.array(fc.constantFrom("eu-central-1a", "eu-central-1b", "eu-central-1c", "bad zone"), { maxLength: 7 }), { nil: undefined }),
            subnetPrefixLength: fc.option(fc.integer({ min: 0, max: 33 }), { nil: undefined }),
        }, { requiredKeys: ["cidrBlock"] });
        fc.assert(fc.property(anyArgs, (raw) => {
            let parsed;
            try {
                parsed = validatePublicVpcArgs(raw as never);
            } catch (e) {
                expect(e).toBeInstanceOf(ValidationError);
                return;
            }
            const plan = planSubnets(parsed);
            expect(plan).toHaveLength(zoneCount(parsed));
        }), { numRuns: 500 });
    });
});

describe("name keys", () => {
    it("ipKey: distinct IPv4 addresses get distinct keys; every key is a lowercase name part", () => {
        fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (m, n) => {
            const [a, b] = [ipKey(fromInt(m)), ipKey(fromInt(n))];
            expect(a === b).toBe(m === n);
            expect(a).toMatch(/^[0-9]+(-[0-9]+){3}$/);
        }), RUNS);
    });

    it("ipKey: one IPv6 address gives one key in every spelling (compressed, expanded, upper case)", () => {
        fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
            const addr = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
            const key = ipKey(addr.toString());
            expect(ipKey(addr.toNormalizedString())).toBe(key);
            expect(ipKey(addr.toNormalizedString().toUpperCase())).toBe(key);
            expect(ipKey(addr.toNormalizedString().split(":").map((h) => h.padStart(4, "0")).join(":"))).toBe(key);
            expect(key).toMatch(/^[0-9a-f]+(-[0-9a-f]+){7}$/);
        }), RUNS);
    });

    it("principalKey: distinct (account, kind, name) give distinct keys, free of ':' and '/'", () => {
        const name = fc.stringMatching(/^[A-Za-z0-9_.]{1,20}$/);
        const principal = fc.tuple(fc.stringMatching(/^\d{12}$/), fc.constantFrom("role", "user"), name);
        fc.assert(fc.property(principal, principal, ([a1, k1, n1], [a2, k2, n2]) => {
            const x = principalKey(`arn:aws:iam::${a1}:${k1}/${n1}`);
            const y = principalKey(`arn:aws:iam::${a2}:${k2}/${n2}`);
            expect(x === y).toBe(a1 === a2 && k1 === k2 && n1 === n2);
            expect(x).not.toMatch(/[:/]/);
        }), RUNS);
    });
});
