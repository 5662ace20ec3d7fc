/**
 * Network records: the predefined networks made at start (bridge from
 * daemon.json's bip/bridge/mtu, host, none), and create, remove and prune of
 * user-defined bridge networks with Docker's rules — name, driver, IPAM
 * config and pool choice, the bridge claimed or adopted, iptables rules —
 * each record written whole under <data-root>/networks/.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../core/atomic.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { untilSeconds } from '../../core/go-time.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import type { KeyedMutex } from '../../core/mutex.js';
import { log } from '../../core/log.js';
import type { DnsServer } from '../../network/dns.js';
import type { Firewall, FirewallNet } from '../../network/firewall.js';
import { overlaps6, parseCidr6 } from '../../network/ipnet6.js';
import { firstHost, formatIp, formatSubnet, nextFreeSubnet, overlaps, parseCidr, subnetOf, type AddressPool } from '../../network/ipnet.js';
import { claimBridge, deleteBridge, removeAddress } from '../../network/links.js';
import type { EventBus } from '../events.js';
import { hostRoutes, v4Config, validateIpam } from './ipam.js';
import type { CreateNetworkRequest, IpamConfig, NetworkRecord, RuntimeState } from './types.js';

const PREDEFINED = ['bridge', 'host', 'none'];
const DEFAULT_BRIDGE = 'berth0';

/** What the network records need of the network service. */
export interface RecordsHost {
  readonly opts: { readonly config: Record<string, unknown> };
  readonly events: EventBus;
  readonly firewall: Firewall;
  readonly locks: KeyedMutex;
  readonly nets: Map<string, NetworkRecord>;
  readonly state: ReadonlyMap<string, RuntimeState>;
  readonly dns: Map<string, DnsServer>;
  readonly netDir: string;
  readonly ipamDir: string;
  get(ref: string): NetworkRecord;
  list(): NetworkRecord[];
  pools(): AddressPool[];
  /** Every teardown release() left running, finished. */
  released(): Promise<void>;
}

