/** The redirect half of HairpinBypass: resource wiring over the pure renderers. */
import type * as pulumi from "@pulumi/pulumi";
import type { ParsedHairpinArgs } from "./args";

export interface RedirectOutputs {}

export function deployRedirect(_parent: pulumi.ComponentResource, _name: string, _args: ParsedHairpinArgs): RedirectOutputs {
    return {};
}
