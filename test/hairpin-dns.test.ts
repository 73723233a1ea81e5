/**
 * HairpinBypass's DNS half: the pure renderers (Corefile block, merge, NodeLocal blocks, hosts
 * entries, DaemonSet) and the objects the component registers, asserted on their real content.
 * Validation errors are in hairpin-dns-validation.test.ts; a real CoreDNS runs the text in
 * coredns-live.test.ts.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ConfigMap } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { HairpinBypass, type HairpinBypassArgs } from "../components/hairpin";
import { corefileZones } from "../components/hairpin/dns-args";
import { exactNameRegex, markRegion, mergeCorefile, renderOverrideServerBlock, stripRegions } from "../components/hairpin/corefile";
import { kubesprayExternalZones, kubesprayExternalZonesYaml, renderNodeLocalBlocks } from "../components/hairpin/nodelocaldns";
import { hostsDaemonSet, renderHostsEntries } from "../components/hairpin/hosts";
import { planDns } from "../components/hairpin/dns-plan";
import { validateHairpinArgs } from "../components/hairpin";
import { capture, resolve, ROOT } from "./harness";

const SCRIPT = fs.readFileSync(path.join(ROOT, "components", "hairpin", "scripts", "hosts-sync.sh"), "utf8");
const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");

/** The local stack's registry endpoint. */
const registry = () => ({
    name: "registry",
    hostnames: ["registry.example.com"],
    externalIps: ["169.233.100.10"],
    internalAddress: "192.168.10.100",
    ports: [{ port: 443, protocol: "TCP" as const, name: "https", targetPort: 8443, internalPort: 443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" as const } },
});

/** A kubespray-like cluster Corefile (what `baseCorefile` holds). */
const KUBESPRAY_COREFILE = `.:53 {
    errors {
    }
    health {
        lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf {
      prefer_udp
      max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

const NODELOCAL_COREFILE = `cluster.local:53 {
    errors
    cache {
        success 9984 30
        denial 9984 5
    }
    reload
    loop
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
    prometheus :9253
    health 169.254.25.10:9254
}
.:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . /etc/resolv.conf
    prometheus :9253
}
`;

const EXPECTED_BLOCK = `registry.example.com:53 {
    errors
    template IN A registry.example.com {
        match "^registry[.]example[.]com[.]$"
        answer "{{ .Name }} 30 IN A 192.168.10.100"
        fallthrough
    }
    template IN AAAA registry.example.com {
        match "^registry[.]example[.]com[.]$"
        rcode NOERROR
        fallthrough
    }
    forward . /etc/resolv.conf
}
`;

describe("Corefile builder", () => {
    it("renders one block for every overridden name: exact-match templates, the rest forwarded", () => {
        expect(renderOverrideServerBlock({
            addresses: [{ hostname: "registry.example.com", addresses: ["192.168.10.100"] }],
            services: [],
            upstream: ["/etc/resolv.conf"],
            ttl: 30,
            clusterDomain: "cluster.local",
        })).toBe(EXPECTED_BLOCK);
    });

    it("service answers: an exact rewrite to the cluster name, the kubernetes plugin to answer it; IPv6 answers AAAA", () => {
        const block = renderOverrideServerBlock({
            addresses: [{ hostname: "v6.example.org", addresses: ["fd00::10"] }],
            services: [{ hostname: "git.example.com", target: "gitea-http.git.svc.corp.local" }],
            upstream: ["10.0.0.2", "10.0.0.3:5353"],
            ttl: 10,
            clusterDomain: "corp.local",
            port: 1053,
        });
        const lines = block.split("\n");
        expect(lines[0]).toBe("git.example.com:1053 v6.example.org:1053 {");
        expect(lines).toContain("    rewrite stop name exact git.example.com gitea-http.git.svc.corp.local");
        expect(block).toContain('    template IN AAAA v6.example.org {\n        match "^v6[.]example[.]org[.]$"\n        answer "{{ .Name }} 10 IN AAAA fd00::10"\n        fallthrough\n    }');
        expect(block).toContain('    template IN A v6.example.org {\n        match "^v6[.]example[.]org[.]$"\n        rcode NOERROR\n');
        expect(block).toContain("    kubernetes corp.local {\n        ttl 10\n    }");
        expect(lines).toContain("    forward . 10.0.0.2 10.0.0.3:5353");
        // No `hosts` plugin: it may appear only once per block, and k3s's block already has one.
        expect(block).not.toMatch(/^\s*hosts\b/m);
    });

    it("renders nothing when nothing is overridden, and refuses a name twice", () => {
        expect(renderOverrideServerBlock({ addresses: [], services: [], upstream: ["/etc/resolv.conf"], ttl: 30, clusterDomain: "cluster.local" })).toBe("");
        expect(() => renderOverrideServerBlock({
            addresses: [{ hostname: "a.example.com", addresses: ["10.0.0.1"] }],
            services: [{ hostname: "a.example.com", target: "a.b.svc.cluster.local" }],
            upstream: ["/etc/resolv.conf"], ttl: 30, clusterDomain: "cluster.local",
        })).toThrow(/twice/);
    });

    it("matches only the exact name (a regexp with literal dots)", () => {
        const re = new RegExp(exactNameRegex("registry.example.com"));
        expect(re.test("registry.example.com.")).toBe(true);
        expect(re.test("v2.registry.example.com.")).toBe(false);
        expect(re.test("registryxexample.com.")).toBe(false);
    });

    it("merges in front of the base Corefile, and merging again (a pasted live Corefile) changes nothing", () => {
        const merged = mergeCorefile(KUBESPRAY_COREFILE, "hairpin-local", EXPECTED_BLOCK);
        expect(merged).toBe(`# BEGIN directpath hairpin-local (written by directpath HairpinBypass; edits here are overwritten)\n${EXPECTED_BLOCK}# END directpath hairpin-local\n${KUBESPRAY_COREFILE}`);
        expect(mergeCorefile(merged, "hairpin-local", EXPECTED_BLOCK)).toBe(merged);
        expect(stripRegions(merged)).toBe(KUBESPRAY_COREFILE);
        // No overrides: the base comes back unchanged.
        expect(mergeCorefile(merged, "hairpin-local", "")).toBe(KUBESPRAY_COREFILE);
        expect(markRegion("x", "")).toBe("");
        expect(() => stripRegions("# BEGIN directpath x\nfoo {\n}\n")).toThrow(/without its '# END directpath' line/);
    });

    it("finds the zones a Corefile already serves", () => {
        expect(corefileZones(`${KUBESPRAY_COREFILE}example.com:53 dns://Other.example.org:53 {\n  forward . 1.1.1.1\n}\n(snip) {\n}\n`)).toEqual([".", "example.com", "other.example.org"]);
    });
});

