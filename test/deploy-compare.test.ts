/**
 * The deploy lab's pure comparisons (lab/deploy/compare.ts): plan's resources against the engine's
 * preview steps, a rendered manifest against the live object, and the updates a config change
 * should cause (two plans compared).
 */
import { describe, expect, it } from "vitest";
import { changingSteps, comparable, comparePlanToPreview, expectedChanges, ownedState, subsetDiff, urnTail, type PlanResource } from "../lab/deploy/compare";

const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::directpath::${type}::${name}`;
const res = (type: string, name: string, inputs: unknown = {}): PlanResource => ({ urn: urn("local", type, name), type, name, inputs });

describe("comparePlanToPreview", () => {
    const plan = [res("pulumi:providers:kubernetes", "local-k8s"), res("directpath:hairpin:HairpinBypass", "local-hairpin"), res("directpath:hairpin:HairpinBypass$kubernetes:core/v1:ConfigMapPatch", "local-hairpin-nodelocaldns")];
    const steps = [
        { op: "create", urn: urn("local", "pulumi:pulumi:Stack", "directpath-local"), type: "pulumi:pulumi:Stack" },
        ...plan.map((r) => ({ op: "create", urn: r.urn.replace("urn:pulumi:local", "urn:pulumi:other"), type: r.type })),
    ];
    it("matches on URN tails, with the stack added", () => {
        expect(urnTail(plan[0]!.urn)).toBe("pulumi:providers:kubernetes::local-k8s");
        expect(comparePlanToPreview(plan, steps)).toEqual({ missing: [], extra: [], notCreate: [] });
    });
    it("names what is missing, extra, or not a create", () => {
        const got = comparePlanToPreview(plan, [...steps.slice(0, 2), { ...steps[2]!, op: "update" }, { op: "create", urn: urn("local", "kubernetes:core/v1:Secret", "x"), type: "kubernetes:core/v1:Secret" }]);
        expect(got.missing).toEqual(["directpath:hairpin:HairpinBypass$kubernetes:core/v1:ConfigMapPatch::local-hairpin-nodelocaldns"]);
        expect(got.extra).toEqual(["kubernetes:core/v1:Secret::x"]);
        expect(got.notCreate).toEqual(["update directpath:hairpin:HairpinBypass::local-hairpin"]);
    });
    it("changing steps leave out same and reads", () => {
        expect(changingSteps([{ op: "same", urn: "a", type: "t" }, { op: "read", urn: "b", type: "t" }, { op: "update", urn: "c", type: "t" }]).map((s) => s.urn)).toEqual(["c"]);
    });
});

describe("expectedChanges", () => {
    it("lists the resources whose inputs differ, whatever the key order", () => {
        const a = [res("k:DaemonSet", "ts", { spec: { port: 41641, b: 1 } }), res("k:ConfigMap", "cm", { data: { x: "1" } })];
        const b = [res("k:DaemonSet", "ts", { spec: { b: 1, port: 41642 } }), res("k:ConfigMap", "cm", { data: { x: "1" } }), res("k:Secret", "new")];
        expect(expectedChanges(a, b)).toEqual({ changed: ["k:DaemonSet::ts"], added: ["k:Secret::new"], removed: [] });
        expect(expectedChanges(a, [a[1]!, { ...a[0]!, inputs: { spec: { b: 1, port: 41641 } } }]).changed).toEqual([]);
    });
});

describe("subsetDiff", () => {
    const live = { kind: "DaemonSet", metadata: { name: "ts", uid: "u", labels: { a: "1" } }, spec: { template: { spec: { containers: [{ name: "c", ports: [{ containerPort: 41641, protocol: "UDP" }], imagePullPolicy: "IfNotPresent" }] } } } };
    it("accepts what the server added (defaults, uid)", () => {
        expect(subsetDiff({ kind: "DaemonSet", metadata: { name: "ts" }, spec: { template: { spec: { containers: [{ name: "c", ports: [{ containerPort: 41641 }] }] } } } }, live)).toEqual([]);
    });
    it("names every field that differs or is missing, with its path", () => {
        const d = subsetDiff({ metadata: { name: "ts", labels: { a: "2", b: "x" } }, spec: { template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "41641" }] }] } } } }, live);
        expect(d).toEqual([
            '.metadata.labels.a: rendered "2", live "1"',
            '.metadata.labels.b: rendered "x", live undefined',
            '.spec.template.spec.containers[0].ports[0].containerPort: rendered "41641", live 41641',
        ]);
    });
    it("a list of another length differs; placeholders only need the field", () => {
        expect(subsetDiff({ a: [1, 2] }, { a: [1] })).toEqual([".a: rendered 2 items, live has 1"]);
        expect(subsetDiff({ env: [{ name: "TS_KUBE_SECRET", value: "" }] }, { env: [{ name: "TS_KUBE_SECRET" }] })).toEqual([]);
        expect(subsetDiff({ env: [{ name: "X", value: "" }] }, { env: [{ name: "X", value: "y" }] })).toEqual(['.env[0].value: rendered "", live "y"']);
        expect(subsetDiff({ data: { key: "[secret]" } }, { data: { key: "ZHVtbXk=" } })).toEqual([]);
        expect(subsetDiff({ data: { key: "[secret]" } }, { data: {} })).toEqual([".data.key: missing (rendered [secret])"]);
    });
});

describe("ownedState", () => {
    it("keeps what destroy must restore, not what the server maintains", () => {
        const s = ownedState({ metadata: { name: "coredns", resourceVersion: "9", managedFields: [{}], labels: { l: "1" }, annotations: { a: "1" } }, data: { Corefile: "x" } });
        expect(s).toEqual({ labels: { l: "1" }, annotations: { a: "1" }, data: { Corefile: "x" }, binaryData: undefined, spec: undefined });
    });
});

describe("comparable", () => {
    it("a Secret's placeholder values are compared by key, or just for being there", () => {
        expect(comparable({ kind: "Secret", stringData: "[secret]", type: "Opaque" })).toEqual({ kind: "Secret", data: "[secret]", type: "Opaque" });
        expect(comparable({ kind: "Secret", stringData: { authkey: "[secret]" }, data: { b: "x" } })).toEqual({ kind: "Secret", data: { b: "[secret]", authkey: "[secret]" } });
        expect(subsetDiff(comparable({ kind: "Secret", stringData: { authkey: "[secret]" } }), { kind: "Secret", data: { authkey: "ZHVtbXk=" } })).toEqual([]);
        const cm = { kind: "ConfigMap", data: { a: "1" } };
        expect(comparable(cm)).toBe(cm);
    });
});
