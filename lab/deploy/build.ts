/**
 * The deploy lab's pinned programs, built from the wrapper modules under lab/deploy/build/ (each a
 * go.mod + committed go.sum) into the shared binary cache (lab/lib/gobuild.ts):
 *
 * - etcd v3.5.35 and kube-apiserver, kube-controller-manager, kubectl v1.33.13: the API server the
 *   real engine deploys to; kube-scheduler, kubelet and kube-proxy of the same build for the nodes
 *   lab's real nodes (lab/nodes/);
 * - the Pulumi CLI v3.248.0 (the version of the @pulumi/pulumi dev dependency);
 * - the Pulumi Kubernetes provider. The Go proxy here serves one version of its module, the
 *   pseudo-version below (the code of about 4.24-4.25); the npm SDK (@pulumi/kubernetes, see
 *   package.json) asks the engine for the plugin version it was released with, so the binary is
 *   linked as that version and installed under it. docs/deploying.md says which code runs.
 *
 * `npm run lab:deploy -- --build-only` builds (or finds) them and exits; CI runs that in the
 * background while the unit tests run.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureGoBuild, type GoBuildResult, type GoBuildSpec } from "../lib/gobuild";
import { ROOT } from "../lib/proc";

const BUILD = path.join(ROOT, "lab", "deploy", "build");

export const ETCD_VERSION = "v3.5.35";
export const KUBERNETES_VERSION = "v1.33.13";
export const PULUMI_VERSION = "v3.248.0";
/** The only provider/v4 version the Go proxy serves here. */
export const K8S_PROVIDER_MODULE_VERSION = "v4.0.0-20260115033456-f47bc2d6f199";
export const K8S_PROVIDER_MODULE = "github.com/pulumi/pulumi-kubernetes/provider/v4";

/** The plugin version the npm SDK requests (its package.json `pulumi.version`). */
export function sdkPluginVersion(): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8")) as { version: string; pulumi?: { version?: string } };
    return pkg.pulumi?.version ?? pkg.version;
}

function k8sLdflags(version: string): string[] {
    const [major, minor] = version.replace(/^v/, "").split(".");
    return ["component-base/version", "client-go/pkg/version"].flatMap((pkg) => [
        `-X k8s.io/${pkg}.gitVersion=${version}`,
        `-X k8s.io/${pkg}.gitMajor=${major}`,
        `-X k8s.io/${pkg}.gitMinor=${minor}`,
        `-X k8s.io/${pkg}.gitTreeState=clean`,
    ]);
}

/**
 * Writes the two files the provider's main embeds, as its own `go generate` step would: the schema
 * with `version` set, and the Terraform mapping, both re-serialized compactly.
 */
export function generateProviderEmbeds(moduleDir: string, pluginVersion: string): void {
    const res = spawnSync("go", ["mod", "download", "-json", `${K8S_PROVIDER_MODULE}@${K8S_PROVIDER_MODULE_VERSION}`], { cwd: moduleDir, encoding: "utf8", timeout: 600_000 });
    if (res.status !== 0) throw new Error(`go mod download ${K8S_PROVIDER_MODULE}@${K8S_PROVIDER_MODULE_VERSION} failed: ${res.stderr || res.stdout}`);
    const dir = (JSON.parse(res.stdout) as { Dir: string }).Dir;
    const cmd = path.join(dir, "cmd", "pulumi-resource-kubernetes");
    const schema = JSON.parse(fs.readFileSync(path.join(cmd, "schema.json"), "utf8")) as Record<string, unknown>;
    schema.version = pluginVersion;
    fs.writeFileSync(path.join(moduleDir, "schema-embed.json"), JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(path.join(cmd, "terraform-mapping.json"), "utf8")) as unknown;
    fs.writeFileSync(path.join(moduleDir, "terraform-mapping-embed.json"), JSON.stringify(mapping));
}

export function buildSpecs(): GoBuildSpec[] {
    const plugin = sdkPluginVersion();
    return [
        { name: "etcd", version: ETCD_VERSION, moduleDir: path.join(BUILD, "etcd"), binaries: { etcd: "go.etcd.io/etcd/server/v3" } },
        {
            name: "kubernetes",
            version: KUBERNETES_VERSION,
            moduleDir: path.join(BUILD, "kubernetes"),
            binaries: {
                "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
                "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
                kubectl: "k8s.io/kubernetes/cmd/kubectl",
                // The nodes lab's real nodes (lab/nodes/): one build of the module for all six.
                "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
                kubelet: "k8s.io/kubernetes/cmd/kubelet",
                "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
            },
            ldflags: k8sLdflags(KUBERNETES_VERSION),
        },
        {
            name: "pulumi",
            version: PULUMI_VERSION,
            moduleDir: path.join(BUILD, "pulumi"),
            binaries: { pulumi: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" },
            ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}`],
        },
        {
            // Keyed by the code's version and the version it is linked as.
            name: "pulumi-resource-kubernetes",
            version: `${K8S_PROVIDER_MODULE_VERSION}_as_v${plugin}`,
            moduleDir: path.join(BUILD, "pulumi-kubernetes"),
            binaries: { "pulumi-resource-kubernetes": "." },
            ldflags: [`-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${plugin}`],
            prepare: (dir) => generateProviderEmbeds(dir, plugin),
        },
    ];
}

export interface LabBinaries {
    etcd: string;
    kubeApiserver: string;
    kubeControllerManager: string;
    kubectl: string;
    kubeScheduler: string;
    kubelet: string;
    kubeProxy: string;
    pulumi: string;
    provider: string;
    providerVersion: string;
    results: Array<{ name: string; version: string; built: boolean; seconds: number }>;
}

/** Builds (or reuses) every binary, one at a time. */
export function ensureLabBinaries(log: (line: string) => void): LabBinaries {
    const results: LabBinaries["results"] = [];
    const bins: Record<string, string> = {};
    for (const spec of buildSpecs()) {
        const r: GoBuildResult = ensureGoBuild(spec, log);
        results.push({ name: spec.name, version: spec.version, built: r.built, seconds: Math.round(r.seconds) });
        Object.assign(bins, r.bins);
    }
    return {
        etcd: bins.etcd!,
        kubeApiserver: bins["kube-apiserver"]!,
        kubeControllerManager: bins["kube-controller-manager"]!,
        kubectl: bins.kubectl!,
        kubeScheduler: bins["kube-scheduler"]!,
        kubelet: bins.kubelet!,
        kubeProxy: bins["kube-proxy"]!,
        pulumi: bins.pulumi!,
        provider: bins["pulumi-resource-kubernetes"]!,
        providerVersion: sdkPluginVersion(),
        results,
    };
}
