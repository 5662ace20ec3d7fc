/**
 * The network service: networks (the predefined bridge, host and none, and
 * user-defined bridge networks), and each container's place on them. This
 * class owns the state (the records, each running container's runtime state,
 * port reservations, DNS servers, locks) and delegates each concern to its
 * own file: records.ts (create, remove, prune, the predefined networks),
 * endpoints.ts (a container's configured endpoints), attach.ts (its live
 * network: attach, detach, release), connect.ts (connect, disconnect),
 * dns.ts (the embedded DNS), recover.ts (berthd's start); ipam.ts holds the
 * address configuration they share.
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
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BerthError, NotFoundError } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import { KeyedMutex } from '../../core/mutex.js';
import type { DnsServer } from '../../network/dns.js';
import { Firewall } from '../../network/firewall.js';
import type { AddressPool } from '../../network/ipnet.js';
import type { Reservation } from '../../network/ports.js';
import type { EventBus } from '../events.js';
import type { Container, EndpointConfig } from '../containers/record.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerNetworking, PendingAttachment } from '../containers/networking.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { attachContainer, detachContainer, releaseContainer } from './attach.js';
import { connectContainer, disconnectContainer } from './connect.js';
import { resolveName } from './dns.js';
import { planEndpoints } from './endpoints.js';
import { DEFAULT_POOLS } from './ipam.js';
import { createNetwork, pruneNetworks, removeNetwork } from './records.js';
import { initNetworks, reconcileNetworks } from './recover.js';
import { endpointsView, networkSettings, portsList } from './views.js';
import type { CreateNetworkRequest, NetworkRecord, RuntimeState } from './types.js';

export interface NetworkServiceOptions {
  dataRoot: string;
  execRoot: string;
  /** daemon.json: bip, default-address-pools, bridge, mtu. */
  config: Record<string, unknown>;
}

/** What the network service asks of the containers: look-ups, and their /etc/hosts and records rewritten on connect. */
export type NetworkContainers = Pick<ContainerService, 'get' | 'tryGet' | 'list' | 'rewriteHosts' | 'persist'>;

export class NetworkService implements ContainerNetworking {
  /** Every network by full ID. The members below that the service's own parts use (records.ts, attach.ts, …) are theirs too. */
  readonly nets = new Map<string, NetworkRecord>();
  /** Each started container's runtime state (its namespace, ports and live endpoints), by container ID. */
  readonly state = new Map<string, RuntimeState>();
  readonly reservations = new Map<string, Reservation[]>();
  readonly dns = new Map<string, DnsServer>();
  readonly locks = new KeyedMutex();
  /** Teardowns release() left running, by container. */
  readonly releasing = new Map<string, Promise<void>>();
  readonly firewall: Firewall;

  /** Disconnect events of a container that exited, told right after its die event (dockerd's order). */
  readonly exitDisconnects = new Map<string, Array<{ id: string; name: string; type: string }>>();

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

  get netDir(): string {
    return join(this.opts.dataRoot, 'networks');
  }
  get ipamDir(): string {
    return join(this.netDir, 'ipam');
  }
  get stateDir(): string {
    return join(this.opts.execRoot, 'network');
  }
  get netnsDir(): string {
    return join(this.opts.execRoot, 'netns');
  }
  statePath(id: string): string {
    return join(this.stateDir, `${id}.json`);
  }

  // ---- startup ------------------------------------------------------------

  /** Load networks, make the predefined ones, put our iptables rules in place. Before containers load. */
  async init(): Promise<void> {
    await initNetworks(this);
  }

  /**
   * After containers are loaded: tear down the network of every container that
   * is gone or no longer running (it exited while berthd was down), re-reserve
   * ports and restart DNS for running ones, and drop leases, namespaces and
   * runtime files nothing uses.
   */
  async reconcile(): Promise<void> {
    await reconcileNetworks(this);
  }

  pools(): AddressPool[] {
    const p = this.opts.config['default-address-pools'];
    if (Array.isArray(p) && p.length) return p.map((x) => ({ base: String((x as AddressPool).base), size: Number((x as AddressPool).size) }));
    return DEFAULT_POOLS;
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

  create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    return createNetwork(this, req);
  }

  remove(ref: string): Promise<void> {
    return removeNetwork(this, ref);
  }

  prune(filters: Filters): Promise<{ NetworksDeleted: string[] }> {
    return pruneNetworks(this, filters);
  }

  // ---- containers ---------------------------------------------------------

  planCreate(h: HostConfig, networking: unknown, macFromConfig?: string): Record<string, EndpointConfig> {
    return planEndpoints(this, h, networking, macFromConfig);
  }

  attach(c: Container): Promise<PendingAttachment> {
    return attachContainer(this, c);
  }

  detach(c: Container): Promise<void> {
    return detachContainer(this, c);
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
  release(c: Container): Promise<void> {
    return releaseContainer(this, c);
  }

  /** Every teardown release() left running, finished. */
  async released(): Promise<void> {
    await Promise.all(this.releasing.values());
  }

  connect(netRef: string, ctrRef: string, cfg: Partial<EndpointConfig> | null | undefined): Promise<void> {
    return connectContainer(this, netRef, ctrRef, cfg);
  }

  disconnect(netRef: string, ctrRef: string, _force = false): Promise<void> {
    return disconnectContainer(this, netRef, ctrRef, _force);
  }

  // ---- embedded DNS -------------------------------------------------------

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
    return resolveName(this, netId, name, from);
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
