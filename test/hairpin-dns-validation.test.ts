/**
 * Every validation rule of HairpinBypass's DNS half: each error names the field, quotes the value
 * and states the rule; all problems come at once; nothing is registered.
 */
import { describe, expect, it } from "vitest";
import { HairpinBypass, type HairpinBypassArgs } from "../components/hairpin";
import { isForwardTarget } from "../components/hairpin/dns-args";
import { capture, expectProblems } from "./harness";

const registry = (over: Record<string, unknown> = {}) => ({
    name: "registry",
    hostnames: ["registry.example.com"],
    externalIps: ["169.233.100.10"],
    internalAddress: "192.168.10.100",
    ports: [{ port: 443, name: "https", targetPort: 8443, internalPort: 443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
    ...over,
});

/** Expects the problems, and that nothing was registered. */
async function rejects(args: unknown, expected: Array<{ path: string; rule?: RegExp; value?: unknown }>) {
    const { r } = await capture(() => undefined);
    return expectProblems(() => new HairpinBypass("t", args as HairpinBypassArgs), expected, r);
}

describe("DNS half validation", () => {
    it("a pods backend without internalAddress has nothing to answer with", async () => {
        await rejects({ endpoints: [registry({ internalAddress: undefined })] }, [
            { path: "endpoints[0].internalAddress", value: undefined, rule: /required for CoreDNS \/ NodeLocal DNSCache overrides of endpoint 'registry'.*pods backend has no fixed address.*192\.168\.10\.100/ },
        ]);
    });

    it("node /etc/hosts can't follow a Service: internalAddress is required there", async () => {
        const problems = await rejects({
            defaultMode: "service-external-ips",
            endpoints: [{ name: "git", hostnames: ["git.example.com"], externalIps: ["169.233.100.12"], ports: [{ port: 443 }], backend: { service: { namespace: "git", name: "gitea" } } }],
            dns: { hosts: { enabled: true } },
        }, [{ path: "endpoints[0].internalAddress", rule: /node \/etc\/hosts entries.*can't follow a Service's ClusterIP.*or turn dns.hosts off/ }]);
        // The CoreDNS path is fine for a Service backend: only the hosts problem.
        expect(problems).toHaveLength(1);
    });

    it("hosts entry whose internal port differs from the external port, with LRP lacking socket LB: rejected, the combination explained", async () => {
        await rejects({
            endpoints: [registry({ ports: [{ port: 443, targetPort: 8443, internalPort: 8443 }] })],
            redirect: { lrp: { socketLb: false } },
            dns: { coredns: { enabled: false }, hosts: { enabled: true } },
        }, [{
            path: "endpoints[0].ports[0]",
            value: { port: 443, internalPort: 8443 },
            rule: /redirect only the name, never the port.*connects to port 443.*192\.168\.10\.100 serves it on 8443.*mode 'iptables' or 'service-external-ips'.*'cilium-lrp' with socket LB.*pins the name to the external IPs.*Now: mode 'cilium-lrp': Cilium LRP without socket LB redirects pods only/,
        }]);
    });

    it("the same endpoint is accepted when the redirect half maps the port for host processes (iptables mode)", async () => {
        const { r } = await capture(() => new HairpinBypass("t", {
            endpoints: [{ name: "git", hostnames: ["git.example.com"], externalIps: ["169.233.100.11"], mode: "iptables", ports: [{ port: 22, targetPort: 2222 }], backend: { address: { ip: "192.168.10.101" } } }],
            dns: { coredns: { enabled: false }, hosts: { enabled: true } },
        } as HairpinBypassArgs));
        expect((r.inputs(r.get("kubernetes:core/v1:ConfigMap", "t-hosts")).data as Record<string, string>).entries).toBe("169.233.100.11 git.example.com\n");
    });

    it("LRP with socket LB but a Deployment backend doesn't cover every node: rejected", async () => {
        await rejects({
            endpoints: [registry({ ports: [{ port: 443, targetPort: 8443, internalPort: 8443 }], backend: { pods: { namespace: "ingress", selector: { app: "gw" }, workload: "Deployment" } } })],
            dns: { hosts: { enabled: true } },
        }, [{ path: "endpoints[0].ports[0]", rule: /only on nodes that run a backend pod/ }]);
    });

    it("a Service whose port isn't the external port, in iptables mode (which maps it): the name is pinned to the external IP", async () => {
        // (service-external-ips refuses such a Service itself; cilium-lrp takes no Service backend.)
        const svc = { name: "git", hostnames: ["git.example.com"], externalIps: ["169.233.100.12"], ports: [{ port: 443, targetPort: 8443 }], backend: { service: { namespace: "git", name: "gitea" } } };
        for (const mode of ["iptables"] as const) {
            const { r } = await capture(() => new HairpinBypass("t", { defaultMode: mode, endpoints: [svc] } as HairpinBypassArgs));
            const block = (r.inputs(r.get("kubernetes:core/v1:ConfigMapPatch", "t-coredns-custom")).data as Record<string, string>)["directpath-hairpin-t.server"]!;
            expect(block).toContain('answer "{{ .Name }} 30 IN A 169.233.100.12"');
            expect(block).not.toContain("rewrite");
        }
    });

    it("an unbalanced directpath marker in a base Corefile", async () => {
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: "# BEGIN directpath hairpin-t\n.:53 {\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", rule: /without its '# END directpath' line/ },
        ]);
    });

    it("a hostname inside the cluster domain", async () => {
        await rejects({ endpoints: [registry({ hostnames: ["registry.svc.cluster.local"] })] }, [
            { path: "endpoints[0].hostnames[0]", value: "registry.svc.cluster.local", rule: /inside the cluster domain cluster\.local/ },
        ]);
    });

    it("corefile delivery needs baseCorefile; coredns-custom refuses one; a base that already serves the zone clashes", async () => {
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile" } } }, [
            { path: "dns.coredns.baseCorefile", value: undefined, rule: /required with dns.coredns.delivery 'corefile'.*kubectl -n kube-system get configmap coredns/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { baseCorefile: ".:53 {\n forward . /etc/resolv.conf\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", rule: /only used with dns.coredns.delivery 'corefile'/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: "registry.example.com:53 {\n  forward . 10.0.0.1\n}\n.:53 {\n forward . /etc/resolv.conf\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", value: "registry.example.com", rule: /already has a server block for registry.example.com/ },
        ]);
    });

    it("a pasted Corefile CoreDNS would refuse (a..b, a brace short, a misspelt plugin) is rejected, never written over the cluster's DNS", async () => {
        const root = ".:53 {\n    forward . /etc/resolv.conf\n}\n";
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: `a..b:53 {\n    whoami\n}\n${root}` } } }, [
            { path: "dns.coredns.baseCorefile", rule: /is not a Corefile CoreDNS would load: line 1: zone "a\.\.b".*not a valid domain name.*fix it first/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: ".:53 {\n    errors\n    forward . /etc/resolv.conf {\n        max_concurrent 1000\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", rule: /line 1: the server block \.:53 opened with '\{' is never closed/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: ".:53 {\n    erors\n    forward . /etc/resolv.conf\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", rule: /line 2: unknown directive "erors"/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { nodeLocalDns: { enabled: true, corednsAddress: "10.233.0.3", baseCorefile: "cluster.local:53 {\n    forward . 10.233.0.3 }\n}\n" } } }, [
            { path: "dns.nodeLocalDns.baseCorefile", rule: /is not a Corefile NodeLocal DNSCache would load: line 2: unexpected '\}'/ },
        ]);
    });

    it("a pasted Corefile without the root zone block is not the cluster's whole Corefile", async () => {
        await rejects({ endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: "cluster.local:53 {\n    kubernetes cluster.local\n}\n" } } }, [
            { path: "dns.coredns.baseCorefile", rule: /no server block for the root zone on port 53.*paste all of it/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { nodeLocalDns: { enabled: true, corednsAddress: "10.233.0.3", baseCorefile: "cluster.local:53 {\n    forward . 10.233.0.3\n}\n" } } }, [
            { path: "dns.nodeLocalDns.baseCorefile", rule: /no server block for the root zone on port 53/ },
        ]);
    });

    it("a base Corefile that contains directpath's own earlier block is fine (pasted after a deploy)", async () => {
        const base = "# BEGIN directpath hairpin-t (x)\nregistry.example.com:53 {\n    forward . /etc/resolv.conf\n}\n# END directpath hairpin-t\n.:53 {\n    health\n    ready\n    kubernetes cluster.local\n    forward . /etc/resolv.conf\n    reload\n}\n";
        await capture(() => new HairpinBypass("t", { endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: base } } } as HairpinBypassArgs));
    });

    it("NodeLocal DNSCache needs corednsAddress and (corefile delivery) baseCorefile; it must not forward to an address it binds", async () => {
        await rejects({ endpoints: [registry()], dns: { nodeLocalDns: { enabled: true } } }, [
            { path: "dns.nodeLocalDns.corednsAddress", value: undefined, rule: /required when dns.nodeLocalDns is enabled.*10\.233\.0\.3/ },
            { path: "dns.nodeLocalDns.baseCorefile", value: undefined, rule: /required with dns.nodeLocalDns.delivery 'corefile'.*or use delivery 'inventory'/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "169.254.25.10" } } }, [
            { path: "dns.nodeLocalDns.corednsAddress", value: "169.254.25.10", rule: /also in dns.nodeLocalDns.bind.*loop/ },
        ]);
    });

    it("NodeLocal DNSCache without the CoreDNS override has nothing to forward to; CoreDNS's upstream must not be CoreDNS itself", async () => {
        await rejects({ endpoints: [registry()], dns: { coredns: { enabled: false, upstream: ["10.233.0.3"] }, nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "10.233.0.3" } } }, [
            { path: "dns.nodeLocalDns.enabled", value: true, rule: /answers them only with dns.coredns enabled/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { upstream: ["10.0.0.53", "10.233.0.3:53"] }, nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "10.233.0.3" } } }, [
            { path: "dns.coredns.upstream[1]", value: "10.233.0.3:53", rule: /forward to itself \(a loop\)/ },
        ]);
        await rejects({ endpoints: [registry()], dns: { coredns: { upstream: ["169.254.25.10"] }, nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "10.233.0.3" } } }, [
            { path: "dns.coredns.upstream[0]", value: "169.254.25.10", rule: /node-local-dns address.*forwards back to CoreDNS/ },
        ]);
    });

    it("a hostname that resolves (an Output) into the cluster domain is rejected when it resolves", async () => {
        const { planDns } = await import("../components/hairpin/dns-plan");
        const { validateHairpinArgs } = await import("../components/hairpin");
        const args = validateHairpinArgs({ endpoints: [registry()] } as HairpinBypassArgs);
        expect(() => planDns("t", args, [{ ...args.endpoints[0]!, hostnames: ["x.svc.cluster.local"], externalIps: ["169.233.100.10"] }])).toThrow(/endpoints\[0\]\.hostnames\[0\]: "x\.svc\.cluster\.local" is invalid: is inside the cluster domain/);
    });

    it("schema errors: upstream, ttl, delivery, bind, interval, image, hostPath, unknown keys", async () => {
        await rejects({
            endpoints: [registry()],
            dns: {
                clusterDomain: "cluster",
                coredns: { upstream: ["8.8.8.8:99999", "resolv.conf"], ttl: 7200, delivery: "import", colour: "blue" },
                nodeLocalDns: { bind: ["169.254.25.300"] },
                hosts: { intervalSeconds: 1, image: "", hostPath: "etc/hosts" },
            },
        }, [
            { path: "dns.clusterDomain", value: "cluster", rule: /fully qualified DNS name/ },
            { path: "dns.coredns.upstream[0]", value: "8.8.8.8:99999", rule: /IP, IP:port/ },
            { path: "dns.coredns.upstream[1]", value: "resolv.conf", rule: /absolute path/ },
            { path: "dns.coredns.ttl", value: 7200, rule: /0-3600/ },
            { path: "dns.coredns.delivery", value: "import", rule: /coredns-custom, corefile/ },
            { path: "dns.coredns.colour", rule: /unknown key/ },
            { path: "dns.nodeLocalDns.bind[0]", value: "169.254.25.300" },
            { path: "dns.hosts.intervalSeconds", value: 1, rule: /5-86400/ },
            { path: "dns.hosts.image", value: "", rule: /must be an image reference: repo:tag/ },
            { path: "dns.hosts.hostPath", value: "etc/hosts", rule: /absolute path/ },
        ]);
    });

    it("reports DNS problems together with the endpoint model's own", async () => {
        await rejects({
            endpoints: [registry({ internalAddress: undefined, ports: [{ port: 0 }] })],
            dns: { coredns: { delivery: "corefile" } },
        }, [
            { path: "endpoints[0].ports[0].port", value: 0 },
            { path: "dns.coredns.baseCorefile" },
        ]);
    });

    it("forward targets", () => {
        for (const ok of ["10.0.0.1", "10.0.0.1:53", "fd00::1", "[fd00::1]:5353", "/etc/resolv.conf"]) expect(isForwardTarget(ok), ok).toBe(true);
        for (const bad of ["10.0.0", "10.0.0.1:0", "fd00::1:53:", "[fd00::1]", "resolv.conf", "/etc/resolv conf", "tls://1.1.1.1"]) expect(isForwardTarget(bad), bad).toBe(false);
    });
});
