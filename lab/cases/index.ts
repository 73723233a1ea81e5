/** Cases 4-6 (the fixes directpath renders) and the ports node1 must serve for them. */
import type { Rendered } from "../lib/rendered";
import { case5 } from "./dns";
import { case6 } from "./hosts";
import { case4, MAPPED_PORT, PORTMAP_STACK, redirectObjects } from "./redirect";
import type { CaseDef } from "./types";

export function labCases4to6(corednsProblem: string | undefined): CaseDef[] {
    return [
        case4,
        case5(corednsProblem),
        case6,
    ];
}

/** Every backend port node1 must serve on for the rendered stacks (besides 443). */
export function backendPortsFor(stacks: Record<string, Rendered | string>): number[] {
    const ports = new Set<number>([MAPPED_PORT]);
    for (const stack of ["local-iptables", PORTMAP_STACK]) {
        const r = stacks[stack];
        if (typeof r === "object") for (const rule of redirectObjects(r)?.rules ?? []) ports.add(rule.targetPort);
    }
    return [...ports];
}
