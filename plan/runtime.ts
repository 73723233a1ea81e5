/**
 * Pulumi runtime mocks that record every registered resource.
 *
 * Both the offline `plan` command and the unit tests use this one module: it installs a mock
 * resource monitor, records each resource (type, name, parent, inputs, property dependencies),
 * answers data-source invokes from fixed offline data, and turns inputs and outputs into plain JSON
 * where secrets read "[secret]" and values only known after a real deployment read "[computed]".
 */
import * as pulumi from "@pulumi/pulumi";
import { OFFLINE_INVOKES } from "./offline-data";
import { indexPath, keyPath } from "./paths";

// The mock monitor class and the RPC-drain helper are part of the SDK's runtime, not its typed API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: new (mocks: pulumi.runtime.Mocks) => MockMonitorLike };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string; deserializeProperties(props: unknown): unknown };

interface MockMonitorLike {
    registerResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): Promise<void>;
    readResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): Promise<void>;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom?(): boolean;
    getObject(): unknown;
    getProperties?(): unknown;
    getPropertydependenciesMap?(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
    getDependenciesList?(): string[];
}

import { COMPUTED, SECRET } from "./markers";

export { COMPUTED, SECRET };

/** A resource as the program registered it. */
export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent resource, if any. */
    parent?: string;
    custom: boolean;
    /** Inputs as the program passed them, with secrets still wrapped (see {@link plainInputs}). */
    rawInputs: Record<string, unknown>;
    /** For each input property, the URNs of the resources its value came from. */
    dependencies: Record<string, string[]>;
    /** URNs of every resource this one waits for (explicit `dependsOn` included). */
    dependsOn?: string[];
}

export interface MockOptions {
    project?: string;
    stack?: string;
    /**
     * Preview mode, as in `pulumi preview`: outputs the provider would compute (IDs, ARNs, public
     * IPs) stay unknown. `plan` uses this. Tests default to `false`, where every ID is
     * `<name>-id` and outputs echo inputs.
     */
    preview?: boolean;
    /** Config values keyed `project:key`, all strings as Pulumi stores them. */
    config?: Record<string, string>;
    /** Config keys whose values are secret. */
    secretKeys?: string[];
    /** Extra invoke answers, tried before the built-in offline data. */
    call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | undefined;
    /** Extra output state for a resource (e.g. an ARN), merged over its inputs. Tests only. */
    extraState?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;
}

/** Everything the mocks saw. */
export class Recorder {
    readonly resources: RecordedResource[] = [];
    readonly invokes: Array<{ token: string; inputs: unknown }> = [];

    /** Resources of one type token, e.g. `kubernetes:apps/v1:DaemonSet`. */
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource of a type with a name; throws (listing what exists) when absent. */
    get(type: string, name: string): RecordedResource {
        const found = this.resources.find((r) => r.type === type && r.name === name);
        if (!found) {
            const names = this.ofType(type).map((r) => r.name);
            throw new Error(`no ${type} named ${name}; registered: ${names.length ? names.join(", ") : "none"}`);
        }
        return found;
    }

    /** Inputs of a resource as plain JSON ([secret] and [computed] markers). */
    inputs(r: RecordedResource): Record<string, unknown> {
        return plainInputs(r.rawInputs) as Record<string, unknown>;
    }

    /** Inputs with secrets revealed (for tests that check the secret reaches the right place). */
    revealedInputs(r: RecordedResource): Record<string, unknown> {
        return plainInputs(r.rawInputs, { revealSecrets: true }) as Record<string, unknown>;
    }

    byUrn(urn: string): RecordedResource | undefined {
        return this.resources.find((r) => r.urn === urn);
    }
}

/**
 * Installs mocks that record into a fresh {@link Recorder}. Call it before constructing any
 * resource (and, for config, before `new pulumi.Config()` is read).
 */
export function installMocks(options: MockOptions = {}): Recorder {
    const recorder = new Recorder();
    const preview = options.preview ?? false;
    const mocks: pulumi.runtime.Mocks = {
        newResource(args) {
            const extra = options.extraState?.(args) ?? {};
            const id = preview ? undefined : `${args.name}-id`;
            return { id, state: { ...(args.inputs as Record<string, unknown>), ...extra } };
        },
        call(args) {
            recorder.invokes.push({ token: args.token, inputs: args.inputs });
            const custom = options.call?.(args);
            if (custom) return custom;
            const answer = OFFLINE_INVOKES[args.token];
            if (answer) return answer(args.inputs as Record<string, unknown>);
            throw new Error(`directpath plan: no offline answer for data source ${args.token}; add one to plan/offline-data.ts`);
        },
    };
    const monitor = new MockMonitor(mocks);
    const wrap = (original: MockMonitorLike["registerResource"], custom: boolean | undefined, props: (req: RegisterRequest) => unknown) =>
        async (req: RegisterRequest, callback: (err: unknown, res: unknown) => void) => {
            const parent = req.getParent() || undefined;
            const type = req.getType();
            const name = req.getName();
            // Deserialized exactly as the mock monitor does it: secrets stay wrapped, unknowns stay unknown.
            const rawInputs = rpc.deserializeProperties(props(req)) as Record<string, unknown>;
            const dependencies: Record<string, string[]> = {};
            req.getPropertydependenciesMap?.().forEach((v, k) => {
                dependencies[k] = v.getUrnsList();
            });
            const dependsOn = req.getDependenciesList?.() ?? [];
            await original(req, (err, res) => {
                if (!err && res) {
                    const urn = (res as { getUrn?: () => string }).getUrn?.() ?? "";
                    recorder.resources.push({ urn, type, name, parent, custom: custom ?? req.getCustom?.() ?? true, rawInputs, dependencies, dependsOn });
                }
                callback(err, res);
            });
        };
    monitor.registerResource = wrap(monitor.registerResource.bind(monitor), undefined, (req) => req.getObject());
    monitor.readResource = wrap(monitor.readResource.bind(monitor), true, (req) => req.getProperties?.());
    pulumi.runtime.setMockOptions(monitor, options.project ?? "directpath", options.stack ?? "test", preview);
    // setMocks() also flips these feature flags; setMockOptions alone does not.
    enableMockFeatures();
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);
    return recorder;
}

