/**
 * cgroup v1 and v2 readers: where a container's controllers live and what they count.
 *
 * runc places a container at a cgroupsPath such as `/berth/<id>`. On cgroup v2 (the unified
 * hierarchy, `<root>/cgroup.controllers` exists) that is one directory under the root; on v1
 * every controller has its own hierarchy, mounted wherever /proc/self/mountinfo says (possibly
 * co-mounted, e.g. `cpu,cpuacct`). Readers return zeros for files a kernel or a disabled
 * controller does not provide, so a stats call never fails on a missing counter.
 *
 * Host-wide and network-namespace counters from /proc are in proc-stats.ts.
 *
 * Sources: the kernel's admin-guide/cgroup-v1/*.rst and admin-guide/cgroup-v2.rst.
 *
 * Over 400 lines because each figure's v1 and v2 sources sit side by side, with the sync path the metrics scrape reads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TICK_NS } from './proc-stats.js';

export type CgroupVersion = 1 | 2;
export type Controller = 'memory' | 'cpu' | 'cpuacct' | 'pids' | 'blkio' | 'freezer' | 'cpuset';

/** Per-controller paths as /proc/<pid>/cgroup lists them; `unified` is the v2 (`0::`) path. */
export type CgroupPaths = Partial<Record<Controller | 'unified', string>>;

export interface CgroupOptions {
  /** Where the hierarchy is mounted; default /sys/fs/cgroup (tests point it at a temp tree). */
  root?: string;
  /** Text of /proc/self/mountinfo (v1 mount points); read from the system when omitted. */
  mountinfo?: string;
  /** Force a version instead of probing `root`. */
  version?: CgroupVersion;
  /**
   * Read with synchronous calls. cgroup and /proc files are made in memory by the kernel on
   * read: a thread-pool round trip per file costs about ten times the read itself, which
   * matters when a metrics scrape reads hundreds of them (engine/metrics/sample.ts).
   */
  sync?: boolean;
  /**
   * Only what a monitor reports: no per-CPU times, throttling, peak, failcnt, pids limit or
   * blkio lists beyond the bytes (those are read as absent). Metrics scrapes use it.
   */
  lean?: boolean;
}

/** One line of a blkio / io.stat counter, as the Engine API reports it. */
export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** Engine API names of the blkio lists; v1 (CFQ) can fill all, v2 fills the first two. */
export type BlkioField =
  | 'io_service_bytes_recursive'
  | 'io_serviced_recursive'
  | 'io_queue_recursive'
  | 'io_service_time_recursive'
  | 'io_wait_time_recursive'
  | 'io_merged_recursive'
  | 'io_time_recursive'
  | 'sectors_recursive';

export interface CgroupStats {
  version: CgroupVersion;
  cpu: {
    /** Total CPU time, ns (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
    usageNs: number;
    userNs: number;
    systemNs: number;
    /** Per-CPU time, ns; v1 only (cpuacct.usage_percpu). */
    perCpuNs?: number[];
    periods: number;
    throttledPeriods: number;
    throttledNs: number;
  };
  memory: {
    /** v1 memory.usage_in_bytes, v2 memory.current. */
    usage: number;
    /** v1 memory.max_usage_in_bytes, v2 memory.peak (newer kernels); 0 when unknown. */
    maxUsage: number;
    /** The cgroup's limit in bytes; null when unlimited. */
    limit: number | null;
    /** v1 memory.failcnt; v2 the `oom` count of memory.events (as docker reports it). */
    failcnt: number;
    /** memory.stat as read (v1 keys include total_*; v2 keys like anon, file, inactive_file). */
    stats: Record<string, number>;
  };
  pids: { current: number; limit: number | null };
  blkio: Partial<Record<BlkioField, BlkioEntry[]>>;
}

const DEFAULT_ROOT = '/sys/fs/cgroup';

/** v2 when the root is itself a cgroup2 mount (it then has cgroup.controllers). */
export function cgroupVersion(root: string = DEFAULT_ROOT): CgroupVersion {
  return existsSync(join(root, 'cgroup.controllers')) ? 2 : 1;
}

interface V1Mount {
  mountpoint: string;
  root: string;
  controllers: string[];
}

/** The last mountinfo text parsed and its mounts: a batch of reads (a metrics scrape) passes the same text for every container. */
let parsed: { text: string; mounts: V1Mount[] } | undefined;

