/**
 * `docker update`: a container's resources (memory, CPU, pids, block I/O)
 * and restart policy, changed in its record and, when it runs, live in its
 * cgroup through the runtime.
 */
import { BerthError, messageOf } from '../../core/errors.js';
import type { ContainerRuntimes } from './runtimes.js';
import type { EventBus } from '../events.js';
import { validateHostConfig } from './config.js';
import type { Container } from './record.js';
import type { HostConfig } from '../../core/wire/host-config.js';

/** What updating a container needs of the container service. */
export interface UpdateHost {
  readonly runc: ContainerRuntimes;
  readonly events: EventBus;
  get(ref: string): Container;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  save(c: Container): Promise<void>;
}

/** Change resources (and the restart policy) of a container, live when it runs. */
export async function updateContainer(svc: UpdateHost, ref: string, upd: HostConfig): Promise<string[]> {
  const c = svc.get(ref);
  const keys = [
    'Memory',
    'MemorySwap',
    'MemoryReservation',
    'NanoCpus',
    'CpuShares',
    'CpuPeriod',
    'CpuQuota',
    'CpusetCpus',
    'CpusetMems',
    'PidsLimit',
    'BlkioWeight',
  ] as const;
  const next: HostConfig = { ...c.rec.HostConfig };
  for (const k of keys) if (upd[k] !== undefined && upd[k] !== null && upd[k] !== 0 && upd[k] !== '') (next as Record<string, unknown>)[k] = upd[k];
  if (upd.RestartPolicy?.Name) next.RestartPolicy = upd.RestartPolicy;
  validateHostConfig(next, c.rec.Config);
  if (c.state.Running) {
    const r: Record<string, Record<string, unknown>> = { memory: {}, cpu: {}, blockIO: {}, pids: {} };
    if (next.Memory) r.memory!.limit = next.Memory;
    if (next.MemorySwap) r.memory!.swap = next.MemorySwap;
    else if (upd.Memory && next.MemorySwap === undefined) r.memory!.swap = -1;
    if (next.MemoryReservation) r.memory!.reservation = next.MemoryReservation;
    if (upd.NanoCpus) {
      r.cpu!.period = 100000;
      r.cpu!.quota = Math.round((next.NanoCpus! * 100000) / 1e9);
    }
    if (upd.CpuQuota) r.cpu!.quota = next.CpuQuota;
    if (upd.CpuPeriod) r.cpu!.period = next.CpuPeriod;
    if (upd.CpuShares) r.cpu!.shares = next.CpuShares;
    if (upd.CpusetCpus) r.cpu!.cpus = next.CpusetCpus;
    if (upd.CpusetMems) r.cpu!.mems = next.CpusetMems;
    if (upd.BlkioWeight) r.blockIO!.weight = next.BlkioWeight;
    if (upd.PidsLimit) r.pids!.limit = next.PidsLimit;
    try {
      await svc.runc.update(c.rec.Id, r);
    } catch (e) {
      throw new BerthError(`Cannot update container ${c.rec.Id}: ${messageOf(e)}`, 500);
    }
  }
  c.rec.HostConfig = next;
  await svc.save(c);
  svc.events.publish('container', 'update', c.rec.Id, svc.attrs(c));
  return [];
}
