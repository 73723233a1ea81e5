/**
 * `npm run lab:deploy:build`: builds (or finds in the cache) every pinned binary the deploy lab
 * runs, and prints how long each took. CI starts it in the background while the unit tests run.
 */
import { ensureLabBinaries } from "./build";

const t0 = Date.now();
try {
    const bins = ensureLabBinaries((line) => console.log(`[build] ${line}`));
    for (const r of bins.results) console.log(`[build] ${r.name}@${r.version}: ${r.built ? `built in ${r.seconds} s` : "cached"}`);
    console.log(`[build] all binaries ready in ${Math.round((Date.now() - t0) / 1000)} s`);
} catch (e) {
    console.error(`[build] FAILED: ${(e as Error).message}`);
    process.exit(1);
}
