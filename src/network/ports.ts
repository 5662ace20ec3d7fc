/**
 * Published ports. The forwarding itself is the CNI portmap plugin's
 * (iptables DNAT, in the kernel, so it keeps working while berthd is down);
 * this module reserves each host port by holding a socket bound to it, as
 * dockerd does, so a port in use by anything else — another container or a
 * host process — is refused up front with Docker's message, and a random
 * host port (`-p 80`) is one the kernel says is free.
 *
 * A binding without a host address (`-p 80`, `-p 8080:80`) is published on
 * [::] as well as 0.0.0.0, as dockerd does. A v4 container behind a v6
 * address cannot be reached by DNAT, so the [::] socket relays TCP
 * connections to the container itself, as docker-proxy does (while berthd
 * runs; TCP only). Where the host has no IPv6, the [::] side is left out.
 */
import { connect, createServer, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { BerthError } from '../core/errors.js';
import { rootless } from '../core/rootless.js';
import { RootlessKitPorts } from './rootlesskit.js';

export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface Reservation {
  binding: PortBinding;
  /** The host side of a rootless binding (rootlesskit's listener): not a binding of its own. */
  host?: boolean;
  close(): void;
  /** Where a [::] binding relays its connections (the container's address); a no-op for the others. */
  relayTo(address: string): void;
}

/** The [::] twin of an unaddressed binding. */
export const V6_ANY = '::';

function listenTcp(ip: string, port: number, containerPort: number): Promise<{ port: number; close(): void; relayTo(address: string): void }> {
  return new Promise((resolve, reject) => {
    const s: Server = createServer();
    let target: string | undefined;
    const v6 = ip.includes(':');
    s.once('error', reject);
    s.listen({ host: ip, port, exclusive: true, backlog: v6 ? 511 : 1, ipv6Only: v6 }, () => {
      const addr = s.address();
      s.on('connection', (c) => {
        // On 0.0.0.0 nothing should ever reach it (DNAT comes first): refuse it. On [::] relay it.
        if (!v6 || !target) {
          c.destroy();
          return;
        }
        const up = connect({ host: target, port: containerPort });
        c.pipe(up).pipe(c);
        c.on('error', () => up.destroy());
        up.on('error', () => c.destroy());
        c.on('close', () => up.destroy());
        up.on('close', () => c.destroy());
      });
      s.unref();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () => s.close(),
        relayTo: (a) => {
          target = a;
        },
      });
    });
  });
}

function bindUdp(ip: string, port: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const s: UdpSocket = createSocket(ip.includes(':') ? { type: 'udp6', reuseAddr: false, ipv6Only: true } : { type: 'udp4', reuseAddr: false });
    s.once('error', reject);
    s.bind({ address: ip, port, exclusive: true }, () => {
      s.unref();
      resolve({ port: s.address().port, close: () => s.close() });
    });
  });
}

async function reserveOne(ip: string, b: PortBinding, port: number): Promise<Reservation> {
  let r: { port: number; close(): void; relayTo?(address: string): void };
  if (b.protocol === 'udp') r = await bindUdp(ip, port);
  else {
    const t = await listenTcp(ip, port, b.containerPort);
    r = { port: t.port, close: t.close, relayTo: (a) => t.relayTo(a) };
  }
  return { binding: { ...b, hostIp: ip, hostPort: r.port }, close: r.close, relayTo: (a) => r.relayTo?.(a) };
}

/**
 * A binding made reachable from the host through rootlesskit: an extra
 * reservation whose close() removes the host-side listener. Inside the
 * namespace the builtin driver dials the loopback on the same port, which the
 * portmap rules send on to the container (127.0.0.1 as well as any address).
 */
async function exposeOnHost(ports: RootlessKitPorts, b: PortBinding): Promise<Reservation> {
  const id = await ports
    .expose({ proto: b.protocol, parentIP: b.hostIp, parentPort: b.hostPort, childIP: '127.0.0.1', childPort: b.hostPort })
    .catch((e: Error) => {
      const shown = b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp;
      if (/address already in use/.test(e.message))
        throw new BerthError(`Bind for ${shown}:${b.hostPort} failed: port is already allocated (on the host: ${e.message})`, 500);
      throw new BerthError(e.message, 500);
    });
  return {
    binding: b,
    host: true,
    close: () => void ports.remove(id).catch(() => {}),
    relayTo: () => {},
  };
}

/**
 * Reserve every binding (port 0 → a free one); all or nothing. A binding
 * with hostIp '' gets 0.0.0.0 and, best effort, [::] on the same port; one
 * already reserved before (hostIp 0.0.0.0 or ::, as a runtime state keeps
 * them) is taken as it is.
 */
export async function reservePorts(bindings: PortBinding[]): Promise<Reservation[]> {
  const held: Reservation[] = [];
  const mode = rootless();
  const ports = mode ? new RootlessKitPorts(mode.stateDir) : undefined;
  try {
    for (const b of bindings) {
      const ip = b.hostIp || '0.0.0.0';
      let r: Reservation;
      try {
        r = await reserveOne(ip, b, b.hostPort);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const shown = ip.includes(':') ? `[${ip}]` : ip;
        if (code === 'EADDRINUSE') throw new BerthError(`Bind for ${shown}:${b.hostPort} failed: port is already allocated`, 500);
        if (code === 'EADDRNOTAVAIL') throw new BerthError(`listen ${b.protocol} ${shown}:${b.hostPort}: bind: cannot assign requested address`, 500);
        throw e;
      }
      held.push(r);
      // Rootless: the port is the namespace's; rootlesskit listens on the host's and forwards in.
      if (ports) held.push(await exposeOnHost(ports, r.binding));
      // TCP only: the [::] side relays connections; a UDP relay Berth does not have, so it claims no [::] for UDP.
      if (!b.hostIp && b.protocol === 'tcp') {
        try {
          held.push(await reserveOne(V6_ANY, b, r.binding.hostPort));
        } catch {
          /* no IPv6 here, or the port is taken on v6 only: v4 it is */
        }
      }
    }
    return held;
  } catch (e) {
    for (const h of held) h.close();
    throw e;
  }
}
