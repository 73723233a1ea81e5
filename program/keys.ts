/** Config key paths as users write them (`directpath:hairpin.endpoints[0].name`). No imports of the program's own modules. */
import { joinPath, type Problem } from "../components/common/errors";

export const PROJECT = "directpath";

/** `hairpin.endpoints[0].name` -> `directpath:hairpin.endpoints[0].name`; "" -> `directpath`. */
export function key(path: string): string {
    return path ? `${PROJECT}:${path}` : PROJECT;
}

/** Problems with paths relative to `prefix` (a component's args path), as full config keys. */
export function under(prefix: string, problems: readonly Problem[]): Problem[] {
    return problems.map((p) => ({ ...p, path: key(joinPath(prefix, p.path)) }));
}
