/**
 * Safe inputs: directpath never redirects, pins or advertises an address of a class that would
 * break a node or the cluster, and the component refuses exactly what the default program refuses.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { validateHairpinArgs, type HairpinBypassArgs } from "../components/hairpin";
import { checkResolved } from "../components/hairpin/model";
import { tailscaleCrossChecks } from "../components/tailscale/args";
import { resolveStack, StackConfigError } from "../program/resolve";
import { expectProblems, ROOT, stackConfigRaw } from "./harness";

type Raw = Record<string, any>;

const stackRaw = (stack = "local"): Raw => stackConfigRaw(stack).raw;
const SECRET_KEYS = new Set(["tailscaleAuthKey"]);
const resolve = (raw: Raw) => resolveStack(raw, { secretKeys: SECRET_KEYS, source: "Pulumi.local.yaml" });

function problemsOf(raw: Raw): Array<{ path: string; value: unknown; rule: string }> {
    try {
        resolve(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(StackConfigError);
        return [...(e as StackConfigError).problems];
    }
    return [];
}

const endpoint = (over: Record<string, unknown> = {}) => ({
    name: "registry",
    hostnames: ["registry.example.com"],
    externalIps: ["169.233.100.10"],
    internalAddress: "192.168.10.100",
    ports: [{ port: 443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "gw" }, workload: "DaemonSet" as const } },
    ...over,
});
const args = (over: Record<string, unknown> = {}, extra: Partial<HairpinBypassArgs> = {}): HairpinBypassArgs => ({ endpoints: [endpoint(over) as never], ...extra });
const cluster = { podCidrs: ["10.233.64.0/18"], serviceCidrs: ["10.233.0.0/18"], nodeInternalIps: ["192.168.10.100"] };

describe("hairpin external IPs: refused classes (component)", () => {
    const refused: Array<[string, RegExp]> = [
        ["127.0.0.1", /is loopback \(127\.0\.0\.0\/8\): a redirect for it would capture every node's own local traffic/],
        ["0.0.0.0", /is the unspecified address .*every address of the node/],
        ["255.255.255.255", /is broadcast .*not a unicast address/],
        ["224.0.0.251", /is multicast \(224\.0\.0\.0\/4\)/],
        ["169.254.169.254", /is link-local \(169\.254\.0\.0\/16.*cloud metadata service.*cut every pod off/],
        ["fe80::1", /is link-local \(fe80::\/10\)/],
        ["::1", /is loopback \(::1\/128\)/],
        ["240.1.2.3", /is reserved/],
    ];
    it.each(refused)("%s", (ip, rule) => {
        expectProblems(() => validateHairpinArgs(args({ externalIps: [ip] })), [{ path: "endpoints[0].externalIps[0]", value: ip, rule }]);
    });

    it("with the cluster's addresses: the Service CIDR (the API's ClusterIP), the pod CIDR and a node's own address", () => {
        const a = args({ externalIps: ["10.233.0.1", "10.233.64.7", "192.168.10.100", "169.233.100.10"] }, { cluster });
        const problems = expectProblems(() => validateHairpinArgs(a), [
            { path: "endpoints[0].externalIps[0]", value: "10.233.0.1", rule: /is inside the Service CIDR 10\.233\.0\.0\/18: .*the Kubernetes API's own/ },
            { path: "endpoints[0].externalIps[1]", value: "10.233.64.7", rule: /is inside a pod CIDR 10\.233\.64\.0\/18: .*cut that pod off/ },
            { path: "endpoints[0].externalIps[2]", value: "192.168.10.100", rule: /is a node's internal address \(192\.168\.10\.100\): redirecting it would capture the node's own traffic/ },
        ]);
        expect(problems.map((p) => p.path)).not.toContain("endpoints[0].externalIps[3]");
        // Without the cluster's addresses, those are ordinary unicast addresses.
        expect(() => validateHairpinArgs(args({ externalIps: ["10.233.0.1"] }))).not.toThrow();
    });

    it("accepts routable and documentation addresses", () => {
        for (const ip of ["169.233.100.10", "203.0.113.10", "2a01:4f8::10", "10.1.2.3"]) expect(() => validateHairpinArgs(args({ externalIps: [ip] })), ip).not.toThrow();
    });

    it("internalAddress and an address backend's IP: loopback, link-local and the like are refused", () => {
        expectProblems(() => validateHairpinArgs(args({ internalAddress: "127.0.0.1" })), [
            { path: "endpoints[0].internalAddress", value: "127.0.0.1", rule: /is loopback .*every client would connect to itself/ },
        ]);
        expectProblems(() => validateHairpinArgs(args({ mode: "iptables", backend: { address: { ip: "169.254.169.254" } } })), [
            { path: "endpoints[0].backend.address.ip", value: "169.254.169.254", rule: /is link-local .*metadata service/ },
        ]);
        expect(() => validateHairpinArgs(args({ internalAddress: "192.168.10.100" }, { cluster }))).not.toThrow();
    });

    it("an external IP that arrives as an Output is classified when it resolves", () => {
        expect(() => checkResolved("169.254.169.254", "endpoints[0].externalIps[0]", "ip")).toThrow(/endpoints\[0\]\.externalIps\[0\]: "169\.254\.169\.254" \(a pulumi\.Output resolved at deploy time\) is invalid: is link-local/);
        expect(checkResolved("169.233.100.10", "endpoints[0].externalIps[0]", "ip")).toBe("169.233.100.10");
        expect(() => validateHairpinArgs(args({ externalIps: [pulumi.output("127.0.0.1")] }))).not.toThrow();
    });
});

describe("hairpin addresses in a stack: the same rules, with the cluster's keys", () => {
    it("refuses the Service CIDR, the pod CIDR, loopback and link-local external IPs, naming the key and the cluster key", () => {
        const raw = stackRaw();
        raw.hairpin.endpoints[0].externalIps = ["10.233.0.1", "10.233.64.9", "127.0.0.1", "169.254.169.254", "192.168.10.101"];
        const problems = problemsOf(raw);
        const at = (k: number) => problems.find((p) => p.path === `directpath:hairpin.endpoints[0].externalIps[${k}]`)?.rule;
        expect(at(0)).toMatch(/^is inside the Service CIDR 10\.233\.0\.0\/18 \(directpath:cluster\.serviceCidr\): /);
        expect(at(1)).toMatch(/^is inside a pod CIDR 10\.233\.64\.0\/18 \(directpath:cluster\.podCidrs\): /);
        expect(at(2)).toMatch(/^is loopback/);
        expect(at(3)).toMatch(/^is link-local/);
        expect(at(4)).toMatch(/^is directpath:cluster\.nodes\[1\]\.internalIp \(node 'node2'\), not an external address: redirecting it would capture/);
    });

    it("warns about a documentation address, and deploys it", () => {
        const raw = stackRaw();
        raw.hairpin.endpoints[0].externalIps = ["203.0.113.10"];
        raw.hairpin.endpoints[0].internalAddress = "192.168.10.100";
        const spec = resolve(raw);
        expect(spec.warnings).toContainEqual({ path: "directpath:hairpin.endpoints[0].externalIps[0]", value: "203.0.113.10", rule: expect.stringMatching(/^is a documentation range \(203\.0\.113\.0\/24, TEST-NET-3, RFC 5737\): /) });
        expect(spec.hairpin!.cluster).toEqual({ podCidrs: ["10.233.64.0/18"], serviceCidrs: ["10.233.0.0/18"], nodeInternalIps: ["192.168.10.100", "192.168.10.101"] });
    });

    it("cluster.dnsServiceIp: the Service CIDR's network or broadcast address is refused", () => {
        for (const [ip, edge] of [["10.233.0.0", "network address"], ["10.233.63.255", "broadcast address"]] as const) {
            const raw = stackRaw();
            raw.cluster.dnsServiceIp = ip;
            const p = problemsOf(raw).find((x) => x.path === "directpath:cluster.dnsServiceIp");
            expect(p?.rule, ip).toMatch(new RegExp(`^is the ${edge} of directpath:cluster.serviceCidr 10\\.233\\.0\\.0/18, which the API server never allocates`));
        }
    });
});

describe("Tailscale routes and static endpoints", () => {
    it("refuses default routes of both families, loopback and link-local routes", () => {
        const problems = tailscaleCrossChecks({ routes: ["::/0", "0.0.0.0/0", "127.0.0.0/8", "fe80::/64", "10.233.64.0/18"] });
        const rule = (i: number) => problems.find((p) => p.path === `routes[${i}]`)?.rule;
        expect(rule(0)).toMatch(/^is a default route: every node would advertise itself as an exit node/);
        expect(rule(1)).toMatch(/^is a default route/);
        expect(rule(2)).toMatch(/^is loopback \(127\.0\.0\.0\/8\): every peer that accepts the route/);
        expect(rule(3)).toMatch(/^is link-local \(fe80::\/10\)/);
        expect(rule(4)).toBeUndefined();
    });

    it("in a stack, tailscale.routes [::/0] is an error naming the key", () => {
        const raw = stackRaw();
        raw.tailscale.routes = ["::/0"];
        expect(problemsOf(raw)).toContainEqual({ path: "directpath:tailscale.routes[0]", value: "::/0", rule: expect.stringMatching(/^is a default route/) });
    });

    it("pod mode's public IPs: link-local and loopback are refused", () => {
        const problems = tailscaleCrossChecks({ network: "pod", nodePort: 30641, nodes: [{ name: "n1", publicIps: ["169.254.1.1", "127.0.0.1", "169.233.100.10"] }] });
        expect(problems.find((p) => p.path === "nodes[0].publicIps[0]")?.rule).toMatch(/^is link-local .*reachable on the node's own link only/);
        expect(problems.find((p) => p.path === "nodes[0].publicIps[1]")?.rule).toMatch(/^is loopback/);
        expect(problems.find((p) => p.path === "nodes[0].publicIps[2]")).toBeUndefined();
    });
});

describe("what a pasted base Corefile must contain", () => {
    const COREDNS = `.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
}
`;
    const NODELOCAL = `cluster.local:53 {
    errors
    cache 30
    reload
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
}
.:53 {
    errors
    cache 30
    reload
    bind 169.254.25.10
    forward . /etc/resolv.conf
}
`;
    const corefileArgs = (coredns: string, nodeLocal = NODELOCAL): HairpinBypassArgs => args({}, {
        dns: { coredns: { delivery: "corefile", baseCorefile: coredns }, nodeLocalDns: { enabled: true, corednsAddress: "10.233.0.3", baseCorefile: nodeLocal } },
    });

    it("accepts kubespray's Corefiles, and a kubernetes plugin in its own cluster-domain block", () => {
        expect(() => validateHairpinArgs(corefileArgs(COREDNS))).not.toThrow();
        const split = `cluster.local:53 {\n    kubernetes\n}\n${COREDNS.replace(/    kubernetes[^]*?\n    }\n/, "")}`;
        expect(split).not.toMatch(/kubernetes cluster\.local/);
        expect(() => validateHairpinArgs(corefileArgs(split))).not.toThrow();
    });

    const coredns: Array<[string, string, RegExp]> = [
        ["kubernetes", COREDNS.replace(/    kubernetes[^]*?\n    }\n/, ""), /has no kubernetes plugin for the cluster domain cluster\.local .*cluster-wide DNS outage/],
        ["kubernetes for another domain", COREDNS.replace("kubernetes cluster.local", "kubernetes corp.internal"), /has no kubernetes plugin for the cluster domain cluster\.local/],
        ["forward", COREDNS.replace("    forward . /etc/resolv.conf\n", ""), /has no upstream \(forward or grpc\) in its root zone block/],
        ["health", COREDNS.replace(/    health \{\n        lameduck 5s\n    }\n/, ""), /has no health plugin: CoreDNS's liveness probe/],
        ["ready", COREDNS.replace("    ready\n", ""), /has no ready plugin: CoreDNS's readiness probe/],
        ["reload", COREDNS.replace("    reload\n", ""), /has no reload plugin: directpath's later changes/],
    ];
    it.each(coredns)("CoreDNS without %s", (_what, text, rule) => {
        expectProblems(() => validateHairpinArgs(corefileArgs(text)), [{ path: "dns.coredns.baseCorefile", rule }]);
    });

    const nodeLocal: Array<[string, string, RegExp]> = [
        ["bind", NODELOCAL.replace("    bind 169.254.25.10\n    forward . /etc/resolv.conf", "    forward . /etc/resolv.conf"), /has server blocks that don't bind the node-local address 169\.254\.25\.10 \(dns\.nodeLocalDns\.bind\): \.:53;/],
        ["an upstream for the cluster domain", NODELOCAL.replace(/cluster\.local:53 \{[^]*?\n}\n/, "").replace("forward . /etc/resolv.conf", "whoami"), /has no upstream \(forward\) for the cluster domain cluster\.local/],
        ["reload", NODELOCAL.replace(/    reload\n/g, ""), /has no reload plugin: node-cache picks up/],
    ];
    it.each(nodeLocal)("NodeLocal DNSCache without %s", (_what, text, rule) => {
        expectProblems(() => validateHairpinArgs(corefileArgs(COREDNS, text)), [{ path: "dns.nodeLocalDns.baseCorefile", rule }]);
    });

    it("in a stack: a half Corefile is an error at the key, with what the cluster would lose", () => {
        const raw = stackRaw();
        raw.hairpin.dns.coredns.baseCorefile = ".:53 {\n    forward . /etc/resolv.conf\n}\n";
        const rules = problemsOf(raw).filter((p) => p.path === "directpath:hairpin.dns.coredns.baseCorefile").map((p) => p.rule);
        expect(rules).toEqual([
            expect.stringMatching(/^has no kubernetes plugin/),
            expect.stringMatching(/^has no health plugin/),
            expect.stringMatching(/^has no ready plugin/),
            expect.stringMatching(/^has no reload plugin/),
        ]);
    });
});

describe("dns.hosts.hostPath: only a hosts file", () => {
    it.each(["/etc/passwd", "/etc/hosts.d/x", "/var/lib/kubelet/config.yaml", "/etc/../etc/hosts", "/etc//hosts", "/hostsfile"])("refuses %s", (p) => {
        expectProblems(() => validateHairpinArgs(args({}, { dns: { hosts: { enabled: true, hostPath: p } } })), [
            { path: "dns.hosts.hostPath", value: p, rule: /must be a hosts file: \/etc\/hosts, or a path whose last part is 'hosts'.*corrupt any other file/ },
        ]);
    });
    it.each(["/etc/hosts", "/host/etc/hosts", "/var/chroot/etc/hosts"])("accepts %s", (p) => {
        expect(() => validateHairpinArgs(args({}, { dns: { hosts: { enabled: true, hostPath: p } } }))).not.toThrow();
    });
    it("in a stack, /etc/passwd is an error naming the key", () => {
        const raw = stackRaw();
        raw.hairpin.dns.hosts.hostPath = "/etc/passwd";
        expect(problemsOf(raw)).toContainEqual({ path: "directpath:hairpin.dns.hosts.hostPath", value: "/etc/passwd", rule: expect.stringMatching(/^must be a hosts file/) });
    });
});

describe("no cascades: a derived key's problem only when its sources are valid", () => {
    const cases: Array<[string, (raw: Raw) => void, string]> = [
        ["an uppercase hostname", (raw) => { raw.hairpin.endpoints[0].hostnames = ["Registry.example.com"]; }, "directpath:hairpin.endpoints[0].hostnames[0]"],
        ["a node's internalIp that doesn't parse", (raw) => { raw.cluster.nodes[0].internalIp = "192.168.10"; }, "directpath:cluster.nodes[0].internalIp"],
        ["a dnsServiceIp that doesn't parse", (raw) => { raw.cluster.dnsServiceIp = "10.233.0"; }, "directpath:cluster.dnsServiceIp"],
        ["pod mode with a node that doesn't parse", (raw) => { Object.assign(raw.tailscale, { network: "pod", nodePort: 30641 }); raw.cluster.nodes[1].externalIp = "1.2.3"; }, "directpath:cluster.nodes[1].externalIp"],
    ];
    it.each(cases)("%s: exactly one problem, at the key that is wrong", (_what, mutate, at) => {
        const raw = stackRaw();
        mutate(raw);
        expect(problemsOf(raw).map((p) => p.path)).toEqual([at]);
    });

    it("a derived key that is really missing is still reported once its sources are valid", () => {
        const raw = stackRaw();
        delete raw.cluster.dnsServiceIp;
        expect(problemsOf(raw)).toContainEqual(expect.objectContaining({ path: "directpath:hairpin.dns.nodeLocalDns.corednsAddress", value: undefined }));
        const raw2 = stackRaw();
        raw2.hairpin.endpoints[0].externalIps = ["169.233.100.99"];
        expect(problemsOf(raw2).map((p) => p.path)).toContain("directpath:hairpin.endpoints[0].internalAddress");
    });
});

describe("image references: tag, digest, or both, everywhere", () => {
    const DIGEST = `sha256:${"a1".repeat(32)}`;
    it.each([`busybox:1.37.0`, `busybox@${DIGEST}`, `busybox:1.37.0@${DIGEST}`, `registry.local:5000/mirror/busybox:1.37.0`, `docker.io/library/busybox@${DIGEST}`, `busybox:latest@${DIGEST}`])("hosts and iptables images accept %s", (image) => {
        expect(() => validateHairpinArgs(args({}, { dns: { hosts: { enabled: true, image } } }))).not.toThrow();
        expect(() => validateHairpinArgs(args({ mode: "iptables", backend: { address: { ip: "192.168.10.100" } } }, { redirect: { iptables: { image } } }))).not.toThrow();
    });
    const bad: Array<[string, RegExp]> = [
        ["busybox", /must name a tag or a digest/],
        ["busybox:latest", /'latest' is a floating tag/],
        ["Busybox:1.37.0", /must be an image reference: repo:tag, repo@sha256:<64 hex> or repo:tag@sha256:<64 hex>/],
        ["busybox@sha256:abc", /must be an image reference/],
        ["busybox:1.37.0 ", /must be an image reference/],
    ];
    it.each(bad)("refuses %s", (image, rule) => {
        expectProblems(() => validateHairpinArgs(args({}, { dns: { hosts: { enabled: true, image } } })), [{ path: "dns.hosts.image", value: image, rule }]);
    });

    it("tailscale.image takes a digest: rendered repo:tag@digest, and a floating tag is fine once pinned", async () => {
        const { tailscaleArgsSchema, tailscaleImage } = await import("../components/tailscale/args");
        const parsed = tailscaleArgsSchema.parse({ image: { digest: DIGEST } });
        expect(tailscaleImage(parsed.image)).toBe(`tailscale/tailscale:v1.102.3@${DIGEST}`);
        expect(tailscaleCrossChecks({ image: { tag: "latest", digest: DIGEST } })).toEqual([]);
        expect(tailscaleCrossChecks({ image: { tag: "latest" } })).toContainEqual(expect.objectContaining({ path: "image.tag", rule: expect.stringMatching(/floating tag .*or pin the image with image\.digest/) }));
        const r = tailscaleArgsSchema.safeParse({ image: { repository: `tailscale/tailscale@${DIGEST}` } });
        expect(r.success).toBe(false);
        expect(r.error!.issues[0]!.message).toMatch(/without tag or digest \(those go in image\.tag and image\.digest\)/);
    });

    it("in a stack: a digest-pinned Tailscale image is what the DaemonSet runs", async () => {
        const raw = stackRaw();
        raw.tailscale.image = { digest: DIGEST };
        const spec = resolve(raw);
        expect(spec.tailscale!.image).toEqual({ repository: "tailscale/tailscale", tag: "v1.102.3", digest: DIGEST, pullPolicy: "IfNotPresent" });
    });
});

describe("the plan summary lists digest-pinned images as the pods run them", () => {
    const D = `sha256:${"0f".repeat(32)}`;
    async function summaryOf(stack: string, mutate: (sections: Record<string, any>) => void) {
        const { readStackFiles } = await import("../plan/stack-files");
        const { assemblePlan } = await import("../plan/assemble");
        const { runDefaultProgram } = await import("../program/main");
        const { capture, resolve: resolveOutput } = await import("./harness");
        const files = readStackFiles(ROOT, stack);
        const config = { ...files.config };
        const sections: Record<string, any> = {};
        for (const k of ["tailscale", "hairpin"]) if (config[`directpath:${k}`]) sections[k] = JSON.parse(config[`directpath:${k}`]!);
        mutate(sections);
        for (const [k, v] of Object.entries(sections)) config[`directpath:${k}`] = JSON.stringify(v);
        const { r, value } = await capture(() => runDefaultProgram(), { project: files.project, stack: files.stack, preview: true, config, secretKeys: files.secretKeys });
        const outputs = await resolveOutput<Record<string, unknown>>(value);
        return assemblePlan({ project: files.project, stack: files.stack, recorded: r.resources, outputs, secretConfigKeys: files.secretKeys, outDir: "OUT" }).summary;
    }

    it("Tailscale and hosts images (local), the iptables image (local-iptables)", async () => {
        const { formatSummary } = await import("../plan/summary");
        const local = await summaryOf("local", (s) => {
            s.tailscale.image = { digest: D };
            s.hairpin.dns.hosts = { ...s.hairpin.dns.hosts, image: `busybox@${D}` };
        });
        expect(local.images.map((i) => i.image)).toEqual(expect.arrayContaining([`tailscale/tailscale:v1.102.3@${D}`, `busybox@${D}`]));
        const text = formatSummary(local).join("\n");
        expect(text).toContain(`  tailscale/tailscale:v1.102.3@${D}   used by DaemonSet`);
        expect(text).toContain(`  busybox@${D}   used by DaemonSet`);
        const ipt = await summaryOf("local-iptables", (s) => {
            s.hairpin.redirect = { ...s.hairpin.redirect, iptables: { ...(s.hairpin.redirect?.iptables ?? {}), image: `docker.io/rancher/klipper-lb:v0.4.17@${D}` } };
        });
        expect(ipt.images.map((i) => i.image)).toContain(`docker.io/rancher/klipper-lb:v0.4.17@${D}`);
    });
});

describe("parseImageReference and directpath check --image", () => {
    it("splits repository, tag and digest; a registry port is not a tag", async () => {
        const { parseImageReference } = await import("../components/common/image");
        const D = `sha256:${"9".repeat(64)}`;
        expect(parseImageReference("registry:5000/x/busybox")).toEqual({ repository: "registry:5000/x/busybox" });
        expect(parseImageReference(`registry:5000/x/busybox:1.37.0@${D}`)).toEqual({ repository: "registry:5000/x/busybox", tag: "1.37.0", digest: D });
        expect(parseImageReference(`busybox@${D}`)).toEqual({ repository: "busybox", digest: D });
        for (const bad of ["", "busybox:", "busybox@", "UPPER/x:1", `busybox@sha256:${"G".repeat(64)}`, "a b:1"]) expect(parseImageReference(bad), bad).toBeUndefined();
    });
    it("check --image takes the same references and refuses the rest with exit-2 usage errors", async () => {
        const { parseArgs } = await import("../check/cli");
        const D = `sha256:${"ab".repeat(32)}`;
        expect(parseArgs(["--stack", "local", "--image", `busybox@${D}`]).image).toBe(`busybox@${D}`);
        expect(() => parseArgs(["--stack", "local", "--image", "busybox"])).toThrow(/--image "busybox": must name a tag or a digest/);
    });
});

describe("an address under cilium-lrp that is also a Service frontend", () => {
    it("refused when the same stack puts it under service-external-ips (a new Service or a patched one)", () => {
        for (const backend of [{ pods: { namespace: "ingress", selector: { app: "gw" } } }, { service: { namespace: "api", name: "api" } }]) {
            const a: HairpinBypassArgs = {
                endpoints: [
                    endpoint() as never,
                    { ...endpoint({ name: "api", hostnames: [], ports: [{ port: 8443 }], mode: "service-external-ips", backend }) } as never,
                ],
            };
            expectProblems(() => validateHairpinArgs(a), [{
                path: "endpoints[1].externalIps[0]",
                value: "169.233.100.10",
                rule: /is under mode 'cilium-lrp' \(endpoints\[0\]\) and also a Service frontend \(endpoints\[1\], mode 'service-external-ips'\): Cilium skips an addressMatcher LocalRedirectPolicy .*--enable-lrp-address-matcher-override/,
            }]);
        }
    });
    it("two cilium-lrp endpoints on one address (other ports) are fine", () => {
        expect(() => validateHairpinArgs({ endpoints: [endpoint() as never, endpoint({ name: "other", hostnames: [], ports: [{ port: 8443 }] }) as never] })).not.toThrow();
    });
    it("directpath check: Services of the cluster that serve a cilium-lrp address are reported, and it may list Services", async () => {
        const { lrpFrontendClashes, clashNote } = await import("../check/lrp-frontends");
        const { rbacRules } = await import("../check/rbac");
        const { targetsSchema } = await import("../check/targets");
        const t = targetsSchema.parse({
            version: 1,
            hairpin: { endpoints: [
                { name: "registry", mode: "cilium-lrp", externalIps: ["169.233.100.10"], ports: [{ port: 443 }] },
                { name: "api", mode: "service-external-ips", externalIps: ["169.233.100.11"], ports: [{ port: 443 }] },
            ] },
        });
        const clashes = lrpFrontendClashes(t, [
            { metadata: { namespace: "ingress", name: "gw-lb" }, spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: "169.233.100.10" }] } } },
            { metadata: { namespace: "web", name: "web" }, spec: { externalIPs: ["169.233.100.10"] } },
            { metadata: { namespace: "api", name: "api" }, spec: { externalIPs: ["169.233.100.11"] } },
            { metadata: { namespace: "x", name: "other" }, spec: { externalIPs: ["169.233.100.99"] } },
        ]);
        expect(clashes).toEqual([
            { endpoint: "registry", ip: "169.233.100.10", service: "ingress/gw-lb", how: "LoadBalancer IP" },
            { endpoint: "registry", ip: "169.233.100.10", service: "web/web", how: "externalIPs" },
        ]);
        expect(clashNote(clashes[1]!)).toMatch(/^hairpin endpoint 'registry' \(mode cilium-lrp\): 169\.233\.100\.10 is also Service web\/web's externalIPs; Cilium skips .* this endpoint's LRP does nothing/);
        expect(rbacRules(t).find((r) => r.resources.includes("services"))).toMatchObject({ scope: "cluster", verbs: ["list"] });
    });
});