/** cgroup (v1) mounts from mountinfo: `id parent maj:min root mountpoint opts ... - fstype source superopts`. */
function v1Mounts(mountinfo: string): V1Mount[] {
  if (parsed?.text === mountinfo) return parsed.mounts;
  const out: V1Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, , superopts = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' || pre.length < 5) continue;
    out.push({ root: unescapeMount(pre[3]), mountpoint: unescapeMount(pre[4]), controllers: superopts.split(',') });
  }
  parsed = { text: mountinfo, mounts: out };
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Directory of a controller for a cgroup path: v1 → <mountpoint of that controller>/<path>,
 * v2 → <root>/<path>. A v1 mount whose root is not `/` (inside a cgroup namespace) maps
 * paths below that root onto the mount point.
 */
export function controllerDir(cgroupsPath: string, controller: Controller, opts: CgroupOptions = {}): string {
  const root = opts.root ?? DEFAULT_ROOT;
  const version = opts.version ?? cgroupVersion(root);
  if (version === 2) return join(root, cgroupsPath);
  const mountinfo = opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const m = v1Mounts(mountinfo).find((x) => x.controllers.includes(controller));
  // No mountinfo entry (e.g. a fake tree in tests): the conventional <root>/<controller>.
  if (!m) return join(root, controller, cgroupsPath);
  let rel = cgroupsPath;
  if (m.root !== '/' && (rel === m.root || rel.startsWith(m.root + '/'))) rel = rel.slice(m.root.length);
  return join(m.mountpoint, rel);
}

/** Parse /proc/<pid>/cgroup: `hierarchy-id:controller[,controller]:path` per line. */
export function parseProcCgroup(text: string): CgroupPaths {
  const out: CgroupPaths = {};
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.unified = m[3];
    else for (const c of m[2].split(',')) (out as Record<string, string>)[c] = m[3];
  }
  return out;
}

/** The cgroup paths of a running process (e.g. a container's init pid). */
export async function procCgroupPaths(pid: number | 'self'): Promise<CgroupPaths> {
  return parseProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
}

/** The path of `controller` in a cgroup given as runc's cgroupsPath or per-controller process paths. */
export function pathFor(p: string | CgroupPaths, controller: Controller, version: CgroupVersion): string {
  if (typeof p === 'string') return p;
  return (version === 2 ? p.unified : (p[controller] ?? p.unified)) ?? '/';
}

// ---------------------------------------------------------------- file helpers

/** Absent files (or controllers) read as undefined; other errors are real. */
function absent(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV' || code === 'EINVAL' || code === 'EOPNOTSUPP';
}

/** File text, or undefined when the file (or its controller) is absent; `sync` reads without the thread pool. */
export async function readOpt(path: string, sync = false): Promise<string | undefined> {
  try {
    return sync ? readFileSync(path, 'utf8') : await readFile(path, 'utf8');
  } catch (e) {
    if (absent(e)) return undefined;
    throw e;
  }
}

export const num = (s: string | undefined): number => {
  const n = Number(s?.trim());
  return Number.isFinite(n) ? n : 0;
};

/** A single-value file; null for "max" (v2 unlimited) or absent. */
export async function readLimit(path: string, sync = false): Promise<number | null> {
  const t = (await readOpt(path, sync))?.trim();
  if (t === undefined || t === '' || t === 'max') return null;
  const n = Number(t);
  // v1 reports "unlimited" as PAGE_COUNTER_MAX pages (≈ 2^63 rounded to the page size).
  return Number.isFinite(n) && n < 2 ** 62 ? n : null;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, cpuacct.stat) → record. */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = num(v);
  }
  return out;
}

/** v1 blkio file: `maj:min Op value` lines plus a trailing `Total N`. */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue; // the summary `Total N` line and blanks
    // Most files are `maj:min Op value`; a few (sectors, time) are `maj:min value`.
    const [op, value] = f.length >= 3 ? [f[1], f[2]] : ['', f[1]];
    out.push({ major: Number(dev[1]), minor: Number(dev[2]), op, value: num(value) });
  }
  return out;
}

/** v2 io.stat: `maj:min rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N` per device. */
export function parseIoStatV2(text: string | undefined): Pick<CgroupStats['blkio'], 'io_service_bytes_recursive' | 'io_serviced_recursive'> {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
    if (!dev) continue;
    const kv: Record<string, number> = {};
    for (const p of f.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) kv[p.slice(0, eq)] = num(p.slice(eq + 1));
    }
    const major = Number(dev[1]);
    const minor = Number(dev[2]);
    // docker names v2 ops in lower case ("read"/"write"), unlike v1's "Read"/"Write".
    bytes.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    ios.push({ major, minor, op: 'read', value: kv.rios ?? 0 }, { major, minor, op: 'write', value: kv.wios ?? 0 });
  }
  return { io_service_bytes_recursive: bytes, io_serviced_recursive: ios };
}

