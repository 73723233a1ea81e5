import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness";

describe("the package", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

    it("points main, types and exports at the compiled barrel", () => {
        expect(pkg.name).toBe("pulumi-directpath");
        expect(pkg.main).toBe("dist/components/index.js");
        expect(pkg.types).toBe("dist/components/index.d.ts");
        expect(pkg.exports["."]).toEqual({ types: "./dist/components/index.d.ts", default: "./dist/components/index.js" });
        for (const dep of ["@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/aws"]) expect(pkg.peerDependencies[dep]).toMatch(/^\^\d/);
    });

    it("importing the library registers nothing and never runs the default program", () => {
        // The TypeScript sources of the barrel, loaded in a fresh process with no Pulumi engine:
        // if anything registered a resource, Pulumi would fail with "Program run without the Pulumi engine".
        const res = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "-e",
            "const d = require('./components/index.ts'); console.log(JSON.stringify(Object.keys(d).sort()));"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
        expect(res.stderr).not.toMatch(/Error|engine/);
        expect(res.status).toBe(0);
        const names = JSON.parse(res.stdout.trim().split("\n").pop()!) as string[];
        expect(names).toContain("ValidationError");
        expect(names).toContain("HairpinBypass");
        expect(names).not.toContain("runDefaultProgram");
    });
});
