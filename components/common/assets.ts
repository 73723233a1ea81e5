import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Reads a file that ships next to a component's source (a node script, say). The build copies
 * these files into `dist/` beside the compiled JavaScript, so the same relative path works from
 * the TypeScript sources (tests, the default program) and from the published package.
 */
export function readAsset(componentDir: string, relative: string): string {
    const file = path.join(componentDir, relative);
    try {
        return fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`directpath: missing bundled asset ${file} (was the package built with 'npm run build'?): ${String(err)}`);
    }
}
