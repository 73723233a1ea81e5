/**
 * HairpinBypass's redirect half: the pure renderers of each mode (LRP specs, the externalIPs
 * Service and patch, the iptables rules file, ConfigMap and DaemonSet), the objects the component
 * registers, Output-typed external IPs, deploy-time warnings and the coverage helpers. Validation
 * errors are in hairpin-redirect-validation.test.ts, the node script in hairpin-redirect-script.test.ts.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import Ajv from "ajv";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
    HairpinBypass,
    isCoveredByRedirect,
    lrpCoversHost,
    rawRedirectCoverage,
    redirectCoverage,
    resolvedIp,
    resolveEndpoint,
    validateHairpinArgs,
    type Endpoint,
    type HairpinBypassArgs,
} from "../components/hairpin";
import { renderExternalIpsPatch, renderExternalIpsService } from "../components/hairpin/external-ips";
import { iptablesEnv, iptablesRules, iptablesTarget, renderIptablesDaemonSet, renderRulesConf } from "../components/hairpin/iptables";
import { renderLrps, type LrpObject } from "../components/hairpin/lrp";
import { DEFAULT_IPTABLES_IMAGE } from "../components/hairpin/redirect-args";
import { capture, resolve, ROOT, SHARED } from "./harness";

const SCRIPT = fs.readFileSync(path.join(ROOT, "components", "hairpin", "scripts", "hairpin-redirect.sh"), "utf8");
const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
const LRP = "kubernetes:cilium.io/v2:CiliumLocalRedirectPolicy";

/** The local stack's registry endpoint (issue 2): 169.233.100.10:443 to the ingress gateway pods' 8443. */
const registry = () => ({
    name: "registry",
    hostnames: ["registry.example.com"],
    externalIps: ["169.233.100.10"],
    internalAddress: "192.168.10.100",
    ports: [{ port: 443, protocol: "TCP" as const, name: "https", targetPort: 8443, internalPort: 443 }],
    backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" as const } },
});

/** Two external IPs, two named ports. */
const web = () => ({
    name: "web",
    externalIps: ["169.233.100.10", "169.233.100.11"],
    ports: [
        { port: 443, name: "https", targetPort: 8443 },
        { port: 80, name: "http", targetPort: 8080 },
    ],
    backend: { pods: { namespace: "edge", selector: { "app.kubernetes.io/name": "gateway", tier: "edge" }, workload: "DaemonSet" as const } },
});

const parsedEndpoint = (e: unknown, defaultMode = "cilium-lrp"): Endpoint =>
    validateHairpinArgs({ defaultMode, endpoints: [e] } as HairpinBypassArgs).endpoints[0]!;

const LABELS = { "app.kubernetes.io/name": "hairpin-bypass", "app.kubernetes.io/instance": "hp", "app.kubernetes.io/part-of": "directpath", "app.kubernetes.io/managed-by": "pulumi", "directpath.io/hairpin": "hp" };

// ---- the upstream CRD schema (../shared); only the schema check is skipped without it ----

