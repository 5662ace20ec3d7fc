/**
 * A container's network while it runs: attach at start (host ports
 * reserved, namespace made, one CNI ADD per network), and its undoing by
 * detach (remove, failed start) or release (exit). The runtime state under
 * <exec-root>/network/ is written before every step, so a teardown — even
 * after berthd crashed — undoes exactly what was done.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceJson } from '../../core/atomic.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import type { KeyedMutex } from '../../core/mutex.js';
import { log } from '../../core/log.js';
import { bridgeConfList, type BridgeNetParams } from '../../network/bridge.js';
import { addNetworkList, delNetworkList, type CniResult } from '../../network/cni.js';
import { formatSubnet6, parseCidr6 } from '../../network/ipnet6.js';
import { firstHost, formatIp, lastIp, subnetOf } from '../../network/ipnet.js';
import { createNetns, isNetnsMount, removeNetns } from '../../network/netns.js';
import { reservePorts, V6_ANY, type PortBinding, type Reservation } from '../../network/ports.js';
import type { EventBus } from '../events.js';
import type { Container, EndpointConfig } from '../containers/record.js';
import type { ContainerService } from '../containers/service.js';
import type { NetAttachment, PendingAttachment } from '../containers/networking.js';
import { dnsFor, ensureDns, type DnsHost } from './dns.js';
import { endpointsOf, modeNetwork, type EndpointsHost } from './endpoints.js';
import { gateway4, gateway6, v6Config } from './ipam.js';
import { mtuOf } from './records.js';
import type { EndpointState, NetworkRecord, RuntimeState } from './types.js';

/** What attaching and tearing down a container's network needs of the network service. */
export interface AttachHost extends EndpointsHost, DnsHost {
  readonly containers: Pick<ContainerService, 'get' | 'tryGet' | 'list'>;
  readonly events: EventBus;
  readonly locks: KeyedMutex;
  readonly state: Map<string, RuntimeState>;
  readonly reservations: Map<string, Reservation[]>;
  readonly releasing: Map<string, Promise<void>>;
  readonly exitDisconnects: Map<string, Array<{ id: string; name: string; type: string }>>;
  readonly netnsDir: string;
  readonly ipamDir: string;
  statePath(id: string): string;
  /** Every teardown release() left running, finished. */
  released(): Promise<void>;
}

