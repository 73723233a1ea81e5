/**
 * TailscaleDirect's plain settings: one zod schema, shared by the component and by the default
 * program's `directpath:tailscale` config section, plus the cross-field rules.
 *
 * The auth key and the API key are not part of this schema: they are `pulumi.Input<string>`
 * secrets (separate secret config keys in the default program), checked by {@link keyProblems}.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { Problem } from "../common/errors";
import { NODE_PORT_RANGE, RESERVED_NODE_PORTS } from "../common/firewall";
import { checkAddress, type AddressPolicy } from "../common/address-class";
import { FLOATING_TAGS, formatImageReference, isImageDigest, isImageRepository } from "../common/image";
import { cidrSchema, dnsLabelSchema, ipSchema, isDnsLabel, isIPv4, isIPv6, k8sNameSchema, labelsSchema, parseCidr, portSchema } from "../common/net";

/**
 * The image tag used when none is given: the newest stable `tailscale/tailscale` release when this
 * was written (v1.102.3, tagged 2026-08-19 in github.com/tailscale/tailscale; the image is built by
 * `build_docker.sh`, which tags `v<VERSION_SHORT>`). Every containerboot env var used by
 * ./render.ts was checked against `cmd/containerboot/{main,settings,tailscaled}.go` at that tag.
 */
export const TAILSCALE_DEFAULT_IMAGE = { repository: "tailscale/tailscale", tag: "v1.102.3" } as const;

/** Tailscale's default WireGuard port (what `tailscaled` uses with `PORT=41641`, as its systemd unit does). */
export const TAILSCALE_DEFAULT_PORT = 41641;

/**
 * Where containerboot's health endpoint listens by default. Under `hostNetwork` it binds on the
 * node itself, so: loopback only (never the node's public address; containerboot's own default is
 * `[::]:9002` on every interface), and a port that nothing in a usual node stack uses (kubelet
 * 10248/10250, kube-proxy 10249/10256, Cilium 4240/4244/9234/9879/9890/9962-9965, node-exporter
 * 9100, containerboot's default 9002, etcd 2379/2380, the API server 6443).
 */
export const TAILSCALE_DEFAULT_HEALTH = { address: "127.0.0.1", port: 9872 } as const;

/** Where tailscaled's state lives on each node (a hostPath: the state belongs to the node). */
export const TAILSCALE_DEFAULT_STATE_HOST_PATH = "/var/lib/directpath/tailscale";

/** Tags that move over time; a pinned release tag (v1.102.3) is required instead. */
export const FLOATING_IMAGE_TAGS = FLOATING_TAGS;

/** The image reference a container runs: `<repository>:<tag>`, with `@<digest>` when pinned. */
export function tailscaleImage(image: { repository: string; tag: string; digest?: string }): string {
    return formatImageReference(image);
}

/** Namespaces that exist in every cluster: TailscaleDirect needs one of its own (PSA privileged). */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"] as const;

export const WORKLOAD_KINDS = ["DaemonSet", "Deployment"] as const;

/**
 * Where tailscaled runs. `host`: on the node's own network (`hostNetwork`, Pod Security
 * `privileged`). `pod`: in the pod network, reached through a UDP NodePort Service and advertising
 * `<node public IP>:<nodePort>` as a static endpoint (Pod Security `baseline`).
 */
