/**
 * Images with no registry: the nodes lab assembles every image a pod on its nodes may run from
 * pinned sources on this machine (Debian's packages, the Go programs built from the project's own
 * pins, a static C program) as an OCI image archive, and imports it into each node's containerd
 * under exactly the reference the manifests use (`ctr -n k8s.io images import`). Nothing else is
 * imported, so a pod whose image is not in the list fails to start (ErrImagePull): the list is
 * complete when every directpath pod runs. docs/deploying.md ("Images") says how each differs
 * from the upstream image of that name.
 *
 * The OCI parts (config, manifest, index, reference normalisation) are pure and unit-tested
 * (test/nodes-images.test.ts); the layer is one deterministic tar of a root filesystem.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LabError, run } from "../lib/proc";

/** One file of an image's root filesystem. */
export type RootEntry =
    | { path: string; copyFrom: string; mode?: number }
    | { path: string; content: string; mode?: number }
    | { path: string; symlink: string }
    | { path: string; dir: true };

export interface ImageSpec {
    /** The reference exactly as the manifests write it (`busybox:1.37.0`). */
    ref: string;
    entries: RootEntry[];
    entrypoint?: string[];
    cmd?: string[];
    env?: string[];
    /** What a user's cluster would pull under this reference, and how this image differs (docs). */
    differs: string;
}

/**
 * The reference containerd's CRI stores and looks up for `ref` (Docker's normalisation): a name
 * without a registry is on docker.io, a one-part name is under library/, no tag means latest.
 */
export function normalizeRef(ref: string): string {
    if (!/^[a-z0-9][a-z0-9._\-/:@]*$/.test(ref)) throw new LabError(`image reference ${JSON.stringify(ref)} is not a valid reference`);
    const at = ref.indexOf("@");
    let name = at >= 0 ? ref.slice(0, at) : ref;
    const digest = at >= 0 ? ref.slice(at) : "";
    const slash = name.indexOf("/");
    const first = slash >= 0 ? name.slice(0, slash) : "";
    const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
    if (!hasRegistry) name = `docker.io/${slash >= 0 ? name : `library/${name}`}`;
    const lastPart = name.slice(name.lastIndexOf("/") + 1);
    if (!digest && !lastPart.includes(":")) name += ":latest";
    return name + digest;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

export interface OciDocs {
    config: string;
    manifest: string;
    index: string;
}

/** The OCI config, manifest and index (with the name containerd imports it under) for one uncompressed layer. */
export function ociDocs(spec: Pick<ImageSpec, "ref" | "entrypoint" | "cmd" | "env">, layer: { digest: string; size: number }): OciDocs {
    const config = JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: {
            Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
            ...(spec.cmd ? { Cmd: spec.cmd } : {}),
            WorkingDir: "/",
        },
        rootfs: { type: "layers", diff_ids: [`sha256:${layer.digest}`] },
        history: [{ created_by: "directpath nodes lab (lab/nodes/images.ts)" }],
    });
    const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha256(config)}`, size: Buffer.byteLength(config) },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layer.digest}`, size: layer.size }],
    });
    const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: `sha256:${sha256(manifest)}`,
            size: Buffer.byteLength(manifest),
            platform: { architecture: "amd64", os: "linux" },
            annotations: { "io.containerd.image.name": normalizeRef(spec.ref), "org.opencontainers.image.ref.name": normalizeRef(spec.ref).replace(/^.*:/, "") },
        }],
    });
    return { config, manifest, index };
}

/** Writes the root filesystem of `spec` under `dir`. */
function writeRoot(dir: string, entries: readonly RootEntry[]): void {
    for (const e of entries) {
        const p = path.join(dir, e.path);
        if (!p.startsWith(dir + path.sep)) throw new LabError(`image entry ${e.path} leaves the root`);
        fs.mkdirSync("dir" in e ? p : path.dirname(p), { recursive: true });
        if ("copyFrom" in e) {
            fs.copyFileSync(e.copyFrom, p);
            fs.chmodSync(p, e.mode ?? (fs.statSync(e.copyFrom).mode & 0o7777));
        } else if ("content" in e) {
            fs.writeFileSync(p, e.content);
            fs.chmodSync(p, e.mode ?? 0o644);
        } else if ("symlink" in e) {
            fs.rmSync(p, { force: true });
            fs.symlinkSync(e.symlink, p);
        }
    }
}