/** Set up a container's network before its process starts: resolves once the namespace exists, `done` once every endpoint is up. */
export async function attachContainer(svc: AttachHost, c: Container): Promise<PendingAttachment> {
  const ready = (a: NetAttachment): PendingAttachment => ({ namespace: a.namespace, done: Promise.resolve(a) });
  const mode = c.rec.HostConfig.NetworkMode || 'default';
  if (mode === 'host') return ready({ namespace: 'host', addresses: [] });
  if (mode === 'none') return ready({ namespace: 'private', addresses: [] });
  if (mode.startsWith('container:')) {
    const ref = mode.slice(10);
    const other = svc.containers.get(ref);
    if (!other.state.Running) throw new ConflictError(`cannot join network of a non running container: ${ref}`);
    const st = svc.state.get(other.rec.Id);
    const ns = other.rec.HostConfig.NetworkMode === 'host' ? 'host' : st ? st.Netns : `/proc/${other.state.Pid}/ns/net`;
    return ready({ namespace: ns, addresses: st?.Endpoints.map((e) => e.IPAddress) ?? [], ...dnsFor(st) });
  }
  const eps = endpointsOf(svc, c);
  const primary = svc.tryGet(modeNetwork(mode));
  if (!primary) throw new NotFoundError(`failed to set up container networking: network ${modeNetwork(mode)} not found`);
  if (primary.Driver !== 'bridge') return ready({ namespace: primary.Driver === 'host' ? 'host' : 'private', addresses: [] });
  svc.exitDisconnects.delete(c.rec.Id);
  let created!: (ns: string) => void;
  const namespace = new Promise<string>((r) => {
    created = r;
  });
  // Addresses a just-exited container still holds are free first (see release).
  const done = svc.released().then(() =>
    svc.locks.run(c.rec.Id, async (): Promise<NetAttachment> => {
      const id = c.rec.Id;
      if (svc.state.has(id)) await detachLocked(svc, id); // left over from a run whose exit we missed
      const bindings = portBindings(c);
      let reserved: Reservation[];
      try {
        reserved = await reservePorts(bindings);
      } catch (e) {
        throw new BerthError(
          `driver failed programming external connectivity on endpoint ${c.rec.Name.slice(1)} (${randomBytes(32).toString('hex')}): ${messageOf(e)}`,
          500,
        );
      }
      svc.reservations.set(id, reserved);
      const st: RuntimeState = { Netns: join(svc.netnsDir, id), Ports: reserved.filter((r) => !r.host).map((r) => r.binding), Endpoints: [] };
      try {
        await saveState(svc, id, st);
        await createNetns(st.Netns, c.rec.IdMap);
        created(st.Netns);
        const names = Object.keys(eps).sort((a, b) => (a === primary.Name ? -1 : b === primary.Name ? 1 : a.localeCompare(b)));
        for (const name of names) {
          const n = svc.tryGet(eps[name]!.NetworkID) ?? svc.tryGet(name);
          if (!n) throw new NotFoundError(`failed to set up container networking: network ${name} not found`);
          await addEndpoint(svc, c, st, n, eps[name]!);
          // dockerd tells of each endpoint a start makes, before the container's start event.
          svc.events.publish('network', 'connect', n.Id, { container: id, name: n.Name, type: n.Driver });
        }
      } catch (e) {
        await detachLocked(svc, id);
        throw e;
      }
      return { namespace: st.Netns, addresses: st.Endpoints.map((e) => e.IPAddress), ...dnsFor(st) };
    }),
  );
  done.catch(() => {}); // the caller awaits it; a failure before the namespace exists surfaces below
  return { namespace: await Promise.race([namespace, done.then((a) => a.namespace)]), done };
}

/** The bridge plugin's parameters for network n. */
function cniParams(svc: Pick<AttachHost, 'ipamDir'>, n: NetworkRecord): BridgeNetParams {
  const ipam = n.IPAM.Config[0]!;
  const p: BridgeNetParams = {
    cniName: n.Id,
    bridge: n.BridgeName!,
    subnet: ipam.Subnet!,
    gateway: gateway4(n),
    internal: n.Internal,
    ipamDir: svc.ipamDir,
  };
  const mtu = mtuOf(n);
  if (mtu) p.mtu = mtu;
  if (ipam.IPRange) {
    // As Docker's IPAM: every address of the range, except the subnet's own and its broadcast.
    const r = subnetOf(ipam.IPRange);
    const s = subnetOf(ipam.Subnet!);
    const start = r.base === s.base ? firstHost(s) : r.base;
    const end = lastIp(r) === lastIp(s) && s.bits < 31 ? lastIp(r) - 1 : lastIp(r);
    p.ipRange = { start: formatIp(start), end: formatIp(end) };
  }
  const v6 = v6Config(n);
  if (v6) p.v6 = { subnet: formatSubnet6(parseCidr6(v6.Subnet!)!.subnet), gateway: gateway6(n)! };
  return p;
}

