/** Cases 1-3: the hairpin fault itself, reproduced, and the router-side fix. */
import { describe, EXTERNAL, fromNode2, LAN, served, setRouterSnat, synAckCounters, WEB_PORT, zeroSynAckCounters } from "../hairpin";
import type { CaseDef } from "./types";

export const case1: CaseDef = {
    id: "1",
    title: "node2 -> node1 internal address",
    expected: `HTTP 200 from node1 at ${LAN.node1}:${WEB_PORT}`,
    timeoutMs: 20_000,
    run: async ({ hairpin }) => {
        const r = fromNode2(hairpin, `http://${LAN.node1}:${WEB_PORT}/`);
        return { observed: describe(r), pass: served(r)?.server === "node1" };
    },
};

export const case2: CaseDef = {
    id: "2",
    title: "node2 -> node1 external IP (hairpin, router DNAT without SNAT)",
    expected: `no connection; SYN-ACKs reach node2 from ${LAN.node1} (internal), none from ${EXTERNAL.node1}`,
    timeoutMs: 20_000,
    run: async ({ hairpin }) => {
        zeroSynAckCounters(hairpin);
        const r = fromNode2(hairpin, `http://${EXTERNAL.node1}:${WEB_PORT}/`);
        const c = synAckCounters(hairpin);
        const observed = `${describe(r)}; node2 counted ${c.internal} SYN-ACK(s) from ${LAN.node1}:${WEB_PORT}, ${c.external} from ${EXTERNAL.node1}`;
        return { observed, pass: !r.ok && c.internal > 0 && c.external === 0 };
    },
};

export const case3: CaseDef = {
    id: "3",
    title: "router SNAT added (the classic fix)",
    expected: `HTTP 200 from node1 via ${EXTERNAL.node1}:${WEB_PORT}; node1 sees the router ${LAN.router} as client; SYN-ACK from ${EXTERNAL.node1}`,
    timeoutMs: 20_000,
    run: async ({ hairpin }) => {
        setRouterSnat(hairpin, true);
        try {
            zeroSynAckCounters(hairpin);
            const r = fromNode2(hairpin, `http://${EXTERNAL.node1}:${WEB_PORT}/`);
            const c = synAckCounters(hairpin);
            const s = served(r);
            return {
                observed: `${describe(r)}; SYN-ACKs: ${c.external} from ${EXTERNAL.node1}, ${c.internal} from ${LAN.node1}`,
                pass: s?.server === "node1" && s.remote === LAN.router && c.external > 0 && c.internal === 0,
            };
        } finally {
            setRouterSnat(hairpin, false);
        }
    },
};