async function isDir(path: string, sync = false): Promise<boolean> {
  try {
    return (sync ? statSync(path) : await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

const notFound = (what: string) => Object.assign(new Error(`cgroup not found: ${what}`), { code: 'ENOENT' });

// ---------------------------------------------------------------- stats

/**
 * Read CPU, memory, pids and block I/O counters of a cgroup. `cgroupsPath` is the path runc
 * was given (`/berth/<id>`) or the per-controller paths of a process (procCgroupPaths).
 * Throws an ENOENT error when the cgroup does not exist (container gone).
 */
export async function readCgroupStats(cgroupsPath: string | CgroupPaths, opts: CgroupOptions = {}): Promise<CgroupStats> {
  const root = opts.root ?? DEFAULT_ROOT;
  const version = opts.version ?? cgroupVersion(root);
  const o: CgroupOptions = { ...opts, root, version };
  if (version === 1 && opts.mountinfo === undefined) o.mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const dir = (c: Controller) => controllerDir(pathFor(cgroupsPath, c, version), c, o);
  return version === 2 ? readV2(dir('memory'), o.sync, o.lean) : readV1(dir, o.sync, o.lean);
}

async function readV2(d: string, sync = false, lean = false): Promise<CgroupStats> {
  if (!(await isDir(d, sync))) throw notFound(d);
  const f = (name: string) => readOpt(join(d, name), sync);
  const [cpu, current, peak, limit, memStat, events, pidsCurrent, pidsMax, io] = await Promise.all([
    f('cpu.stat'),
    f('memory.current'),
    lean ? undefined : f('memory.peak'),
    readLimit(join(d, 'memory.max'), sync),
    f('memory.stat'),
    f('memory.events'),
    f('pids.current'),
    lean ? null : readLimit(join(d, 'pids.max'), sync),
    f('io.stat'),
  ]);
  const c = parseKeyValues(cpu);
  return {
    version: 2,
    cpu: {
      usageNs: (c.usage_usec ?? 0) * 1000,
      userNs: (c.user_usec ?? 0) * 1000,
      systemNs: (c.system_usec ?? 0) * 1000,
      periods: c.nr_periods ?? 0,
      throttledPeriods: c.nr_throttled ?? 0,
      throttledNs: (c.throttled_usec ?? 0) * 1000,
    },
    memory: { usage: num(current), maxUsage: num(peak), limit, failcnt: parseKeyValues(events).oom ?? 0, stats: parseKeyValues(memStat) },
    pids: { current: num(pidsCurrent), limit: pidsMax },
    blkio: parseIoStatV2(io),
  };
}

/** The v1 files a lean read takes (see CgroupOptions.lean). */
const LEAN_V1 = new Set([
  'cpuacct.usage',
  'cpuacct.stat',
  'memory.usage_in_bytes',
  'memory.stat',
  'pids.current',
  'blkio.io_service_bytes_recursive',
  'blkio.throttle.io_service_bytes_recursive',
]);

async function readV1(dir: (c: Controller) => string, sync = false, lean = false): Promise<CgroupStats> {
  const mem = dir('memory');
  const acct = dir('cpuacct');
  const pids = dir('pids');
  const blk = dir('blkio');
  // Lean reads tell a missing cgroup by its missing counters instead of three stats.
  const present = lean ? [true] : await Promise.all([mem, acct, pids].map((d) => isDir(d, sync)));
  if (!present.some(Boolean)) throw notFound(mem);
  const all = (d: string, name: string) => readOpt(join(d, name), sync);
  const f = (d: string, name: string) => (lean && !LEAN_V1.has(name) ? Promise.resolve(undefined) : all(d, name));

  // CFQ/BFQ kernels have the full set of proportional-weight files; otherwise only the
  // throttle layer's counters exist (they see every I/O that reaches the block layer).
  const cfq = (await all(blk, lean ? 'blkio.io_service_bytes_recursive' : 'blkio.io_serviced_recursive')) !== undefined;
  const blkFiles: [BlkioField, string][] = cfq
    ? [
        ['io_service_bytes_recursive', 'blkio.io_service_bytes_recursive'],
        ['io_serviced_recursive', 'blkio.io_serviced_recursive'],
        ['io_queue_recursive', 'blkio.io_queued_recursive'],
        ['io_service_time_recursive', 'blkio.io_service_time_recursive'],
        ['io_wait_time_recursive', 'blkio.io_wait_time_recursive'],
        ['io_merged_recursive', 'blkio.io_merged_recursive'],
        ['io_time_recursive', 'blkio.time_recursive'],
        ['sectors_recursive', 'blkio.sectors_recursive'],
      ]
    : [
        ['io_service_bytes_recursive', 'blkio.throttle.io_service_bytes_recursive'],
        ['io_serviced_recursive', 'blkio.throttle.io_serviced_recursive'],
      ];

  const [usage, percpu, acctStat, cpuStat, memUsage, memMax, memLimit, failcnt, memStat, pidsCurrent, pidsMax, ...blkTexts] = await Promise.all([
    f(acct, 'cpuacct.usage'),
    f(acct, 'cpuacct.usage_percpu'),
    f(acct, 'cpuacct.stat'),
    f(dir('cpu'), 'cpu.stat'),
    f(mem, 'memory.usage_in_bytes'),
    f(mem, 'memory.max_usage_in_bytes'),
    readLimit(join(mem, 'memory.limit_in_bytes'), sync),
    f(mem, 'memory.failcnt'),
    f(mem, 'memory.stat'),
    f(pids, 'pids.current'),
    lean ? null : readLimit(join(pids, 'pids.max'), sync),
    ...blkFiles.map(([, file]) => f(blk, file)),
  ]);
  if (lean && usage === undefined && memUsage === undefined) throw notFound(mem);
  const a = parseKeyValues(acctStat);
  const c = parseKeyValues(cpuStat);
  // docker reports every v1 list, empty when the kernel has no such file.
  const blkio: CgroupStats['blkio'] = {
    io_service_bytes_recursive: [],
    io_serviced_recursive: [],
    io_queue_recursive: [],
    io_service_time_recursive: [],
    io_wait_time_recursive: [],
    io_merged_recursive: [],
    io_time_recursive: [],
    sectors_recursive: [],
  };
  blkFiles.forEach(([field], i) => {
    blkio[field] = parseBlkioV1(blkTexts[i]);
  });
  const perCpu = percpu?.trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    version: 1,
    cpu: {
      usageNs: num(usage),
      userNs: (a.user ?? 0) * TICK_NS,
      systemNs: (a.system ?? 0) * TICK_NS,
      ...(perCpu?.length ? { perCpuNs: perCpu } : {}),
      periods: c.nr_periods ?? 0,
      throttledPeriods: c.nr_throttled ?? 0,
      throttledNs: c.throttled_time ?? 0,
    },
    memory: { usage: num(memUsage), maxUsage: num(memMax), limit: memLimit, failcnt: num(failcnt), stats: parseKeyValues(memStat) },
    pids: { current: num(pidsCurrent), limit: pidsMax },
    blkio,
  };
}

/** Times the kernel's OOM killer killed a process of this cgroup (v1 memory.oom_control, v2 memory.events). */
export async function oomKillCount(cgroupsPath: string | CgroupPaths, opts: CgroupOptions = {}): Promise<number> {
  const root = opts.root ?? DEFAULT_ROOT;
  const version = opts.version ?? cgroupVersion(root);
  const d = controllerDir(pathFor(cgroupsPath, 'memory', version), 'memory', { ...opts, root, version });
  const text = await readOpt(join(d, version === 2 ? 'memory.events' : 'memory.oom_control'));
  return parseKeyValues(text).oom_kill ?? 0;
}

export type FreezerState = 'thawed' | 'freezing' | 'frozen';

/** Freezer state (v1 freezer.state; v2 cgroup.freeze requested vs cgroup.events frozen). */
export async function freezerState(cgroupsPath: string | CgroupPaths, opts: CgroupOptions = {}): Promise<FreezerState> {
  const root = opts.root ?? DEFAULT_ROOT;
  const version = opts.version ?? cgroupVersion(root);
  const d = controllerDir(pathFor(cgroupsPath, 'freezer', version), 'freezer', { ...opts, root, version });
  if (version === 1) {
    const s = (await readOpt(join(d, 'freezer.state')))?.trim().toLowerCase();
    return s === 'frozen' || s === 'freezing' ? s : 'thawed';
  }
  if (parseKeyValues(await readOpt(join(d, 'cgroup.events'))).frozen === 1) return 'frozen';
  return num(await readOpt(join(d, 'cgroup.freeze'))) === 1 ? 'freezing' : 'thawed';
}