/** The host and none networks, and the default bridge as daemon.json (bip, bridge, mtu) asks for it now. */
export async function ensurePredefined(svc: RecordsHost): Promise<void> {
  const cfg = svc.opts.config;
  const byName = (name: string) => [...svc.nets.values()].find((n) => n.Name === name);
  for (const [name, driver] of [
    ['host', 'host'],
    ['none', 'null'],
  ] as const) {
    if (!byName(name)) await saveNet(svc, newRecord(name, driver, { Subnet: undefined }, {}, {}));
  }
  const bridgeName = typeof cfg.bridge === 'string' && cfg.bridge ? cfg.bridge : DEFAULT_BRIDGE;
  const existing = byName('bridge');
  let ipam: IpamConfig;
  if (typeof cfg.bip === 'string' && cfg.bip) {
    const c = parseCidr(cfg.bip);
    if (!c) throw new Error(`invalid bip ${cfg.bip}`);
    ipam = { Subnet: formatSubnet(c.subnet), Gateway: formatIp(c.ip) };
  } else if (existing?.IPAM.Config[0]?.Subnet && existing.BridgeName === bridgeName) {
    ipam = existing.IPAM.Config[0];
  } else {
    const taken = [
      ...bridgeNets(svc)
        .filter((n) => n.Name !== 'bridge')
        .map((n) => subnetOf(n.IPAM.Config[0]!.Subnet!)),
      ...(await hostRoutes([bridgeName])),
    ];
    const s = nextFreeSubnet(svc.pools(), taken);
    if (!s) throw new Error('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
    ipam = { Subnet: formatSubnet(s), Gateway: formatIp(firstHost(s)) };
  }
  const mtu = typeof cfg.mtu === 'number' ? String(cfg.mtu) : '1500';
  const options = {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true',
    'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': bridgeName,
    'com.docker.network.driver.mtu': mtu,
  };
  const rec = newRecord('bridge', 'bridge', ipam, options, {}, existing?.Id);
  rec.BridgeName = bridgeName;
  // Who made a bridge of another name is not known yet: claimBridges finds out.
  rec.BridgeCreated = existing?.BridgeName === bridgeName ? existing.BridgeCreated : undefined;
  if (existing) rec.Created = existing.Created;
  if (JSON.stringify(rec) !== JSON.stringify(existing)) {
    const old = existing?.IPAM.Config[0];
    if (existing?.BridgeName && old?.Subnet && old.Subnet !== ipam.Subnet) {
      // Ours goes, to be made again with the new address. One named in daemon.json is the host's:
      // dockerd never deletes it, nor do we; it only swaps the address it gave it.
      if (bridgeOwned(existing)) await deleteBridge(existing.BridgeName);
      else if (existing.BridgeName === bridgeName) await removeAddress(bridgeName, `${old.Gateway}/${subnetOf(old.Subnet).bits}`);
    }
    await saveNet(svc, rec);
  }
}

function newRecord(
  name: string,
  driver: NetworkRecord['Driver'],
  ipam: IpamConfig,
  options: Record<string, string>,
  labels: Record<string, string>,
  id?: string,
): NetworkRecord {
  return {
    Name: name,
    Id: id ?? randomBytes(32).toString('hex'),
    Created: new Date().toISOString(),
    Scope: 'local',
    Driver: driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: ipam.Subnet ? [ipam] : [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: options,
    Labels: labels,
  };
}

export async function saveNet(svc: RecordsHost, n: NetworkRecord): Promise<void> {
  await writeJsonAtomic(join(svc.netDir, `${n.Id}.json`), n);
  svc.nets.set(n.Id, n);
}

export function bridgeNets(svc: Pick<RecordsHost, 'nets'>): NetworkRecord[] {
  return [...svc.nets.values()].filter((n) => n.Driver === 'bridge');
}

export function fwNet(n: NetworkRecord): FirewallNet {
  return { id: n.Id, bridge: n.BridgeName!, subnet: n.IPAM.Config[0]!.Subnet!, internal: n.Internal };
}

/** A user-defined bridge network: POST /networks/create. */
export async function createNetwork(svc: RecordsHost, req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
  const name = req.Name ?? '';
  if (!name.trim()) throw new InvalidArgumentError(`invalid name: ${name}`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new InvalidArgumentError(`invalid network name "${name}"`);
  return svc.locks.run('networks', async () => {
    if ([...svc.nets.values()].some((n) => n.Name === name)) throw new ConflictError(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new BerthError(`only one instance of "${driver}" network is allowed`, 403);
    if (driver !== 'bridge') throw new NotFoundError(`plugin "${driver}" not found`);
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw new NotFoundError(`plugin "${req.IPAM.Driver}" not found`);
    const enableV6 = !!req.EnableIPv6 || ['true', '1'].includes(req.Options?.['com.docker.network.enable_ipv6'] ?? '');
    const given = req.IPAM?.Config ?? [];
    validateIpam(given, enableV6);
    const v4 = given.filter((c) => !c.Subnet?.includes(':'));
    const v6 = enableV6 ? given.filter((c) => c.Subnet?.includes(':')) : [];
    if (v4.length > 1 || v6.length > 1) throw new InvalidArgumentError("bridge driver doesn't support multiple subnets");
    // Berth has no default IPv6 pools: dockerd 20.10's answer when none is configured.
    if (enableV6 && !v6.length)
      throw new NotFoundError('could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network');
    const want = v4[0] ?? {};
    const others = bridgeNets(svc).map((n) => subnetOf(v4Config(n)!.Subnet!));
    // As dockerd shows it: the config as given; a pool picked for the network adds its subnet and gateway.
    let ipam: IpamConfig;
    if (want.Subnet) {
      const subnet = subnetOf(want.Subnet);
      if (others.some((o) => overlaps(o, subnet))) throw new BerthError('Pool overlaps with other one on this address space', 403);
      ipam = { ...want };
    } else {
      const s = nextFreeSubnet(svc.pools(), [...others, ...(await hostRoutes(bridgeNets(svc).map((n) => n.BridgeName!)))]);
      if (!s) throw new BerthError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network', 403);
      ipam = { Subnet: formatSubnet(s), Gateway: formatIp(firstHost(s)) };
    }
    const configs: IpamConfig[] = [ipam];
    if (v6[0]) {
      const s6 = parseCidr6(v6[0].Subnet!)!.subnet;
      const taken6 = bridgeNets(svc).flatMap((n) => n.IPAM.Config.filter((c) => c.Subnet?.includes(':')).map((c) => parseCidr6(c.Subnet!)!.subnet));
      if (taken6.some((o) => overlaps6(o, s6))) throw new BerthError('Pool overlaps with other one on this address space', 403);
      configs.push({ ...v6[0] });
    }
    const options = { ...(req.Options ?? {}) };
    const rec = newRecord(name, 'bridge', ipam, options, { ...(req.Labels ?? {}) });
    rec.IPAM.Config = configs;
    rec.EnableIPv6 = !!v6[0];
    rec.Internal = !!req.Internal;
    rec.Attachable = !!req.Attachable;
    rec.BridgeName = options['com.docker.network.bridge.name'] || `br-${rec.Id.slice(0, 12)}`;
    if (rec.BridgeName.length > 15) throw new InvalidArgumentError(`bridge name ${rec.BridgeName} is longer than 15 characters`);
    const clash = bridgeNets(svc).find((n) => n.BridgeName === rec.BridgeName);
    if (clash)
      throw new BerthError(
        `cannot create network ${rec.Id} (${rec.BridgeName}): conflicts with network ${clash.Id} (${clash.BridgeName}): networks have same bridge name`,
        403,
      );
    // Made now, or an existing Linux bridge adopted; any other link of that name (the host's uplink…) is refused.
    rec.BridgeCreated = await claimBridge(rec.BridgeName, mtuOf(rec));
    try {
      await saveNet(svc, rec);
      try {
        await svc.firewall.addNetwork(fwNet(rec));
      } catch (e) {
        await svc.firewall.removeNetwork(rec.Id).catch(() => {});
        throw new BerthError(`failed to set up iptables for network ${name}: ${messageOf(e)}`, 500);
      }
    } catch (e) {
      svc.nets.delete(rec.Id);
      await rm(join(svc.netDir, `${rec.Id}.json`), { force: true });
      if (rec.BridgeCreated) await deleteBridge(rec.BridgeName);
      throw e;
    }
    svc.events.publish('network', 'create', rec.Id, { name, type: 'bridge' });
    return { Id: rec.Id, Warning: '' };
  });
}

/** Containers running on a network (its active endpoints). */
function activeOn(svc: Pick<RecordsHost, 'state'>, netId: string): string[] {
  return [...svc.state].filter(([, st]) => st.Endpoints.some((e) => e.NetworkID === netId)).map(([id]) => id);
}

/** A network no running container is on; its bridge too when Berth made it. */
export async function removeNetwork(svc: RecordsHost, ref: string): Promise<void> {
  const n = svc.get(ref);
  if (
    PREDEFINED.includes(n.Name) &&
    ['bridge', 'host', 'null'].includes(n.Driver) &&
    (n.Name !== 'bridge' || n.Options['com.docker.network.bridge.default_bridge'] === 'true')
  ) {
    throw new BerthError(`${n.Name} is a pre-defined network and cannot be removed`, 403);
  }
  await svc.locks.run('networks', async () => {
    await svc.released(); // then no exited container holds an endpoint here
    if (activeOn(svc, n.Id).length) throw new BerthError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`, 403);
    svc.dns.get(n.Id)?.close();
    svc.dns.delete(n.Id);
    await svc.firewall.removeNetwork(n.Id).catch((e) => log.warn('removing iptables rules failed', { network: n.Name, error: messageOf(e) }));
    // As dockerd: a bridge that was there before the network stays (with whatever else uses it).
    if (n.BridgeName && bridgeOwned(n)) await deleteBridge(n.BridgeName);
    await rm(join(svc.ipamDir, n.Id), { recursive: true, force: true });
    await rm(join(svc.netDir, `${n.Id}.json`), { force: true });
    svc.nets.delete(n.Id);
  });
  svc.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
}

/** Every user-defined network no running container is on, as the filters allow. */
export async function pruneNetworks(svc: RecordsHost, filters: Filters): Promise<{ NetworksDeleted: string[] }> {
  checkFilterKeys(filters, ['until', 'label', 'label!']);
  const until = filters.until?.[0] ? untilSeconds(filters.until[0]) : undefined;
  const deleted: string[] = [];
  await svc.released();
  for (const n of svc.list()) {
    if (PREDEFINED.includes(n.Name)) continue;
    if (until !== undefined && Date.parse(n.Created) / 1000 >= until) continue;
    if (!matchLabels(n.Labels, filters.label)) continue;
    if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(n.Labels, [l]))) continue;
    // As dockerd: only an endpoint (a running container) keeps a network; a stopped container's config does not.
    if (activeOn(svc, n.Id).length) continue;
    await removeNetwork(svc, n.Id).then(
      () => deleted.push(n.Name),
      () => {},
    );
  }
  svc.events.publish('network', 'prune', '', { reclaimed: '0' });
  return { NetworksDeleted: deleted };
}

/** Whether Berth made n's bridge. A record from before that was kept: only a br-<id> name is ours by construction. */
export function bridgeOwned(n: NetworkRecord): boolean {
  return n.BridgeCreated ?? n.BridgeName === `br-${n.Id.slice(0, 12)}`;
}

export function mtuOf(n: NetworkRecord): number | undefined {
  const mtu = Number(n.Options['com.docker.network.driver.mtu']);
  return mtu > 0 ? mtu : undefined;
}
