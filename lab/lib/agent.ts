/**
 * The lab's in-namespace agent: one small program with subcommands, started inside a network
 * namespace with `ip netns exec <ns> node --import tsx lab/lib/agent.ts <command> ...`.
 *
 *   http-serve <name> <port>...                   HTTP server on every address; answers JSON naming itself
 *   http-get <url> <timeoutMs> [hostHeader]       one GET; prints JSON {ok, status, body | error}
 *   dns-stub <ip> <port> <name=ipv4>...           UDP DNS server: A answers for the names, NXDOMAIN otherwise;
 *                                                 prints one "query <name> <type>" line per question
 *   dns-query <server> <port> <name> <timeoutMs>  one A query over UDP; prints JSON {ok, rcode, answers | error}
 *
 * Every client call has its own timeout and always prints exactly one JSON line and exits 0, so the
 * caller can tell "failed" from "the agent broke".
 */
import * as dgram from "node:dgram";
import * as http from "node:http";
import { decodeMessage, encodeQuery, encodeResponse, RCODE, rcodeName, TYPE } from "./dns";

function httpServe(name: string, ports: number[]): void {
    for (const port of ports) {
        const server = http.createServer((req, res) => {
            const body = JSON.stringify({ server: name, local: `${req.socket.localAddress}:${req.socket.localPort}`, remote: req.socket.remoteAddress, host: req.headers.host ?? "" });
            res.writeHead(200, { "content-type": "application/json", connection: "close" });
            res.end(body);
        });
        server.listen(port, "0.0.0.0", () => console.log(`listening ${port}`));
    }
}

function httpGet(url: string, timeoutMs: number, hostHeader?: string): void {
    const started = Date.now();
    const done = (r: Record<string, unknown>) => {
        console.log(JSON.stringify({ ...r, ms: Date.now() - started }));
        process.exit(0);
    };
    const timer = setTimeout(() => done({ ok: false, error: `timeout after ${timeoutMs} ms` }), timeoutMs);
    const req = http.get(url, { headers: hostHeader ? { host: hostHeader } : {}, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
            clearTimeout(timer);
            done({ ok: res.statusCode === 200, status: res.statusCode, body });
        });
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        done({ ok: false, error: e.code ?? e.message });
    });
}

function dnsStub(ip: string, port: number, entries: string[]): void {
    const table = new Map(entries.map((e) => {
        const [name, addr] = e.split("=");
        return [name!.toLowerCase().replace(/\.$/, ""), addr!] as const;
    }));
    const sock = dgram.createSocket("udp4");
    sock.on("message", (msg, rinfo) => {
        try {
            const q = decodeMessage(msg);
            const question = q.questions[0];
            const name = (question?.name ?? "").toLowerCase();
            console.log(`query ${name} ${question?.type ?? "?"}`);
            const addr = table.get(name);
            const reply = addr === undefined ? encodeResponse(q, [], RCODE.NXDOMAIN)
                : question?.type === TYPE.A ? encodeResponse(q, [addr]) : encodeResponse(q, []);
            sock.send(reply, rinfo.port, rinfo.address);
        } catch (e) {
            console.log(`bad query from ${rinfo.address}: ${String(e)}`);
        }
    });
    sock.bind(port, ip, () => console.log(`listening ${ip}:${port}`));
}

function dnsQuery(server: string, port: number, name: string, timeoutMs: number): void {
    const sock = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 0xffff);
    const done = (r: Record<string, unknown>) => {
        console.log(JSON.stringify(r));
        process.exit(0);
    };
    const timer = setTimeout(() => done({ ok: false, error: `timeout after ${timeoutMs} ms` }), timeoutMs);
    sock.on("message", (msg) => {
        const m = decodeMessage(msg);
        if (m.id !== id) return;
        clearTimeout(timer);
        done({ ok: true, rcode: rcodeName(m.rcode), answers: m.answers.filter((a) => a.type === TYPE.A).map((a) => a.data) });
    });
    sock.on("error", (e) => done({ ok: false, error: e.message }));
    sock.send(encodeQuery(id, name, TYPE.A), port, server);
}

function main(argv: string[]): void {
    const [cmd, ...rest] = argv;
    switch (cmd) {
        case "http-serve":
            return httpServe(rest[0]!, rest.slice(1).map(Number));
        case "http-get":
            return httpGet(rest[0]!, Number(rest[1] ?? 3000), rest[2]);
        case "dns-stub":
            return dnsStub(rest[0]!, Number(rest[1]), rest.slice(2));
        case "dns-query":
            return dnsQuery(rest[0]!, Number(rest[1]), rest[2]!, Number(rest[3] ?? 3000));
        default:
            console.error(`unknown agent command ${String(cmd)}`);
            process.exit(2);
    }
}

main(process.argv.slice(2));
