/**
 * The probes' output format (version 1), parsed. Pure. A probe prints:
 *
 *     DPC-PROBE 1 <probe>
 *     @meta key=value ...
 *     @run <id> <kind> <args...>
 *     | <raw line of the tool's output>
 *     @rc <id> <exit code>
 *     DPC-END <number of @run sections>
 *
 * Anything that does not follow it (a missing header or trailer, a count that disagrees, a section
 * without its `@rc`, a stray line) makes the whole output unusable: {@link parseFrame} returns the
 * reason, and every check of that probe becomes "could not check", never "absent".
 */

export const PROBE_FORMAT_VERSION = 1;

export interface Section {
    id: string;
    kind: string;
    args: string[];
    /** The tool's output lines, without the "| " prefix. */
    lines: string[];
    rc: number;
}

export interface Frame {
    probe: string;
    meta: Record<string, string>;
    sections: Section[];
}

export type FrameResult = { ok: true; frame: Frame } | { ok: false; reason: string };

/** Parses one probe's output; any deviation from the format is a failure with its reason. */
export function parseFrame(text: string): FrameResult {
    const lines = text.replace(/\r\n/g, "\n").split("\n");
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    const bad = (n: number, why: string): FrameResult => ({ ok: false, reason: `line ${n + 1}: ${why}` });
    let i = 0;
    // Container runtimes may print nothing else, but a shell's stderr (set -x, warnings) can precede
    // the header: skip lines before it, never after it.
    while (i < lines.length && !lines[i]!.startsWith("DPC-PROBE ")) i++;
    if (i >= lines.length) return { ok: false, reason: text.trim() === "" ? "empty output (the probe printed nothing)" : "no DPC-PROBE header (not a directpath probe's output)" };
    const header = /^DPC-PROBE (\d+) ([A-Za-z0-9_-]+)$/.exec(lines[i]!);
    if (!header) return bad(i, `malformed header ${JSON.stringify(lines[i])}`);
    if (Number(header[1]) !== PROBE_FORMAT_VERSION) return bad(i, `probe format version ${header[1]}, this check reads version ${PROBE_FORMAT_VERSION}`);
    const frame: Frame = { probe: header[2]!, meta: {}, sections: [] };
    i++;
    let open: Section | undefined;
    for (; i < lines.length; i++) {
        const l = lines[i]!;
        if (l.startsWith("| ") || l === "|") {
            if (!open) return bad(i, "output line outside a @run section");
            open.lines.push(l.slice(2));
        } else if (l.startsWith("@meta")) {
            for (const w of l.slice(5).trim().split(/\s+/).filter(Boolean)) {
                const eq = w.indexOf("=");
                if (eq <= 0) return bad(i, `meta word ${JSON.stringify(w)} is not key=value`);
                frame.meta[w.slice(0, eq)] = w.slice(eq + 1);
            }
        } else if (l.startsWith("@run ")) {
            if (open) return bad(i, `section ${open.id} has no @rc line`);
            const [id, kind, ...args] = l.slice(5).trim().split(/\s+/);
            if (!id || !kind) return bad(i, `malformed @run line ${JSON.stringify(l)}`);
            open = { id, kind, args, lines: [], rc: NaN };
        } else if (l.startsWith("@rc ")) {
            const m = /^@rc (\S+) (\d+)$/.exec(l);
            if (!m || !open || m[1] !== open.id) return bad(i, `@rc line ${JSON.stringify(l)} does not close the open section${open ? ` ${open.id}` : ""}`);
            open.rc = Number(m[2]);
            frame.sections.push(open);
            open = undefined;
        } else if (l.startsWith("DPC-END")) {
            const m = /^DPC-END (\d+)$/.exec(l);
            if (!m) return bad(i, `malformed trailer ${JSON.stringify(l)}`);
            if (open) return bad(i, `section ${open.id} has no @rc line`);
            if (Number(m[1]) !== frame.sections.length) return bad(i, `trailer counts ${m[1]} sections, the output has ${frame.sections.length}`);
            if (i !== lines.length - 1) return bad(i + 1, "output after the DPC-END trailer");
            return { ok: true, frame };
        } else {
            return bad(i, `unexpected line ${JSON.stringify(l.slice(0, 120))}`);
        }
    }
    return { ok: false, reason: open ? `truncated: section ${open.id} (${open.kind} ${open.args.join(" ")}) never finished, no DPC-END trailer` : "truncated: no DPC-END trailer" };
}