export const NETWORK_MODES = ["host", "pod"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/** The relay's default UDP port when `relay: {}` gives none (Tailscale's docs use 40000 in examples). */
export const TAILSCALE_DEFAULT_RELAY_PORT = 40000;

/** Who may relay through directpath's nodes when `relay.sources` is not given: every device of the tailnet. */
export const TAILSCALE_DEFAULT_RELAY_SOURCES = ["*"] as const;

/** A Tailscale ACL tag: `tag:` plus a name of letters, digits and '-', starting with a letter. */
const TAG = /^tag:[A-Za-z][A-Za-z0-9-]*$/;
/** A Kubernetes resource quantity (`50m`, `1`, `64Mi`, `1.5Gi`). */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/;
/** A Docker image tag. */
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

const quantitySchema = z.string({ error: "must be a Kubernetes quantity as a string, e.g. \"50m\" or \"64Mi\"" })
    .regex(QUANTITY, { error: "must be a Kubernetes quantity such as 50m, 1, 64Mi or 1Gi" });

const resourceListSchema = z.strictObject({
    cpu: quantitySchema.optional(),
    memory: quantitySchema.optional(),
});

export const resourcesSchema = z.strictObject({
    requests: resourceListSchema.default({ cpu: "50m", memory: "64Mi" }),
    limits: resourceListSchema.default({ cpu: "1", memory: "256Mi" }),
});

export const tolerationSchema = z.strictObject({
    key: z.string().optional(),
    operator: z.enum(["Exists", "Equal"], { error: "must be Exists or Equal" }).optional(),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"], { error: "must be NoSchedule, PreferNoSchedule or NoExecute" }).optional(),
    tolerationSeconds: z.number().int().optional(),
});

export const imageSchema = z.strictObject({
    /** The image repository. Default `tailscale/tailscale` (Docker Hub). */
    repository: z.string({ error: "must be an image repository as a string" })
        .refine(isImageRepository, {
            error: "must be an image repository such as tailscale/tailscale or ghcr.io/tailscale/tailscale, without tag or digest (those go in image.tag and image.digest)",
        })
        .default(TAILSCALE_DEFAULT_IMAGE.repository),
    /**
     * A pinned release tag such as `v1.102.3`. Floating tags (`latest`, `stable`, `unstable`) are
     * refused unless `digest` pins the image. The version rules (pod mode, relay) read this tag, so
     * with a digest set it to the release the digest is of.
     */
    tag: z.string({ error: "must be an image tag as a string" })
        .regex(IMAGE_TAG, { error: "must be a Docker image tag: letters, digits, '_', '.', '-', at most 128 characters" })
        .default(TAILSCALE_DEFAULT_IMAGE.tag),
    /** Pins the image by digest (`sha256:<64 hex>`): the image is `<repository>:<tag>@<digest>`, and the runtime pulls the digest. */
    digest: z.string({ error: "must be an image digest as a string" })
        .refine(isImageDigest, { error: "must be an image digest: sha256: followed by 64 lowercase hex digits (as `crane digest` or `docker buildx imagetools inspect` print it)" })
        .optional(),
    pullPolicy: z.enum(["IfNotPresent", "Always", "Never"], { error: "must be IfNotPresent, Always or Never" }).default("IfNotPresent"),
});

/** A node that runs tailscaled in `network: "pod"` mode, and the public addresses peers reach it at. */
export const podNodeSchema = z.strictObject({
    /** The Kubernetes node name (`kubectl get nodes`), as the downward API's `spec.nodeName` gives it. */
    name: k8sNameSchema,
    /**
     * The node's public addresses (its AWS Elastic IP, a 1:1 NAT address, the `ExternalIP` of
     * `kubectl get nodes -o wide`). Each one becomes `<ip>:<nodePort>` in tailscaled's static endpoints.
     */
    publicIps: z.array(ipSchema, { error: "must be a list of IP addresses" }).min(1, { error: "must list at least one public IP of the node" }),
});

/** The cluster's Service NodePort range (kube-apiserver `--service-node-port-range`). */
export const portRangeSchema = z.strictObject({
    from: portSchema,
    to: portSchema,
});

/** Makes the nodes Tailscale Peer Relays on a second fixed UDP port. */
export const relaySchema = z.strictObject({
    /** The relay server's UDP port (tailscaled's `RelayServerPort`): on the node (host mode) or in the pod (pod mode). */
    port: portSchema.default(TAILSCALE_DEFAULT_RELAY_PORT),
    /** Pod mode only, required there: the UDP NodePort that reaches the relay port. */
    nodePort: portSchema.optional(),
    /** Grant sources: who may use the relay (`*`, `autogroup:member`, `tag:x`, `group:x`, users). Only used in the grant snippet. */
    sources: z.array(z.string({ error: "must be a grant source as a string" }).min(1, { error: "must not be empty" }))
        .min(1, { error: "must list at least one grant source, e.g. \"*\" or \"autogroup:member\"" })
        .default([...TAILSCALE_DEFAULT_RELAY_SOURCES]),
});

/** The plain settings of TailscaleDirect (everything but the keys). */
export const tailscaleArgsSchema = z.strictObject({
    /** `host` (default): hostNetwork with a fixed port. `pod`: pod network, UDP NodePort, static endpoints. */
    network: z.enum(NETWORK_MODES, { error: `must be one of ${NETWORK_MODES.join(", ")}` }).default("host"),
    /** Pod mode only, required there: the UDP NodePort (in the cluster's NodePort range) that reaches tailscaled's port. */
    nodePort: portSchema.optional(),
    /** Pod mode only, required there: the nodes to run on and their public IPs. */
    nodes: z.array(podNodeSchema, { error: "must be a list of { name, publicIps }" }).optional(),
    /** The cluster's NodePort range, if not the Kubernetes default 30000-32767. */
    clusterNodePortRange: portRangeSchema.optional(),
    /** Make the nodes Tailscale Peer Relays (needs the grant in `relayGrant`). */
    relay: relaySchema.optional(),
    /** The control server, for a self-hosted one (headscale): `https://headscale.example.com`. Default: Tailscale's. */
    loginServer: z.string({ error: "must be a URL as a string" })
        .refine((u) => {
            try {
                const url = new URL(u);
                return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "" && url.search === "" && url.hash === "" && !/\s/.test(u);
            } catch {
                return false;
            }
        }, { error: "must be an http(s) URL of the control server, e.g. https://headscale.example.com (no query or fragment)" })
        .optional(),
    /** The dedicated namespace to create (labelled Pod Security `privileged` in host mode, `baseline` in pod mode). */
    namespace: dnsLabelSchema
        .refine((n) => !(SYSTEM_NAMESPACES as readonly string[]).includes(n), {
            error: `must be a dedicated namespace that TailscaleDirect creates, not ${SYSTEM_NAMESPACES.join(", ")}: it is labelled to admit privileged host-network pods`,
        })
        .default("tailscale"),
    /** The fixed UDP port tailscaled listens on, on every node (host port). */
    port: portSchema
        .refine((p) => !RESERVED_NODE_PORTS.some((r) => r.port === p), {
            error: `must not be a port the node already uses (${RESERVED_NODE_PORTS.map((r) => `${r.port} ${r.use}`).join(", ")})`,
        })
        .default(TAILSCALE_DEFAULT_PORT),
    /** Allow `port` / `healthPort` in the NodePort range 30000-32767 (where they can collide with Services). */
    allowNodePortRange: z.boolean({ error: "must be true or false" }).default(false),
    /** The device hostname is `<hostnamePrefix>-<node name>`. */
    hostnamePrefix: dnsLabelSchema.default("k8s"),
    image: imageSchema.default(imageSchema.parse({})),
    /** `DaemonSet` (default: one tailnet device per node) or `Deployment` (pinned by `nodeSelector`). */
    workloadKind: z.enum(WORKLOAD_KINDS, { error: `must be one of ${WORKLOAD_KINDS.join(", ")}` }).default("DaemonSet"),
    /** Nodes to run on (required for a Deployment). Choose nodes with public IPs. */
    nodeSelector: labelsSchema.optional(),
    /** Deployment only: how many pods (each on its own node: they share the host port). Default 1. */
    replicas: z.number({ error: "must be a whole number" }).int({ error: "must be a whole number" }).min(1, { error: "must be at least 1" }).optional(),
    /**
     * Use tailscaled's userspace networking instead of the kernel TUN device (no NET_ADMIN, no
     * /dev/net/tun). Default: false in host mode; pod mode always uses userspace networking.
     */
    userspace: z.boolean({ error: "must be true or false" }).optional(),
    /** Subnet routes to advertise, typically the pod and Service CIDRs. */
    routes: z.array(cidrSchema).default([]),
    /** ACL tags to advertise (`tag:k8s`). Required with an API key (the minted key is tagged with them). */
    tags: z.array(z.string({ error: "must be a tag as a string" }).regex(TAG, { error: "must be a Tailscale tag: tag:<name>, the name letters, digits and '-', starting with a letter" })).default([]),
    /** Node directory for tailscaled's state (hostPath, created if missing). */
    stateHostPath: z.string({ error: "must be an absolute path as a string" })
        .refine((p) => p.startsWith("/") && p !== "/" && !p.split("/").includes("..") && !/[\s:]/.test(p), {
            error: "must be an absolute directory path on the node, not /, without '..', spaces or ':'",
        })
        .default(TAILSCALE_DEFAULT_STATE_HOST_PATH),
    /**
     * Host mode: local address of containerboot's health endpoint (default 127.0.0.1: it binds on
     * the node). Pod mode: not settable (it listens on the pod's addresses, where the kubelet probes).
     */
    healthAddress: ipSchema.optional(),
    /** TCP port of containerboot's health endpoint (on the node, under hostNetwork). */
    healthPort: portSchema
        .refine((p) => !RESERVED_NODE_PORTS.some((r) => r.port === p), {
            error: `must not be a port the node already uses (${RESERVED_NODE_PORTS.map((r) => `${r.port} ${r.use}`).join(", ")})`,
        })
        .default(TAILSCALE_DEFAULT_HEALTH.port),
    resources: resourcesSchema.default(resourcesSchema.parse({})),
    /** Tolerations, e.g. `[{ operator: "Exists" }]` to run on every node, tainted ones included. */
    tolerations: z.array(tolerationSchema).default([]),
    /** A PriorityClass for the pods (e.g. `system-node-critical`). */
    priorityClassName: k8sNameSchema.optional(),
});

export type TailscaleSettingsInput = z.input<typeof tailscaleArgsSchema>;
export type TailscaleSettings = z.output<typeof tailscaleArgsSchema>;

/** Which key the caller gave. */
export interface KeyPresence {
    authKey: boolean;
    apiKey: boolean;
}

/**
 * Rules that span fields. Tolerant of malformed input (the schema reports that). Paths are relative
 * to the args object. `keys` says which secret the caller supplied; omit it when the caller checks
 * the keys itself (the default program's config loader).
 */
export function tailscaleCrossChecks(raw: unknown, keys?: KeyPresence): Problem[] {
    const problems: Problem[] = [];
    const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const allowNodePorts = r.allowNodePortRange === true;
    const network = r.network === "pod" ? "pod" : "host";
    const pod = network === "pod";
    const port = typeof r.port === "number" ? r.port : TAILSCALE_DEFAULT_PORT;
    const healthPort = typeof r.healthPort === "number" ? r.healthPort : TAILSCALE_DEFAULT_HEALTH.port;
    const range = nodePortRangeOf(r.clusterNodePortRange);
    const rangeText = `${range.from}-${range.to}`;
    const inRange = (p: number) => p >= range.from && p <= range.to;
    const rangeSource = isObject(r.clusterNodePortRange) ? "clusterNodePortRange" : "the Kubernetes default; set clusterNodePortRange if your cluster's --service-node-port-range differs";

    if (isObject(r.clusterNodePortRange)) {
        const { from, to } = r.clusterNodePortRange as Record<string, unknown>;
        if (typeof from === "number" && typeof to === "number" && from > to) {
            problems.push({ path: "clusterNodePortRange.to", value: to, rule: `must be at least clusterNodePortRange.from (${from})` });
        }
    }

    // Host ports (host mode) must stay clear of the NodePort range; pod mode has no host ports.
    const nodePortRule = `must not be in the NodePort range ${rangeText} (a Service may claim it on every node); set allowNodePortRange: true if you reserved it`;
    if (!pod && !allowNodePorts && inRange(port)) problems.push({ path: "port", value: port, rule: nodePortRule });
    if (!pod && !allowNodePorts && inRange(healthPort)) problems.push({ path: "healthPort", value: healthPort, rule: nodePortRule });
    if (healthPort === port) {
        problems.push({ path: "healthPort", value: healthPort, rule: `must differ from port (${port}): one number for two listeners on the node is a trap` });
    }

    const kind = r.workloadKind ?? "DaemonSet";
    const selector = r.nodeSelector;
    if (!pod && kind === "Deployment" && (typeof selector !== "object" || selector === null || Object.keys(selector).length === 0)) {
        problems.push({ path: "nodeSelector", value: selector, rule: "is required for workloadKind Deployment: it pins the pods to chosen nodes (ones with public IPs)" });
    }
    if (kind === "DaemonSet" && r.replicas !== undefined) {
        problems.push({ path: "replicas", value: r.replicas, rule: "only applies to workloadKind Deployment (a DaemonSet runs one pod per node)" });
    }

    if (typeof r.healthAddress === "string" && (isIPv4(r.healthAddress) || isIPv6(r.healthAddress))) {
        const a = r.healthAddress;
        if (pod) {
            problems.push({ path: "healthAddress", value: a, rule: "only applies to network: host; in pod mode the health endpoint listens on the pod IP, where the kubelet probes it" });
        } else if (ipaddr.parse(a).range() === "unspecified") {
            problems.push({ path: "healthAddress", value: a, rule: "must be a specific local address (e.g. 127.0.0.1): under hostNetwork a wildcard serves the health endpoint on the node's public addresses" });
        }
    }

    const nodePort = r.nodePort;
    if (pod) {
        if (r.userspace === false) {
            problems.push({ path: "userspace", value: false, rule: "must be true or unset with network: pod: the kernel TUN device needs NET_ADMIN and a /dev/net/tun hostPath, which Pod Security baseline forbids" });
        }
        if (nodePort === undefined) {
            problems.push({ path: "nodePort", value: undefined, rule: `is required with network: pod: the UDP NodePort (in ${rangeText}) through which peers reach tailscaled; it is advertised as <node public IP>:<nodePort> and opened in firewallRules` });
        } else if (typeof nodePort === "number" && !inRange(nodePort)) {
            problems.push({ path: "nodePort", value: nodePort, rule: `must be in the cluster's NodePort range ${rangeText} (${rangeSource})` });
        }
        problems.push(...podNodesProblems(r.nodes, kind, r.replicas));
    } else {
        if (nodePort !== undefined) problems.push({ path: "nodePort", value: nodePort, rule: "only applies to network: pod (in host mode tailscaled listens on port on the node itself)" });
        if (r.nodes !== undefined) problems.push({ path: "nodes", value: r.nodes, rule: "only applies to network: pod (in host mode the node's own addresses are tailscaled's)" });
    }

    if (isObject(r.relay)) {
        const relay = r.relay as Record<string, unknown>;
        const relayPort = typeof relay.port === "number" ? relay.port : TAILSCALE_DEFAULT_RELAY_PORT;
        if (relayPort === port) problems.push({ path: "relay.port", value: relayPort, rule: `must differ from port (${port}): the relay server and tailscaled's WireGuard socket each need their own UDP port` });
        if (relayPort === healthPort) problems.push({ path: "relay.port", value: relayPort, rule: `must differ from healthPort (${healthPort})` });
        if (!pod && !allowNodePorts && inRange(relayPort)) problems.push({ path: "relay.port", value: relayPort, rule: nodePortRule });
        if (!pod && RESERVED_NODE_PORTS.some((x) => x.port === relayPort)) {
            problems.push({ path: "relay.port", value: relayPort, rule: `must not be a port the node already uses (${RESERVED_NODE_PORTS.map((x) => `${x.port} ${x.use}`).join(", ")})` });
        }
        if (pod) {
            if (relay.nodePort === undefined) {
                problems.push({ path: "relay.nodePort", value: undefined, rule: `is required with network: pod: the UDP NodePort (in ${rangeText}) through which peers reach the relay; it is advertised as <node public IP>:<relay.nodePort>` });
            } else if (typeof relay.nodePort === "number") {
                if (!inRange(relay.nodePort)) problems.push({ path: "relay.nodePort", value: relay.nodePort, rule: `must be in the cluster's NodePort range ${rangeText} (${rangeSource})` });
                if (relay.nodePort === nodePort) problems.push({ path: "relay.nodePort", value: relay.nodePort, rule: `must differ from nodePort (${String(nodePort)}): one NodePort can reach one pod port` });
            }
        } else if (relay.nodePort !== undefined) {
            problems.push({ path: "relay.nodePort", value: relay.nodePort, rule: "only applies to network: pod (in host mode the relay listens on relay.port on the node itself)" });
        }
        if (!(Array.isArray(r.tags) && r.tags.length > 0)) {
            problems.push({ path: "tags", value: r.tags, rule: "must list at least one tag (tag:<name>) when relay is set: the relay grant names the relay nodes by their tags (its dst)" });
        }
    }

    if (isObject(r.image) && typeof r.image.tag === "string" && (FLOATING_IMAGE_TAGS as readonly string[]).includes(r.image.tag.toLowerCase()) && r.image.digest === undefined) {
        problems.push({
            path: "image.tag",
            value: r.image.tag,
            rule: `must be a pinned release tag such as ${TAILSCALE_DEFAULT_IMAGE.tag}, not a floating tag (${FLOATING_IMAGE_TAGS.join(", ")}): a floating tag changes the running version behind your back (or pin the image with image.digest)`,
        });
    }

    const configFlow = pod || isObject(r.relay);
    const tag = isObject(r.image) && typeof r.image.tag === "string" ? r.image.tag : undefined;
    const version = tag ? releaseVersion(tag) : undefined;
    if (configFlow && version && olderThan(version, CONFIG_FILE_MIN_VERSION)) {
        problems.push({ path: "image.tag", value: tag, rule: `must be v${CONFIG_FILE_MIN_VERSION.join(".")} or newer with network: pod or relay: tailscaled's config file gained RelayServerPort in v1.102.0, and containerboot refuses a config file newer than itself` });
    }

    if (typeof r.hostnamePrefix === "string" && isDnsLabel(r.hostnamePrefix) && r.hostnamePrefix.length > 40) {
        problems.push({ path: "hostnamePrefix", value: r.hostnamePrefix, rule: "must be at most 40 characters: the device hostname <prefix>-<node name> has to stay a 63-character DNS label" });
    }

    if (Array.isArray(r.routes)) {
        const seen = new Set<string>();
        r.routes.forEach((route, i) => {
            if (typeof route !== "string") return;
            if (seen.has(route)) problems.push({ path: `routes[${i}]`, value: route, rule: "is listed twice" });
            seen.add(route);
            const prefix = parseCidr(route)?.prefix;
            const verdict = checkAddress(route, ROUTE_POLICY);
            if (prefix === 0) {
                problems.push({ path: `routes[${i}]`, value: route, rule: "is a default route: every node would advertise itself as an exit node for all of the tailnet's traffic of that family; advertise the cluster's own CIDRs (use Tailscale's exit-node setting for an exit node)" });
            } else if (verdict?.level === "error") problems.push({ path: `routes[${i}]`, value: route, rule: verdict.rule });
        });
    }

    if (keys) {
        if (keys.authKey && keys.apiKey) {
            problems.push({ path: "authKey", value: "(both set)", rule: "give exactly one of authKey (an auth key) or apiKey (a Tailscale API key that mints one), not both" });
        } else if (!keys.authKey && !keys.apiKey) {
            problems.push({ path: "authKey", value: undefined, rule: "give exactly one of authKey (an auth key) or apiKey (a Tailscale API key that mints a reusable, preauthorized, tagged key)" });
        }
    }
    if (keys?.apiKey) problems.push(...apiKeyModeProblems(raw));
    return problems;
}

const NOT_ROUTED = "no peer can be routed to it through a node";

/** `routes[]`: each one is advertised by every node as a subnet route into the cluster. */
export const ROUTE_POLICY: AddressPolicy = {
    refuse: {
        unspecified: `${NOT_ROUTED} (the unspecified range)`,
        loopback: "every peer that accepts the route would send its loopback traffic to a node",
        broadcast: NOT_ROUTED,
        multicast: NOT_ROUTED,
        "link-local": "every peer that accepts the route would send its link-local traffic (its own metadata service, its neighbours) to a node",
        reserved: NOT_ROUTED,
    },
};

/** Pod mode's `nodes[].publicIps`: advertised to peers as static endpoints (`<ip>:<nodePort>`). */
export const STATIC_ENDPOINT_POLICY: AddressPolicy = {
    refuse: {
        unspecified: "must be an address peers can send to",
        loopback: "must be an address peers can send to: a peer would send to itself",
        broadcast: "must be an address peers can send to (not broadcast)",
        multicast: "must be an address peers can send to (not multicast)",
        "link-local": "must be an address peers can send to: a link-local address is reachable on the node's own link only",
        reserved: "must be an address peers can send to (reserved, never routed)",
    },
};

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The NodePort range in force: the one the user stated, else the Kubernetes default. */
export function nodePortRangeOf(raw: unknown): { from: number; to: number } {
    if (isObject(raw) && typeof raw.from === "number" && typeof raw.to === "number") return { from: raw.from, to: raw.to };
    return { ...NODE_PORT_RANGE };
}

/** `<node>.hujson` must stay a ConfigMap key (at most 253 characters). */
const MAX_POD_NODE_NAME = 253 - ".hujson".length;

/**
 * The oldest tailscale release whose tailscaled config file (ipn.ConfigVAlpha) has every field the
 * config-file flow writes: `RelayServerPort` / `RelayServerStaticEndpoints` arrived in v1.102.0
 * (commit b64209b24, tailscale/tailscale#18300); `StaticEndpoints` is older (v1.72.0).
 */
export const CONFIG_FILE_MIN_VERSION = [1, 102, 0] as const;

/** `v1.102.3` -> [1, 102, 3]; undefined for tags that aren't release versions (a mirror's own tag). */
export function releaseVersion(tag: string): [number, number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(tag);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function olderThan(a: readonly number[], b: readonly number[]): boolean {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
    }
    return false;
}

/** Pod mode's `nodes`: required, names unique, addresses unique per node; a Deployment fits on them. */
function podNodesProblems(nodes: unknown, kind: unknown, replicas: unknown): Problem[] {
    const problems: Problem[] = [];
    if (nodes === undefined) {
        return [{ path: "nodes", value: undefined, rule: "is required with network: pod: list each node as { name, publicIps }, so every pod advertises its own node's public IP as its static endpoint (directpath reads no Node objects)" }];
    }
    if (!Array.isArray(nodes)) return problems;
    if (nodes.length === 0) problems.push({ path: "nodes", value: nodes, rule: "must list at least one node { name, publicIps }" });
    const names = new Set<string>();
    nodes.forEach((n, i) => {
        if (!isObject(n)) return;
        if (typeof n.name === "string") {
            if (n.name.length > MAX_POD_NODE_NAME) problems.push({ path: `nodes[${i}].name`, value: n.name, rule: `must be at most ${MAX_POD_NODE_NAME} characters: it names the node's config file <name>.hujson, a ConfigMap key of at most 253` });
            if (names.has(n.name)) problems.push({ path: `nodes[${i}].name`, value: n.name, rule: "is listed twice" });
            names.add(n.name);
        }
        if (Array.isArray(n.publicIps)) {
            const seen = new Set<string>();
            n.publicIps.forEach((ip, j) => {
                if (typeof ip !== "string") return;
                if (seen.has(ip)) problems.push({ path: `nodes[${i}].publicIps[${j}]`, value: ip, rule: "is listed twice" });
                seen.add(ip);
                const verdict = checkAddress(ip, STATIC_ENDPOINT_POLICY);
                if (verdict?.level === "error") problems.push({ path: `nodes[${i}].publicIps[${j}]`, value: ip, rule: verdict.rule });
            });
        }
    });
    if (kind === "Deployment" && typeof replicas === "number" && replicas > nodes.length) {
        problems.push({ path: "replicas", value: replicas, rule: `must be at most the number of nodes (${nodes.length}): in pod mode each replica runs on its own listed node (one NodePort per node reaches one pod)` });
    }
    return problems;
}

/** Rules for API-key mode (an API key mints the auth key): tags are required. */
export function apiKeyModeProblems(raw: unknown): Problem[] {
    const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    if (Array.isArray(r.tags) && r.tags.length > 0) return [];
    return [{ path: "tags", value: r.tags, rule: "must list at least one tag (tag:<name>) when an apiKey mints the auth key: the minted key is tagged, so the devices are owned by the tags, not by a user" }];
}

/**
 * Pod mode keeps each node's tailscaled state in its own pre-created Secret, named
 * `<component name>-state-<node name>`: the pod names it with `TS_KUBE_SECRET=<name>-state-$(NODE_NAME)`
 * (the kubelet expands the node name from the downward API), so the name has to be the node name
 * itself, not a hash of it.
 */
export function stateSecretName(componentName: string, nodeName: string): string {
    return `${componentName}-state-${nodeName}`;
}

/** A Secret's name: a DNS-1123 subdomain (Kubernetes' own rule for Secret names). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Pod mode: every listed node's state Secret name (see {@link stateSecretName}) must be a valid
 * Secret name of at most 253 characters. Paths are relative to the args (`nodes[i].name`); the
 * component name comes from the caller (the component, or the default program's fixed name).
 * Tolerant of malformed input.
 */
export function podStateSecretProblems(componentName: string, raw: unknown): Problem[] {
    const r = isObject(raw) ? raw : {};
    if (r.network !== "pod" || !Array.isArray(r.nodes)) return [];
    const problems: Problem[] = [];
    r.nodes.forEach((n, i) => {
        if (!isObject(n) || typeof n.name !== "string" || n.name === "") return;
        const secret = stateSecretName(componentName, n.name);
        if (secret.length > 253) {
            problems.push({
                path: `nodes[${i}].name`,
                value: n.name,
                rule: `must be at most ${253 - stateSecretName(componentName, "").length} characters with the component name '${componentName}': it names the node's tailscaled state Secret ${componentName}-state-<node name>, and a Secret name has at most 253 characters`,
            });
        } else if (!DNS1123_SUBDOMAIN.test(secret)) {
            problems.push({ path: `nodes[${i}].name`, value: n.name, rule: `must be a node name of lowercase letters, digits, '-' and '.': it names the node's tailscaled state Secret ${secret}, which must be a DNS-1123 subdomain` });
        }
    });
    return problems;
}