/** Builds `spec` into an OCI archive `<work>/<safe name>.tar`; returns its path and the layer digest. */
export function buildImage(spec: ImageSpec, work: string): { archive: string; digest: string } {
    const safe = spec.ref.replace(/[^A-Za-z0-9._-]/g, "_");
    const root = path.join(work, `${safe}.root`);
    const oci = path.join(work, `${safe}.oci`);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(oci, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    writeRoot(root, spec.entries);
    const blobs = path.join(oci, "blobs", "sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const layerTmp = path.join(oci, "layer.tar");
    // Deterministic: sorted names, one mtime, root-owned.
    run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", root, "-cf", layerTmp, "."], { timeoutMs: 120_000 });
    const layer = fs.readFileSync(layerTmp);
    const digest = sha256(layer);
    fs.renameSync(layerTmp, path.join(blobs, digest));
    const docs = ociDocs(spec, { digest, size: layer.length });
    for (const d of [docs.config, docs.manifest]) fs.writeFileSync(path.join(blobs, sha256(d)), d);
    fs.writeFileSync(path.join(oci, "index.json"), docs.index);
    fs.writeFileSync(path.join(oci, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const archive = path.join(work, `${safe}.tar`);
    run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", oci, "-cf", archive, "."], { timeoutMs: 120_000 });
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(oci, { recursive: true, force: true });
    return { archive, digest };
}

// ---- the root filesystems ----

/**
 * The machine's busybox (Debian's) with the C libraries it loads and a link per applet, and the
 * files a shell expects. Not Debian's busybox-static: its wget crashes (SIGSEGV) in getaddrinfo.
 */
export function busyboxEntries(busybox = "/bin/busybox"): RootEntry[] {
    if (!fs.existsSync(busybox)) throw new LabError(`${busybox} is missing: apt-get install busybox`);
    const applets = run([busybox, "--list-full"]).stdout.split("\n").map((l) => l.trim()).filter(Boolean);
    return [
        ...withLibraries(busybox).map((e) => (e.path === busybox.slice(1) ? { ...e, path: "bin/busybox" } : e)),
        ...applets.filter((a) => a !== "bin/busybox").map((a) => ({ path: a, symlink: "/bin/busybox" })),
        { path: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" },
        { path: "etc/group", content: "root:x:0:\nnogroup:x:65534:\n" },
        { path: "tmp", dir: true },
        { path: "root", dir: true },
        { path: "var/run", symlink: "/run" },
        { path: "run", dir: true },
    ];
}

/** A dynamically linked program and every shared library `ldd` says it loads (plus the loader). */
export function withLibraries(binary: string): RootEntry[] {
    const out = run(["ldd", binary]).stdout;
    const libs = new Set<string>();
    for (const line of out.split("\n")) {
        const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
        if (m) libs.add(m[1]!);
    }
    return [{ path: binary.replace(/^\//, ""), copyFrom: binary }, ...[...libs].map((l) => ({ path: l.replace(/^\//, ""), copyFrom: fs.realpathSync(l) }))];
}

/**
 * iptables with both backends (Debian's iptables package): xtables-nft-multi and
 * xtables-legacy-multi with their libraries and extension modules, the `-nft` and `-legacy` names
 * and plain `iptables*` on the nft backend (Debian's default, like Alpine's since 3.19), on busybox.
 */
export function iptablesEntries(): RootEntry[] {
    const entries: RootEntry[] = [...busyboxEntries()];
    const multi = { nft: "/usr/sbin/xtables-nft-multi", legacy: "/usr/sbin/xtables-legacy-multi" };
    for (const bin of Object.values(multi)) {
        if (!fs.existsSync(bin)) throw new LabError(`${bin} is missing: apt-get install iptables`);
        entries.push(...withLibraries(bin));
    }
    const extDir = "/usr/lib/x86_64-linux-gnu/xtables";
    for (const f of fs.readdirSync(extDir).filter((f) => f.endsWith(".so"))) {
        entries.push(...withLibraries(path.join(extDir, f)).filter((e) => !("copyFrom" in e) || !entries.some((x) => x.path === e.path)));
    }
    // The names both Debian and Alpine install: iptables-nft, iptables-nft-save, iptables-legacy-restore, ...
    for (const flavour of ["nft", "legacy"] as const) {
        for (const family of ["iptables", "ip6tables"]) {
            for (const suffix of ["", "-save", "-restore"]) entries.push({ path: `usr/sbin/${family}-${flavour}${suffix}`, symlink: `xtables-${flavour}-multi` });
        }
    }
    for (const tool of ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]) {
        entries.push({ path: `usr/sbin/${tool}`, symlink: "xtables-nft-multi" });
    }
    entries.push({ path: "etc/protocols", copyFrom: "/etc/protocols" }, { path: "etc/ethertypes", copyFrom: fs.existsSync("/etc/ethertypes") ? "/etc/ethertypes" : "/etc/protocols" });
    return entries;
}

/** Imports an archive into a node's containerd (the CRI's namespace) and returns the references it holds. */
export function importImage(containerdSocket: string, archive: string): void {
    run(["ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "import", archive], { timeoutMs: 180_000 });
}

/** The references in a node's containerd k8s.io namespace (`ctr images ls -q`), sha256 ids excluded. */
export function importedRefs(containerdSocket: string): string[] {
    return run(["ctr", "--address", containerdSocket, "-n", "k8s.io", "images", "ls", "-q"]).stdout.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("sha256:")).sort();
}
