/** The rule every key that lists who may reach something (an API endpoint, a listener) shares. Pure. */
import { classifyAddress, isSpecialClass } from "../common/address-class";

/**
 * Why a "who may reach" CIDR can't work, or undefined when it can: a documentation range (RFC 5737,
 * RFC 3849), the unspecified address, loopback, link-local, multicast, broadcast and reserved
 * ranges are never the source of a client's packets on the internet. `0.0.0.0/0` is anywhere
 * (routable), not the unspecified address. Shared by every key that lists who may reach something.
 */
export function whoMayReachProblem(cidr: string): string | undefined {
    const c = classifyAddress(cidr);
    if (!c || !isSpecialClass(c.class)) return undefined;
    return `is ${c.description}, which no client's address is in`;
}

