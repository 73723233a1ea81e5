/**
 * TailscaleProxyClass: the ProxyClass for the Tailscale operator, validated against the operator's
 * real CRD schema of the pinned version. The CRDs ship in the `tailscale.com` Go module zip
 * (cmd/k8s-operator/deploy/crds/); `go mod download` fetches it from the Go module proxy into the
 * Go module cache (outside the repo). Without Go or the proxy the schema check skips with a message.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TailscaleProxyClass, type TailscaleProxyClassArgs } from "../components/tailscale";
import { TAILSCALE_DEFAULT_IMAGE } from "../components/tailscale/args";
import { proxyClassFirewallRules, renderProxyClass, validateProxyClassArgs } from "../components/tailscale/proxyclass";
import { capture, expectProblems } from "./harness";

type Obj = Record<string, any>;
const OPERATOR_VERSION = TAILSCALE_DEFAULT_IMAGE.tag;

function findCrd(): { file?: string; reason?: string } {
    const res = spawnSync("go", ["mod", "download", "-json", `tailscale.com@${OPERATOR_VERSION}`], { encoding: "utf8", timeout: 600_000, cwd: "/" });
    if (res.error) return { reason: `go is not runnable (${res.error.message})` };
    let info: { Dir?: string; Error?: string };
    try {
        info = JSON.parse(res.stdout);
    } catch {
        return { reason: `go mod download printed no JSON: ${res.stderr.trim().slice(-300)}` };
    }
    if (info.Error || !info.Dir) return { reason: `go mod download tailscale.com@${OPERATOR_VERSION}: ${info.Error ?? "no Dir"}` };
    const file = path.join(info.Dir, "cmd/k8s-operator/deploy/crds/tailscale.com_proxyclasses.yaml");
    return fs.existsSync(file) ? { file } : { reason: `${file} is missing from the module zip` };
}

const CRD = findCrd();
if (CRD.reason) console.warn(`tailscale-proxyclass: SKIPPED the CRD schema check: ${CRD.reason}`);

/**
 * The CRD's schema, made to reject fields it doesn't declare: the API server would prune them
 * silently (structural schema), which would lose a setting without an error.
 */
function strictSchema(): Obj {
    const crd = parse(fs.readFileSync(CRD.file!, "utf8")) as Obj;
    const version = (crd.spec.versions as Obj[]).find((v) => v.name === "v1alpha1");
    const schema = structuredClone(version!.schema.openAPIV3Schema) as Obj;
    const walk = (s: Obj) => {
        if (!s || typeof s !== "object") return;
        if (s.type === "object" && s.properties && s.additionalProperties === undefined && !s["x-kubernetes-preserve-unknown-fields"]) s.additionalProperties = false;
        for (const v of Object.values(s.properties ?? {})) walk(v as Obj);
        if (s.items) walk(s.items);
        if (typeof s.additionalProperties === "object") walk(s.additionalProperties);
    };
    walk(schema);
    // metadata is an ObjectMeta, not described by the CRD schema.
    schema.properties.metadata = { type: "object" };
    return schema;
}

function schemaErrors(obj: unknown): string[] {
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(strictSchema());
    return validate(JSON.parse(JSON.stringify(obj))) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

const ARGS: TailscaleProxyClassArgs = { nodePorts: [{ port: 30700, endPort: 30709 }, { port: 30720 }], selector: { "directpath.io/public-ip": "true" } };

describe("TailscaleProxyClass: the rendered ProxyClass", () => {
    it("has staticEndpoints.nodePort with exactly the ranges directpath opens", async () => {
        const { r, value } = await capture(() => new TailscaleProxyClass("static-endpoints", ARGS));
        const cr = r.inputs(r.get("kubernetes:tailscale.com/v1alpha1:ProxyClass", "static-endpoints-proxyclass")) as Obj;
        expect(cr).toMatchObject({ apiVersion: "tailscale.com/v1alpha1", kind: "ProxyClass", metadata: { name: "static-endpoints" } });
        expect(cr.spec).toEqual({ staticEndpoints: { nodePort: { ports: [{ port: 30700, endPort: 30709 }, { port: 30720 }], selector: { "directpath.io/public-ip": "true" } } } });
        expect(value.proxyClassName).toBe("static-endpoints");
        // The firewall opens what the ProxyClass hands out, range for range, and nothing else.
        expect(value.firewallRules.map((f) => [f.protocol, f.fromPort, f.toPort, f.peer])).toEqual([
            ["udp", 30700, 30709, "0.0.0.0/0"], ["udp", 30700, 30709, "::/0"],
            ["udp", 30720, 30720, "0.0.0.0/0"], ["udp", 30720, 30720, "::/0"],
        ]);
        const fromCr = (cr.spec.staticEndpoints.nodePort.ports as Obj[]).map((p) => [p.port, p.endPort ?? p.port]);
        const opened = value.firewallRules.filter((f) => f.peer === "0.0.0.0/0").map((f) => [f.fromPort, f.toPort]);
        expect(opened).toEqual(fromCr);
    });

    it.skipIf(CRD.file === undefined)(`validates against the operator's ProxyClass CRD schema (tailscale.com@${OPERATOR_VERSION})`, () => {
        const obj = renderProxyClass("static-endpoints", validateProxyClassArgs("static-endpoints", ARGS));
        expect(schemaErrors(obj)).toEqual([]);
        // Without a selector too.
        expect(schemaErrors(renderProxyClass("pc", validateProxyClassArgs("pc", { nodePorts: [{ port: 31000 }] })))).toEqual([]);
    });

    it.skipIf(CRD.file === undefined)("the strict schema check catches a misplaced field (so the pass above means something)", () => {
        const obj = renderProxyClass("pc", validateProxyClassArgs("pc", { nodePorts: [{ port: 31000 }] })) as Obj;
        obj.spec.staticEndpoints.nodePort.range = "31000-31009";
        expect(schemaErrors(obj).join("\n")).toMatch(/additional properties.*range/);
        const noPorts = renderProxyClass("pc", validateProxyClassArgs("pc", { nodePorts: [{ port: 31000 }] })) as Obj;
        delete noPorts.spec.staticEndpoints.nodePort.ports;
        expect(schemaErrors(noPorts).join("\n")).toMatch(/required.*ports/);
    });

    it("validates ranges as the operator does: in the NodePort range, endPort >= port, no overlaps", async () => {
        const { r } = await capture(() => undefined);
        expectProblems(() => new TailscaleProxyClass("pc", { nodePorts: [{ port: 29000 }, { port: 30710, endPort: 30700 }, { port: 30800, endPort: 30810 }, { port: 30805 }] }), [
            { path: "nodePorts[0].port", rule: /NodePort range 30000-32767/, value: 29000 },
            { path: "nodePorts[1].endPort", rule: /at least port \(30710\)/, value: 30700 },
            { path: "nodePorts[3]", rule: /overlaps nodePorts\[2\] \(30800-30810\)/ },
        ], r);
        expectProblems(() => new TailscaleProxyClass("pc", { nodePorts: [] }), [{ path: "nodePorts", rule: /at least one/ }], r);
        expectProblems(() => new TailscaleProxyClass("Bad_Name", { nodePorts: [{ port: 30000 }] }), [{ path: "name", rule: /Kubernetes name/ }], r);
        expect(proxyClassFirewallRules(validateProxyClassArgs("pc", { nodePorts: [{ port: 20001 }], clusterNodePortRange: { from: 20000, to: 20999 } }))[0]!.fromPort).toBe(20001);
    });
});
