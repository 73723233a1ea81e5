/**
 * `npm run lab:coredns`: builds the lab's pinned CoreDNS into the binary cache (or reuses it) and links lab/.bin/coredns to it, so that the
 * unit test that runs the rendered Corefile in a real CoreDNS (test/coredns-live.test.ts) runs
 * instead of skipping. CI calls it before `npm test`; the network lab calls the same function.
 */
import { ensureCoreDNS } from "./lib/prereqs";

try {
    const bin = ensureCoreDNS((line) => console.log(line));
    console.log(`CoreDNS ready: ${bin}`);
} catch (err) {
    console.error(`lab:coredns failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
}
