import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { TS_HOOK } from "../plan/command";
import { ROOT } from "./harness";

describe("the package", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

    it("points main, types and exports at the compiled barrels: the root entry, the aws and check subpaths", () => {
        expect(pkg.name).toBe("pulumi-directpath");
        expect(pkg.main).toBe("dist/components/index.js");
        expect(pkg.types).toBe("dist/components/index.d.ts");
        expect(pkg.exports["."]).toEqual({ types: "./dist/components/index.d.ts", default: "./dist/components/index.js" });
        expect(pkg.exports["./aws"]).toEqual({ types: "./dist/components/aws/index.d.ts", default: "./dist/components/aws/index.js" });
        // moduleResolution "node" (node10) ignores `exports`: typesVersions maps the subpath's types.
        expect(pkg.exports["./check"]).toEqual({ types: "./dist/check/index.d.ts", default: "./dist/check/index.js" });
        expect(pkg.typesVersions).toEqual({ "*": { aws: ["dist/components/aws/index.d.ts"], check: ["dist/check/index.d.ts"] } });
    });

    it("takes the Pulumi SDK as peers; @pulumi/aws and @pulumi/tailscale are optional ones", () => {
        for (const dep of ["@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/aws"]) expect(pkg.peerDependencies[dep]).toMatch(/^\^\d/);
        expect(pkg.peerDependencies["@pulumi/tailscale"]).toBe(">=0.29.0 <1.0.0");
        expect(pkg.peerDependenciesMeta).toEqual({ "@pulumi/aws": { optional: true }, "@pulumi/tailscale": { optional: true } });
        for (const dep of Object.keys(pkg.peerDependencies)) expect(pkg.dependencies[dep], `${dep} must not be a dependency`).toBeUndefined();
    });

    it("prepare builds dist/ for pack and git installs, and skips the project's own npm ci / npm install", () => {
        expect(pkg.scripts.prepare).toBe("node scripts/prepare.mjs");
        for (const command of ["ci", "install"]) {
            const res = spawnSync(process.execPath, [path.join(ROOT, "scripts", "prepare.mjs")], {
                cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, npm_command: command, INIT_CWD: ROOT },
            });
            expect(res.status).toBe(0);
            expect(res.stdout).toContain(`\`npm ${command}\` in the project itself: dist/ is not built`);
        }
        // The build itself (npm pack, from a consumer's folder) is exercised by test/package-install.test.ts.
    });

    it("the root entry loads no @pulumi/aws or @pulumi/tailscale module (sources, fresh process)", () => {
        const res = spawnSync(process.execPath, ["--require", TS_HOOK, "-e",
            "const n = () => Object.keys(require.cache).filter((f) => /node_modules[\\\\/]@pulumi[\\\\/](aws|tailscale)[\\\\/]/.test(f)).length;" +
            "require('./components/index.ts'); const root = n(); require('./components/aws/index.ts'); console.log(JSON.stringify([root, n()]));"],
            { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        expect(res.status, res.stderr).toBe(0);
        const [root, withAws] = JSON.parse(res.stdout.trim().split("\n").pop()!) as [number, number];
        expect(root).toBe(0);
        // The probe sees them once the AWS barrel is loaded (hundreds of @pulumi/aws modules).
        expect(withAws).toBeGreaterThan(50);
    });

    it("importing the library registers nothing and never runs the default program", () => {
        // The TypeScript sources of the barrel, loaded in a fresh process with no Pulumi engine:
        // if anything registered a resource, Pulumi would fail with "Program run without the Pulumi engine".
        const res = spawnSync(process.execPath, ["--require", TS_HOOK, "-e",
            "const d = require('./components/index.ts'); console.log(JSON.stringify(Object.keys(d).sort()));"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        expect(res.stderr).not.toMatch(/Error|engine/);
        expect(res.status).toBe(0);
        const names = JSON.parse(res.stdout.trim().split("\n").pop()!) as string[];
        expect(names).toContain("ValidationError");
        expect(names).toContain("HairpinBypass");
        expect(names).not.toContain("runDefaultProgram");
        // The AWS components are the subpath pulumi-directpath/aws, not the root entry.
        expect(names).not.toContain("EksCluster");
        expect(names).not.toContain("PublicVpc");
    });
});