describe("NodeLocal DNSCache blocks", () => {
    it("one block per name, bound to the node-local address, forwarding to CoreDNS over TCP", () => {
        expect(renderNodeLocalBlocks({ hostnames: ["registry.example.com", "a.example.com"], bind: ["169.254.25.10"], corednsAddress: "10.233.0.3", cache: 30, prometheusPort: 9253 })).toBe(
            ["a.example.com", "registry.example.com"].map((h) => `${h}:53 {
    errors
    cache 30
    reload
    loop
    bind 169.254.25.10
    forward . 10.233.0.3 {
        force_tcp
    }
    prometheus :9253
}
`).join(""),
        );
        const both = renderNodeLocalBlocks({ hostnames: ["r.example.com"], bind: ["169.254.20.10", "10.96.0.10"], corednsAddress: "10.96.0.11", cache: 5, prometheusPort: 0 });
        expect(both).toContain("    bind 169.254.20.10 10.96.0.10\n");
        expect(both).not.toContain("prometheus");
    });

    it("renders kubespray's nodelocaldns_external_zones for inventory delivery", () => {
        expect(kubesprayExternalZones({ hostnames: ["registry.example.com"], corednsAddress: "10.233.0.3", cache: 30 })).toEqual([{ zones: ["registry.example.com"], nameservers: ["10.233.0.3"], cache: 30 }]);
        expect(kubesprayExternalZonesYaml({ hostnames: ["registry.example.com"], corednsAddress: "10.233.0.3", cache: 30 })).toBe(
            "nodelocaldns_external_zones:\n  - zones:\n      - registry.example.com\n    nameservers:\n      - 10.233.0.3\n    cache: 30\n",
        );
    });
});