const LRP_SCHEMA_FILE = path.join(SHARED, "upstream", "crd-schemas", "cilium.io_ciliumlocalredirectpolicy_v2.json");
const haveSchema = fs.existsSync(LRP_SCHEMA_FILE);
function lrpValidator(extend?: (schema: any) => void) {
    const schema = JSON.parse(fs.readFileSync(LRP_SCHEMA_FILE, "utf8"));
    extend?.(schema);
    return new Ajv({ strict: false, allErrors: true }).compile(schema);
}
function schemaErrors(obj: unknown, extend?: (schema: any) => void): string[] {
    const validate = lrpValidator(extend);
    return validate(JSON.parse(JSON.stringify(obj))) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe("mode cilium-lrp: CiliumLocalRedirectPolicy specs", () => {
    it("renders the registry endpoint: one policy, external IP, string ports, selector, backend namespace", () => {
        const [lrp, ...rest] = renderLrps(parsedEndpoint(registry()), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: false });
        expect(rest).toEqual([]);
        expect(lrp).toEqual({
            apiVersion: "cilium.io/v2",
            kind: "CiliumLocalRedirectPolicy",
            metadata: { name: "hp-registry-169-233-100-10", namespace: "ingress", labels: LABELS },
            spec: {
                description: "directpath hairpin bypass: endpoint registry, external IP 169.233.100.10, to local pods app=ingress-gateway",
                redirectFrontend: { addressMatcher: { ip: "169.233.100.10", toPorts: [{ port: "443", protocol: "TCP" }] } },
                redirectBackend: { localEndpointSelector: { matchLabels: { app: "ingress-gateway" } }, toPorts: [{ port: "8443", protocol: "TCP" }] },
            },
        });
        // Unset unless asked for: hairpin wants the backend pods redirected to themselves too.
        expect("skipRedirectFromBackend" in lrp!.spec).toBe(false);
    });

    it("one policy per external IP; several ports carry names on both sides", () => {
        const lrps = renderLrps(parsedEndpoint(web()), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: false });
        expect(lrps.map((l) => [l.metadata.name, l.metadata.namespace, l.spec.redirectFrontend.addressMatcher.ip])).toEqual([
            ["hp-web-169-233-100-10", "edge", "169.233.100.10"],
            ["hp-web-169-233-100-11", "edge", "169.233.100.11"],
        ]);
        for (const l of lrps) {
            expect(l.spec.redirectFrontend.addressMatcher.toPorts).toEqual([
                { port: "443", protocol: "TCP", name: "https" },
                { port: "80", protocol: "TCP", name: "http" },
            ]);
            expect(l.spec.redirectBackend).toEqual({
                localEndpointSelector: { matchLabels: { "app.kubernetes.io/name": "gateway", tier: "edge" } },
                toPorts: [
                    { port: "8443", protocol: "TCP", name: "https" },
                    { port: "8080", protocol: "TCP", name: "http" },
                ],
            });
        }
    });

    it("skipRedirectFromBackend: true only when the option is on", () => {
        const [lrp] = renderLrps(parsedEndpoint(registry()), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: true });
        expect(lrp!.spec.skipRedirectFromBackend).toBe(true);
    });

    it.skipIf(!haveSchema)("every rendered policy validates against the upstream CRD schema", () => {
        const udp = { ...web(), name: "dns", ports: [{ port: 53, protocol: "UDP", name: "dns", targetPort: 5353 }, { port: 53, protocol: "TCP", name: "dns-tcp", targetPort: 5353 }] };
        const v6 = { ...registry(), externalIps: ["fd00::10"] };
        const all: LrpObject[] = [registry(), web(), udp, v6].flatMap((e) => renderLrps(parsedEndpoint(e), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: false }));
        expect(all).toHaveLength(6);
        for (const lrp of all) expect(schemaErrors(lrp), lrp.metadata.name).toEqual([]);
    });

    it.skipIf(!haveSchema)("the schema check can fail: a numeric port or a bad IP is rejected", () => {
        const [lrp] = renderLrps(parsedEndpoint(registry()), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: false });
        const numericPort = structuredClone(lrp!) as any;
        numericPort.spec.redirectFrontend.addressMatcher.toPorts[0].port = 443;
        expect(schemaErrors(numericPort).join("\n")).toMatch(/toPorts\/0\/port must be string/);
        const badIp = structuredClone(lrp!) as any;
        badIp.spec.redirectFrontend.addressMatcher.ip = "169.233.100.300";
        expect(schemaErrors(badIp).join("\n")).toMatch(/addressMatcher\/ip must match pattern/);
        const numericBackend = structuredClone(lrp!) as any;
        numericBackend.spec.redirectBackend.toPorts[0].port = 8443;
        expect(schemaErrors(numericBackend).join("\n")).toMatch(/redirectBackend\/toPorts\/0\/port must be string/);
    });

    it.skipIf(!haveSchema)("skipRedirectFromBackend: valid against the 1.16+ CRD (the shared schema snapshot predates the field)", () => {
        const [lrp] = renderLrps(parsedEndpoint(registry()), { prefix: "hp", labels: LABELS, skipRedirectFromBackend: true });
        // The snapshot in ../shared has no skipRedirectFromBackend and additionalProperties: false.
        expect(schemaErrors(lrp).join("\n")).toMatch(/must NOT have additional properties/);
        // Cilium 1.16+ CRDs (checked in v1.16.2, v1.17.6, v1.19.3) declare it as a boolean, immutable.
        expect(schemaErrors(lrp, (s) => { s.properties.spec.properties.skipRedirectFromBackend = { type: "boolean" }; })).toEqual([]);
    });

    it("without ../shared only the schema checks are skipped", () => {
        if (!haveSchema) console.warn(`skipping the CRD schema checks: ${LRP_SCHEMA_FILE} is absent (a user's clone has no ../shared)`);
        expect(renderLrps(parsedEndpoint(registry()), { prefix: "hp", labels: {}, skipRedirectFromBackend: false })).toHaveLength(1);
    });
});

