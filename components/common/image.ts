/**
 * Container image references, as every image key of directpath takes them: `repo:tag`,
 * `repo@sha256:<digest>` and `repo:tag@sha256:<digest>` (the digest is what the runtime pulls;
 * the tag then only documents it). Pure.
 */
import { z } from "zod";

/** Tags that move over time: refused unless a digest pins the image. */
export const FLOATING_TAGS = ["latest", "stable", "unstable"] as const;

const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** The digest forms containerd accepts: sha256 (64 hex) and sha512 (128 hex), lowercase. */
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface ImageReference {
    repository: string;
    tag?: string;
    digest?: string;
}

/** True for `sha256:<64 lowercase hex>` (or sha512). */
export function isImageDigest(text: string): boolean {
    return DIGEST.test(text);
}

/** True for a repository without tag or digest (`tailscale/tailscale`, `registry:5000/x/y`). */
export function isImageRepository(text: string): boolean {
    if (text.length === 0 || text.length > 255) return false;
    const parts = text.split("/");
    // The first part is a registry host when it looks like one (a '.', a ':port', or localhost), as the runtime reads it.
    const first = parts[0]!;
    const host = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
    if (host && !DOMAIN.test(first)) return false;
    const path = host ? parts.slice(1) : parts;
    return path.length > 0 && path.every((p) => PATH_COMPONENT.test(p));
}

/** Splits `repo[:tag][@digest]`; undefined when any part is malformed. */
export function parseImageReference(text: string): ImageReference | undefined {
    if (typeof text !== "string" || /\s/.test(text)) return undefined;
    const at = text.indexOf("@");
    const digest = at === -1 ? undefined : text.slice(at + 1);
    const named = at === -1 ? text : text.slice(0, at);
    if (digest !== undefined && !isImageDigest(digest)) return undefined;
    // A ':' after the last '/' starts the tag (a ':' before it is a registry port).
    const colon = named.lastIndexOf(":");
    const hasTag = colon > named.lastIndexOf("/");
    const repository = hasTag ? named.slice(0, colon) : named;
    const tag = hasTag ? named.slice(colon + 1) : undefined;
    if (!isImageRepository(repository) || (tag !== undefined && !TAG.test(tag))) return undefined;
    return { repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** What is wrong with an image reference, or undefined when it is pinned: a tag that doesn't float, or a digest. */
export function imageReferenceProblem(text: string): string | undefined {
    const ref = parseImageReference(text);
    if (!ref) {
        return "must be an image reference: repo:tag, repo@sha256:<64 hex> or repo:tag@sha256:<64 hex> (e.g. busybox:1.37.0; the repository lowercase, an optional registry host first)";
    }
    if (ref.digest !== undefined) return undefined;
    if (ref.tag === undefined) return "must name a tag or a digest (repo:tag or repo@sha256:...): without one the runtime pulls 'latest', which changes behind your back on every node";
    if ((FLOATING_TAGS as readonly string[]).includes(ref.tag.toLowerCase())) {
        return `must be pinned: '${ref.tag}' is a floating tag (${FLOATING_TAGS.join(", ")}) that changes behind your back; use a release tag, or add a digest (repo:tag@sha256:...)`;
    }
    return undefined;
}

/** A whole image reference as one string, pinned by tag or digest. */
export const imageReferenceSchema = z
    .string({ error: "must be an image reference as a string, e.g. \"busybox:1.37.0\"" })
    .superRefine((v, ctx) => {
        const problem = imageReferenceProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** Renders `repo[:tag][@digest]`. */
export function formatImageReference(ref: ImageReference): string {
    return `${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}
