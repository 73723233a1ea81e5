// Copies the non-TypeScript files that components embed (node scripts) next to the compiled
// JavaScript in dist/, so `readAsset(__dirname, ...)` finds them in the published package too.
import { cpSync, readdirSync, statSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";

const EMBEDDED = /\.(sh|conf|yaml|tmpl)$/;
let copied = 0;
function walk(dir) {
    for (const entry of readdirSync(dir)) {
        const src = join(dir, entry);
        if (statSync(src).isDirectory()) walk(src);
        else if (EMBEDDED.test(entry)) {
            const dest = join("dist", src);
            mkdirSync(dirname(dest), { recursive: true });
            cpSync(src, dest);
            copied++;
        }
    }
}
walk("components");
// The check's probe scripts (check/probes/*.sh) ship next to dist/check/ the same way.
walk("check");
console.log(`copy-assets: ${copied} embedded file(s) copied into dist/components and dist/check`);
