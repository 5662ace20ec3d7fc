/**
 * Per-container metric families under cAdvisor's names, types, units and labels, from one
 * scrape's samples. Pure (no I/O), so the mapping is unit-tested on its own: what counts as
 * the working set, RSS and cache on each cgroup version, which spec values are left out when
 * unset, and how container labels become `container_label_<key>` labels.
 *
 * Labels as cAdvisor writes them for a Docker container: `id` the cgroup path
 * (`/berth/<id>` here, `/docker/<id>` under dockerd), `name` without the slash, `image` as
 * the container was created with it, and one `container_label_<sanitized key>` per label.
 */
import type { CgroupStats } from '../../runtime/cgroups.js';
import type { CgroupSpec } from '../../runtime/cgroup-spec.js';
import type { NetDevStats } from '../../runtime/proc-stats.js';

/** One running container as read at scrape time. */
export interface ContainerSample {
  /** The cgroup path (cAdvisor's `id`). */
  cgroup: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  stats: CgroupStats;
  spec: CgroupSpec;
  net: Record<string, NetDevStats>;
  /** Unix seconds the container (its cgroup) started. */
  startedAt: number;
  /** `major:minor` → device name (`/dev/sda`), '' when unknown. */
  devices: Map<string, string>;
}

export type FamilyType = 'counter' | 'gauge';

export interface Family {
  name: string;
  help: string;
  type: FamilyType;
  values: Array<{ labels: Record<string, string>; value: number }>;
}

/** Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*; anything else becomes `_` (cAdvisor's rule). */
export function sanitizeLabelName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** The labels every per-container series carries. */
export function containerLabels(s: ContainerSample): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels)) out[`container_label_${sanitizeLabelName(k)}`] = v;
  out.id = s.cgroup;
  out.image = s.image;
  out.name = s.name.replace(/^\//, '');
  return out;
}

/** Memory figures as cAdvisor derives them from memory.stat on each cgroup version. */
export function memoryFigures(m: CgroupStats['memory'], version: 1 | 2): { workingSet: number; rss: number; cache: number } {
  const st = m.stats;
  const inactiveFile = (version === 2 ? st.inactive_file : st.total_inactive_file) ?? 0;
  return {
    workingSet: inactiveFile < m.usage ? m.usage - inactiveFile : 0,
    rss: (version === 2 ? st.anon : st.total_rss) ?? 0,
    cache: (version === 2 ? st.file : st.total_cache) ?? 0,
  };
}

/** Bytes read and written per device from the blkio lists (v1 ops `Read`/`Write`, v2 `read`/`write`). */
export function ioBytes(s: ContainerSample): Map<string, { read: number; write: number }> {
  const out = new Map<string, { read: number; write: number }>();
  for (const e of s.stats.blkio.io_service_bytes_recursive ?? []) {
    const dev = s.devices.get(`${e.major}:${e.minor}`) ?? '';
    const cur = out.get(dev) ?? { read: 0, write: 0 };
    const op = e.op.toLowerCase();
    if (op === 'read') cur.read += e.value;
    else if (op === 'write') cur.write += e.value;
    else continue;
    out.set(dev, cur);
  }
  return out;
}

interface Def {
  name: string;
  help: string;
  type: FamilyType;
  /** Series of one container: extra labels and a value; none when the value does not apply. */
  of(s: ContainerSample, now: number): Array<[Record<string, string>, number]>;
}

const one = (v: number): Array<[Record<string, string>, number]> => [[{}, v]];
const NS = 1e9;

