/**
 * Published ports. The forwarding itself is the CNI portmap plugin's
 * (iptables DNAT, in the kernel, so it keeps working while berthd is down);
 * this module reserves each host port by holding a socket bound to it, as
 * dockerd does, so a port in use by anything else — another container or a
 * host process — is refused up front with Docker's message, and a random
 * host port (`-p 80`) is one the kernel says is free.
 */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { BerthError } from '../core/errors.js';

export interface PortBinding { hostIp: string; hostPort: number; containerPort: number; protocol: 'tcp' | 'udp' | 'sctp' }

export interface Reservation { binding: PortBinding; close(): void }

function listenTcp(ip: string, port: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const s: Server = createServer();
    s.once('error', reject);
    s.listen({ host: ip, port, exclusive: true, backlog: 1 }, () => {
      const addr = s.address();
      // Nothing should ever reach it (DNAT comes first); refuse anything that does.
      s.on('connection', (c) => c.destroy());
      s.unref();
      resolve({ port: typeof addr === 'object' && addr ? addr.port : port, close: () => s.close() });
    });
  });
}

function bindUdp(ip: string, port: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const s: UdpSocket = createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', reject);
    s.bind({ address: ip, port, exclusive: true }, () => {
      s.unref();
      resolve({ port: s.address().port, close: () => s.close() });
    });
  });
}

/** Reserve every binding (port 0 → a free one); all or nothing. */
export async function reservePorts(bindings: PortBinding[]): Promise<Reservation[]> {
  const held: Reservation[] = [];
  try {
    for (const b of bindings) {
      const ip = b.hostIp || '0.0.0.0';
      let r: { port: number; close(): void };
      try {
        r = b.protocol === 'udp' ? await bindUdp(ip, b.hostPort) : await listenTcp(ip, b.hostPort);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new BerthError(`Bind for ${ip}:${b.hostPort} failed: port is already allocated`, 500);
        if (code === 'EADDRNOTAVAIL') throw new BerthError(`listen ${b.protocol} ${ip}:${b.hostPort}: bind: cannot assign requested address`, 500);
        throw e;
      }
      held.push({ binding: { ...b, hostIp: ip, hostPort: r.port }, close: r.close });
    }
    return held;
  } catch (e) {
    for (const h of held) h.close();
    throw e;
  }
}