describe("mode service-external-ips", () => {
    it("a pods backend gets a ClusterIP Service with the selector, ports and externalIPs", () => {
        const e = parsedEndpoint({ ...web(), mode: "service-external-ips" });
        const svc = renderExternalIpsService(e, "hp", LABELS);
        expect(svc).toEqual({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "hp-web", namespace: "edge", labels: LABELS },
            spec: {
                type: "ClusterIP",
                selector: { "app.kubernetes.io/name": "gateway", tier: "edge" },
                ports: [
                    { name: "https", port: 443, targetPort: 8443, protocol: "TCP" },
                    { name: "http", port: 80, targetPort: 8080, protocol: "TCP" },
                ],
                externalIPs: ["169.233.100.10", "169.233.100.11"],
            },
        });
        expect(() => new Service(svc as any).validate()).not.toThrow();
    });

    it("a service backend is patched (server-side apply, field manager directpath) with externalIPs only", () => {
        const e = parsedEndpoint({ name: "api", externalIps: ["169.233.100.12"], ports: [{ port: 443 }], backend: { service: { namespace: "apps", name: "api" } }, mode: "service-external-ips" });
        expect(renderExternalIpsPatch(e)).toEqual({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "api", namespace: "apps", annotations: { "pulumi.com/patchFieldManager": "directpath" } },
            spec: { externalIPs: ["169.233.100.12"] },
        });
    });
});

