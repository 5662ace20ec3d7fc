/**
 * The embedded DNS of user-defined networks: one server per network on its
 * gateway address, answering with the names (container name, short ID,
 * network aliases, link aliases) that Docker's per-container resolver gives,
 * and what a container's resolv.conf points at.
 */
import { messageOf } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { DnsServer } from '../../network/dns.js';
import type { ContainerService } from '../containers/service.js';
import type { NetAttachment } from '../containers/networking.js';
import { gateway4 } from './ipam.js';
import type { NetworkRecord, RuntimeState } from './types.js';

/** What the embedded DNS needs of the network service: the networks, the running containers' endpoints, the servers. */
export interface DnsHost {
  readonly containers: Pick<ContainerService, 'tryGet'>;
  readonly nets: ReadonlyMap<string, NetworkRecord>;
  readonly state: ReadonlyMap<string, RuntimeState>;
  readonly dns: Map<string, DnsServer>;
}

/** The embedded DNS when any network is user-defined, as Docker does; the host's resolvers otherwise. */
export function dnsFor(st: RuntimeState | undefined): Pick<NetAttachment, 'nameservers' | 'dnsOptions'> {
  const user = st?.Endpoints.find((e) => e.NetworkName !== 'bridge');
  return user ? { nameservers: [user.Gateway], dnsOptions: ['ndots:0'] } : {};
}

/** Start the DNS server of a user-defined network once its bridge has the gateway address. */
export async function ensureDns(svc: DnsHost, netId: string): Promise<void> {
  const n = svc.nets.get(netId);
  if (!n || n.Name === 'bridge' || n.Driver !== 'bridge' || svc.dns.has(netId)) return;
  const gw = gateway4(n);
  const server = new DnsServer(
    gw,
    n.IPAM.Config[0]!.Subnet!,
    (name, from) => resolveName(svc, netId, name, from),
    53,
    (from) => dnsServersOf(svc, netId, from),
  );
  try {
    await server.start();
    svc.dns.set(netId, server);
  } catch (e) {
    server.close();
    log.warn('embedded DNS could not start', { network: n.Name, address: gw, error: messageOf(e) });
  }
}

/**
 * Names as the container asking from `from` (its address on network
 * `netId`) sees them, as Docker's per-container resolver does: container
 * name, network aliases and short ID of the containers running on this
 * network, then on each other network the asker is on; and the aliases of
 * the asker's own links on this network (`--link target:alias`). The DNS
 * server turned away every address outside this network already; an
 * address that is no container here (the host) sees this network only.
 */
export function resolveName(svc: DnsHost, netId: string, name: string, from?: string): string[] | undefined {
  let q = name.toLowerCase();
  let nets = [netId];
  for (const [id, st] of from ? svc.state : []) {
    const ep = st.Endpoints.find((e) => e.NetworkID === netId && e.IPAddress === from);
    if (!ep) continue;
    const link = (svc.containers.tryGet(id)?.rec.Networks?.[ep.NetworkName]?.Links ?? [])
      .map((l) => l.split(':'))
      .find(([, alias]) => alias?.toLowerCase() === q);
    if (link) q = link[0]!.replace(/^\//, '').toLowerCase();
    nets = [netId, ...st.Endpoints.map((e) => e.NetworkID).filter((n) => n !== netId)];
    break;
  }
  for (const n of nets) {
    const out = namesOn(svc, n, q);
    if (out.length) return out;
  }
  return undefined;
}

/** The --dns servers of the container at address `from` on network `netId`. */
function dnsServersOf(svc: DnsHost, netId: string, from: string): string[] | undefined {
  for (const [id, st] of svc.state) {
    if (st.Endpoints.some((e) => e.NetworkID === netId && e.IPAddress === from)) return svc.containers.tryGet(id)?.rec.HostConfig.Dns ?? undefined;
  }
  return undefined;
}

/** Addresses on network `netId` of the running containers called `q` there. */
function namesOn(svc: DnsHost, netId: string, q: string): string[] {
  const out: string[] = [];
  for (const [id, st] of svc.state) {
    const ep = st.Endpoints.find((e) => e.NetworkID === netId);
    if (!ep?.IPAddress) continue;
    const c = svc.containers.tryGet(id);
    if (!c) continue;
    const names = [c.rec.Name.slice(1), id.slice(0, 12), ...(c.rec.Networks?.[ep.NetworkName]?.Aliases ?? [])];
    if (names.some((x) => x.toLowerCase() === q)) out.push(ep.IPAddress);
  }
  return out;
}
