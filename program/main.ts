/**
 * The default program: reads and validates the stack config, composes the components the config
 * turns on, and returns the stack outputs. `index.ts` runs it under `pulumi up`; `npm run plan`
 * runs the very same module offline under runtime mocks.
 */
import * as k8s from "@pulumi/kubernetes";
import { loadStackConfig } from "./config";
import type { ProgramContext } from "./context";
import { deployAwsCluster, deployAwsFirewall } from "./sections/aws-deploy";
import { deployCilium } from "./sections/cilium-deploy";
import { deployHairpin } from "./sections/hairpin-deploy";
import { deployTailscale } from "./sections/tailscale-deploy";

export async function runDefaultProgram(): Promise<Record<string, unknown>> {
    // Validation throws here, before a single resource is registered.
    const config = loadStackConfig();
    const ctx: ProgramContext = { config, firewallRules: [], outputs: {} };
    ctx.outputs.environment = config.environment;
    ctx.outputs.clusterName = config.cluster.name;

    if (config.environment === "aws") {
        deployAwsCluster(ctx);
    } else {
        // `local`: an existing cluster. Use the stack's kubeconfig secret if it has one, otherwise
        // the ambient kubeconfig (KUBECONFIG or ~/.kube/config) of whoever runs `pulumi up`.
        ctx.k8sProvider = new k8s.Provider(`${config.cluster.name}-k8s`, {
            kubeconfig: config.secrets.kubeconfig,
            enableServerSideApply: true,
        });
    }

    deployCilium(ctx);
    deployTailscale(ctx);
    deployHairpin(ctx);
    if (config.environment === "aws") deployAwsFirewall(ctx);

    ctx.outputs.firewallRules = ctx.firewallRules;
    return ctx.outputs;
}
