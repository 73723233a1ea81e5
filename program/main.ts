/**
 * The default program: resolves the stack (program/resolve.ts: every check, every default and
 * derivation, before a single resource is registered), then runs the deploy steps on that
 * description, each taking what the previous one returned. `index.ts` runs it under `pulumi up`;
 * `npm run plan` runs the very same module offline under runtime mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStack } from "./config";
import { DeployBlockedError, formatBlocker, formatWarning } from "./resolve";
import { deployCilium } from "./sections/cilium-deploy";
import { deployHairpin } from "./sections/hairpin-deploy";
import { deployLocalCluster } from "./sections/local-deploy";
import { deployTailscale } from "./sections/tailscale-deploy";

export async function runDefaultProgram(): Promise<Record<string, unknown>> {
    // Validation throws here, before a single resource is registered.
    const { spec, secrets } = loadStack();
    for (const w of spec.warnings) void pulumi.log.warn(formatWarning(w, spec.source));
    // A value that must be set first: preview (and the offline plan) render without it and say
    // so loudly; the update itself refuses before registering anything.
    if (spec.blockers.length > 0) {
        if (!pulumi.runtime.isDryRun()) throw new DeployBlockedError(spec.blockers, spec.source);
        for (const b of spec.blockers) void pulumi.log.warn(formatBlocker(b, spec.source));
    }

    if (spec.environment === "aws") {
        // Loaded only here: a local stack loads no @pulumi/aws module.
        const aws = await import("./sections/aws-deploy");
        const cluster = await aws.deployAwsCluster(spec);
        const cilium = deployCilium(spec, cluster);
        const tailscale = deployTailscale(spec.tailscale, cluster, secrets);
        const hairpin = deployHairpin(spec.hairpin, spec.cluster.name, cluster, cilium);
        const firewallRules = [...cilium.firewallRules, ...tailscale.firewallRules, ...hairpin.firewallRules];
        aws.deployAwsFirewall(spec, cluster, firewallRules);
        return { environment: spec.environment, clusterName: spec.cluster.name, ...cluster.outputs, ...cilium.outputs, ...tailscale.outputs, ...hairpin.outputs, firewallRules, resolved: spec };
    }

    const cluster = deployLocalCluster(spec, secrets);
    const cilium = deployCilium(spec, cluster);
    const tailscale = deployTailscale(spec.tailscale, cluster, secrets);
    const hairpin = deployHairpin(spec.hairpin, spec.cluster.name, cluster, cilium);
    const firewallRules = [...cilium.firewallRules, ...tailscale.firewallRules, ...hairpin.firewallRules];
    return { environment: spec.environment, clusterName: spec.cluster.name, ...cluster.outputs, ...cilium.outputs, ...tailscale.outputs, ...hairpin.outputs, firewallRules, resolved: spec };
}
