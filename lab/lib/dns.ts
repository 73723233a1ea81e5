/**
 * A minimal DNS wire-format codec (RFC 1035): enough for the lab's stub upstream server and its
 * query client, and for the unit tests that query a real CoreDNS (test/coredns-wire.ts):
 * A/AAAA/TXT questions, A answers, name compression on decode. Pure functions.
 */

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface Question {
    name: string;
    type: number;
    klass: number;
}

export interface Answer {
    name: string;
    type: number;
    ttl: number;
    /** Dotted IPv4 for A, IPv6 text for AAAA, the target name for CNAME; hex for anything else. */
    data: string;
}

export interface Message {
    id: number;
    flags: number;
    rcode: number;
    questions: Question[];
    answers: Answer[];
}

function encodeName(name: string): Buffer {
    const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
    const parts: Buffer[] = [];
    for (const label of labels) {
        const b = Buffer.from(label, "ascii");
        if (b.length > 63) throw new Error(`DNS label too long: ${label}`);
        parts.push(Buffer.from([b.length]), b);
    }
    parts.push(Buffer.from([0]));
    return Buffer.concat(parts);
}

function header(id: number, flags: number, qd: number, an: number): Buffer {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(id, 0);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(qd, 4);
    h.writeUInt16BE(an, 6);
    return h;
}

/** A recursive query for one name. */
export function encodeQuery(id: number, name: string, type: number = TYPE.A): Buffer {
    const q = Buffer.alloc(4);
    q.writeUInt16BE(type, 0);
    q.writeUInt16BE(1, 2);
    return Buffer.concat([header(id, 0x0100, 1, 0), encodeName(name), q]);
}

/** A response to `query` with the given IPv4 A answers (for the first question) and rcode. */
export function encodeResponse(query: Message, addresses: readonly string[], rcode: number = RCODE.NOERROR, ttl = 30): Buffer {
    const q = query.questions[0];
    if (!q) return header(query.id, 0x8000 | 0x0080 | RCODE.FORMERR, 0, 0);
    const rd = query.flags & 0x0100;
    const flags = 0x8000 | 0x0400 | rd | 0x0080 | (rcode & 0xf); // QR, AA, RD (echo), RA
    const qtail = Buffer.alloc(4);
    qtail.writeUInt16BE(q.type, 0);
    qtail.writeUInt16BE(q.klass, 2);
    const answers = addresses.map((addr) => {
        const rr = Buffer.alloc(2 + 10 + 4);
        rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
        rr.writeUInt16BE(TYPE.A, 2);
        rr.writeUInt16BE(1, 4);
        rr.writeUInt32BE(ttl, 6);
        rr.writeUInt16BE(4, 10);
        addr.split(".").forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
        return rr;
    });
    return Buffer.concat([header(query.id, flags, 1, answers.length), encodeName(q.name), qtail, ...answers]);
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
    const labels: string[] = [];
    let pos = offset;
    let next = -1;
    for (let hops = 0; hops < 64; hops++) {
        if (pos >= buf.length) throw new Error("DNS name runs past the message");
        const len = buf.readUInt8(pos);
        if (len === 0) {
            if (next < 0) next = pos + 1;
            return { name: labels.join("."), next };
        }
        if ((len & 0xc0) === 0xc0) {
            if (next < 0) next = pos + 2;
            pos = buf.readUInt16BE(pos) & 0x3fff;
            continue;
        }
        labels.push(buf.toString("ascii", pos + 1, pos + 1 + len));
        pos += 1 + len;
    }
    throw new Error("DNS name compression loop");
}

function ipv6Text(rdata: Buffer): string {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
    return groups.join(":");
}

/** Decodes a query or response (questions and answer records). */
export function decodeMessage(buf: Buffer): Message {
    if (buf.length < 12) throw new Error(`DNS message too short (${buf.length} bytes)`);
    const id = buf.readUInt16BE(0);
    const flags = buf.readUInt16BE(2);
    const qd = buf.readUInt16BE(4);
    const an = buf.readUInt16BE(6);
    let pos = 12;
    const questions: Question[] = [];
    for (let i = 0; i < qd; i++) {
        const { name, next } = readName(buf, pos);
        questions.push({ name, type: buf.readUInt16BE(next), klass: buf.readUInt16BE(next + 2) });
        pos = next + 4;
    }
    const answers: Answer[] = [];
    for (let i = 0; i < an; i++) {
        const { name, next } = readName(buf, pos);
        const type = buf.readUInt16BE(next);
        const ttl = buf.readUInt32BE(next + 4);
        const len = buf.readUInt16BE(next + 8);
        const rdata = buf.subarray(next + 10, next + 10 + len);
        const data = type === TYPE.A && len === 4 ? [...rdata].join(".")
            : type === TYPE.AAAA && len === 16 ? ipv6Text(rdata)
            : type === TYPE.CNAME ? readName(buf, next + 10).name
            : rdata.toString("hex");
        answers.push({ name, type, ttl, data });
        pos = next + 10 + len;
    }
    return { id, flags, rcode: flags & 0xf, questions, answers };
}

export function rcodeName(rcode: number): string {
    return Object.entries(RCODE).find(([, v]) => v === rcode)?.[0] ?? `RCODE${rcode}`;
}