function enableMockFeatures(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> };
    const store = state.getStore();
    store.supportsSecrets = true;
    store.supportsResourceReferences = true;
    store.supportsOutputValues = false;
    store.supportsDeletedWith = true;
    store.supportsAliasSpecs = true;
    store.supportsTransforms = false;
}

/** Waits until every resource registration the program started has reached the mocks. */
export async function settle(): Promise<void> {
    // Registrations chain on outputs of earlier ones; drain until nothing new arrives.
    await settings.waitForRPCs();
    await new Promise((r) => setImmediate(r));
    await settings.waitForRPCs();
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[rpc.specialSigKey] === rpc.specialSecretSig;
}

/** Converts recorded inputs to plain JSON: secrets become "[secret]", unknowns "[computed]". */
export function plainInputs(value: unknown, opts: { revealSecrets?: boolean } = {}): unknown {
    if (pulumi.isUnknown(value)) return COMPUTED;
    if (isSecretWrapper(value)) return opts.revealSecrets ? plainInputs(value.value, opts) : SECRET;
    if (Array.isArray(value)) return value.map((v) => plainInputs(v, opts));
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return "[asset]";
    if (pulumi.Resource.isInstance(value)) return "[resource]";
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = plainInputs(v, opts);
        return out;
    }
    return value;
}

/**
 * The value a manifest carries where the real value is secret: obvious, greppable, never a real
 * value. (A Secret's `data` holds its base64 form, see {@link manifestView}.)
 */
export const SECRET_PLACEHOLDER = "REPLACE-ME-secret-value-not-written-by-plan";

/** A Kubernetes object as a manifest shows it, with where its secret and computed values sit. */
export interface ManifestView {
    /** The object; secret leaves hold {@link SECRET_PLACEHOLDER}, computed ones "[computed]". */
    object: Record<string, unknown>;
    /** Field paths (`stringData.TS_AUTHKEY`) whose value is secret. */
    secretPaths: string[];
    /** Field paths whose value is only known after deployment. */
    computedPaths: string[];
}

/**
 * Converts recorded inputs of a Kubernetes object into a manifest that keeps the object's shape:
 * a secret value (even a whole secret map, as `Secret.stringData` is) keeps its keys, and each of
 * its leaves becomes {@link SECRET_PLACEHOLDER} (base64-encoded under a Secret's `data`, which
 * must be base64). The real secret is never read into the result.
 */
export function manifestView(rawInputs: Record<string, unknown>): ManifestView {
    const secretPaths: string[] = [];
    const computedPaths: string[] = [];
    const isSecretKind = rawInputs.kind === "Secret";
    const placeholder = (path: string) =>
        isSecretKind && (path.startsWith("data.") || path.startsWith("data[")) ? Buffer.from(SECRET_PLACEHOLDER).toString("base64") : SECRET_PLACEHOLDER;
    const walk = (value: unknown, path: string, secret: boolean): unknown => {
        if (pulumi.isUnknown(value)) {
            computedPaths.push(path);
            return COMPUTED;
        }
        if (isSecretWrapper(value)) return walk(value.value, path, true);
        if (Array.isArray(value)) return value.map((v, i) => walk(v, indexPath(path, i), secret));
        if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return "[asset]";
        if (pulumi.Resource.isInstance(value)) return "[resource]";
        if (value && typeof value === "object") {
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(value)) out[k] = walk(v, keyPath(path, k), secret);
            return out;
        }
        if (secret && value !== undefined && value !== null) {
            secretPaths.push(path);
            return placeholder(path);
        }
        return value;
    };
    const object = walk(rawInputs, "", false) as Record<string, unknown>;
    return { object, secretPaths, computedPaths };
}

/**
 * Resolves a value that may hold Outputs, Promises and Resources into plain JSON: secret Outputs
 * become "[secret]" (unless revealed), unknown Outputs "[computed]", resources their URN.
 */
export async function plainValue(value: unknown, opts: { revealSecrets?: boolean } = {}): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const o = value as pulumi.Output<unknown> & { isKnown: Promise<boolean>; isSecret: Promise<boolean>; promise(withUnknowns?: boolean): Promise<unknown> };
        const [known, secret] = await Promise.all([o.isKnown, o.isSecret]);
        if (secret && !opts.revealSecrets) return SECRET;
        if (!known) return COMPUTED;
        return plainValue(await o.promise(true), opts);
    }
    if (pulumi.isUnknown(value)) return COMPUTED;
    if (value instanceof Promise) return plainValue(await value, opts);
    if (pulumi.Resource.isInstance(value)) return plainValue((value as pulumi.Resource).urn, opts);
    if (Array.isArray(value)) return Promise.all(value.map((v) => plainValue(v, opts)));
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = await plainValue(v, opts);
        return out;
    }
    return value;
}
