/** Cases 4-6 (the fixes directpath renders) and the ports node1 must serve for them. */
import type { Rendered } from "../lib/rendered";
import { case5 } from "./dns";
import { case6 } from "./hosts";
import { pending } from "./pending";
import type { CaseDef } from "./types";

export function labCases4to6(corednsProblem: string | undefined): CaseDef[] {
    return [
        pending("4", "directpath iptables redirect (local-iptables stack) on node2", "external IP:443 reaches node1's backend port; idempotent; gone after SIGTERM", "the iptables redirect (issue 4) has not landed yet"),
        case5(corednsProblem),
        case6,
    ];
}

/** Every backend port node1 must serve on for the rendered stacks (besides 443). */
export function backendPortsFor(stacks: Record<string, Rendered | string>): number[] {
    void stacks;
    return [];
}