/** CNI ADD of one network into a started container's namespace; recorded before and after. */
export async function addEndpoint(svc: AttachHost, c: Container, st: RuntimeState, n: NetworkRecord, cfg: EndpointConfig): Promise<EndpointState> {
  const id = c.rec.Id;
  let idx = 0;
  while (st.Endpoints.some((e) => e.IfName === `eth${idx}`)) idx++;
  const withPorts = st.Endpoints.length === 0 && st.Ports.length > 0;
  const ep: EndpointState = {
    NetworkID: n.Id,
    NetworkName: n.Name,
    EndpointID: randomBytes(32).toString('hex'),
    IfName: `eth${idx}`,
    IPAddress: '',
    IPPrefixLen: 0,
    Gateway: '',
    MacAddress: '',
    Conf: bridgeConfList(cniParams(svc, n), withPorts),
  };
  if (cfg.IPAMConfig?.IPv4Address) ep.Args = { IP: cfg.IPAMConfig.IPv4Address };
  if (withPorts) {
    // The [::] twins are relayed by their reservation (ports.ts), not DNATed.
    ep.RuntimeConfig = {
      portMappings: st.Ports.filter((p) => p.hostIp !== V6_ANY).map((p) => ({
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol,
        hostIP: p.hostIp === '0.0.0.0' ? '' : p.hostIp,
      })),
    };
  }
  if (cfg.MacAddress) ep.RuntimeConfig = { ...ep.RuntimeConfig, mac: cfg.MacAddress };
  st.Endpoints.push(ep);
  await saveState(svc, id, st);
  let result: CniResult;
  try {
    result = await addNetworkList(ep.Conf, { containerId: id, netns: st.Netns, ifName: ep.IfName, args: ep.Args, runtimeConfig: ep.RuntimeConfig });
  } catch (e) {
    const msg = messageOf(e);
    if (/requested IP address .* is not available|already allocated|has been allocated/i.test(msg) && ep.Args?.IP) {
      throw new BerthError(`Address already in use`, 403);
    }
    throw new BerthError(`failed to set up network ${n.Name} for container ${c.rec.Name.slice(1)}: ${msg}`, 500);
  }
  ep.Result = result;
  const ifIdx = result.interfaces?.findIndex((i) => i.sandbox) ?? -1;
  const mine = (result.ips ?? []).filter((x) => x.interface === undefined || x.interface === ifIdx);
  const ip = mine.find((x) => !x.address.includes(':')) ?? result.ips?.find((x) => !x.address.includes(':'));
  if (ip) {
    const [addr, len] = ip.address.split('/');
    ep.IPAddress = addr!;
    ep.IPPrefixLen = Number(len);
    ep.Gateway = ip.gateway ?? '';
  }
  const ip6 = mine.find((x) => x.address.includes(':'));
  if (ip6) {
    const [addr, len] = ip6.address.split('/');
    ep.IPv6Address = addr!;
    ep.IPv6PrefixLen = Number(len);
    ep.IPv6Gateway = ip6.gateway ?? '';
  }
  ep.MacAddress = (ifIdx >= 0 ? result.interfaces![ifIdx]!.mac : '') ?? '';
  if (withPorts) for (const r of svc.reservations.get(id) ?? []) r.relayTo(ep.IPAddress);
  await saveState(svc, id, st);
  await ensureDns(svc, n.Id);
  return ep;
}

/** Tear down what attach set up, unless a release is doing so already. */
export async function detachContainer(svc: AttachHost, c: Container): Promise<void> {
  if (svc.releasing.has(c.rec.Id)) return; // a release is tearing it down already
  await svc.locks.run(c.rec.Id, () => detachLocked(svc, c.rec.Id));
}

/**
 * Tear down after an exit. Unless the container published ports (a host
 * port must be free again when `wait` returns), the teardown goes on after
 * this returns: the CNI DEL is the slowest step between an exit and
 * `wait`, `stop` or `run --rm` returning. The container leaves the
 * network's views and DNS at once, and whatever depends on its addresses
 * being free waits for the teardown first: attach, connect, disconnect,
 * network rm and prune.
 */
export async function releaseContainer(svc: AttachHost, c: Container): Promise<void> {
  const id = c.rec.Id;
  const st = svc.state.get(id);
  if (st)
    svc.exitDisconnects.set(
      id,
      st.Endpoints.map((e) => ({ id: e.NetworkID, name: e.NetworkName, type: svc.nets.get(e.NetworkID)?.Driver ?? 'bridge' })),
    );
  if (!st || st.Ports.length || svc.releasing.has(id)) return detachContainer(svc, c);
  svc.state.delete(id); // detachLocked reads it back from disk
  const done = svc.locks
    .run(id, () => detachLocked(svc, id))
    .catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) }))
    .finally(() => svc.releasing.delete(id));
  svc.releasing.set(id, done);
}

