/**
 * lab/deploy/pod-state.ts: the access questions the deploy lab asks the API server about pod mode's
 * state Secrets, derived from the rendered objects (the same renderers the plan uses).
 */
import { describe, expect, it } from "vitest";
import { validateTailscaleArgs } from "../components/tailscale";
import { renderStateRole, renderWorkload } from "../components/tailscale/render";
import { podStateAccess } from "../lab/deploy/pod-state";

const settings = validateTailscaleArgs("tailscale", {
    authKey: "k",
    network: "pod",
    nodePort: 30641,
    nodes: [{ name: "node1", publicIps: ["169.233.100.10"] }, { name: "node2", publicIps: ["169.233.100.11"] }],
});

describe("podStateAccess", () => {
    it("finds the ServiceAccount and each node's Secret as the pod names it, and they are the Role's resourceNames", () => {
        const a = podStateAccess([renderWorkload("tailscale", settings)]);
        expect(a).toMatchObject({ namespace: "tailscale", serviceAccount: "tailscale", authSecret: "tailscale-auth" });
        expect(a.stateSecrets).toEqual([{ node: "node1", secret: "tailscale-state-node1" }, { node: "node2", secret: "tailscale-state-node2" }]);
        expect(a.stateSecrets.map((s) => s.secret)).toEqual(renderStateRole("tailscale", settings).rules[0]!.resourceNames);
    });

    it("asks for get/update allowed and patch/delete denied on each state Secret, and denies list, watch, create, the auth key, other Secrets and nodes", () => {
        const a = podStateAccess([renderWorkload("tailscale", settings)]);
        const table = a.checks.map((c) => `${c.want ? "+" : "-"} ${c.verb} ${c.resource}`);
        expect(table).toEqual([
            "+ get secrets/tailscale-state-node1", "+ update secrets/tailscale-state-node1", "- patch secrets/tailscale-state-node1", "- delete secrets/tailscale-state-node1",
            "+ get secrets/tailscale-state-node2", "+ update secrets/tailscale-state-node2", "- patch secrets/tailscale-state-node2", "- delete secrets/tailscale-state-node2",
            "- list secrets", "- watch secrets", "- create secrets", "- get secrets/tailscale-auth", "- get secrets/tailscale-state-not-a-listed-node", "- get nodes",
            "+ create selfsubjectaccessreviews.authorization.k8s.io",
        ]);
    });

    it("refuses host-mode objects (no state Secret to check) and a TS_KUBE_SECRET without $(NODE_NAME)", () => {
        expect(() => podStateAccess([renderWorkload("tailscale", validateTailscaleArgs("tailscale", { authKey: "k" }))])).toThrow(/one tailscaled workload with a TS_KUBE_SECRET, found 0/);
        const w = renderWorkload("tailscale", settings) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
        w.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === "TS_KUBE_SECRET").value = "tailscale-state";
        expect(() => podStateAccess([w])).toThrow(/must expand \$\(NODE_NAME\)/);
    });
});
