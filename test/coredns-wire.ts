/**
 * The CoreDNS tests' DNS client and stub upstream server on loopback (node's dgram, no dependency),
 * over the lab's wire codec (lab/lib/dns.ts). Test helper, not a test.
 */
import * as dgram from "node:dgram";
import { decodeMessage, encodeQuery, encodeResponse, RCODE, TYPE, type Answer, type Message } from "../lab/lib/dns";

export { TYPE };

export interface DnsResponse {
    id: number;
    rcode: number;
    answers: Answer[];
}

/** A response's id, rcode and answer records (names lowercased, as DNS compares them). */
export function decodeResponse(buf: Buffer): DnsResponse {
    const m = decodeMessage(buf);
    return { id: m.id, rcode: m.rcode, answers: m.answers.map((a) => ({ ...a, name: a.name.toLowerCase() })) };
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
            let q: Message;
            try {
                q = decodeMessage(msg);
            } catch {
                return;
            }
            const question = q.questions[0];
            if (!question) return;
            asked.push(`${question.name.toLowerCase()}/${question.type}`);
            const answers = question.type === TYPE.A ? [answerA] : [];
            sock.send(encodeResponse(q, answers, RCODE.NOERROR, 60), rinfo.port, rinfo.address);
        });
        sock.once("error", reject);
        sock.bind(0, address, () => {
            const port = sock.address().port;
            resolve({ address, port, asked, close: () => new Promise((r) => sock.close(() => r())) });
        });
    });
}
