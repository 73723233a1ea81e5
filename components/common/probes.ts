/**
 * The node agents' probes: their own script, run with `ready` (the rules or the hosts block are
 * in place; changes nothing) and `alive` (the loop finished a round lately), in the container.
 */
export function scriptProbes(script: string) {
    return {
        readinessProbe: { exec: { command: ["/bin/sh", script, "ready"] }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
        livenessProbe: { exec: { command: ["/bin/sh", script, "alive"] }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
    };
}
