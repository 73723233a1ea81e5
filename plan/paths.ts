/** Field paths as `pulumi preview --diff` and kubectl show them: `spec.containers[0].env[1].value`, `data["a.b"]`. */

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends an object key to a path. */
export function keyPath(parent: string, key: string): string {
    const part = SIMPLE_KEY.test(key) ? key : `[${JSON.stringify(key)}]`;
    return parent === "" ? part : part.startsWith("[") ? `${parent}${part}` : `${parent}.${part}`;
}

/** Appends an array index to a path. */
export function indexPath(parent: string, index: number): string {
    return `${parent}[${index}]`;
}

/** Appends a list element named by its `name` field: `env[PORT]`, `ports["a b"]`. */
export function namePath(parent: string, name: string): string {
    return /^[A-Za-z0-9_.-]+$/.test(name) ? `${parent}[${name}]` : `${parent}[${JSON.stringify(name)}]`;
}
