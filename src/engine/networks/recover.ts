/**
 * What berthd restores at start: networks loaded and the predefined ones
 * made, bridges claimed again (after a reboot), the iptables rules synced;
 * then, once containers are loaded, the networking of containers that
 * exited while berthd was down torn down, ports and DNS of running ones
 * taken up again, and leases and namespaces nothing uses dropped.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../core/errors.js';
import { log } from '../../core/log.js';
import { claimBridge, hostLinks, notABridge } from '../../network/links.js';
import { netnsMountsUnder, removeNetns } from '../../network/netns.js';
import { reservePorts } from '../../network/ports.js';
import { detachLocked, type AttachHost } from './attach.js';
import { ensureDns } from './dns.js';
import { bridgeNets, bridgeOwned, ensurePredefined, fwNet, mtuOf, saveNet, type RecordsHost } from './records.js';
import type { NetworkRecord, RuntimeState } from './types.js';

/** What recovery needs of the network service: the records' and attach's, and where runtime states are kept. */
export interface RecoverHost extends RecordsHost, AttachHost {
  readonly nets: Map<string, NetworkRecord>;
  readonly state: Map<string, RuntimeState>;
  readonly stateDir: string;
}

/** Load networks, make the predefined ones, put our iptables rules in place. Before containers load. */
export async function initNetworks(svc: RecoverHost): Promise<void> {
  for (const d of [svc.netDir, svc.ipamDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  for (const d of [svc.stateDir, svc.netnsDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  for (const f of await readdir(svc.netDir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const n = JSON.parse(await readFile(join(svc.netDir, f), 'utf8')) as NetworkRecord;
      svc.nets.set(n.Id, n);
    } catch (e) {
      log.warn('skipping unreadable network record', { file: f, error: messageOf(e) });
    }
  }
  for (const f of await readdir(svc.stateDir)) {
    if (!f.endsWith('.json')) continue;
    try {
      svc.state.set(f.slice(0, -5), JSON.parse(await readFile(join(svc.stateDir, f), 'utf8')) as RuntimeState);
    } catch {
      /* torn write: reconcile cleans */
    }
  }
  await ensurePredefined(svc);
  const usable = await claimBridges(svc);
  try {
    await svc.firewall.sync(usable.map((n) => fwNet(n)));
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
export async function reconcileNetworks(svc: RecoverHost): Promise<void> {
  for (const [id, st] of [...svc.state]) {
    const c = svc.containers.tryGet(id);
    if (!c?.state.Running) {
      await svc.locks.run(id, () => detachLocked(svc, id));
      continue;
    }
    try {
      const res = await reservePorts(st.Ports);
      const first = st.Endpoints.find((e) => e.IPAddress);
      if (first) for (const r of res) r.relayTo(first.IPAddress);
      svc.reservations.set(id, res);
    } catch (e) {
      log.warn('could not reserve published ports again', { id, error: messageOf(e) });
    }
    for (const ep of st.Endpoints) await ensureDns(svc, ep.NetworkID);
  }
  const live = new Set(svc.state.keys());
  for (const p of await netnsMountsUnder(svc.netnsDir)) {
    if (!live.has(p.slice(svc.netnsDir.length + 1))) await removeNetns(p).catch(() => {});
  }
  for (const f of await readdir(svc.netnsDir).catch(() => [] as string[])) {
    if (!live.has(f)) await rm(join(svc.netnsDir, f), { force: true }).catch(() => {});
  }
  await cleanLeases(svc, live);
}

/**
 * Every bridge network's bridge, made now where it is missing (after a
 * reboot), so the name is ours before anyone else takes it; recorded as
 * made by us or adopted. A network whose bridge name now belongs to a link
 * that is not a bridge is left out of the iptables rules (they would land
 * on that link); for the default network berthd does not start, as dockerd.
 */
async function claimBridges(svc: RecoverHost): Promise<NetworkRecord[]> {
  const links = await hostLinks();
  const usable: NetworkRecord[] = [];
  for (const n of bridgeNets(svc)) {
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
    if (n.BridgeCreated !== created) await saveNet(svc, { ...n, BridgeCreated: created });
    usable.push(n);
  }
  return usable;
}

/** host-local leases are files named by address holding the container ID: drop those of no live container. */
async function cleanLeases(svc: RecoverHost, live: Set<string>): Promise<void> {
  for (const netId of await readdir(svc.ipamDir).catch(() => [] as string[])) {
    const dir = join(svc.ipamDir, netId);
    if (!svc.nets.has(netId)) {
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
