// `npm run pack [-- --pack-destination <dir>]`: the tarball users install. It builds dist/ (the
// same build as `prepare`), then packs a staging copy whose package.json has no `scripts` and no
// `devDependencies`: the tarball ships no script whose file it doesn't contain (scripts/ isn't
// shipped), so npm 11 has no install script to warn about, and installing it runs nothing.
// `prepare` stays in the repository's package.json for git installs, which build from the clone.
// The staging folder is this run's own temporary folder, removed at the end.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), ".."));
const args = process.argv.slice(2);
const at = args.indexOf("--pack-destination");
const destination = resolve(process.env.INIT_CWD ?? process.cwd(), at >= 0 ? args[at + 1] ?? "." : ".");

const build = spawnSync(process.execPath, [join(root, "scripts", "prepare.mjs")], { cwd: root, stdio: "inherit", env: { ...process.env, npm_command: "pack", DIRECTPATH_PACK: "1" } });
if (build.status !== 0) process.exit(build.status ?? 1);

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const staging = mkdtempSync(join(tmpdir(), "directpath-pack-"));
try {
    const { scripts: _scripts, devDependencies: _dev, ...published } = pkg;
    writeFileSync(join(staging, "package.json"), `${JSON.stringify(published, null, 2)}\n`);
    cpSync(join(root, "README.md"), join(staging, "README.md"));
    for (const dir of ["components", "check"]) cpSync(join(root, "dist", dir), join(staging, "dist", dir), { recursive: true });
    const res = spawnSync("npm", ["pack", staging, "--pack-destination", destination, "--ignore-scripts"], { cwd: root, stdio: "inherit" });
    if (res.status !== 0) process.exit(res.status ?? 1);
    console.log(`pack: wrote ${join(destination, `${pkg.name}-${pkg.version}.tgz`)} (package.json without scripts or devDependencies)`);
} finally {
    rmSync(staging, { recursive: true, force: true });
}
