/**
 * The network service: networks (the predefined bridge, host and none, and
 * user-defined bridge networks), and each container's place on them.
 *
 * State on disk:
 *   <data-root>/networks/<id>.json           NetworkRecord, written whole
 *   <data-root>/networks/ipam/<id>/          host-local's address leases
 *   <exec-root>/network/<container id>.json  RuntimeState of a started container
 *   <exec-root>/netns/<container id>         its network namespace (a bind mount)
 *
 * Starting a container: reserve its host ports, make its namespace, run the
 * loopback plugin, then one CNI ADD per network (eth0, eth1, …), writing the
 * runtime state before every step so teardown — on exit, on remove, on a
 * failed start, or by `reconcile` after berthd crashed — can undo exactly what
 * was done. Containers keep their networking while berthd is down: the
 * namespace, veths, leases and iptables rules do not depend on it (only the
 * embedded DNS does, until berthd is back).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceJson, writeJsonAtomic } from '../../core/atomic.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { untilSeconds } from '../../core/go-time.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { KeyedMutex } from '../../core/mutex.js';
import { log } from '../../core/log.js';
import { run } from '../../core/proc.js';
import { bridgeConfList, type BridgeNetParams } from '../../network/bridge.js';
import { addNetworkList, delNetworkList, type CniResult } from '../../network/cni.js';
import { DnsServer } from '../../network/dns.js';
import { Firewall, type FirewallNet } from '../../network/firewall.js';
import { contains6, firstHost6, formatIp6, formatSubnet6, overlaps6, parseCidr6, parseIp6 } from '../../network/ipnet6.js';
import {
  contains,
  firstHost,
  formatIp,
  formatSubnet,
  lastIp,
  nextFreeSubnet,
  overlaps,
  parseCidr,
  parseIp,
  subnetOf,
  type AddressPool,
  type Subnet,
} from '../../network/ipnet.js';
import { createNetns, isNetnsMount, netnsMountsUnder, removeNetns } from '../../network/netns.js';
import { claimBridge, deleteBridge, hostLinks, notABridge, removeAddress } from '../../network/links.js';
import { reservePorts, V6_ANY, type PortBinding, type Reservation } from '../../network/ports.js';
import type { EventBus } from '../events.js';
import type { Container, EndpointConfig } from '../containers/record.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerNetworking, NetAttachment, PendingAttachment } from '../containers/networking.js';
import { parseLinks } from '../containers/links.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { endpointsView, networkSettings, portsList } from './views.js';
import type { CreateNetworkRequest, EndpointState, IpamConfig, NetworkRecord, RuntimeState } from './types.js';

export interface NetworkServiceOptions {
  dataRoot: string;
  execRoot: string;
  /** daemon.json: bip, default-address-pools, bridge, mtu. */
  config: Record<string, unknown>;
}

const PREDEFINED = ['bridge', 'host', 'none'];
const DEFAULT_BRIDGE = 'berth0';
/** Our own pools, clear of docker0's 172.17/16 and the 172.18+ networks dockerd hands out first. */
export const DEFAULT_POOLS: AddressPool[] = [
  { base: '172.30.0.0/16', size: 16 },
  { base: '172.31.0.0/16', size: 16 },
  { base: '10.210.0.0/16', size: 24 },
];

/** What the network service asks of the containers: look-ups, and their /etc/hosts and records rewritten on connect. */
export type NetworkContainers = Pick<ContainerService, 'get' | 'tryGet' | 'list' | 'rewriteHosts' | 'persist'>;

export class NetworkService implements ContainerNetworking {
  private nets = new Map<string, NetworkRecord>();
  private state = new Map<string, RuntimeState>();
  private reservations = new Map<string, Reservation[]>();
  private dns = new Map<string, DnsServer>();
  private locks = new KeyedMutex();
  /** Teardowns release() left running, by container. */
  private releasing = new Map<string, Promise<void>>();
  readonly firewall: Firewall;

  /** Disconnect events of a container that exited, told right after its die event (dockerd's order). */
  private exitDisconnects = new Map<string, Array<{ id: string; name: string; type: string }>>();

  /**
   * `containersOf` gives the container service, made after this one (it asks
   * this one to plan, attach and release its containers' networks).
   */
  constructor(
    readonly events: EventBus,
    readonly opts: NetworkServiceOptions,
    private readonly containersOf: () => NetworkContainers,
  ) {
    this.firewall = new Firewall(createHash('sha256').update(opts.dataRoot).digest('hex').slice(0, 8));
    events.subscribe((ev) => {
      if (ev.Type !== 'container' || ev.Action !== 'die') return;
      const list = this.exitDisconnects.get(ev.Actor.ID);
      this.exitDisconnects.delete(ev.Actor.ID);
      // After every subscriber has had the die event (a nested publish would reach live streams first).
      if (list?.length)
        queueMicrotask(() => {
          for (const n of list) this.events.publish('network', 'disconnect', n.id, { container: ev.Actor.ID, name: n.name, type: n.type });
        });
    });
  }

  get containers(): NetworkContainers {
    return this.containersOf();
  }

  private get netDir(): string {
    return join(this.opts.dataRoot, 'networks');
  }
  get ipamDir(): string {
    return join(this.netDir, 'ipam');
  }
  private get stateDir(): string {
    return join(this.opts.execRoot, 'network');
  }
  get netnsDir(): string {
    return join(this.opts.execRoot, 'netns');
  }
  private statePath(id: string): string {
    return join(this.stateDir, `${id}.json`);
  }

  // ---- startup ------------------------------------------------------------