describe("mode iptables: rules file, ConfigMap, DaemonSet", () => {
    const address = () => ({ name: "registry", externalIps: ["169.233.100.10"], ports: [{ port: 443, name: "https" }], backend: { address: { ip: "192.168.10.100" } } });

    it("rules: one per external IP and port; an address target, or a Service's cluster DNS name", () => {
        const a = parsedEndpoint(address(), "iptables");
        expect(iptablesRules(a as any, "cluster.local")).toEqual([
            { name: "registry-https-0", protocol: "tcp", externalIp: "169.233.100.10", externalPort: 443, target: "192.168.10.100", targetPort: 443 },
        ]);
        const svc = parsedEndpoint({
            name: "api",
            externalIps: ["169.233.100.12", "169.233.100.13"],
            ports: [{ port: 443, name: "https", targetPort: 8443 }, { port: 53, name: "dns", protocol: "UDP" }],
            backend: { service: { namespace: "apps", name: "api" } },
        }, "iptables");
        expect(iptablesTarget(svc, "corp.internal")).toBe("api.apps.svc.corp.internal");
        const conf = renderRulesConf([...iptablesRules(a as any, "cluster.local"), ...iptablesRules(svc as any, "corp.internal")]);
        expect(conf).toBe([
            "# directpath hairpin bypass, mode iptables: one DNAT rule per line (see hairpin-redirect.sh)",
            "# name protocol external-ip external-port target target-port",
            "registry-https-0 tcp 169.233.100.10 443 192.168.10.100 443",
            "api-https-0 tcp 169.233.100.12 443 api.apps.svc.corp.internal 8443",
            "api-dns-0 udp 169.233.100.12 53 api.apps.svc.corp.internal 53",
            "api-https-1 tcp 169.233.100.13 443 api.apps.svc.corp.internal 8443",
            "api-dns-1 udp 169.233.100.13 53 api.apps.svc.corp.internal 53",
            "",
        ].join("\n"));
    });

    it("the DaemonSet: host network, NET_ADMIN+NET_RAW, every node, the script from the ConfigMap, env", () => {
        const ds = renderIptablesDaemonSet({
            prefix: "hp", namespace: "kube-system", labels: LABELS, image: DEFAULT_IPTABLES_IMAGE,
            options: { reconcileSeconds: 15, backend: "legacy", nodeSelector: { role: "edge" } }, scriptHash: "abc",
        });
        expect(() => new DaemonSet(ds as any).validate()).not.toThrow();
        const pod = ds.spec.template.spec;
        expect(pod.hostNetwork).toBe(true);
        expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
        expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
        expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux", role: "edge" });
        const c = pod.containers[0]!;
        expect(c.image).toBe("docker.io/rancher/klipper-lb:v0.4.17");
        expect(c.command).toEqual(["/bin/sh", "/etc/directpath/hairpin-redirect.sh"]);
        expect(c.env).toEqual([
            { name: "DIRECTPATH_CONFIG", value: "/etc/directpath/rules.conf" },
            { name: "DIRECTPATH_INTERVAL", value: "15" },
            { name: "DIRECTPATH_IPTABLES", value: "legacy" },
            { name: "DIRECTPATH_STATE_DIR", value: "/run/directpath-hairpin" },
        ]);
        // The probes run the script's own checks (test/hairpin-redirect-script.test.ts runs them for real).
        expect(c.readinessProbe.exec.command).toEqual(["/bin/sh", "/etc/directpath/hairpin-redirect.sh", "ready"]);
        expect(c.livenessProbe.exec.command).toEqual(["/bin/sh", "/etc/directpath/hairpin-redirect.sh", "alive"]);
        expect(c.securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["NET_ADMIN", "NET_RAW"] });
        expect(c.securityContext.privileged).toBe(false);
        expect(c.volumeMounts).toEqual([
            { name: "config", mountPath: "/etc/directpath", readOnly: true },
            { name: "xtables-lock", mountPath: "/run/xtables.lock" },
            { name: "state", mountPath: "/run/directpath-hairpin" },
        ]);
        expect(pod.volumes).toEqual([
            { name: "config", configMap: { name: "hp-iptables", defaultMode: 0o555 } },
            { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            { name: "state", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
        ]);
        expect(ds.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "directpath-hairpin-iptables", "app.kubernetes.io/instance": "hp" });
        expect(ds.spec.template.metadata.labels).toMatchObject(ds.spec.selector.matchLabels);
        expect(ds.spec.template.metadata.annotations).toMatchObject({ "directpath.io/script-sha256": "abc" });
        expect(Object.keys(ds.spec.template.metadata.annotations).filter((k) => k.startsWith("privilege.directpath.io/")).sort()).toEqual([
            "privilege.directpath.io/cap.NET_ADMIN", "privilege.directpath.io/cap.NET_RAW", "privilege.directpath.io/hostNetwork",
            "privilege.directpath.io/hostPath.xtables-lock", "privilege.directpath.io/root.hairpin-redirect",
        ]);
        expect(iptablesEnv({ reconcileSeconds: 30, backend: "auto" }).map((e) => e.name)).toEqual(["DIRECTPATH_CONFIG", "DIRECTPATH_INTERVAL", "DIRECTPATH_IPTABLES", "DIRECTPATH_STATE_DIR"]);
    });
});

