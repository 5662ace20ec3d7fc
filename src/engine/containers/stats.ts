/**
 * The Engine API stats object (`GET /containers/{id}/stats`) from cgroup counters.
 *
 * Shape and omissions follow the daemon's Go types: fields tagged omitempty there
 * (pids current/limit, system_cpu_usage, online_cpus, percpu_usage, memory usage/limit/…,
 * networks) are left out when zero or absent, so clients see what docker would send.
 * On cgroup v2 docker fills only io_service_bytes_recursive and leaves other blkio lists null.
 */
import type { BlkioEntry, BlkioField, CgroupStats } from '../../runtime/cgroups.js';
import type { NetDevStats } from '../../runtime/proc-stats.js';
import { ZERO_TIME } from '../../core/go-values.js';

export type { BlkioEntry, NetDevStats };

export interface DockerCpuStats {
  cpu_usage: {
    total_usage: number;
    percpu_usage?: number[];
    usage_in_kernelmode: number;
    usage_in_usermode: number;
  };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface DockerMemoryStats {
  usage?: number;
  max_usage?: number;
  stats?: Record<string, number>;
  failcnt?: number;
  limit?: number;
}

export type DockerBlkioStats = Record<BlkioField, BlkioEntry[] | null>;

export interface DockerStats {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: DockerBlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: DockerCpuStats;
  precpu_stats: DockerCpuStats;
  memory_stats: DockerMemoryStats;
  name: string;
  id: string;
  networks?: Record<string, NetDevStats>;
}

export interface StatsMeta {
  id: string;
  /** Container name, with or without the leading slash. */
  name: string;
  /** Interface counters (readNetDev of the container's pid); omitted from the output when empty. */
  net?: Record<string, NetDevStats>;
  readTime: Date;
  /** Time of the previous sample; Go's zero time when there is none. */
  preReadTime?: Date;
  onlineCpus: number;
  /** Host memory in bytes: the limit shown when the cgroup has none (or a larger one). */
  memTotal: number;
  systemCpuNs: number;
  preSystemCpuNs?: number;
}

/** Go's zero time.Time as encoding/json writes it. */

/** RFC 3339 with the fraction trimmed of trailing zeros, as Go's time.Time marshals (UTC). */
export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac ? `.${frac}Z` : 'Z'));
}

const BLKIO_FIELDS: BlkioField[] = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
];

function cpuStats(cpu: CgroupStats['cpu'] | undefined, systemCpuNs: number | undefined, onlineCpus: number): DockerCpuStats {
  // Spreads keep Go's field order and its omitempty on percpu_usage, system_cpu_usage, online_cpus.
  return {
    cpu_usage: {
      total_usage: cpu?.usageNs ?? 0,
      ...(cpu?.perCpuNs?.length ? { percpu_usage: cpu.perCpuNs } : {}),
      usage_in_kernelmode: cpu?.systemNs ?? 0,
      usage_in_usermode: cpu?.userNs ?? 0,
    },
    ...(cpu && systemCpuNs ? { system_cpu_usage: systemCpuNs } : {}),
    ...(cpu && onlineCpus ? { online_cpus: onlineCpus } : {}),
    throttling_data: { periods: cpu?.periods ?? 0, throttled_periods: cpu?.throttledPeriods ?? 0, throttled_time: cpu?.throttledNs ?? 0 },
  };
}

/** Drop zero numbers and empty maps, as Go's omitempty does. */
function omitZero<T extends object>(o: T): T {
  const empty = (v: unknown) => v === 0 || v == null || (typeof v === 'object' && Object.keys(v).length === 0);
  return Object.fromEntries(Object.entries(o).filter(([, v]) => !empty(v))) as T;
}

/** The memory.stat keys dockerd reports on cgroup v1: always this set (0 where the kernel has none), never the newer ones. */
const V1_MEMORY_BASE = [
  'cache',
  'rss',
  'rss_huge',
  'mapped_file',
  'dirty',
  'writeback',
  'pgpgin',
  'pgpgout',
  'pgfault',
  'pgmajfault',
  'inactive_anon',
  'active_anon',
  'inactive_file',
  'active_file',
  'unevictable',
];
const V1_MEMORY_KEYS = [...V1_MEMORY_BASE, 'hierarchical_memory_limit', 'hierarchical_memsw_limit', ...V1_MEMORY_BASE.map((k) => `total_${k}`)];

function pick(from: Record<string, number>, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = from[k] ?? 0;
  return out;
}

/**
 * Build docker's stats object from a cgroup sample and, for CPU deltas, the previous one.
 * Pure: every host figure (CPU time, CPU count, memory) comes in through `meta`.
 */
export function toDockerStats(cur: CgroupStats, prev: Pick<CgroupStats, 'cpu'> | null, meta: StatsMeta): DockerStats {
  const cgLimit = cur.memory.limit;
  // Unlimited, or a limit above the host's memory, shows as the host's memory (like dockerd).
  const limit = meta.memTotal > 0 && (cgLimit === null || cgLimit > meta.memTotal) ? meta.memTotal : (cgLimit ?? 0);
  const blkio = Object.fromEntries(BLKIO_FIELDS.map((f) => [f, cur.blkio[f] ?? null])) as DockerBlkioStats;
  if (cur.version === 2) blkio.io_serviced_recursive = null; // docker sends only bytes on v2
  const out: DockerStats = {
    read: rfc3339Nano(meta.readTime),
    preread: meta.preReadTime ? rfc3339Nano(meta.preReadTime) : ZERO_TIME,
    pids_stats: omitZero({ current: cur.pids.current, limit: cur.pids.limit ?? 0 }),
    blkio_stats: blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur.cpu, meta.systemCpuNs, meta.onlineCpus),
    precpu_stats: cpuStats(prev?.cpu, meta.preSystemCpuNs, meta.onlineCpus),
    memory_stats: omitZero({
      usage: cur.memory.usage,
      max_usage: cur.memory.maxUsage,
      stats: cur.version === 2 ? cur.memory.stats : pick(cur.memory.stats, V1_MEMORY_KEYS),
      failcnt: cur.memory.failcnt,
      limit,
    }),
    name: meta.name.startsWith('/') ? meta.name : '/' + meta.name,
    id: meta.id,
  };
  if (meta.net && Object.keys(meta.net).length) out.networks = meta.net;
  return out;
}

/** What docker answers for a container that is not running: zero times, zero counters. */
export function stoppedDockerStats(id: string, name: string): DockerStats {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: Object.fromEntries(BLKIO_FIELDS.map((f) => [f, null])) as DockerBlkioStats,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(undefined, undefined, 0),
    precpu_stats: cpuStats(undefined, undefined, 0),
    memory_stats: {},
    name: name.startsWith('/') ? name : '/' + name,
    id,
  };
}