  /** Load networks, make the predefined ones, put our iptables rules in place. Before containers load. */
  async init(): Promise<void> {
    for (const d of [this.netDir, this.ipamDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const d of [this.stateDir, this.netnsDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.netDir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const n = JSON.parse(await readFile(join(this.netDir, f), 'utf8')) as NetworkRecord;
        this.nets.set(n.Id, n);
      } catch (e) {
        log.warn('skipping unreadable network record', { file: f, error: messageOf(e) });
      }
    }
    for (const f of await readdir(this.stateDir)) {
      if (!f.endsWith('.json')) continue;
      try {
        this.state.set(f.slice(0, -5), JSON.parse(await readFile(join(this.stateDir, f), 'utf8')) as RuntimeState);
      } catch {
        /* torn write: reconcile cleans */
      }
    }
    await this.ensurePredefined();
    const usable = await this.claimBridges();
    try {
      await this.firewall.sync(usable.map((n) => this.fwNet(n)));
    } catch (e) {
      log.warn('iptables setup failed: containers will have no outbound NAT or isolation', { error: messageOf(e) });
    }
  }

  /**
   * After containers are loaded: tear down the network of every container that
   * is gone or no longer running (it exited while berthd was down), re-reserve
   * ports and restart DNS for running ones, and drop leases, namespaces and
   * runtime files nothing uses.
   */
  async reconcile(): Promise<void> {
    for (const [id, st] of [...this.state]) {
      const c = this.containers.tryGet(id);
      if (!c?.state.Running) {
        await this.locks.run(id, () => this.detachLocked(id));
        continue;
      }
      try {
        const res = await reservePorts(st.Ports);
        const first = st.Endpoints.find((e) => e.IPAddress);
        if (first) for (const r of res) r.relayTo(first.IPAddress);
        this.reservations.set(id, res);
      } catch (e) {
        log.warn('could not reserve published ports again', { id, error: messageOf(e) });
      }
      for (const ep of st.Endpoints) await this.ensureDns(ep.NetworkID);
    }
    const live = new Set(this.state.keys());
    for (const p of await netnsMountsUnder(this.netnsDir)) {
      if (!live.has(p.slice(this.netnsDir.length + 1))) await removeNetns(p).catch(() => {});
    }
    for (const f of await readdir(this.netnsDir).catch(() => [] as string[])) {
      if (!live.has(f)) await rm(join(this.netnsDir, f), { force: true }).catch(() => {});
    }
    await this.cleanLeases(live);
  }

  /**
   * Every bridge network's bridge, made now where it is missing (after a
   * reboot), so the name is ours before anyone else takes it; recorded as
   * made by us or adopted. A network whose bridge name now belongs to a link
   * that is not a bridge is left out of the iptables rules (they would land
   * on that link); for the default network berthd does not start, as dockerd.
   */
  private async claimBridges(): Promise<NetworkRecord[]> {
    const links = await hostLinks();
    const usable: NetworkRecord[] = [];
    for (const n of this.bridgeNets()) {
      const name = n.BridgeName!;
      const isDefault = n.Options['com.docker.network.bridge.default_bridge'] === 'true';
      const kind = links.get(name);
      let created = bridgeOwned(n);
      try {
        if (kind === undefined) created = await claimBridge(name, mtuOf(n));
        else if (kind !== 'bridge') throw notABridge(name);
      } catch (e) {
        if (isDefault) throw e;
        log.warn('network left without its bridge', { network: n.Name, bridge: name, error: messageOf(e) });
        continue;
      }
      if (n.BridgeCreated !== created) await this.saveNet({ ...n, BridgeCreated: created });
      usable.push(n);
    }
    return usable;
  }

  /** host-local leases are files named by address holding the container ID: drop those of no live container. */
  private async cleanLeases(live: Set<string>): Promise<void> {
    for (const netId of await readdir(this.ipamDir).catch(() => [] as string[])) {
      const dir = join(this.ipamDir, netId);
      if (!this.nets.has(netId)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      for (const f of await readdir(dir).catch(() => [] as string[])) {
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(f) && !f.includes(':')) continue; // host-local's own files (last_reserved_ip…)
        const owner = (await readFile(join(dir, f), 'utf8').catch(() => '')).split(/\r?\n/)[0]!.trim();
        if (!live.has(owner)) await rm(join(dir, f), { force: true });
      }
    }
  }

  private async ensurePredefined(): Promise<void> {
    const cfg = this.opts.config;
    const byName = (name: string) => [...this.nets.values()].find((n) => n.Name === name);
    for (const [name, driver] of [
      ['host', 'host'],
      ['none', 'null'],
    ] as const) {
      if (!byName(name)) await this.saveNet(this.record(name, driver, { Subnet: undefined }, {}, {}));
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
        ...this.bridgeNets()
          .filter((n) => n.Name !== 'bridge')
          .map((n) => subnetOf(n.IPAM.Config[0]!.Subnet!)),
        ...(await hostRoutes([bridgeName])),
      ];
      const s = nextFreeSubnet(this.pools(), taken);
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
    const rec = this.record('bridge', 'bridge', ipam, options, {}, existing?.Id);
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
      await this.saveNet(rec);
    }
  }

  pools(): AddressPool[] {
    const p = this.opts.config['default-address-pools'];
    if (Array.isArray(p) && p.length) return p.map((x) => ({ base: String((x as AddressPool).base), size: Number((x as AddressPool).size) }));
    return DEFAULT_POOLS;
  }

