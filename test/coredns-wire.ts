/**
 * Just enough DNS wire format for the CoreDNS tests: encode a query, decode a response, and a stub
 * upstream server on loopback (node's dgram, no dependency). Test helper, not a test.
 */
import * as dgram from "node:dgram";

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28 } as const;

export interface DnsRecord {
    name: string;
    type: number;
    ttl: number;
    /** A/AAAA: the address; others: hex of the rdata. */
    data: string;
}

export interface DnsResponse {
    id: number;
    rcode: number;
    answers: DnsRecord[];
}

function encodeName(name: string): Buffer {
    const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
    return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "ascii")])), Buffer.from([0])]);
}

export function encodeQuery(id: number, name: string, type: number): Buffer {
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x0100, 2); // RD
    header.writeUInt16BE(1, 4);
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(type, 0);
    tail.writeUInt16BE(1, 2); // IN
    return Buffer.concat([header, encodeName(name), tail]);
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
    const labels: string[] = [];
    let pos = offset;
    let next = -1;
    for (let guard = 0; guard < 128; guard++) {
        const len = buf[pos]!;
        if (len === 0) {
            pos += 1;
            break;
        }
        if ((len & 0xc0) === 0xc0) {
            if (next < 0) next = pos + 2;
            pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
            continue;
        }
        labels.push(buf.toString("ascii", pos + 1, pos + 1 + len));
        pos += 1 + len;
    }
    return { name: labels.join(".").toLowerCase(), next: next < 0 ? pos : next };
}

function ipText(rdata: Buffer): string {
    if (rdata.length === 4) return [...rdata].join(".");
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
    return groups.join(":");
}

export function decodeResponse(buf: Buffer): DnsResponse {
    const id = buf.readUInt16BE(0);
    const rcode = buf.readUInt16BE(2) & 0x0f;
    const qd = buf.readUInt16BE(4);
    const an = buf.readUInt16BE(6);
    let pos = 12;
    for (let i = 0; i < qd; i++) pos = readName(buf, pos).next + 4;
    const answers: DnsRecord[] = [];
    for (let i = 0; i < an; i++) {
        const { name, next } = readName(buf, pos);
        const type = buf.readUInt16BE(next);
        const ttl = buf.readUInt32BE(next + 4);
        const len = buf.readUInt16BE(next + 8);
        const rdata = buf.subarray(next + 10, next + 10 + len);
        answers.push({ name, type, ttl, data: type === TYPE.A || type === TYPE.AAAA ? ipText(rdata) : rdata.toString("hex") });
        pos = next + 10 + len;
    }
    return { id, rcode, answers };
}

/** Parses the question of a query: name and type. */
export function decodeQuestion(buf: Buffer): { id: number; name: string; type: number; questionEnd: number } {
    const { name, next } = readName(buf, 12);
    return { id: buf.readUInt16BE(0), name, type: buf.readUInt16BE(next), questionEnd: next + 4 };
}

/** Sends one UDP query and waits for the answer, at most `timeoutMs`. */
export function query(server: { address: string; port: number }, name: string, type: number, timeoutMs = 2000): Promise<DnsResponse> {
    return new Promise((resolve, reject) => {
        const sock = dgram.createSocket("udp4");
        const id = Math.floor(Math.random() * 0xffff);
        const timer = setTimeout(() => {
            sock.close();
            reject(new Error(`no DNS answer for ${name} from ${server.address}:${server.port} within ${timeoutMs} ms`));
        }, timeoutMs);
        sock.on("message", (msg) => {
            const res = decodeResponse(msg);
            if (res.id !== id) return;
            clearTimeout(timer);
            sock.close();
            resolve(res);
        });
        sock.send(encodeQuery(id, name, type), server.port, server.address);
    });
}

export interface StubUpstream {
    address: string;
    port: number;
    /** Every question it was asked, as `name/type`. */
    asked: string[];
    close(): Promise<void>;
}

/**
 * A stub upstream resolver: answers every A question with `answerA`, everything else with NOERROR
 * and no records, and records what it was asked.
 */
export function startStubUpstream(address: string, answerA: string): Promise<StubUpstream> {
    return new Promise((resolve, reject) => {
        const sock = dgram.createSocket("udp4");
        const asked: string[] = [];
        sock.on("message", (msg, rinfo) => {
            let q: ReturnType<typeof decodeQuestion>;
            try {
                q = decodeQuestion(msg);
            } catch {
                return;
            }
            asked.push(`${q.name}/${q.type}`);
            const header = Buffer.alloc(12);
            header.writeUInt16BE(q.id, 0);
            header.writeUInt16BE(0x8180, 2); // QR, RD, RA, NOERROR
            header.writeUInt16BE(1, 4);
            const question = msg.subarray(12, q.questionEnd);
            let answer = Buffer.alloc(0);
            if (q.type === TYPE.A) {
                header.writeUInt16BE(1, 6);
                const rr = Buffer.alloc(16);
                rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
                rr.writeUInt16BE(TYPE.A, 2);
                rr.writeUInt16BE(1, 4);
                rr.writeUInt32BE(60, 6);
                rr.writeUInt16BE(4, 10);
                answerA.split(".").forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
                answer = rr;
            }
            sock.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
        });
        sock.once("error", reject);
        sock.bind(0, address, () => {
            const port = sock.address().port;
            resolve({ address, port, asked, close: () => new Promise((r) => sock.close(() => r())) });
        });
    });
}