const DEFS: Def[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'CPU time the container used, in seconds',
    type: 'counter',
    of: (s) => [[{ cpu: 'total' }, s.stats.cpu.usageNs / NS]],
  },
  { name: 'container_cpu_user_seconds_total', help: 'CPU time spent in user mode, in seconds', type: 'counter', of: (s) => one(s.stats.cpu.userNs / NS) },
  { name: 'container_cpu_system_seconds_total', help: 'CPU time spent in kernel mode, in seconds', type: 'counter', of: (s) => one(s.stats.cpu.systemNs / NS) },
  {
    name: 'container_memory_usage_bytes',
    help: 'Memory charged to the container, page cache included, in bytes',
    type: 'gauge',
    of: (s) => one(s.stats.memory.usage),
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Memory usage minus inactive file pages, in bytes',
    type: 'gauge',
    of: (s) => one(memoryFigures(s.stats.memory, s.stats.version).workingSet),
  },
  {
    name: 'container_memory_rss',
    help: 'Anonymous memory (RSS) of the container, in bytes',
    type: 'gauge',
    of: (s) => one(memoryFigures(s.stats.memory, s.stats.version).rss),
  },
  {
    name: 'container_memory_cache',
    help: 'Page cache charged to the container, in bytes',
    type: 'gauge',
    of: (s) => one(memoryFigures(s.stats.memory, s.stats.version).cache),
  },
  {
    name: 'container_spec_memory_limit_bytes',
    help: 'Memory limit of the container in bytes, 0 when unlimited',
    type: 'gauge',
    of: (s) => one(s.stats.memory.limit ?? 0),
  },
  {
    name: 'container_spec_cpu_quota',
    help: 'CFS quota of the container in microseconds per period',
    type: 'gauge',
    of: (s) => (s.spec.cpuQuota ? one(s.spec.cpuQuota) : []),
  },
  {
    name: 'container_spec_cpu_period',
    help: 'CFS period of the container in microseconds',
    type: 'gauge',
    of: (s) => (s.spec.cpuPeriod ? one(s.spec.cpuPeriod) : []),
  },
  {
    name: 'container_spec_cpu_shares',
    help: 'CPU shares of the container (cgroup v2 weight converted to shares)',
    type: 'gauge',
    of: (s) => one(s.spec.cpuShares),
  },
  {
    name: 'container_network_receive_bytes_total',
    help: 'Bytes received by the container, per interface',
    type: 'counter',
    of: (s) => Object.entries(s.net).map(([iface, n]) => [{ interface: iface }, n.rx_bytes]),
  },
  {
    name: 'container_network_transmit_bytes_total',
    help: 'Bytes sent by the container, per interface',
    type: 'counter',
    of: (s) => Object.entries(s.net).map(([iface, n]) => [{ interface: iface }, n.tx_bytes]),
  },
  {
    name: 'container_fs_reads_bytes_total',
    help: 'Bytes the container read from block devices, per device',
    type: 'counter',
    of: (s) => [...ioBytes(s)].map(([device, b]) => [{ device }, b.read]),
  },
  {
    name: 'container_fs_writes_bytes_total',
    help: 'Bytes the container wrote to block devices, per device',
    type: 'counter',
    of: (s) => [...ioBytes(s)].map(([device, b]) => [{ device }, b.write]),
  },
  { name: 'container_processes', help: 'Processes running in the container', type: 'gauge', of: (s) => one(s.spec.processes) },
  { name: 'container_last_seen', help: 'Unix time the container was last seen by the exporter', type: 'gauge', of: (_s, now) => one(now) },
  { name: 'container_start_time_seconds', help: 'Unix time the container started', type: 'gauge', of: (s) => one(s.startedAt) },
  { name: 'container_oom_events_total', help: 'Times the OOM killer killed a process of the container', type: 'counter', of: (s) => one(s.spec.oomKills) },
];

/** Every family's name, help and type, in exposition order. */
export const CONTAINER_FAMILIES: ReadonlyArray<Pick<Def, 'name' | 'help' | 'type'>> = DEFS.map(({ name, help, type }) => ({ name, help, type }));

/** The families for one scrape; `now` is the scrape's unix time in seconds. */
export function containerFamilies(samples: ContainerSample[], now: number): Family[] {
  const base = samples.map(containerLabels);
  return DEFS.map((d) => ({
    name: d.name,
    help: d.help,
    type: d.type,
    values: samples.flatMap((s, i) => d.of(s, now).map(([extra, value]) => ({ labels: { ...base[i], ...extra }, value }))),
  }));
}