describe("hosts renderers", () => {
    it("entries: one sorted line per address", () => {
        expect(renderHostsEntries([{ hostname: "z.example.com", addresses: ["10.0.0.2", "10.0.0.3"] }, { hostname: "a.example.com", addresses: ["fd00::1"] }])).toBe("fd00::1 a.example.com\n10.0.0.2 z.example.com\n10.0.0.3 z.example.com\n");
        expect(renderHostsEntries([])).toBe("");
    });

    it("the DaemonSet validates against the Kubernetes schema and mounts only the hosts file, as root without privileges", () => {
        const ds = hostsDaemonSet({ name: "x-hosts", namespace: "kube-system", labels: {}, image: "busybox:1.37.0", intervalSeconds: 60, hostPath: "/etc/hosts", blockId: "hairpin-x", script: SCRIPT, entries: "", nodeSelector: { pool: "a" } });
        expect(() => new DaemonSet(ds as never).validate()).not.toThrow();
        const pod = ds.spec.template.spec;
        const c = pod.containers[0]!;
        expect(pod.volumes[0]).toEqual({ name: "hosts", hostPath: { path: "/etc/hosts", type: "File" } });
        expect(c.volumeMounts).toContainEqual({ name: "hosts", mountPath: "/host/etc/hosts" });
        expect(c.securityContext).toMatchObject({ runAsUser: 0, privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        // The probes run the script's own checks (test/hosts-script.test.ts runs them for real).
        expect(c.readinessProbe.exec.command).toEqual(["/bin/sh", "/etc/directpath-hosts/hosts-sync.sh", "ready"]);
        expect(c.livenessProbe.exec.command).toEqual(["/bin/sh", "/etc/directpath-hosts/hosts-sync.sh", "alive"]);
        expect(pod).not.toHaveProperty("hostNetwork");
        expect(pod.automountServiceAccountToken).toBe(false);
        expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
        expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux", pool: "a" });
        expect(Object.fromEntries(c.env.map((e) => [e.name, e.value]))).toEqual({ HOSTS_FILE: "/host/etc/hosts", ENTRIES_FILE: "/etc/directpath-hosts/entries", BLOCK_ID: "hairpin-x", INTERVAL: "60", TMPDIR: "/tmp" });
        expect(c.command).toEqual(["/bin/sh", "/etc/directpath-hosts/hosts-sync.sh"]);
        expect(ds.spec.template.metadata.annotations["directpath.io/script-sha256"]).toBe(sha256(SCRIPT));
        expect(pod.priorityClassName).toBe("system-node-critical");
        // Outside kube-system the critical priority class would be refused by admission.
        const elsewhere = hostsDaemonSet({ name: "x-hosts", namespace: "ops", labels: {}, image: "busybox:1.37.0", intervalSeconds: 60, hostPath: "/etc/hosts", blockId: "hairpin-x", script: SCRIPT, entries: "" });
        expect(elsewhere.spec.template.spec).not.toHaveProperty("priorityClassName");
    });
});

describe("planDns", () => {
    it("answers the internal address when the ports line up, and the external IPs when only the redirect half maps the port", () => {
        const args = validateHairpinArgs({
            endpoints: [
                registry(),
                {
                    name: "git", hostnames: ["git.example.com"], externalIps: ["169.233.100.11"], mode: "iptables",
                    ports: [{ port: 22, targetPort: 2222 }], backend: { address: { ip: "192.168.10.101" } },
                },
            ],
            dns: { hosts: { enabled: true } },
        });
        const plan = planDns("t", args);
        expect(plan.answers).toEqual([
            { endpoint: "registry", hostname: "registry.example.com", cluster: { kind: "address", addresses: ["192.168.10.100"], via: "internal" }, hosts: { kind: "address", addresses: ["192.168.10.100"], via: "internal" } },
            { endpoint: "git", hostname: "git.example.com", cluster: { kind: "address", addresses: ["169.233.100.11"], via: "external" }, hosts: { kind: "address", addresses: ["169.233.100.11"], via: "external" } },
        ]);
        expect(plan.hostsEntries).toBe("169.233.100.11 git.example.com\n192.168.10.100 registry.example.com\n");
    });
});

type Args = HairpinBypassArgs;
const CM_PATCH = "kubernetes:core/v1:ConfigMapPatch";
const DEP_PATCH = "kubernetes:apps/v1:DeploymentPatch";

describe("HairpinBypass DNS resources", () => {
    it("default (coredns-custom): owns one .server key and rolls CoreDNS with the block's checksum", async () => {
        const { r, value } = await capture(() => new HairpinBypass("t", { endpoints: [registry()] } as Args));
        const patch = r.inputs(r.get(CM_PATCH, "t-coredns-custom"));
        expect(patch.metadata).toEqual({ name: "coredns-custom", namespace: "kube-system" });
        expect(patch.data).toEqual({ "directpath-hairpin-t.server": EXPECTED_BLOCK });
        const roll = r.inputs(r.get(DEP_PATCH, "t-coredns-rollout"));
        expect(roll.metadata).toEqual({ name: "coredns", namespace: "kube-system" });
        expect(roll.spec).toEqual({ template: { metadata: { annotations: { "directpath.io/hairpin-dns-sha256": sha256(EXPECTED_BLOCK) } } } });
        expect(await resolve(value.dns.corednsServerBlock)).toBe(EXPECTED_BLOCK);
        expect(value.dns.corednsTarget).toEqual({ namespace: "kube-system", configMap: "coredns-custom", key: "directpath-hairpin-t.server", delivery: "coredns-custom" });
        // Off by default: NodeLocal DNSCache and hosts.
        expect(r.ofType("kubernetes:apps/v1:DaemonSet").filter((d) => d.name.endsWith("-hosts"))).toEqual([]);
        expect(r.ofType(CM_PATCH).map((p) => p.name)).toEqual(["t-coredns-custom"]);
    });

    it("corefile delivery (kubeadm, kubespray): force-owns the Corefile key with the base Corefile behind the block; relies on reload", async () => {
        const { r } = await capture(() => new HairpinBypass("t", { endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: KUBESPRAY_COREFILE } } } as Args));
        const patch = r.inputs(r.get(CM_PATCH, "t-coredns-corefile"));
        expect(patch.metadata).toEqual({ name: "coredns", namespace: "kube-system", annotations: { "pulumi.com/patchForce": "true" } });
        expect(patch.data).toEqual({ Corefile: mergeCorefile(KUBESPRAY_COREFILE, "hairpin-t", EXPECTED_BLOCK) });
        expect((patch.data as { Corefile: string }).Corefile.endsWith(KUBESPRAY_COREFILE)).toBe(true);
        expect(r.ofType(DEP_PATCH)).toEqual([]);
        const rolled = await capture(() => new HairpinBypass("t", { endpoints: [registry()], dns: { coredns: { delivery: "corefile", baseCorefile: KUBESPRAY_COREFILE, rollout: "always" } } } as Args));
        expect(rolled.r.ofType(DEP_PATCH).map((p) => p.name)).toEqual(["t-coredns-rollout"]);
    });

    it("NodeLocal DNSCache, corefile delivery: patches kubespray's nodelocaldns Corefile key", async () => {
        const { r, value } = await capture(() => new HairpinBypass("t", {
            endpoints: [registry()],
            dns: { nodeLocalDns: { enabled: true, corednsAddress: "10.233.0.3", baseCorefile: NODELOCAL_COREFILE } },
        } as Args));
        const patch = r.inputs(r.get(CM_PATCH, "t-nodelocaldns"));
        expect(patch.metadata).toEqual({ name: "nodelocaldns", namespace: "kube-system", annotations: { "pulumi.com/patchForce": "true" } });
        const blocks = renderNodeLocalBlocks({ hostnames: ["registry.example.com"], bind: ["169.254.25.10"], corednsAddress: "10.233.0.3", cache: 30, prometheusPort: 9253 });
        expect(patch.data).toEqual({ Corefile: mergeCorefile(NODELOCAL_COREFILE, "hairpin-t", blocks) });
        expect(await resolve(value.dns.nodeLocalDnsBlocks)).toBe(blocks);
        expect(value.dns.nodeLocalDnsInventory).toBeUndefined();
    });

    it("NodeLocal DNSCache, inventory delivery: deploys nothing for node-local-dns, outputs the inventory snippet", async () => {
        const { r, value } = await capture(() => new HairpinBypass("t", {
            endpoints: [registry()],
            dns: { nodeLocalDns: { enabled: true, delivery: "inventory", corednsAddress: "10.233.0.3" } },
        } as Args));
        // Only the CoreDNS override is deployed; kubespray writes its own nodelocaldns ConfigMap.
        expect(r.ofType(CM_PATCH).map((p) => p.name)).toEqual(["t-coredns-custom"]);
        expect(await resolve(value.dns.nodeLocalDnsInventory)).toBe(kubesprayExternalZonesYaml({ hostnames: ["registry.example.com"], corednsAddress: "10.233.0.3", cache: 30 }));
    });

    it("hosts: a ConfigMap with the script and the entries, and the DaemonSet that runs it", async () => {
        const { r, value } = await capture(() => new HairpinBypass("Local_Hairpin", { endpoints: [registry()], dns: { hosts: { enabled: true, intervalSeconds: 30 } } } as Args));
        const cm = r.inputs(r.get("kubernetes:core/v1:ConfigMap", "Local_Hairpin-hosts"));
        expect(() => new ConfigMap(cm as never).validate()).not.toThrow();
        expect(cm.metadata).toMatchObject({ name: "local-hairpin-hosts", namespace: "kube-system" });
        expect(cm.data).toEqual({ "hosts-sync.sh": SCRIPT, entries: "192.168.10.100 registry.example.com\n" });
        const ds = r.inputs(r.get("kubernetes:apps/v1:DaemonSet", "Local_Hairpin-hosts")) as any;
        expect(() => new DaemonSet(ds).validate()).not.toThrow();
        const c = ds.spec.template.spec.containers[0];
        expect(c.env).toContainEqual({ name: "BLOCK_ID", value: "hairpin-local-hairpin" });
        expect(c.env).toContainEqual({ name: "INTERVAL", value: "30" });
        expect(ds.spec.template.spec.volumes).toContainEqual({ name: "config", configMap: { name: "local-hairpin-hosts", defaultMode: 0o444 } });
        expect(value.dns.hostsDaemonSet).toEqual({ namespace: "kube-system", name: "local-hairpin-hosts" });
    });

    it("a Service backend is rewritten to its cluster name (CoreDNS follows a changed ClusterIP)", async () => {
        const { r } = await capture(() => new HairpinBypass("t", {
            defaultMode: "service-external-ips",
            endpoints: [{ name: "git", hostnames: ["git.example.com"], externalIps: ["169.233.100.12"], ports: [{ port: 443 }], backend: { service: { namespace: "git", name: "gitea" } } }],
            dns: { clusterDomain: "corp.local" },
        } as Args));
        const block = (r.inputs(r.get(CM_PATCH, "t-coredns-custom")).data as Record<string, string>)["directpath-hairpin-t.server"]!;
        expect(block).toContain("    rewrite stop name exact git.example.com gitea.git.svc.corp.local\n");
        expect(block).toContain("    kubernetes corp.local {\n");
        expect(block).not.toContain("template");
    });

    it("hostnames and external IPs that are Outputs are rendered once they resolve", async () => {
        const { r } = await capture(() => new HairpinBypass("t", {
            endpoints: [{
                ...registry(),
                hostnames: [pulumi.output("registry.example.com")],
                externalIps: [pulumi.output("169.233.100.10")],
            }],
        } as Args));
        expect(r.inputs(r.get(CM_PATCH, "t-coredns-custom")).data).toEqual({ "directpath-hairpin-t.server": EXPECTED_BLOCK });
    });

    it("in preview, an unknown hostname: the same resources are planned, their text is [computed]", async () => {
        const { r } = await capture(() => {
            const name = new k8s.core.v1.ConfigMap("dns-name", {}).id; // unknown in preview
            return new HairpinBypass("t", { endpoints: [{ ...registry(), hostnames: [name] }], dns: { hosts: { enabled: true } } } as unknown as Args);
        }, { preview: true });
        expect(r.inputs(r.get(CM_PATCH, "t-coredns-custom")).data).toEqual({ "directpath-hairpin-t.server": "[computed]" });
        expect((r.inputs(r.get("kubernetes:core/v1:ConfigMap", "t-hosts")).data as Record<string, string>).entries).toBe("[computed]");
        expect((r.inputs(r.get("kubernetes:core/v1:ConfigMap", "t-hosts")).data as Record<string, string>)["hosts-sync.sh"]).toBe(SCRIPT);
        expect(r.ofType("kubernetes:apps/v1:DaemonSet").map((d) => d.name)).toContain("t-hosts");
    });

    it("no hostnames: the DNS half registers nothing", async () => {
        const { r, value } = await capture(() => new HairpinBypass("t", { endpoints: [{ ...registry(), hostnames: [] }], dns: { hosts: { enabled: true } } } as Args));
        expect(r.ofType(CM_PATCH)).toEqual([]);
        expect(r.ofType(DEP_PATCH)).toEqual([]);
        expect(r.resources.filter((x) => x.name.endsWith("-hosts"))).toEqual([]);
        expect(await resolve(value.dns.corednsServerBlock)).toBe("");
    });
});
