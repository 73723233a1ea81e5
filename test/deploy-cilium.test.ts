/**
 * CiliumInstall's chart source (the deploy lab installs Cilium from the chart in the pinned Cilium
 * module, as an air-gapped cluster would): a local chart has no repository, a chart name uses
 * `repository` or helm.cilium.io.
 */
import { describe, expect, it } from "vitest";
import { CiliumInstall, isLocalChart } from "../components/cilium";
import { capture } from "./harness";

const HOST = { k8sServiceHost: "192.168.10.100", k8sServicePort: 6443 };

describe("CiliumInstall chart source", () => {
    it("a local chart path: chart is the path, no repositoryOpts", async () => {
        const { r } = await capture(() => new CiliumInstall("cil", { ...HOST, chart: "/opt/charts/cilium" }));
        const inputs = r.inputs(r.get("kubernetes:helm.sh/v3:Release", "cil")) as Record<string, unknown>;
        expect(inputs.chart).toBe("/opt/charts/cilium");
        expect(inputs.version).toBe("1.19.3");
        expect(inputs.repositoryOpts).toBeUndefined();
    });
    it("a chart name in a mirror repository", async () => {
        const { r } = await capture(() => new CiliumInstall("cil", { ...HOST, repository: "https://charts.internal.example/cilium" }));
        const inputs = r.inputs(r.get("kubernetes:helm.sh/v3:Release", "cil")) as Record<string, unknown>;
        expect(inputs).toMatchObject({ chart: "cilium", repositoryOpts: { repo: "https://charts.internal.example/cilium" } });
    });
    it("tells paths from names", () => {
        expect(["/a/cilium", "./cilium", "../charts/cilium", "cilium-1.19.3.tgz"].map(isLocalChart)).toEqual([true, true, true, true]);
        expect(["cilium", "cilium/cilium"].map(isLocalChart)).toEqual([false, false]);
    });
});
