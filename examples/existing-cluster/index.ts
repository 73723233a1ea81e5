/**
 * Example: directpath's components in your own stack, on an existing Cilium cluster (the field
 * reports' kubespray cluster). Type-checked with the rest of the repo (`npm run typecheck`).
 * In your project, import from "pulumi-directpath" instead of the relative path.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HairpinBypass, TailscaleDirect, ciliumValues } from "../../components";

const config = new pulumi.Config();
const provider = new k8s.Provider("cluster", { kubeconfig: config.requireSecret("kubeconfig") });

// 1. Tailscale on the nodes' own network, on a fixed UDP port.
const tailscale = new TailscaleDirect("tailscale", {
    authKey: config.requireSecret("tailscaleAuthKey"),
    port: 41641,
    routes: ["10.233.64.0/18", "10.233.0.0/18"],
    tolerations: [{ operator: "Exists" }],
}, { provider });

// 2. Keep traffic to the cluster's own external IP inside the cluster.
const hairpin = new HairpinBypass("hairpin", {
    defaultMode: "cilium-lrp",
    endpoints: [{
        name: "registry",
        hostnames: ["registry.example.com"],
        externalIps: ["169.233.100.10"],
        internalAddress: "192.168.10.100",
        ports: [{ port: 443, name: "https", targetPort: 8443 }],
        backend: { pods: { namespace: "ingress", selector: { app: "ingress-gateway" }, workload: "DaemonSet" } },
    }],
}, { provider });

// 3. The Cilium values LRP needs, to merge into your own Cilium install.
export const cilium = ciliumValues({ chartVersion: "1.19.3", k8sServiceHost: "192.168.10.100", k8sServicePort: 6443 });

// Typed outputs: the rules your own firewall must open for direct Tailscale connections.
export const firewallRules = tailscale.firewallRules;
export const lrps = hairpin.redirect.localRedirectPolicies;
