// npm's `prepare` lifecycle: builds the library into dist/ whenever npm turns this folder into a
// package: `npm pack` / `npm publish` here, `npm install <git url>` (npm clones the repository,
// installs its dev dependencies, then runs `prepare`) and `npm install --install-links <folder>`.
//
// It does NOT build for the project's own `npm ci` / `npm install` run in this checkout: the
// tests and the default program run from the TypeScript sources, CI runs `npm run build` (a full
// type-check plus this same compile) right after `npm ci`, and a compile error in a work-in-progress
// component must not make the dependency install fail. npm tells us which case it is: INIT_CWD is
// the folder the user ran npm in, npm_command the command. (npm's git-dependency preparation runs an
// inner `npm install` inside the clone first, INIT_CWD = the clone: that one skips too, and the
// `prepare` npm runs afterwards, from the consumer's folder, builds.) See docs/install.md.
import { spawnSync } from "node:child_process";
import { existsSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), ".."));
const command = process.env.npm_command ?? "";
const initCwd = process.env.INIT_CWD;
const ranHere = initCwd !== undefined && existsSync(initCwd) && realpathSync(initCwd) === root;

// A plain `npm pack` / `npm publish` here would ship package.json with this `prepare` script but
// without scripts/ (npm 11 then warns about an install script on every install of the tarball):
// `npm run pack` (scripts/pack.mjs) packs a copy without scripts instead.
if (ranHere && (command === "pack" || command === "publish") && process.env.DIRECTPATH_PACK !== "1") {
    console.error(`prepare: use \`npm run pack\` instead of \`npm ${command}\`: it packs the package without its development scripts (see docs/install.md)`);
    process.exit(1);
}

if (ranHere && (command === "ci" || command === "install" || command === "update")) {
    console.log(`prepare: \`npm ${command}\` in the project itself: dist/ is not built (run \`npm run build\`, or \`npm run pack\` for a tarball)`);
    process.exit(0);
}

let tsc;
try {
    tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
} catch {
    console.error("prepare: building dist/ needs the dev dependency `typescript`; install with dev dependencies (no --omit=dev / NODE_ENV=production)");
    process.exit(1);
}

// Only what an earlier build wrote: dist/components and dist/check are this script's and tsc's output.
for (const dir of ["components", "check"]) rmSync(join(root, "dist", dir), { recursive: true, force: true });
for (const [what, args] of [["tsc", [tsc, "-p", "tsconfig.build.json"]], ["copy-assets", [join(root, "scripts", "copy-assets.mjs")]]]) {
    const res = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
    if (res.status !== 0) {
        console.error(`prepare: ${what} failed (exit ${res.status ?? res.signal}); dist/ is incomplete`);
        process.exit(1);
    }
}
console.log(`prepare: built dist/components for \`npm ${command || "run prepare"}\``);