/** Undo attach from its runtime state: DEL each network (reverse order), release ports, drop the namespace. */
export async function detachLocked(svc: AttachHost, id: string): Promise<void> {
  let st = svc.state.get(id);
  if (!st) {
    try {
      st = JSON.parse(await readFile(svc.statePath(id), 'utf8')) as RuntimeState;
    } catch {
      st = undefined;
    }
  }
  if (st) {
    const remove = () => removeNetns(st!.Netns).catch((e) => log.warn('removing network namespace failed', { id, error: messageOf(e) }));
    // The namespace goes first when no other container shares it: the kernel then takes its veths
    // down on its own, and the CNI DEL (without a namespace) only releases addresses and ports —
    // deleting a veth by hand costs tens of milliseconds on the way to `rm` returning.
    // The DELs are then told of no namespace, and run while it goes.
    const shared = svc.containers.list().some((o) => o.state.Running && o.rec.Id !== id && sharesNetworkOf(svc, o, id));
    const dels = async (netns: string) => {
      for (const ep of [...st!.Endpoints].reverse()) await delEndpoint(id, netns, ep);
    };
    if (shared) {
      await dels(await liveNetns(st));
      await remove();
    } else {
      await Promise.all([remove(), dels('')]);
    }
  }
  for (const r of svc.reservations.get(id) ?? []) r.close();
  svc.reservations.delete(id);
  svc.state.delete(id);
  await rm(svc.statePath(id), { force: true });
}

/** Whether `o` runs in the network namespace of container `id` (--network container:…). */
function sharesNetworkOf(svc: AttachHost, o: Container, id: string): boolean {
  const mode = o.rec.HostConfig.NetworkMode ?? '';
  if (!mode.startsWith('container:')) return false;
  const ref = mode.slice(10);
  return svc.containers.tryGet(ref)?.rec.Id === id;
}

/** `netns` is '' when the namespace is gone or going (reboot, torn-down mount): the plugins then skip it, as the spec allows. */
export async function delEndpoint(id: string, netns: string, ep: EndpointState): Promise<void> {
  try {
    await delNetworkList(ep.Conf, { containerId: id, netns, ifName: ep.IfName, args: ep.Args, runtimeConfig: ep.RuntimeConfig }, ep.Result);
  } catch (e) {
    log.warn('CNI DEL failed', { id, network: ep.NetworkName, error: messageOf(e) });
  }
}

/** Under the exec root, a tmpfs a power cut empties anyway: replaced atomically, not synced. */
export async function saveState(svc: AttachHost, id: string, st: RuntimeState): Promise<void> {
  svc.state.set(id, st);
  await replaceJson(svc.statePath(id), st);
}

/** The host ports a container asks for: -p bindings, and -P for every exposed port. */
export function portBindings(c: Container): PortBinding[] {
  const h = c.rec.HostConfig;
  const out: PortBinding[] = [];
  const seen = new Set<string>();
  const add = (key: string, hostIp: string, hostPort: string) => {
    const [portStr, proto = 'tcp'] = key.split('/');
    const containerPort = Number(portStr);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw new InvalidArgumentError(`invalid port specification: "${key}"`);
    const hp = hostPort ? Number(hostPort.split('-')[0]) : 0;
    if (!Number.isInteger(hp) || hp < 0 || hp > 65535) throw new InvalidArgumentError(`invalid hostPort: ${hostPort}`);
    const k = `${hostIp}:${hp}:${containerPort}/${proto}`;
    if (hp && seen.has(k)) return;
    seen.add(k);
    // An empty host address stays empty: reservePorts publishes it on 0.0.0.0 and [::].
    out.push({ hostIp, hostPort: hp, containerPort, protocol: proto as PortBinding['protocol'] });
  };
  for (const [key, list] of Object.entries(h.PortBindings ?? {})) {
    for (const b of list ?? [{}]) add(key, b.HostIp ?? '', b.HostPort ?? '');
  }
  if (h.PublishAllPorts) {
    for (const key of Object.keys(c.rec.Config.ExposedPorts ?? {})) {
      if (!(key in (h.PortBindings ?? {}))) add(key.includes('/') ? key : `${key}/tcp`, '', '');
    }
  }
  return out;
}

/** The namespace to hand CNI: none when its mount is gone already. */
export async function liveNetns(st: RuntimeState): Promise<string> {
  return (await isNetnsMount(st.Netns)) ? st.Netns : '';
}
