/**
 * The embedded DNS server of a user-defined network: it listens (UDP and TCP)
 * on the network's gateway address, answers A queries for the names of the
 * containers on that network (name, aliases, short ID, and the asker's own
 * link aliases) from a lookup the engine supplies, and relays every other
 * query to the resolvers the asking container was given (--dns), or else the
 * host's. Containers on the network get it as their
 * nameserver.
 *
 * Every network's server listens on the host, so any container can send to
 * any gateway. A server answers only askers inside its own network's subnet
 * and ignores the rest, as if no resolver were there: a container on network
 * A learns nothing of network B's names through B's gateway, and nothing off
 * the network gets a relay to the host's resolvers. (A forged source address
 * gains nothing: the answer goes to that address, on B.)
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { log } from '../core/log.js';
import { contains, parseIp, subnetOf, type Subnet } from './ipnet.js';

/** Addresses for `name` as the container at `from` (its address on the network) sees them. */
export type Lookup = (name: string, from: string) => string[] | undefined;

/** The resolvers the container at `from` was given (--dns), if any: its queries for other names go there. */
export type Upstreams = (from: string) => string[] | undefined;

interface Question {
  name: string;
  type: number;
  cls: number;
  end: number;
}

function readName(buf: Buffer, off: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = buf[off];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1]!;
      continue;
    }
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  return { name: labels.join('.'), end };
}

function question(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  if (msg[2]! & 0x80) return undefined; // a response, not a query
  const { name, end } = readName(msg, 12);
  if (end + 4 > msg.length) return undefined;
  return { name: name.toLowerCase(), type: msg.readUInt16BE(end), cls: msg.readUInt16BE(end + 2), end: end + 4 };
}

/** An authoritative answer for a name we own: A records, or none (NOERROR) for other types. */
function answer(msg: Buffer, q: Question, ips: string[]): Buffer {
  const head = Buffer.from(msg.subarray(0, q.end));
  const rd = msg[2]! & 0x01;
  head[2] = 0x84 | rd; // QR, AA, RD echoed
  head[3] = 0x80; // RA, NOERROR
  const records = q.type === 1 || q.type === 255 ? ips : [];
  head.writeUInt16BE(records.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const rrs = records.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question
    rr.writeUInt16BE(1, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(600, 6);
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((p, i) => {
      rr[12 + i] = Number(p);
    });
    return rr;
  });
  return Buffer.concat([head, ...rrs]);
}

function servfail(msg: Buffer): Buffer {
  const out = Buffer.from(msg.subarray(0, Math.min(msg.length, 512)));
  if (out.length >= 4) {
    out[2] = 0x80 | (msg[2]! & 0x01);
    out[3] = 0x82;
  }
  return out;
}

/** The host's resolvers (loopback ones included: berthd runs on the host). */
function upstreams(): string[] {
  try {
    const s = readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
      .filter((x): x is string => !!x && !x.includes(':'));
    return s.length ? s : ['8.8.8.8'];
  } catch {
    return ['8.8.8.8'];
  }
}

function forward(msg: Buffer, servers: string[], i = 0): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = servers[i];
    if (!server) return resolve(servfail(msg));
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      void forward(msg, servers, i + 1).then(resolve);
    }, 3000);
    s.on('message', (reply) => {
      clearTimeout(t);
      s.close();
      resolve(reply);
    });
    s.on('error', () => {
      clearTimeout(t);
      s.close();
      void forward(msg, servers, i + 1).then(resolve);
    });
    s.send(msg, 53, server);
  });
}

async function respond(msg: Buffer, lookup: Lookup, from: string, own?: Upstreams): Promise<Buffer> {
  let q: Question | undefined;
  try {
    q = question(msg);
  } catch {
    q = undefined;
  }
  if (q && q.cls === 1) {
    const ips = lookup(q.name.replace(/\.$/, ''), from);
    if (ips?.length) return answer(msg, q, ips);
  }
  const given = own?.(from)?.filter((x) => !x.includes(':'));
  return forward(msg, given?.length ? given : upstreams());
}

export class DnsServer {
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly subnet: Subnet;

  /** `address`: the gateway to listen on; `subnet`: the network's, the only askers answered. */
  constructor(
    readonly address: string,
    subnet: string,
    private readonly lookup: Lookup,
    private readonly port = 53,
    private readonly upstreamsOf?: Upstreams,
  ) {
    this.subnet = subnetOf(subnet);
  }

  /** Whether `from` (an asker's address) is on this server's network. */
  accepts(from: string): boolean {
    const ip = parseIp(from.replace(/^::ffff:/, ''));
    return ip !== undefined && contains(this.subnet, ip);
  }

  async start(): Promise<void> {
    const udp = createSocket({ type: 'udp4' });
    udp.on('message', (msg, rinfo) => {
      if (!this.accepts(rinfo.address)) return;
      void respond(msg, this.lookup, rinfo.address, this.upstreamsOf).then(
        (out) => udp.send(out, rinfo.port, rinfo.address),
        () => {},
      );
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.port, this.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (e) => log.warn('embedded DNS (udp) error', { address: this.address, error: e.message }));
    this.udp = udp;
    const tcp = createServer((sock: Socket) => {
      // A reset, as from a port where nothing listens.
      if (!this.accepts(sock.remoteAddress ?? '')) {
        sock.resetAndDestroy();
        return;
      }
      let buf = Buffer.alloc(0);
      sock.on('data', (b: Buffer) => {
        buf = Buffer.concat([buf, b]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          void respond(Buffer.from(msg), this.lookup, sock.remoteAddress?.replace(/^::ffff:/, '') ?? '', this.upstreamsOf).then(
            (out) => {
              const len = Buffer.alloc(2);
              len.writeUInt16BE(out.length);
              sock.write(Buffer.concat([len, out]));
            },
            () => sock.destroy(),
          );
        }
      });
      sock.on('error', () => {});
      sock.setTimeout(10_000, () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, this.address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
    this.udp = undefined;
    this.tcp = undefined;
  }
}
