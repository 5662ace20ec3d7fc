/**
 * A cgroup's settings as a monitor reports them beside its counters (cgroups.ts reads the
 * counters): the CPU bandwidth quota and period, CPU shares, the OOM-kill count and the
 * number of processes. The Prometheus metrics (engine/metrics/) need these and the stats
 * endpoint does not, so they are read here, on the same path resolution and file helpers.
 *
 * v1: cpu.cfs_quota_us (-1 = none), cpu.cfs_period_us, cpu.shares, memory.oom_control.
 * v2: cpu.max (`max 100000` or `50000 100000`), cpu.weight (1–10000, reported as the v1
 * shares it stands for, by the conversion cAdvisor and Kubernetes use), memory.events.
 * Sources: the kernel's admin-guide/cgroup-v1/{cpuacct,memory}.rst and cgroup-v2.rst.
 */
import { join } from 'node:path';
import { type CgroupOptions, type CgroupPaths, type CgroupVersion, cgroupVersion, controllerDir, num, parseKeyValues, pathFor, readOpt } from './cgroups.js';

export interface CgroupSpec {
  /** CFS quota in µs per period; 0 when there is none. */
  cpuQuota: number;
  /** CFS period in µs; 0 when the file is absent. */
  cpuPeriod: number;
  /** v1 cpu.shares, or v2 cpu.weight converted to shares; 0 when absent. */
  cpuShares: number;
  /** OOM kills inside the cgroup (v1 memory.oom_control, v2 memory.events `oom_kill`). */
  oomKills: number;
  /** Processes (not threads) in the cgroup: lines of cgroup.procs. */
  processes: number;
}

/** v2 cpu.max: `$QUOTA $PERIOD`, QUOTA `max` for none. */
export function parseCpuMax(text: string | undefined): { quota: number; period: number } {
  const [q, p] = (text ?? '').trim().split(/\s+/);
  return { quota: q === undefined || q === 'max' ? 0 : num(q), period: num(p) };
}

/** cpu.weight [1, 10000] → cpu.shares [2, 262144], the inverse of runc's shares → weight; 0 outside the range. */
export function cpuWeightToShares(weight: number): number {
  if (!Number.isInteger(weight) || weight < 1 || weight > 10000) return 0;
  return 2 + Math.floor(((weight - 1) * 262142) / 9999);
}

/** Entries of a cgroup.procs text (one pid a line). */
export function countLines(text: string | undefined): number {
  let n = 0;
  for (const l of (text ?? '').split('\n')) if (l.trim()) n++;
  return n;
}

export type CpuSettings = Pick<CgroupSpec, 'cpuQuota' | 'cpuPeriod' | 'cpuShares'>;

/**
 * Read the settings of a cgroup; files that are absent read as 0. `cpu`: CPU settings the
 * caller already knows (they change only when the container is updated): not read again.
 */
export async function readCgroupSpec(cgroupsPath: string | CgroupPaths, opts: CgroupOptions = {}, cpu?: CpuSettings): Promise<CgroupSpec> {
  const root = opts.root ?? '/sys/fs/cgroup';
  const version: CgroupVersion = opts.version ?? cgroupVersion(root);
  const o: CgroupOptions = { ...opts, root, version };
  const dir = (c: 'cpu' | 'memory' | 'pids') => controllerDir(pathFor(cgroupsPath, c, version), c, o);
  const skip = Promise.resolve(undefined);
  if (version === 2) {
    const d = dir('memory');
    const f = (name: string) => readOpt(join(d, name), o.sync);
    const [max, weight, events, procs] = await Promise.all([cpu ? skip : f('cpu.max'), cpu ? skip : f('cpu.weight'), f('memory.events'), f('cgroup.procs')]);
    const { quota, period } = parseCpuMax(max);
    return {
      ...(cpu ?? { cpuQuota: quota, cpuPeriod: period, cpuShares: weight === undefined ? 0 : cpuWeightToShares(num(weight)) }),
      oomKills: parseKeyValues(events).oom_kill ?? 0,
      processes: countLines(procs),
    };
  }
  const cpuDir = dir('cpu');
  const [quota, period, shares, oom, procs] = await Promise.all([
    cpu ? skip : readOpt(join(cpuDir, 'cpu.cfs_quota_us'), o.sync),
    cpu ? skip : readOpt(join(cpuDir, 'cpu.cfs_period_us'), o.sync),
    cpu ? skip : readOpt(join(cpuDir, 'cpu.shares'), o.sync),
    readOpt(join(dir('memory'), 'memory.oom_control'), o.sync),
    readOpt(join(dir('pids'), 'cgroup.procs'), o.sync),
  ]);
  return {
    ...(cpu ?? { cpuQuota: Math.max(num(quota), 0), cpuPeriod: num(period), cpuShares: num(shares) }),
    oomKills: parseKeyValues(oom).oom_kill ?? 0,
    processes: countLines(procs),
  };
}