describe("HairpinBypass redirect resources", () => {
    afterEach(() => vi.restoreAllMocks());

    it("one endpoint per mode: LRP, Service, ServicePatch, iptables ConfigMap + DaemonSet; outputs", async () => {
        const args = {
            endpoints: [
                registry(),
                { ...web(), externalIps: ["169.233.100.20"], mode: "service-external-ips" },
                { name: "api", externalIps: ["169.233.100.21"], ports: [{ port: 443 }], backend: { service: { namespace: "apps", name: "api" } }, mode: "service-external-ips" },
                { name: "git", externalIps: ["169.233.100.22"], ports: [{ port: 22, name: "ssh" }], backend: { address: { ip: "192.168.10.101" } }, mode: "iptables" },
            ],
            redirect: { iptables: { reconcileSeconds: 10 } },
        } as HairpinBypassArgs;
        const { r, value } = await capture(() => new HairpinBypass("hp", args));

        expect(r.ofType(LRP).map((x) => x.name)).toEqual(["hp-registry-lrp-169-233-100-10"]);
        const lrp = r.inputs(r.get(LRP, "hp-registry-lrp-169-233-100-10")) as any;
        expect(lrp.metadata).toEqual({ name: "hp-registry-169-233-100-10", namespace: "ingress", labels: LABELS });
        expect(lrp.spec.redirectFrontend.addressMatcher).toEqual({ ip: "169.233.100.10", toPorts: [{ port: "443", protocol: "TCP" }] });
        expect(lrp.spec.redirectBackend.toPorts).toEqual([{ port: "8443", protocol: "TCP" }]);

        const svc = r.inputs(r.get("kubernetes:core/v1:Service", "hp-web-extips")) as any;
        expect(svc.metadata.namespace).toBe("edge");
        expect(svc.spec.externalIPs).toEqual(["169.233.100.20"]);
        expect(svc.spec.selector).toEqual({ "app.kubernetes.io/name": "gateway", tier: "edge" });
        const patch = r.inputs(r.get("kubernetes:core/v1:ServicePatch", "hp-api-extips")) as any;
        expect(patch.metadata).toEqual({ name: "api", namespace: "apps", annotations: { "pulumi.com/patchFieldManager": "directpath" } });
        expect(patch.spec).toEqual({ externalIPs: ["169.233.100.21"] });

        const cm = r.inputs(r.get("kubernetes:core/v1:ConfigMap", "hp-iptables")) as any;
        expect(cm.metadata).toMatchObject({ name: "hp-iptables", namespace: "kube-system" });
        expect(cm.data["hairpin-redirect.sh"]).toBe(SCRIPT);
        expect(cm.data["rules.conf"]).toContain("\ngit-ssh-0 tcp 169.233.100.22 22 192.168.10.101 22\n");
        expect(() => new ConfigMap(cm).validate()).not.toThrow();
        const ds = r.inputs(r.get("kubernetes:apps/v1:DaemonSet", "hp-iptables")) as any;
        expect(() => new DaemonSet(ds).validate()).not.toThrow();
        expect(ds.spec.template.metadata.annotations["directpath.io/script-sha256"]).toBe(sha256(SCRIPT));
        expect(ds.spec.template.spec.containers[0].env).toContainEqual({ name: "DIRECTPATH_INTERVAL", value: "10" });
        // Every object is a child of the component.
        const parent = r.ofType("directpath:hairpin:HairpinBypass")[0]!.urn;
        for (const t of [LRP, "kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch", "kubernetes:apps/v1:DaemonSet"]) {
            for (const res of r.ofType(t)) expect(res.parent, res.name).toBe(parent);
        }

        expect(value.redirect.modes).toEqual({ registry: "cilium-lrp", web: "service-external-ips", api: "service-external-ips", git: "iptables" });
        expect(await resolve(value.redirect.localRedirectPolicies)).toEqual(["ingress/hp-registry-169-233-100-10"]);
        expect(await resolve(value.redirect.externalIpServices)).toEqual(["edge/hp-web", "apps/api"]);
        expect(await resolve(value.redirect.iptables!.daemonSet)).toBe("kube-system/hp-iptables");
        expect(await resolve(value.redirect.iptables!.rulesConf)).toBe(cm.data["rules.conf"]);
    });

    it("nothing of iptables mode is registered when no endpoint uses it", async () => {
        const { r, value } = await capture(() => new HairpinBypass("hp", { endpoints: [registry()] } as HairpinBypassArgs));
        expect(r.ofType("kubernetes:apps/v1:DaemonSet").filter((d) => d.name === "hp-iptables")).toEqual([]);
        expect(value.redirect.iptables).toBeUndefined();
    });

    it("Output-typed externalIps (Elastic IPs): one LRP per entry, the value lands in the spec and the rules file", async () => {
        const eip = pulumi.output("169.233.100.30");
        const { r, value } = await capture(() => new HairpinBypass("hp", {
            endpoints: [
                { ...registry(), externalIps: [eip, Promise.resolve("169.233.100.31")] },
                { name: "git", externalIps: [pulumi.output("169.233.100.32")], hostnames: [pulumi.output("git.example.com")], ports: [{ port: 22 }], backend: { address: { ip: "192.168.10.101" } }, mode: "iptables" },
            ],
        } as unknown as HairpinBypassArgs));
        expect(r.ofType(LRP).map((x) => x.name).sort()).toEqual(["hp-registry-lrp-0", "hp-registry-lrp-1"]);
        expect((r.inputs(r.get(LRP, "hp-registry-lrp-0")) as any).spec.redirectFrontend.addressMatcher.ip).toBe("169.233.100.30");
        expect((r.inputs(r.get(LRP, "hp-registry-lrp-1")) as any).spec.redirectFrontend.addressMatcher.ip).toBe("169.233.100.31");
        expect(await resolve(value.redirect.iptables!.rulesConf)).toContain("\ngit-22-0 tcp 169.233.100.32 22 192.168.10.101 22\n");
    });

    it("Output entries are unknown in preview: the object count is still known and the IP plans as [computed]", async () => {
        const { r } = await capture(() => {
            // An address only known after deployment, like an Elastic IP's: unknown in preview.
            const eip = new k8s.core.v1.ConfigMap("eip", {}).id;
            return new HairpinBypass("hp", { endpoints: [{ ...registry(), hostnames: [], externalIps: ["169.233.100.10", eip] }] } as unknown as HairpinBypassArgs);
        }, { preview: true });
        // The written IP names its policy; the Output keeps its position (its value is unknown now).
        expect(r.ofType(LRP).map((x) => x.name).sort()).toEqual(["hp-registry-lrp-1", "hp-registry-lrp-169-233-100-10"]);
        expect((r.inputs(r.get(LRP, "hp-registry-lrp-169-233-100-10")) as any).spec.redirectFrontend.addressMatcher.ip).toBe("169.233.100.10");
        expect((r.inputs(r.get(LRP, "hp-registry-lrp-1")) as any).spec.redirectFrontend.addressMatcher.ip).toBe("[computed]");
    });

    it("Output entries are checked when they resolve, with the field, value and rule in the error", async () => {
        await expect(resolve(resolvedIp(pulumi.output("169.233.100"), "endpoints[0].externalIps[1]"))).rejects.toThrow(
            'HairpinBypass: endpoints[0].externalIps[1]: "169.233.100" (a pulumi.Output resolved at deploy time) is invalid: must be an IPv4',
        );
        const e = parsedEndpoint({ ...registry(), hostnames: [pulumi.output("Registry.Example.com")], externalIps: [pulumi.output("169.233.100.10")] });
        await expect(resolve(resolveEndpoint(e, 2))).rejects.toThrow(/endpoints\[2\]\.hostnames\[0\]: "Registry.Example.com" .* must be a lowercase fully qualified DNS name/);
        const ok = parsedEndpoint({ ...registry(), externalIps: [pulumi.output("169.233.100.10"), "169.233.100.11"] });
        expect((await resolve<Endpoint>(resolveEndpoint(ok, 0))).externalIps).toEqual(["169.233.100.10", "169.233.100.11"]);
    });

    it("warns at deploy time when an LRP backend is a Deployment (or StatefulSet), not for a DaemonSet", async () => {
        const warn = vi.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
        await capture(() => new HairpinBypass("hp", { endpoints: [registry()] } as HairpinBypassArgs));
        expect(warn).not.toHaveBeenCalled();
        const dep = { ...registry(), backend: { pods: { ...registry().backend.pods, workload: "Deployment" as const } } };
        await capture(() => new HairpinBypass("hp", { endpoints: [dep] } as HairpinBypassArgs));
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0]![0]).toMatch(/endpoint 'registry': its backend is a Deployment, but a CiliumLocalRedirectPolicy only redirects to a backend pod on the client's own node/);
        expect(warn.mock.calls[0]![0]).toMatch(/DaemonSet/);
    });

    it("skipRedirectFromBackend reaches the registered policy, which is replaced (not patched) when it changes", async () => {
        const { r } = await capture(() => new HairpinBypass("hp", { endpoints: [registry()], redirect: { lrp: { skipRedirectFromBackend: true } } } as HairpinBypassArgs));
        expect((r.inputs(r.get(LRP, "hp-registry-lrp-169-233-100-10")) as any).spec.skipRedirectFromBackend).toBe(true);
    });
});

