/**
 * The Pod Security Standards `baseline` level as a pure check on a pod spec, written from the
 * upstream definition (kubernetes.io/docs/concepts/security/pod-security-standards, "Baseline":
 * HostProcess, Host Namespaces, Privileged Containers, Capabilities, HostPath Volumes, Host Ports,
 * AppArmor, SELinux, /proc Mount Type, Seccomp, Sysctls). Every control applies to
 * `containers`, `initContainers` and `ephemeralContainers` alike.
 *
 * TailscaleDirect's pod mode labels its namespace `pod-security.kubernetes.io/enforce: baseline`;
 * the tests run this check on the rendered pod template, so a change that would make the API server
 * reject the pods fails there first.
 */

/** One control the pod spec breaks: the field path, its value, and the control's name. */
export interface PodSecurityViolation {
    control: string;
    path: string;
    value: unknown;
}

/** Capabilities baseline allows a container to add. */
export const BASELINE_CAPABILITIES = [
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
] as const;

/** The "safe" sysctls baseline allows (the namespaced ones, as of Kubernetes 1.29+). */
export const BASELINE_SYSCTLS = [
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
] as const;

const SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
}

function list(v: unknown): Obj[] {
    return Array.isArray(v) ? (v.map(obj).filter((x) => x !== undefined) as Obj[]) : [];
}

/** Checks the security-context controls that exist at both pod and container level. */
function checkContext(ctx: Obj | undefined, at: string, out: PodSecurityViolation[]): void {
    if (!ctx) return;
    const win = obj(ctx.windowsOptions);
    if (win && win.hostProcess !== undefined && win.hostProcess !== false) {
        out.push({ control: "HostProcess", path: `${at}.windowsOptions.hostProcess`, value: win.hostProcess });
    }
    const se = obj(ctx.seLinuxOptions);
    if (se) {
        if (se.type !== undefined && !SELINUX_TYPES.includes(String(se.type))) out.push({ control: "SELinux", path: `${at}.seLinuxOptions.type`, value: se.type });
        if (se.user !== undefined && se.user !== "") out.push({ control: "SELinux", path: `${at}.seLinuxOptions.user`, value: se.user });
        if (se.role !== undefined && se.role !== "") out.push({ control: "SELinux", path: `${at}.seLinuxOptions.role`, value: se.role });
    }
    const seccomp = obj(ctx.seccompProfile);
    if (seccomp && seccomp.type === "Unconfined") out.push({ control: "Seccomp", path: `${at}.seccompProfile.type`, value: seccomp.type });
    const apparmor = obj(ctx.appArmorProfile);
    if (apparmor && apparmor.type !== undefined && apparmor.type !== "RuntimeDefault" && apparmor.type !== "Localhost") {
        out.push({ control: "AppArmor", path: `${at}.appArmorProfile.type`, value: apparmor.type });
    }
}

/**
 * Every way `podSpec` (a pod's `spec`, e.g. a DaemonSet's `spec.template.spec`) breaks the
 * baseline level; `annotations` are the pod's (AppArmor's legacy annotations). Empty: it passes.
 */
export function checkPodSecurityBaseline(podSpec: unknown, annotations: Record<string, string> = {}): PodSecurityViolation[] {
    const out: PodSecurityViolation[] = [];
    const spec = obj(podSpec) ?? {};
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (spec[field] !== undefined && spec[field] !== false) out.push({ control: "Host Namespaces", path: `spec.${field}`, value: spec[field] });
    }
    const podCtx = obj(spec.securityContext);
    checkContext(podCtx, "spec.securityContext", out);
    for (const [i, s] of list(podCtx?.sysctls).entries()) {
        if (!(BASELINE_SYSCTLS as readonly string[]).includes(String(s.name))) out.push({ control: "Sysctls", path: `spec.securityContext.sysctls[${i}].name`, value: s.name });
    }
    for (const [i, v] of list(spec.volumes).entries()) {
        if (v.hostPath !== undefined) out.push({ control: "HostPath Volumes", path: `spec.volumes[${i}].hostPath`, value: v.hostPath });
    }
    for (const kind of ["containers", "initContainers", "ephemeralContainers"]) {
        for (const [i, c] of list(spec[kind]).entries()) {
            const at = `spec.${kind}[${i}]`;
            const ctx = obj(c.securityContext);
            checkContext(ctx, `${at}.securityContext`, out);
            if (ctx && ctx.privileged !== undefined && ctx.privileged !== false) out.push({ control: "Privileged Containers", path: `${at}.securityContext.privileged`, value: ctx.privileged });
            const added = obj(ctx?.capabilities)?.add;
            if (Array.isArray(added)) {
                added.forEach((cap, j) => {
                    if (!(BASELINE_CAPABILITIES as readonly string[]).includes(String(cap))) out.push({ control: "Capabilities", path: `${at}.securityContext.capabilities.add[${j}]`, value: cap });
                });
            }
            if (ctx && ctx.procMount !== undefined && ctx.procMount !== "Default") out.push({ control: "/proc Mount Type", path: `${at}.securityContext.procMount`, value: ctx.procMount });
            for (const [j, p] of list(c.ports).entries()) {
                if (p.hostPort !== undefined && p.hostPort !== 0) out.push({ control: "Host Ports", path: `${at}.ports[${j}].hostPort`, value: p.hostPort });
            }
        }
    }
    for (const [key, value] of Object.entries(annotations)) {
        if (key.startsWith("container.apparmor.security.beta.kubernetes.io/") && value !== "runtime/default" && !value.startsWith("localhost/")) {
            out.push({ control: "AppArmor", path: `metadata.annotations["${key}"]`, value });
        }
    }
    return out;
}
