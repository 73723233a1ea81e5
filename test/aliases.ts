/**
 * Records the `aliases` each resource registers (the SDK sends them to the resource monitor as
 * alias specs) and turns them into the URNs the engine would look up, so a test can check that a
 * renamed or moved resource points at the URN an older layout gave it.
 */
import { Recorder } from "./harness";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): { registerResource: (req: AliasRequest, cb: unknown) => unknown } };

interface AliasProto {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}
interface AliasRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getAliasesList(): AliasProto[];
}

export interface RegisteredAliases {
    type: string;
    name: string;
    parent?: string;
    /** Each alias as the full URN it names. */
    urns: string[];
}

/** Qualified type of a URN: `urn:pulumi:s::p::a$b::n` -> `a$b`. */
function qualifiedType(urn: string): string {
    return urn.split("::")[2]!;
}

export function urnOf(stack: string, project: string, type: string, name: string, parentUrn?: string): string {
    const chain = parentUrn ? `${qualifiedType(parentUrn)}$` : "";
    return `urn:pulumi:${stack}::${project}::${chain}${type}::${name}`;
}

/**
 * Wraps the installed mock monitor (call it right after `installMocks`, e.g. first thing inside
 * `capture`'s build function). Returns the list it fills.
 */
export function recordAliases(stack = "test", project = "directpath"): RegisteredAliases[] {
    const out: RegisteredAliases[] = [];
    const monitor = settings.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: AliasRequest, cb: unknown) => {
        const parent = req.getParent() || undefined;
        const urns = req.getAliasesList().map((a) => {
            const spec = a.getSpec();
            if (!spec) return a.getUrn();
            const p = spec.getNoparent() ? undefined : (spec.getParenturn() || parent);
            return urnOf(stack, project, spec.getType() || req.getType(), spec.getName() || req.getName(), p);
        });
        out.push({ type: req.getType(), name: req.getName(), parent, urns });
        return original(req, cb);
    };
    return out;
}

/** The alias URNs of one registered resource. */
export function aliasesOf(list: RegisteredAliases[], type: string, name: string): string[] {
    const found = list.filter((x) => x.type === type && x.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
    return found[0]!.urns;
}

/** Type, name and inputs of every resource, keyed `type::name` (for order-independence checks). */
export function byName(r: Recorder, type?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const x of r.resources) if (!type || x.type === type) out[`${x.type}::${x.name}`] = r.inputs(x);
    return out;
}