describe("coverage helpers (the DNS half's /etc/hosts port rule)", () => {
    const pods = (workload: "DaemonSet" | "Deployment") => ({ pods: { namespace: "x", selector: { a: "b" }, workload } });
    it("iptables and service-external-ips cover pods, host-network pods and the kubelet on every node", () => {
        for (const mode of ["iptables", "service-external-ips"] as const) {
            const c = redirectCoverage({ mode, backend: { address: { ip: "10.0.0.1" } } }, "cilium-lrp", { lrpSocketLb: true });
            expect([c.pods, c.hostNetwork, c.kubelet, c.mapsPort, c.everyNode]).toEqual([true, true, true, true, true]);
        }
    });
    it("cilium-lrp covers host processes only with socket LB, and every node only with a DaemonSet backend", () => {
        expect(redirectCoverage({ backend: pods("DaemonSet") }, "cilium-lrp", { lrpSocketLb: true })).toMatchObject({ mode: "cilium-lrp", pods: true, hostNetwork: true, kubelet: true, everyNode: true });
        expect(redirectCoverage({ backend: pods("Deployment") }, "cilium-lrp", { lrpSocketLb: true })).toMatchObject({ kubelet: true, everyNode: false });
        expect(redirectCoverage({ backend: pods("DaemonSet") }, "cilium-lrp", { lrpSocketLb: false })).toMatchObject({ pods: true, hostNetwork: false, kubelet: false });
        expect(isCoveredByRedirect({ backend: pods("DaemonSet") }, "cilium-lrp", { lrpSocketLb: false })).toBe(false);
        expect(isCoveredByRedirect({ backend: pods("DaemonSet") }, "cilium-lrp", { lrpSocketLb: true })).toBe(true);
    });
    it("raw variants: lrpCoversHost and rawRedirectCoverage tolerate malformed input", () => {
        expect(lrpCoversHost(undefined)).toBe(true);
        expect(lrpCoversHost({ lrp: { socketLb: false } })).toBe(false);
        expect(rawRedirectCoverage({ backend: { pods: {} } }, undefined, { lrp: { socketLb: false } })).toMatchObject({ mode: "cilium-lrp", kubelet: false });
        expect(rawRedirectCoverage({ mode: "iptables" }, "cilium-lrp", {})).toMatchObject({ mode: "iptables", kubelet: true });
        expect(rawRedirectCoverage({ mode: "nope" }, "cilium-lrp", {})).toBeUndefined();
        expect(rawRedirectCoverage("x", "cilium-lrp", {})).toBeUndefined();
    });
});
