/**
 * `docker stats` row math and text, as the docker CLI computes them from one stats object:
 *
 *   CPU %      (Δ container CPU / Δ host CPU) × online CPUs × 100, cpu_stats vs precpu_stats
 *   MEM USAGE  usage minus inactive file pages (v1 total_inactive_file, v2 inactive_file), BytesSize
 *   MEM %      that usage / limit × 100
 *   NET I/O    rx / tx bytes summed over interfaces, HumanSizeWithPrecision(…, 3)
 *   BLOCK I/O  io_service_bytes_recursive entries whose op starts with r / w, same units
 *
 * The CLI talks to the API only, so the stats shape it reads is declared here (a subset of
 * the Engine API object; the engine's DockerStats satisfies it).
 */
import { bytesSize, humanSize } from './units.js';
import { formatFloat } from './go-float.js';

interface CpuStatsIn {
  cpu_usage: { total_usage: number; percpu_usage?: number[] | null };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** The fields of a `GET /containers/{id}/stats` object the CLI reads. */
export interface ApiStats {
  id?: string;
  name?: string;
  cpu_stats?: CpuStatsIn;
  precpu_stats?: CpuStatsIn;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> | null };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }> | null;
}

/** The numbers behind one row (docker's StatsEntry). */
export interface StatsEntry {
  cpuPercentage: number;
  memory: number;
  memoryLimit: number;
  memoryPercentage: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pidsCurrent: number;
}

/** A row as `docker stats` templates see it (also its `--format json` object). */
export interface StatsRow {
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export const STATS_DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const STATS_HEADERS: Record<keyof StatsRow, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export function cpuPercent(s: ApiStats): number {
  const cur = s.cpu_stats;
  const pre = s.precpu_stats;
  if (!cur) return 0;
  const cpuDelta = cur.cpu_usage.total_usage - (pre?.cpu_usage.total_usage ?? 0);
  const systemDelta = (cur.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  // Daemons before API 1.27 sent no online_cpus; the per-CPU list length stood in.
  const cpus = cur.online_cpus || (cur.cpu_usage.percpu_usage?.length ?? 0);
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}

/** Memory in use without reclaimable page cache, as docker shows it. */
export function memUsageNoCache(mem: ApiStats['memory_stats']): number {
  const usage = mem?.usage ?? 0;
  const stats = mem?.stats ?? {};
  // v1: total_inactive_file is present (its presence marks v1 even when not subtracted).
  if ('total_inactive_file' in stats) {
    if (stats.total_inactive_file < usage) return usage - stats.total_inactive_file;
  }
  // v2 (and the v1 fallthrough when total_inactive_file >= usage, which docker also allows).
  const inactive = stats.inactive_file ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

export function blockIO(s: ApiStats): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const c = e.op[0]?.toLowerCase();
    if (c === 'r') read += e.value;
    else if (c === 'w') write += e.value;
  }
  return { read, write };
}

export function networkIO(s: ApiStats): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  return { rx, tx };
}

export function statsEntry(s: ApiStats): StatsEntry {
  const memory = memUsageNoCache(s.memory_stats);
  const memoryLimit = s.memory_stats?.limit ?? 0;
  const net = networkIO(s);
  const blk = blockIO(s);
  return {
    cpuPercentage: cpuPercent(s),
    memory,
    memoryLimit,
    memoryPercentage: memoryLimit ? (memory / memoryLimit) * 100 : 0,
    networkRx: net.rx,
    networkTx: net.tx,
    blockRead: blk.read,
    blockWrite: blk.write,
    pidsCurrent: s.pids_stats?.current ?? 0,
  };
}

const pct = (n: number) => formatFloat(n, 'f', 2) + '%';

export interface StatsRowOptions {
  /** What the user named the container by (docker's .Container); default the short ID. */
  container?: string;
  /** --no-trunc: full IDs in .ID. */
  noTrunc?: boolean;
  /** The sample failed (container gone, daemon error): docker prints "--" placeholders. */
  invalid?: boolean;
}

/** One `docker stats` row from a stats object. */
export function statsRow(s: ApiStats, opts: StatsRowOptions = {}): StatsRow {
  const fullId = s.id ?? '';
  const id = opts.noTrunc ? fullId : fullId.slice(0, 12);
  const name = s.name && s.name.length > 1 ? s.name.slice(1) : '--';
  const base = { Container: opts.container ?? fullId.slice(0, 12), ID: id, Name: name };
  if (opts.invalid) {
    return { ...base, CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', NetIO: '--', BlockIO: '--', PIDs: '--' };
  }
  const e = statsEntry(s);
  return {
    ...base,
    CPUPerc: pct(e.cpuPercentage),
    MemUsage: `${bytesSize(e.memory)} / ${bytesSize(e.memoryLimit)}`,
    MemPerc: pct(e.memoryPercentage),
    NetIO: `${humanSize(e.networkRx)} / ${humanSize(e.networkTx)}`,
    BlockIO: `${humanSize(e.blockRead)} / ${humanSize(e.blockWrite)}`,
    PIDs: String(e.pidsCurrent),
  };
}
