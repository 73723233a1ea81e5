/**
 * The direct-connection lab's underlay probe, run inside a namespace with
 * `ip netns exec <ns> node --import tsx lab/tailscale/udp-probe.ts <command> ...`:
 *
 *   echo <ip> <port>                          UDP echo server; prints "listening" once bound
 *   probe <ip> <port> <count> <timeoutMs>     sends <count> probes one after another; prints one
 *                                             JSON line {sent, rttsMs} (a lost probe is left out)
 *
 * The lab measures the plain network round trip between two sites with it (before the site
 * firewalls go up), to compare Tailscale's RTT against.
 */
import * as dgram from "node:dgram";

function echo(ip: string, port: number): void {
    const sock = dgram.createSocket("udp4");
    sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.bind(port, ip, () => console.log("listening"));
}

async function probe(ip: string, port: number, count: number, timeoutMs: number): Promise<void> {
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((res) => sock.bind(0, () => res()));
    const rtts: number[] = [];
    for (let i = 0; i < count; i++) {
        const id = Buffer.from(`dpt-probe-${i}-${process.pid}`);
        const started = process.hrtime.bigint();
        const got = await new Promise<boolean>((res) => {
            const timer = setTimeout(() => {
                sock.off("message", onMessage);
                res(false);
            }, timeoutMs);
            const onMessage = (msg: Buffer) => {
                if (!msg.equals(id)) return;
                clearTimeout(timer);
                sock.off("message", onMessage);
                res(true);
            };
            sock.on("message", onMessage);
            sock.send(id, port, ip);
        });
        if (got) rtts.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    sock.close();
    console.log(JSON.stringify({ sent: count, rttsMs: rtts }));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "echo" && args.length === 2) echo(args[0]!, Number(args[1]));
else if (cmd === "probe" && args.length === 4) void probe(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
else {
    console.error("usage: udp-probe.ts echo <ip> <port> | probe <ip> <port> <count> <timeoutMs>");
    process.exit(2);
}
