/**
 * Example: directpath's components in your own stack, on an existing Cilium cluster (the field
 * reports' kubespray cluster). A project of its own: copy this folder, see its README.md.
 * Uses only the Kubernetes components, so it installs neither @pulumi/aws nor @pulumi/tailscale.
 * The repository's tests type-check it and run it under Pulumi's mocks, both against the sources
 * and from the packed package installed into a temporary project (test/package-install.test.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HairpinBypass, TailscaleDirect, ciliumValues } from "pulumi-directpath";

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
