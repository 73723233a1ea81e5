/**
 * The Pod Security baseline check (components/tailscale/pod-security.ts) against one spec per
 * control of the upstream definition, so that "no violations" on TailscaleDirect's pod mode means
 * something. Allowed values pass, each forbidden value is reported with its control and path.
 */
import { describe, expect, it } from "vitest";
import { BASELINE_CAPABILITIES, checkPodSecurityBaseline } from "../components/tailscale/pod-security";

const c = (extra: Record<string, unknown> = {}) => ({ name: "c", image: "x", ...extra });

describe("checkPodSecurityBaseline", () => {
    it("a minimal pod passes", () => {
        expect(checkPodSecurityBaseline({ containers: [c()] })).toEqual([]);
    });

    it.each([
        ["Host Namespaces", { hostNetwork: true, containers: [c()] }, "spec.hostNetwork"],
        ["Host Namespaces", { hostPID: true, containers: [c()] }, "spec.hostPID"],
        ["Host Namespaces", { hostIPC: true, containers: [c()] }, "spec.hostIPC"],
        ["Privileged Containers", { containers: [c({ securityContext: { privileged: true } })] }, "spec.containers[0].securityContext.privileged"],
        ["Privileged Containers", { initContainers: [c({ securityContext: { privileged: true } })] }, "spec.initContainers[0].securityContext.privileged"],
        ["Capabilities", { containers: [c({ securityContext: { capabilities: { add: ["NET_ADMIN"] } } })] }, "spec.containers[0].securityContext.capabilities.add[0]"],
        ["HostPath Volumes", { containers: [c()], volumes: [{ name: "v", hostPath: { path: "/dev/net/tun" } }] }, "spec.volumes[0].hostPath"],
        ["Host Ports", { containers: [c({ ports: [{ containerPort: 41641, hostPort: 41641 }] })] }, "spec.containers[0].ports[0].hostPort"],
        ["Host Ports", { ephemeralContainers: [c({ ports: [{ containerPort: 1, hostPort: 1 }] })] }, "spec.ephemeralContainers[0].ports[0].hostPort"],
        ["HostProcess", { securityContext: { windowsOptions: { hostProcess: true } }, containers: [c()] }, "spec.securityContext.windowsOptions.hostProcess"],
        ["SELinux", { containers: [c({ securityContext: { seLinuxOptions: { type: "spc_t" } } })] }, "spec.containers[0].securityContext.seLinuxOptions.type"],
        ["SELinux", { securityContext: { seLinuxOptions: { user: "system_u" } }, containers: [c()] }, "spec.securityContext.seLinuxOptions.user"],
        ["/proc Mount Type", { containers: [c({ securityContext: { procMount: "Unmasked" } })] }, "spec.containers[0].securityContext.procMount"],
        ["Seccomp", { securityContext: { seccompProfile: { type: "Unconfined" } }, containers: [c()] }, "spec.securityContext.seccompProfile.type"],
        ["AppArmor", { containers: [c({ securityContext: { appArmorProfile: { type: "Unconfined" } } })] }, "spec.containers[0].securityContext.appArmorProfile.type"],
        ["Sysctls", { securityContext: { sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }] }, containers: [c()] }, "spec.securityContext.sysctls[0].name"],
    ])("%s: %j is reported at its path", (control, spec, at) => {
        const v = checkPodSecurityBaseline(spec);
        expect(v.map((x) => [x.control, x.path])).toEqual([[control, at]]);
    });

    it("allowed values pass: the baseline capabilities, hostPort 0, RuntimeDefault, container_t, a safe sysctl", () => {
        expect(checkPodSecurityBaseline({
            securityContext: { seccompProfile: { type: "RuntimeDefault" }, sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }], seLinuxOptions: { type: "container_t", level: "s0:c1,c2" } },
            containers: [c({ securityContext: { privileged: false, capabilities: { add: [...BASELINE_CAPABILITIES], drop: ["ALL"] }, procMount: "Default", appArmorProfile: { type: "RuntimeDefault" } }, ports: [{ containerPort: 80, hostPort: 0 }] })],
            volumes: [{ name: "e", emptyDir: {} }, { name: "s", secret: { secretName: "x" } }],
        })).toEqual([]);
    });

    it("AppArmor's legacy annotation: unconfined is reported, runtime/default passes", () => {
        expect(checkPodSecurityBaseline({ containers: [c()] }, { "container.apparmor.security.beta.kubernetes.io/c": "unconfined" }).map((v) => v.control)).toEqual(["AppArmor"]);
        expect(checkPodSecurityBaseline({ containers: [c()] }, { "container.apparmor.security.beta.kubernetes.io/c": "runtime/default" })).toEqual([]);
    });
});
