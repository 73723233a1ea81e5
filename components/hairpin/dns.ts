/** The DNS half of HairpinBypass: resource wiring over the pure renderers. */
import type * as pulumi from "@pulumi/pulumi";
import type { ParsedHairpinArgs } from "./args";

export interface DnsOutputs {}

export function deployDns(_parent: pulumi.ComponentResource, _name: string, _args: ParsedHairpinArgs): DnsOutputs {
    return {};
}