  private record(
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

  private async saveNet(n: NetworkRecord): Promise<void> {
    await writeJsonAtomic(join(this.netDir, `${n.Id}.json`), n);
    this.nets.set(n.Id, n);
  }

  private bridgeNets(): NetworkRecord[] {
    return [...this.nets.values()].filter((n) => n.Driver === 'bridge');
  }

  private fwNet(n: NetworkRecord): FirewallNet {
    return { id: n.Id, bridge: n.BridgeName!, subnet: n.IPAM.Config[0]!.Subnet!, internal: n.Internal };
  }

  /** Stop DNS servers and release port reservations (daemon shutdown; containers keep their networking). */
  close(): void {
    for (const d of this.dns.values()) d.close();
    for (const r of this.reservations.values()) for (const x of r) x.close();
  }

  // ---- lookup -------------------------------------------------------------

  list(): NetworkRecord[] {
    return [...this.nets.values()];
  }

  /** By full ID, by name, or by unique ID prefix (Docker's order); 404 otherwise. */
  /** `scope` (inspect's ?scope=): a network of another scope is not found, as dockerd. */
  get(ref: string, scope?: string): NetworkRecord {
    const n = this.tryGet(ref);
    if (!n || (scope && n.Scope !== scope)) throw new NotFoundError(`network ${ref} not found`);
    return n;
  }

  tryGet(ref: string): NetworkRecord | undefined {
    if (!ref) return undefined;
    const exact = this.nets.get(ref);
    if (exact) return exact;
    for (const n of this.nets.values()) if (n.Name === ref) return n;
    const hits = [...this.nets.values()].filter((n) => n.Id.startsWith(ref));
    if (hits.length > 1) throw new BerthError(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`, 400);
    return hits[0];
  }

  // ---- create / remove ----------------------------------------------------

  async create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name ?? '';
    if (!name.trim()) throw new InvalidArgumentError(`invalid name: ${name}`);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw new InvalidArgumentError(`invalid network name "${name}"`);
    return this.locks.run('networks', async () => {
      if ([...this.nets.values()].some((n) => n.Name === name)) throw new ConflictError(`network with name ${name} already exists`);
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
      const others = this.bridgeNets().map((n) => subnetOf(v4Config(n)!.Subnet!));
      // As dockerd shows it: the config as given; a pool picked for the network adds its subnet and gateway.
      let ipam: IpamConfig;
      if (want.Subnet) {
        const subnet = subnetOf(want.Subnet);
        if (others.some((o) => overlaps(o, subnet))) throw new BerthError('Pool overlaps with other one on this address space', 403);
        ipam = { ...want };
      } else {
        const s = nextFreeSubnet(this.pools(), [...others, ...(await hostRoutes(this.bridgeNets().map((n) => n.BridgeName!)))]);
        if (!s) throw new BerthError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network', 403);
        ipam = { Subnet: formatSubnet(s), Gateway: formatIp(firstHost(s)) };
      }
      const configs: IpamConfig[] = [ipam];
      if (v6[0]) {
        const s6 = parseCidr6(v6[0].Subnet!)!.subnet;
        const taken6 = this.bridgeNets().flatMap((n) => n.IPAM.Config.filter((c) => c.Subnet?.includes(':')).map((c) => parseCidr6(c.Subnet!)!.subnet));
        if (taken6.some((o) => overlaps6(o, s6))) throw new BerthError('Pool overlaps with other one on this address space', 403);
        configs.push({ ...v6[0] });
      }
      const options = { ...(req.Options ?? {}) };
      const rec = this.record(name, 'bridge', ipam, options, { ...(req.Labels ?? {}) });
      rec.IPAM.Config = configs;
      rec.EnableIPv6 = !!v6[0];
      rec.Internal = !!req.Internal;
      rec.Attachable = !!req.Attachable;
      rec.BridgeName = options['com.docker.network.bridge.name'] || `br-${rec.Id.slice(0, 12)}`;
      if (rec.BridgeName.length > 15) throw new InvalidArgumentError(`bridge name ${rec.BridgeName} is longer than 15 characters`);
      const clash = this.bridgeNets().find((n) => n.BridgeName === rec.BridgeName);
      if (clash)
        throw new BerthError(
          `cannot create network ${rec.Id} (${rec.BridgeName}): conflicts with network ${clash.Id} (${clash.BridgeName}): networks have same bridge name`,
          403,
        );
      // Made now, or an existing Linux bridge adopted; any other link of that name (the host's uplink…) is refused.
      rec.BridgeCreated = await claimBridge(rec.BridgeName, mtuOf(rec));
      try {
        await this.saveNet(rec);
        try {
          await this.firewall.addNetwork(this.fwNet(rec));
        } catch (e) {
          await this.firewall.removeNetwork(rec.Id).catch(() => {});
          throw new BerthError(`failed to set up iptables for network ${name}: ${messageOf(e)}`, 500);
        }
      } catch (e) {
        this.nets.delete(rec.Id);
        await rm(join(this.netDir, `${rec.Id}.json`), { force: true });
        if (rec.BridgeCreated) await deleteBridge(rec.BridgeName);
        throw e;
      }
      this.events.publish('network', 'create', rec.Id, { name, type: 'bridge' });
      return { Id: rec.Id, Warning: '' };
    });
  }

  /** Containers running on a network (its active endpoints). */
  private activeOn(netId: string): string[] {
    return [...this.state].filter(([, st]) => st.Endpoints.some((e) => e.NetworkID === netId)).map(([id]) => id);
  }

  async remove(ref: string): Promise<void> {
    const n = this.get(ref);
    if (
      PREDEFINED.includes(n.Name) &&
      ['bridge', 'host', 'null'].includes(n.Driver) &&
      (n.Name !== 'bridge' || n.Options['com.docker.network.bridge.default_bridge'] === 'true')
    ) {
      throw new BerthError(`${n.Name} is a pre-defined network and cannot be removed`, 403);
    }
    await this.locks.run('networks', async () => {
      await this.released(); // then no exited container holds an endpoint here
      if (this.activeOn(n.Id).length) throw new BerthError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`, 403);
      this.dns.get(n.Id)?.close();
      this.dns.delete(n.Id);
      await this.firewall.removeNetwork(n.Id).catch((e) => log.warn('removing iptables rules failed', { network: n.Name, error: messageOf(e) }));
      // As dockerd: a bridge that was there before the network stays (with whatever else uses it).
      if (n.BridgeName && bridgeOwned(n)) await deleteBridge(n.BridgeName);
      await rm(join(this.ipamDir, n.Id), { recursive: true, force: true });
      await rm(join(this.netDir, `${n.Id}.json`), { force: true });
      this.nets.delete(n.Id);
    });
    this.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  }

  async prune(filters: Filters): Promise<{ NetworksDeleted: string[] }> {
    checkFilterKeys(filters, ['until', 'label', 'label!']);
    const until = filters.until?.[0] ? untilSeconds(filters.until[0]) : undefined;
    const deleted: string[] = [];
    await this.released();
    for (const n of this.list()) {
      if (PREDEFINED.includes(n.Name)) continue;
      if (until !== undefined && Date.parse(n.Created) / 1000 >= until) continue;
      if (!matchLabels(n.Labels, filters.label)) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(n.Labels, [l]))) continue;
      // As dockerd: only an endpoint (a running container) keeps a network; a stopped container's config does not.
      if (this.activeOn(n.Id).length) continue;
      await this.remove(n.Id).then(
        () => deleted.push(n.Name),
        () => {},
      );
    }
    this.events.publish('network', 'prune', '', { reclaimed: '0' });
    return { NetworksDeleted: deleted };
  }

  // ---- containers: create -------------------------------------------------

  /** The primary network's name for a NetworkMode ("default" is the bridge). */
  private modeNetwork(mode: string): string {
    return mode === 'default' || mode === '' ? 'bridge' : mode;
  }

  planCreate(h: HostConfig, networking: unknown, macFromConfig?: string): Record<string, EndpointConfig> {
    const mode = h.NetworkMode || 'default';
    const wantsMac =
      !!macFromConfig ||
      Object.values((networking as { EndpointsConfig?: Record<string, { MacAddress?: string } | null> } | null)?.EndpointsConfig ?? {}).some(
        (e) => e?.MacAddress,
      );
    if (wantsMac && (mode === 'host' || mode === 'none' || mode.startsWith('container:')))
      throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
    if (mode.startsWith('container:')) {
      if (h.PortBindings && Object.keys(h.PortBindings).length)
        throw new InvalidArgumentError('conflicting options: port publishing and the container type network mode');
      this.containers.get(mode.slice(10));
      return {};
    }
    // As dockerd: an unknown network is not a create error (the docker CLI would take a 404 for a missing
    // image and pull); the start fails with "failed to set up container networking: network X not found".
    const primary = this.tryGet(this.modeNetwork(mode));
    if (!primary) return { [this.modeNetwork(mode)]: { NetworkID: '', Aliases: null, IPAMConfig: null, Links: null, MacAddress: '', DriverOpts: null } };
    const wanted = (networking as { EndpointsConfig?: Record<string, Partial<EndpointConfig> | null> } | null)?.EndpointsConfig ?? {};
    const out: Record<string, EndpointConfig> = {};
    // Links on a user-defined network are names its DNS gives the linking container: "target:alias".
    const dnsLinks = (links: string[] | null | undefined) =>
      parseLinks(links, (r) => this.containers.get(r)).map((l) => `${l.target.rec.Name.slice(1)}:${l.alias}`);
    const add = (n: NetworkRecord, cfg: Partial<EndpointConfig> | null | undefined, extraLinks: string[] = []) => {
      this.checkEndpoint(n, cfg ?? {});
      const links = n.Name === 'bridge' ? [] : [...new Set([...dnsLinks(cfg?.Links), ...extraLinks])]; // the docker CLI sends them in both places
      out[n.Name] = {
        NetworkID: n.Id,
        Aliases: cfg?.Aliases?.length ? [...cfg.Aliases] : null,
        IPAMConfig: ipamConfigOf(cfg),
        Links: links.length ? links : null,
        MacAddress: macAddress(n, cfg?.MacAddress),
        DriverOpts: driverOptsOf(cfg),
      };
    };
    const primaryCfg = wanted[mode] ?? wanted[primary.Name] ?? wanted[primary.Id] ?? (mode === 'default' ? wanted.bridge : undefined);
    // Clients before API 1.44 send --mac-address as Config.MacAddress: it belongs to the primary network.
    add(
      primary,
      macFromConfig ? { ...primaryCfg, MacAddress: primaryCfg?.MacAddress || macFromConfig } : primaryCfg,
      primary.Name === 'bridge' || primary.Driver !== 'bridge' ? [] : dnsLinks(h.Links),
    );
    for (const [ref, cfg] of Object.entries(wanted)) {
      const n = this.get(this.modeNetwork(ref));
      if (n.Id === primary.Id) continue;
      if (primary.Driver !== 'bridge' || n.Driver !== 'bridge') throw new InvalidArgumentError('Container cannot be connected to network endpoints');
      add(n, cfg);
    }
    if (primary.Driver === 'host' && h.PortBindings && Object.keys(h.PortBindings).length) {
      /* Docker ignores them, with a warning */
    }
    return out;
  }

  /** Docker's rules for --ip and --alias. */
  private checkEndpoint(n: NetworkRecord, cfg: Partial<EndpointConfig>): void {
    const isDefault = n.Name === 'bridge';
    if (cfg.Aliases?.length && (isDefault || n.Driver !== 'bridge'))
      throw new InvalidArgumentError('network-scoped alias is supported only for containers in user defined networks');
    const ip = cfg.IPAMConfig?.IPv4Address;
    if (!ip) return;
    if (isDefault || n.Driver !== 'bridge') throw new InvalidArgumentError('user specified IP address is supported on user defined networks only');
    const addr = parseIp(ip);
    const s = subnetOf(n.IPAM.Config[0]!.Subnet!);
    if (addr === undefined) throw new InvalidArgumentError(`invalid IPv4 address: ${ip}`);
    if (!contains(s, addr)) throw new InvalidArgumentError(`no configured subnet or ip-range contain the IP address ${ip}`);
  }

  // ---- containers: start / stop -------------------------------------------

  async attach(c: Container): Promise<PendingAttachment> {
    const ready = (a: NetAttachment): PendingAttachment => ({ namespace: a.namespace, done: Promise.resolve(a) });
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode === 'host') return ready({ namespace: 'host', addresses: [] });
    if (mode === 'none') return ready({ namespace: 'private', addresses: [] });
    if (mode.startsWith('container:')) {
      const ref = mode.slice(10);
      const other = this.containers.get(ref);
      if (!other.state.Running) throw new ConflictError(`cannot join network of a non running container: ${ref}`);
      const st = this.state.get(other.rec.Id);
      const ns = other.rec.HostConfig.NetworkMode === 'host' ? 'host' : st ? st.Netns : `/proc/${other.state.Pid}/ns/net`;
      return ready({ namespace: ns, addresses: st?.Endpoints.map((e) => e.IPAddress) ?? [], ...this.dnsFor(st) });
    }
    const eps = this.endpointsOf(c);
    const primary = this.tryGet(this.modeNetwork(mode));
    if (!primary) throw new NotFoundError(`failed to set up container networking: network ${this.modeNetwork(mode)} not found`);
    if (primary.Driver !== 'bridge') return ready({ namespace: primary.Driver === 'host' ? 'host' : 'private', addresses: [] });
    this.exitDisconnects.delete(c.rec.Id);
    let created!: (ns: string) => void;
    const namespace = new Promise<string>((r) => {
      created = r;
    });
    // Addresses a just-exited container still holds are free first (see release).
    const done = this.released().then(() =>
      this.locks.run(c.rec.Id, async (): Promise<NetAttachment> => {
        const id = c.rec.Id;
        if (this.state.has(id)) await this.detachLocked(id); // left over from a run whose exit we missed
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
        this.reservations.set(id, reserved);
        const st: RuntimeState = { Netns: join(this.netnsDir, id), Ports: reserved.map((r) => r.binding), Endpoints: [] };
        try {
          await this.saveState(id, st);
          await createNetns(st.Netns);
          created(st.Netns);
          const names = Object.keys(eps).sort((a, b) => (a === primary.Name ? -1 : b === primary.Name ? 1 : a.localeCompare(b)));
          for (const name of names) {
            const n = this.tryGet(eps[name]!.NetworkID) ?? this.tryGet(name);
            if (!n) throw new NotFoundError(`failed to set up container networking: network ${name} not found`);
            await this.addEndpoint(c, st, n, eps[name]!);
            // dockerd tells of each endpoint a start makes, before the container's start event.
            this.events.publish('network', 'connect', n.Id, { container: id, name: n.Name, type: n.Driver });
          }
        } catch (e) {
          await this.detachLocked(id);
          throw e;
        }
        return { namespace: st.Netns, addresses: st.Endpoints.map((e) => e.IPAddress), ...this.dnsFor(st) };
      }),
    );
    done.catch(() => {}); // the caller awaits it; a failure before the namespace exists surfaces below
    return { namespace: await Promise.race([namespace, done.then((a) => a.namespace)]), done };
  }

  /** The embedded DNS when any network is user-defined, as Docker does; the host's resolvers otherwise. */
  private dnsFor(st: RuntimeState | undefined): Pick<NetAttachment, 'nameservers' | 'dnsOptions'> {
    const user = st?.Endpoints.find((e) => e.NetworkName !== 'bridge');
    return user ? { nameservers: [user.Gateway], dnsOptions: ['ndots:0'] } : {};
  }

  private endpointsOf(c: Container): Record<string, EndpointConfig> {
    return c.rec.Networks ?? this.planCreate(c.rec.HostConfig, null);
  }

  private params(n: NetworkRecord): BridgeNetParams {
    const ipam = n.IPAM.Config[0]!;
    const p: BridgeNetParams = {
      cniName: n.Id,
      bridge: n.BridgeName!,
      subnet: ipam.Subnet!,
      gateway: gateway4(n),
      internal: n.Internal,
      ipamDir: this.ipamDir,
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
  private async addEndpoint(c: Container, st: RuntimeState, n: NetworkRecord, cfg: EndpointConfig): Promise<EndpointState> {
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
      Conf: bridgeConfList(this.params(n), withPorts),
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
    await this.saveState(id, st);
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
    if (withPorts) for (const r of this.reservations.get(id) ?? []) r.relayTo(ep.IPAddress);
    await this.saveState(id, st);
    await this.ensureDns(n.Id);
    return ep;
  }

  async detach(c: Container): Promise<void> {
    if (this.releasing.has(c.rec.Id)) return; // a release is tearing it down already
    await this.locks.run(c.rec.Id, () => this.detachLocked(c.rec.Id));
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
  async release(c: Container): Promise<void> {
    const id = c.rec.Id;
    const st = this.state.get(id);
    if (st)
      this.exitDisconnects.set(
        id,
        st.Endpoints.map((e) => ({ id: e.NetworkID, name: e.NetworkName, type: this.nets.get(e.NetworkID)?.Driver ?? 'bridge' })),
      );
    if (!st || st.Ports.length || this.releasing.has(id)) return this.detach(c);
    this.state.delete(id); // detachLocked reads it back from disk
    const done = this.locks
      .run(id, () => this.detachLocked(id))
      .catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) }))
      .finally(() => this.releasing.delete(id));
    this.releasing.set(id, done);
  }

  /** Every teardown release() left running, finished. */
  private async released(): Promise<void> {
    await Promise.all(this.releasing.values());
  }

  /** Undo attach from its runtime state: DEL each network (reverse order), release ports, drop the namespace. */
  private async detachLocked(id: string): Promise<void> {
    let st = this.state.get(id);
    if (!st) {
      try {
        st = JSON.parse(await readFile(this.statePath(id), 'utf8')) as RuntimeState;
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
      const shared = this.containers.list().some((o) => o.state.Running && o.rec.Id !== id && this.sharesNetworkOf(o, id));
      const dels = async (netns: string) => {
        for (const ep of [...st!.Endpoints].reverse()) await this.delEndpoint(id, netns, ep);
      };
      if (shared) {
        await dels(await liveNetns(st));
        await remove();
      } else {
        await Promise.all([remove(), dels('')]);
      }
    }
    for (const r of this.reservations.get(id) ?? []) r.close();
    this.reservations.delete(id);
    this.state.delete(id);
    await rm(this.statePath(id), { force: true });
  }

  /** Whether `o` runs in the network namespace of container `id` (--network container:…). */
  private sharesNetworkOf(o: Container, id: string): boolean {
    const mode = o.rec.HostConfig.NetworkMode ?? '';
    if (!mode.startsWith('container:')) return false;
    const ref = mode.slice(10);
    return this.containers.tryGet(ref)?.rec.Id === id;
  }

  /** `netns` is '' when the namespace is gone or going (reboot, torn-down mount): the plugins then skip it, as the spec allows. */
  private async delEndpoint(id: string, netns: string, ep: EndpointState): Promise<void> {
    try {
      await delNetworkList(ep.Conf, { containerId: id, netns, ifName: ep.IfName, args: ep.Args, runtimeConfig: ep.RuntimeConfig }, ep.Result);
    } catch (e) {
      log.warn('CNI DEL failed', { id, network: ep.NetworkName, error: messageOf(e) });
    }
  }

  /** Under the exec root, a tmpfs a power cut empties anyway: replaced atomically, not synced. */
  private async saveState(id: string, st: RuntimeState): Promise<void> {
    this.state.set(id, st);
    await replaceJson(this.statePath(id), st);
  }

  // ---- connect / disconnect -----------------------------------------------

  async connect(netRef: string, ctrRef: string, cfg: Partial<EndpointConfig> | null | undefined): Promise<void> {
    const n = this.get(netRef);
    const c = this.containers.get(ctrRef);
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode.startsWith('container:'))
      throw new BerthError('container sharing network namespace with another container or host cannot be connected to any other network', 403);
    if (mode === 'host' || n.Driver === 'host')
      throw new InvalidArgumentError('container cannot be disconnected from host network or connected to host network');
    if (mode === 'none' || n.Driver === 'null')
      throw new BerthError('container cannot be connected to multiple networks with one of the networks in private (none) mode', 403);
    this.checkEndpoint(n, cfg ?? {});
    await this.released();
    await this.locks.run(c.rec.Id, async () => {
      const eps = { ...this.endpointsOf(c) };
      if (n.Name in eps) throw new BerthError(`endpoint with name ${c.rec.Name.slice(1)} already exists in network ${n.Name}`, 403);
      const ep: EndpointConfig = {
        NetworkID: n.Id,
        Aliases: cfg?.Aliases?.length ? [...cfg.Aliases] : null,
        IPAMConfig: ipamConfigOf(cfg),
        Links: null,
        MacAddress: '',
        DriverOpts: driverOptsOf(cfg),
      };
      const st = this.state.get(c.rec.Id);
      if (c.state.Running && st) {
        try {
          await this.addEndpoint(c, st, n, ep);
        } catch (e) {
          const added = st.Endpoints.find((x) => x.NetworkID === n.Id);
          if (added) {
            await this.delEndpoint(c.rec.Id, await liveNetns(st), added);
            st.Endpoints = st.Endpoints.filter((x) => x !== added);
            await this.saveState(c.rec.Id, st);
          }
          throw e;
        }
        await this.containers.rewriteHosts(c, st.Endpoints.map((e) => e.IPAddress).filter(Boolean));
      }
      eps[n.Name] = ep;
      c.rec.Networks = eps;
      await this.containers.persist(c);
    });
    this.events.publish('network', 'connect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
  }

  async disconnect(netRef: string, ctrRef: string, _force = false): Promise<void> {
    const n = this.get(netRef);
    const c = this.containers.get(ctrRef);
    const mode = c.rec.HostConfig.NetworkMode || 'default';
    if (mode === 'host' || n.Driver === 'host')
      throw new InvalidArgumentError('container cannot be disconnected from host network or connected to host network');
    await this.released();
    let active = false;
    await this.locks.run(c.rec.Id, async () => {
      const eps = { ...this.endpointsOf(c) };
      // dockerd's force only reaches endpoints of a container that is gone; for one that is here it is a plain error (500).
      if (!(n.Name in eps)) throw new BerthError(`container ${c.rec.Id} is not connected to ${c.state.Running ? '' : 'the '}network ${n.Name}`, 500);
      const st = this.state.get(c.rec.Id);
      const ep = st?.Endpoints.find((x) => x.NetworkID === n.Id);
      active = !!(st && ep);
      if (st && ep) {
        await this.delEndpoint(c.rec.Id, await liveNetns(st), ep);
        st.Endpoints = st.Endpoints.filter((x) => x !== ep);
        await this.saveState(c.rec.Id, st);
        await this.containers.rewriteHosts(c, st.Endpoints.map((e) => e.IPAddress).filter(Boolean));
      }
      delete eps[n.Name];
      c.rec.Networks = eps;
      // The primary network gone: Docker keeps the mode name; the next start uses whatever networks remain.
      await this.containers.persist(c);
    });
    // dockerd tells of a running container's disconnect twice: once as its endpoint goes, once for the request.
    if (active) this.events.publish('network', 'disconnect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
    this.events.publish('network', 'disconnect', n.Id, { container: c.rec.Id, name: n.Name, type: n.Driver });
  }

  // ---- embedded DNS -------------------------------------------------------

  /** Start the DNS server of a user-defined network once its bridge has the gateway address. */
  private async ensureDns(netId: string): Promise<void> {
    const n = this.nets.get(netId);
    if (!n || n.Name === 'bridge' || n.Driver !== 'bridge' || this.dns.has(netId)) return;
    const gw = gateway4(n);
    const server = new DnsServer(
      gw,
      n.IPAM.Config[0]!.Subnet!,
      (name, from) => this.resolve(netId, name, from),
      53,
      (from) => this.dnsServersOf(netId, from),
    );
    try {
      await server.start();
      this.dns.set(netId, server);
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
  resolve(netId: string, name: string, from?: string): string[] | undefined {
    let q = name.toLowerCase();
    let nets = [netId];
    for (const [id, st] of from ? this.state : []) {
      const ep = st.Endpoints.find((e) => e.NetworkID === netId && e.IPAddress === from);
      if (!ep) continue;
      const link = (this.containers.tryGet(id)?.rec.Networks?.[ep.NetworkName]?.Links ?? [])
        .map((l) => l.split(':'))
        .find(([, alias]) => alias?.toLowerCase() === q);
      if (link) q = link[0]!.replace(/^\//, '').toLowerCase();
      nets = [netId, ...st.Endpoints.map((e) => e.NetworkID).filter((n) => n !== netId)];
      break;
    }
    for (const n of nets) {
      const out = this.namesOn(n, q);
      if (out.length) return out;
    }
    return undefined;
  }

  /** The --dns servers of the container at address `from` on network `netId`. */
  private dnsServersOf(netId: string, from: string): string[] | undefined {
    for (const [id, st] of this.state) {
      if (st.Endpoints.some((e) => e.NetworkID === netId && e.IPAddress === from)) return this.containers.tryGet(id)?.rec.HostConfig.Dns ?? undefined;
    }
    return undefined;
  }

  /** Addresses on network `netId` of the running containers called `q` there. */
  private namesOn(netId: string, q: string): string[] {
    const out: string[] = [];
    for (const [id, st] of this.state) {
      const ep = st.Endpoints.find((e) => e.NetworkID === netId);
      if (!ep?.IPAddress) continue;
      const c = this.containers.tryGet(id);
      if (!c) continue;
      const names = [c.rec.Name.slice(1), id.slice(0, 12), ...(c.rec.Networks?.[ep.NetworkName]?.Aliases ?? [])];
      if (names.some((x) => x.toLowerCase() === q)) out.push(ep.IPAddress);
    }
    return out;
  }

  // ---- views --------------------------------------------------------------

  runtimeOf(id: string): RuntimeState | undefined {
    return this.state.get(id);
  }
  hostGateway(): string | undefined {
    const configured = this.opts.config['host-gateway-ip'];
    if (typeof configured === 'string' && configured) return configured;
    return [...this.nets.values()].find((n) => n.Name === 'bridge')?.IPAM.Config[0]?.Gateway || undefined;
  }
  bridgeAddress(c: Container): string | undefined {
    return this.state.get(c.rec.Id)?.Endpoints.find((e) => e.NetworkName === 'bridge')?.IPAddress || undefined;
  }
  settings(c: Container): Record<string, unknown> {
    return networkSettings(this, c);
  }
  endpoints(c: Container): Record<string, unknown> {
    return endpointsView(this, c);
  }
  ports(c: Container): unknown[] {
    return portsList(this, c);
  }
}

/** EndpointSettings.DriverOpts as given (kept, and shown by inspect as dockerd does); null for none. */
function driverOptsOf(cfg: Partial<EndpointConfig> | null | undefined): Record<string, string> | null {
  const o = cfg?.DriverOpts;
  return o && typeof o === 'object' && Object.keys(o).length ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])) : null;
}

/** The static addresses asked for (--ip, --ip6). */
function ipamConfigOf(cfg: Partial<EndpointConfig> | null | undefined): EndpointConfig['IPAMConfig'] {
  const v4 = cfg?.IPAMConfig?.IPv4Address;
  const v6 = cfg?.IPAMConfig?.IPv6Address;
  return v4 || v6 ? { ...(v4 ? { IPv4Address: v4 } : {}), ...(v6 ? { IPv6Address: v6 } : {}) } : null;
}

/** A requested MAC address, checked as dockerd does; '' for none. */
function macAddress(n: NetworkRecord, mac: string | undefined): string {
  if (!mac) return '';
  if (!/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(mac)) throw new InvalidArgumentError(`invalid MAC address: ${mac}`);
  if (n.Driver !== 'bridge') throw new InvalidArgumentError('conflicting options: mac-address and the network mode');
  return mac.toLowerCase().replace(/-/g, ':');
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

/** Routes the host already has (to keep automatic subnets clear of them), except through our own bridges. */
async function hostRoutes(ownBridges: string[]): Promise<Subnet[]> {
  const r = await run('ip', ['-4', '-j', 'route', 'show', 'table', 'all']);
  if (r.code !== 0) return [];
  try {
    const routes = JSON.parse(r.stdout) as Array<{ dst: string; dev?: string; type?: string }>;
    return routes
      .filter((x) => x.dst && x.dst !== 'default' && !ownBridges.includes(x.dev ?? '') && (x.type ?? 'unicast') === 'unicast' && !x.dst.startsWith('127.'))
      .map((x) => parseCidr(x.dst.includes('/') ? x.dst : `${x.dst}/32`)?.subnet)
      .filter((s): s is Subnet => !!s && s.bits > 0);
  } catch {
    return [];
  }
}

/** The network's IPv4 and IPv6 configs (the v4 one comes first in what Berth records). */
export function v4Config(n: NetworkRecord): IpamConfig | undefined {
  return n.IPAM.Config.find((c) => c.Subnet && !c.Subnet.includes(':'));
}
export function v6Config(n: NetworkRecord): IpamConfig | undefined {
  return n.EnableIPv6 ? n.IPAM.Config.find((c) => c.Subnet?.includes(':')) : undefined;
}

/** The gateway given at create, or Docker's default: the subnet's first address. */
export function gateway4(n: NetworkRecord): string {
  const c = v4Config(n)!;
  return c.Gateway || formatIp(firstHost(subnetOf(c.Subnet!)));
}

export function gateway6(n: NetworkRecord): string | undefined {
  const c = v6Config(n);
  if (!c) return undefined;
  return c.Gateway || formatIp6(firstHost6(parseCidr6(c.Subnet!)!.subnet));
}

/**
 * The IPAM config as moby's ValidateIPAM (API 1.44+, unversioned) checks it,
 * in its words: every fault found, one per line. v6 configs count only on an
 * IPv6 network.
 */
export function validateIpam(configs: IpamConfig[], enableV6: boolean): void {
  const errs: string[] = [];
  for (const c of configs) {
    const sub = c.Subnet ?? '';
    const v6 = sub.includes(':');
    const p4 = v6 ? undefined : parseCidr(sub);
    const p6 = v6 ? parseCidr6(sub) : undefined;
    if (!p4 && !p6) {
      errs.push(`invalid subnet ${sub}: invalid CIDR block notation`);
      continue;
    }
    if (v6 && !enableV6) continue;
    const fam = v6 ? 'IPv6' : 'IPv4';
    const masked = p4 ? formatSubnet(p4.subnet) : formatSubnet6(p6!.subnet);
    const norm = p4 ? `${formatIp(p4.ip)}/${p4.subnet.bits}` : `${formatIp6(p6!.ip)}/${p6!.subnet.bits}`;
    if (norm !== masked) errs.push(`invalid subnet ${norm}: it should be ${masked}`);
    const inside = (a: string): string | undefined => {
      const isV6 = a.includes(':');
      if (isV6 ? parseIp6(a) === undefined : parseIp(a) === undefined) return 'invalid address';
      if (isV6 !== v6) return `parent subnet is an ${fam} block`;
      const ok = p4 ? contains(p4.subnet, parseIp(a)!) : contains6(p6!.subnet, parseIp6(a)!);
      return ok ? undefined : `parent subnet ${masked} doesn't contain this address`;
    };
    if (c.IPRange) {
      const r4 = v6 ? undefined : parseCidr(c.IPRange);
      const r6 = c.IPRange.includes(':') ? parseCidr6(c.IPRange) : undefined;
      if (!r4 && !r6) errs.push(`invalid ip-range ${c.IPRange}: invalid CIDR block notation`);
      else if (!!r6 !== v6) errs.push(`invalid ip-range ${c.IPRange}: parent subnet is an ${fam} block`);
      else {
        const rBits = r4 ? r4.subnet.bits : r6!.subnet.bits;
        const sBits = p4 ? p4.subnet.bits : p6!.subnet.bits;
        if (rBits < sBits) errs.push(`invalid ip-range ${c.IPRange}: CIDR block is bigger than its parent subnet ${masked}`);
        const rNorm = r4 ? `${formatIp(r4.ip)}/${rBits}` : `${formatIp6(r6!.ip)}/${rBits}`;
        const rMasked = r4 ? formatSubnet(r4.subnet) : formatSubnet6(r6!.subnet);
        if (rNorm !== rMasked) errs.push(`invalid ip-range ${rNorm}: it should be ${rMasked}`);
        const over = r4 ? overlaps(r4.subnet, p4!.subnet) : overlaps6(r6!.subnet, p6!.subnet);
        if (!over) errs.push(`invalid ip-range ${c.IPRange}: parent subnet ${masked} doesn't contain ip-range`);
      }
    }
    if (c.Gateway) {
      const e = inside(c.Gateway);
      if (e) errs.push(`invalid gateway ${c.Gateway}: ${e}`);
    }
    for (const [k, a] of Object.entries(c.AuxiliaryAddresses ?? {})) {
      const e = inside(a);
      if (e) errs.push(`invalid auxiliary address ${k}: ${e}`);
    }
  }
  if (!errs.length) return;
  throw new InvalidArgumentError(`invalid network config:\n${errs.length === 1 ? errs[0] : '* ' + errs.join('\n* ')}`);
}

/** Whether Berth made n's bridge. A record from before that was kept: only a br-<id> name is ours by construction. */
function bridgeOwned(n: NetworkRecord): boolean {
  return n.BridgeCreated ?? n.BridgeName === `br-${n.Id.slice(0, 12)}`;
}

function mtuOf(n: NetworkRecord): number | undefined {
  const mtu = Number(n.Options['com.docker.network.driver.mtu']);
  return mtu > 0 ? mtu : undefined;
}

/** The namespace to hand CNI: none when its mount is gone already. */
async function liveNetns(st: RuntimeState): Promise<string> {
  return (await isNetnsMount(st.Netns)) ? st.Netns : '';
}
