/**
 * One read of every running container's counters, for a metrics scrape or a history tick:
 * the cgroup's counters (runtime/cgroups.ts), its settings (runtime/cgroup-spec.ts) and its
 * interfaces (/proc/<pid>/net/dev). The cgroup version and mountinfo are read once per call,
 * not once per container, and all containers are read in parallel; a container that exits
 * mid-read is left out, never an error.
 */
import { readFile } from 'node:fs/promises';
import { type CgroupOptions, type CgroupStats, cgroupVersion, readCgroupStats } from '../../runtime/cgroups.js';
import { type CgroupSpec, readCgroupSpec } from '../../runtime/cgroup-spec.js';
import { blockDeviceName } from '../../runtime/block-devices.js';
import { type NetDevStats, readNetDev } from '../../runtime/proc-stats.js';
import type { Container } from '../containers/record.js';
import type { ContainerSample } from './cadvisor.js';

/** The cgroup path runc is given for a container (its cgroupsPath). */
export const cgroupOf = (id: string): string => `/berth/${id}`;

/** The cgroup root and mountinfo, read once for a batch of containers. */
export async function cgroupContext(): Promise<CgroupOptions> {
  const version = cgroupVersion();
  return version === 2 ? { version } : { version, mountinfo: await readFile('/proc/self/mountinfo', 'utf8') };
}

/** What a history tick needs: counters and interfaces, no settings. */
export interface CounterSample {
  id: string;
  stats: CgroupStats;
  net: Record<string, NetDevStats>;
}

/** Running (or paused) containers: the ones with a cgroup to read. */
export const live = (all: Container[]): Container[] => all.filter((c) => c.state.Running && c.state.Pid > 0);

async function counters(c: Container, opts: CgroupOptions): Promise<CounterSample | undefined> {
  try {
    const [stats, net] = await Promise.all([readCgroupStats(cgroupOf(c.rec.Id), opts), readNetDev(c.state.Pid).catch(() => ({}))]);
    return { id: c.rec.Id, stats, net };
  } catch {
    return undefined; // gone between the list and the read
  }
}

/** Counters of each running container (for history). */
export async function readCounters(all: Container[]): Promise<CounterSample[]> {
  const opts = await cgroupContext();
  const got = await Promise.all(live(all).map((c) => counters(c, opts)));
  return got.filter((x): x is CounterSample => x !== undefined);
}

/** Full samples of each running container (for a scrape). */
export async function readSamples(all: Container[]): Promise<ContainerSample[]> {
  const opts = await cgroupContext();
  const got = await Promise.all(
    live(all).map(async (c): Promise<ContainerSample | undefined> => {
      const [cnt, spec] = await Promise.all([counters(c, opts), readCgroupSpec(cgroupOf(c.rec.Id), opts).catch((): CgroupSpec | undefined => undefined)]);
      if (!cnt || !spec) return undefined;
      const devices = new Map<string, string>();
      for (const e of cnt.stats.blkio.io_service_bytes_recursive ?? []) {
        const key = `${e.major}:${e.minor}`;
        if (!devices.has(key)) devices.set(key, await blockDeviceName(e.major, e.minor));
      }
      const started = Date.parse(c.state.StartedAt);
      return {
        cgroup: cgroupOf(c.rec.Id),
        name: c.rec.Name,
        image: c.rec.Config.Image ?? '',
        labels: c.rec.Config.Labels ?? {},
        stats: cnt.stats,
        spec,
        net: cnt.net,
        startedAt: Number.isFinite(started) ? started / 1000 : 0,
        devices,
      };
    }),
  );
  return got.filter((x): x is ContainerSample => x !== undefined);
}
