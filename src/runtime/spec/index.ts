/**
 * OCI runtime spec (the bundle's config.json) for a container, built the way
 * dockerd builds it (moby's oci defaults plus its daemon/oci_linux.go
 * adjustments), so a container run by Berth sees the same namespaces, mounts,
 * capabilities, masked paths and device rules as one run by Docker.
 *
 * Pure apart from reading the host: cgroup version, /proc/sys/kernel/cap_last_cap,
 * and device nodes (for --device and --privileged).
 *
 * Write the result with specToJson(): an unlimited rlimit (-1) must become the
 * uint64 RLIM_INFINITY, which a JS number cannot hold.
 */
import { containerSeccomp, type OciSeccomp } from '../seccomp.js';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { InvalidArgumentError } from '../../core/errors.js';
import type { HostConfig } from '../../core/wire/host-config.js';

// ---------------------------------------------------------------- OCI types

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}
export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}
export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
}
/** soft/hard -1 means unlimited (see specToJson). */
export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}
export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  consoleSize?: { height: number; width: number };
}
export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';
export interface OciNamespace {
  type: OciNamespaceType;
  path?: string;
}
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}
export interface OciDeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}
export interface OciResources {
  devices: OciDeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}
export interface OciLinux {
  namespaces: OciNamespace[];
  devices: OciDevice[];
  resources: OciResources;
  cgroupsPath: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  seccomp?: OciSeccomp;
}
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: OciLinux;
}

export interface SpecInput {
  id: string;
  /** Absolute path of the mounted rootfs. */
  rootfs: string;
  /** Process args (entrypoint + cmd already resolved). */
  args: string[];
  /** Final env (KEY=VAL); PATH default already applied by the caller. */
  env: string[];
  /** Absolute; default '/'. */
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  tty: boolean;
  hostConfig: HostConfig;
  /** e.g. '/berth/<id>' */
  cgroupsPath: string;
  /** /etc/hosts, /etc/resolv.conf, /etc/hostname, volumes, binds (caller-built). */
  extraMounts?: OciMount[];
  /** 'private' (default), 'host', or a namespace path to join. */
  namespaces?: { network?: string; pid?: string; ipc?: string; uts?: 'private' | 'host' };
  /** HostConfig.Init: the init binary on the host, bind-mounted at /sbin/docker-init. */
  initPath?: string;
  /** Defaults to SecurityOpt "no-new-privileges". */
  noNewPrivileges?: boolean;
}

// ---------------------------------------------------------------- capabilities

/** Docker's default set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPS: string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability Linux defines, indexed by its number (linux/capability.h). */
const KNOWN_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
].map((c) => `CAP_${c}`);

let hostCapsCache: string[] | undefined;
/**
 * "All" capabilities as Docker means it: the known ones this kernel supports
 * (cap_last_cap). Also limited to our own bounding set: a daemon that lacks a
 * capability (nested in another container) cannot grant it, and runc would
 * fail the whole --privileged container over it.
 */
function allCaps(): string[] {
  if (!hostCapsCache) {
    let last = KNOWN_CAPS.length - 1;
    let bounding = -1n; // all bits
    try {
      const n = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
      if (Number.isInteger(n) && n >= 0) last = Math.min(last, n);
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) bounding = BigInt(`0x${m[1]}`);
    } catch {
      /* not Linux or /proc hidden: assume all known */
    }
    hostCapsCache = KNOWN_CAPS.slice(0, last + 1).filter((_, i) => (bounding >> BigInt(i)) & 1n);
  }
  return hostCapsCache;
}

/** 'net_admin' → 'CAP_NET_ADMIN'; 'ALL' stays; unknown names are refused like dockerd. */
function normalizeCaps(caps: string[]): string[] {
  return caps.map((c) => {
    let n = c.trim().toUpperCase();
    if (n === 'ALL') return n;
    if (!n.startsWith('CAP_')) n = `CAP_${n}`;
    if (!KNOWN_CAPS.includes(n)) throw new InvalidArgumentError(`unknown capability: "${n}"`);
    return n;
  });
}

/**
 * The process's capability set from --cap-add/--cap-drop/--privileged, with
 * dockerd's precedence: privileged wins; add ALL keeps all but the drops;
 * drop ALL keeps only the adds; otherwise defaults minus drops plus adds.
 */
export function resolveCaps(add: string[] | null | undefined, drop: string[] | null | undefined, privileged: boolean): string[] {
  if (privileged) return [...allCaps()];
  const adds = normalizeCaps(add ?? []);
  const drops = normalizeCaps(drop ?? []);
  let caps: string[];
  if (adds.includes('ALL')) caps = allCaps().filter((c) => !drops.includes(c));
  else if (drops.includes('ALL')) caps = adds;
  else caps = [...DEFAULT_CAPS.filter((c) => !drops.includes(c)), ...adds];
  return [...new Set(caps)];
}

function capSet(caps: string[]): OciCapabilities {
  // Not inheritable/ambient: current Docker leaves those empty so exec'd
  // binaries of non-root users don't keep capabilities.
  return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

// ---------------------------------------------------------------- defaults

/** Docker's masked and read-only /proc and /sys paths (moby oci/defaults.go). */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Device cgroup rules for an unprivileged container: deny everything, then
 * allow mknod of any node and the devices runc creates in /dev. (dockerd lists
 * part of these and runc appends the rest; listing all keeps the spec honest.)
 */
function defaultDeviceRules(): OciDeviceCgroup[] {
  const c = (major: number, minor?: number): OciDeviceCgroup =>
    minor === undefined ? { allow: true, type: 'c', major, access: 'rwm' } : { allow: true, type: 'c', major, minor, access: 'rwm' };
  return [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', access: 'm' },
    { allow: true, type: 'b', access: 'm' }, // mknod of any node
    c(1, 3),
    c(1, 5),
    c(1, 7),
    c(1, 8),
    c(1, 9), // null zero full random urandom
    c(5, 0),
    c(5, 1),
    c(5, 2), // tty console ptmx
    c(136), // /dev/pts/*
  ];
}

const KiB = 1024;
const DEFAULT_SHM = 64 * KiB * KiB;

function sizeOpt(bytes: number): string {
  return bytes % KiB === 0 ? `size=${bytes / KiB}k` : `size=${bytes}`;
}

function defaultMounts(shmSize: number, ipcHost: boolean): OciMount[] {
  const nse = ['nosuid', 'noexec', 'nodev'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['rw', ...nse] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['rw', 'nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro', ...nse] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', ...nse] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['rw', ...nse] },
    // --ipc host shares the host's /dev/shm, as dockerd does.
    ipcHost
      ? { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] }
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['rw', ...nse, 'mode=1777', sizeOpt(shmSize)] },
  ];
}

// ---------------------------------------------------------------- tmpfs

const TMPFS_KV = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);
/** Flags with an opposite: the later of a pair wins, as in moby's MergeTmpfsOptions. */
const TMPFS_FLAG_KEY: Record<string, string> = {
  ro: 'rw',
  rw: 'rw',
  exec: 'exec',
  noexec: 'exec',
  suid: 'suid',
  nosuid: 'suid',
  dev: 'dev',
  nodev: 'dev',
  sync: 'sync',
  async: 'sync',
  mand: 'mand',
  nomand: 'mand',
  atime: 'atime',
  noatime: 'atime',
  diratime: 'diratime',
  nodiratime: 'diratime',
  relatime: 'relatime',
  norelatime: 'relatime',
  strictatime: 'strictatime',
  nostrictatime: 'strictatime',
  dirsync: 'dirsync',
  tmpcopyup: 'tmpcopyup',
  private: 'prop',
  rprivate: 'prop',
  shared: 'prop',
  rshared: 'prop',
  slave: 'prop',
  rslave: 'prop',
  unbindable: 'prop',
  runbindable: 'prop',
};

/** Later options override earlier ones of the same kind; order of last occurrence kept. */
function mergeTmpfsOptions(opts: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = opts.length - 1; i >= 0; i--) {
    const o = opts[i].trim();
    if (!o) continue;
    const eq = o.indexOf('=');
    const key = eq >= 0 ? o.slice(0, eq) : TMPFS_FLAG_KEY[o];
    if (key === undefined || (eq >= 0 && !TMPFS_KV.has(key))) throw new InvalidArgumentError(`invalid tmpfs option "${o}"`);
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}

/** HostConfig.Tmpfs {'/run': 'rw,size=64m'} → tmpfs mounts, noexec,nosuid,nodev unless overridden. */
export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): OciMount[] {
  return Object.entries(tmpfs ?? {}).map(([dest, data]) => {
    if (!posix.isAbsolute(dest) || posix.normalize(dest) === '/') {
      throw new InvalidArgumentError(`invalid mount config for type "tmpfs": invalid mount path: '${dest}' mount path must be absolute and not '/'`);
    }
    const options = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]);
    return { destination: posix.normalize(dest), type: 'tmpfs', source: 'tmpfs', options };
  });
}

// ---------------------------------------------------------------- devices

/** Linux dev_t encoding (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

/** A device node on the host (symlinks followed) as it appears at `containerPath`; null if not a device. */
function deviceAt(hostPath: string, containerPath: string): OciDevice | null {
  const st = statSync(hostPath, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : null;
  if (!type) return null;
  return { path: containerPath, type, ...majorMinor(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** Host devices under `dir`, recursively; used for --privileged (like runc's HostDevices). */
function hostDevices(dir = '/dev'): OciDevice[] {
  const skip = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  const out: OciDevice[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!skip.has(e.name)) out.push(...hostDevices(p));
    } else if ((e.isCharacterDevice() || e.isBlockDevice()) && p !== '/dev/console') {
      try {
        const d = deviceAt(p, p);
        if (d) out.push(d);
      } catch {
        /* vanished */
      }
    }
  }
  return out;
}

/** --device host[:container[:perms]] → device nodes plus their cgroup allow rules. A directory maps every device under it. */
function mappedDevices(mappings: HostConfig['Devices']): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  const devices: OciDevice[] = [];
  const rules: OciDeviceCgroup[] = [];
  for (const m of mappings ?? []) {
    const access = m.CgroupPermissions || 'rwm';
    if (!/^[rwm]{1,3}$/.test(access)) throw new InvalidArgumentError(`invalid device cgroup permissions: "${access}"`);
    const target = m.PathInContainer || m.PathOnHost;
    let found: OciDevice[];
    try {
      if (statSync(m.PathOnHost).isDirectory()) {
        found = hostDevices(m.PathOnHost).map((d) => ({ ...d, path: posix.join(target, posix.relative(m.PathOnHost, d.path)) }));
      } else {
        const d = deviceAt(m.PathOnHost, target);
        if (!d) throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
        found = [d];
      }
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.PathOnHost}": no such file or directory`);
    }
    for (const d of found) {
      devices.push(d);
      rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access });
    }
  }
  return { devices, rules };
}

/** --device-cgroup-rule 'c 1:3 rwm' (HostConfig.DeviceCgroupRules). */
function cgroupRules(rules: unknown): OciDeviceCgroup[] {
  if (!Array.isArray(rules)) return [];
  return rules.map((r) => {
    const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(String(r));
    if (!m) throw new InvalidArgumentError(`invalid device cgroup rule format: '${String(r)}'`);
    const rule: OciDeviceCgroup = { allow: true, type: m[1] as 'a' | 'c' | 'b' };
    if (m[2] !== '*') rule.major = Number(m[2]);
    if (m[3] !== '*') rule.minor = Number(m[3]);
    rule.access = m[4];
    return rule;
  });
}

// ---------------------------------------------------------------- resources

function cgroupV2(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** Swap can be limited: always on v2, on v1 only with swap accounting on. */
function swapSupported(): boolean {
  return cgroupV2() || existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
}

const pos = (n: number | null | undefined): n is number => typeof n === 'number' && n > 0;

function resources(hc: HostConfig, devices: OciDeviceCgroup[]): OciResources {
  const r: OciResources = { devices };

  const memory: NonNullable<OciResources['memory']> = {};
  if (pos(hc.Memory)) memory.limit = hc.Memory;
  if (pos(hc.MemoryReservation)) memory.reservation = hc.MemoryReservation;
  if (pos(hc.MemorySwap) && !pos(hc.Memory)) {
    throw new InvalidArgumentError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  // dockerd: a memory limit without a swap setting allows as much swap as memory.
  const swap = pos(hc.Memory) && !hc.MemorySwap ? hc.Memory * 2 : hc.MemorySwap;
  if (swap && (swap > 0 || swap === -1) && swapSupported()) {
    if (swap > 0 && pos(hc.Memory) && swap < hc.Memory) {
      throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    memory.swap = swap;
  }
  // cgroup v2 has no OOM-killer switch; dockerd drops the setting there too.
  if (hc.OomKillDisable && !cgroupV2()) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if (pos(hc.NanoCpus)) {
    if (pos(hc.CpuPeriod)) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
    if (pos(hc.CpuQuota)) throw new InvalidArgumentError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
    cpu.period = 100_000; // the CFS default period, as dockerd uses for --cpus
    cpu.quota = Math.floor((hc.NanoCpus * 100_000) / 1e9);
  }
  if (pos(hc.CpuShares)) cpu.shares = hc.CpuShares;
  if (pos(hc.CpuPeriod)) cpu.period = hc.CpuPeriod;
  if (pos(hc.CpuQuota)) cpu.quota = hc.CpuQuota;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu;

  if (pos(hc.PidsLimit)) r.pids = { limit: hc.PidsLimit };
  if (pos(hc.BlkioWeight)) r.blockIO = { weight: hc.BlkioWeight };
  return r;
}

function rlimits(hc: HostConfig): OciRlimit[] | undefined {
  if (!hc.Ulimits?.length) return undefined;
  return hc.Ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}

// ---------------------------------------------------------------- namespaces

function nsEntry(type: OciNamespaceType, mode: string | undefined): OciNamespace[] {
  if (mode === 'host') return [];
  if (!mode || mode === 'private') return [{ type }];
  return [{ type, path: mode }]; // join an existing namespace (another container's)
}

function namespaces(input: SpecInput): OciNamespace[] {
  const ns = input.namespaces ?? {};
  const cgroupns =
    typeof input.hostConfig.CgroupnsMode === 'string' && input.hostConfig.CgroupnsMode ? input.hostConfig.CgroupnsMode : cgroupV2() ? 'private' : 'host'; // dockerd's default per cgroup version
  return [
    { type: 'mount' },
    ...nsEntry('network', ns.network),
    ...nsEntry('uts', ns.uts),
    ...nsEntry('pid', ns.pid),
    ...nsEntry('ipc', ns.ipc),
    ...(cgroupns === 'private' ? [{ type: 'cgroup' as const }] : []),
  ];
}

// ---------------------------------------------------------------- security opts

function securityOpts(hc: HostConfig): { noNewPrivileges: boolean; unmaskedPaths: boolean; seccomp?: string } {
  let noNewPrivileges = false;
  let unmaskedPaths = false;
  let seccomp: string | undefined;
  for (const opt of hc.SecurityOpt ?? []) {
    // Split at the first separator only: a seccomp profile's JSON has plenty of its own.
    const i = opt.search(/[=:]/);
    const k = i < 0 ? opt : opt.slice(0, i);
    const v = i < 0 ? 'true' : opt.slice(i + 1);
    if (k === 'no-new-privileges') noNewPrivileges = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
    if (k === 'systempaths' && v === 'unconfined') unmaskedPaths = true;
    if (k === 'seccomp') seccomp = v;
  }
  return { noNewPrivileges, unmaskedPaths, seccomp };
}

// ---------------------------------------------------------------- the spec

const depth = (p: string) => posix.normalize(p).split('/').filter(Boolean).length;

export function buildSpec(input: SpecInput): OciSpec {
  const hc = input.hostConfig;
  const privileged = !!hc.Privileged;
  const sec = securityOpts(hc);
  const readonly = !!hc.ReadonlyRootfs;

  // Mounts the user asked for (or the caller built) replace defaults at the same place.
  const user: OciMount[] = [...(input.extraMounts ?? []), ...tmpfsMounts(hc.Tmpfs)];
  let args = input.args;
  if (input.initPath) {
    user.push({ destination: '/sbin/docker-init', type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
    args = ['/sbin/docker-init', '--', ...args];
  }
  const userDest = new Set(user.map((m) => posix.normalize(m.destination)));
  const ipcNone = hc.IpcMode === 'none';
  const defaults = defaultMounts(hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM, input.namespaces?.ipc === 'host')
    .filter((m) => !userDest.has(m.destination))
    .filter((m) => !(userDest.has('/dev') && m.destination.startsWith('/dev/')))
    .filter((m) => !(ipcNone && m.destination === '/dev/shm'))
    .map((m) => {
      let options = [...(m.options ?? [])];
      // A read-only rootfs makes the default mounts read-only too, except the
      // ones a process needs to write (dockerd's list).
      if (readonly && !['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue'].includes(m.destination) && !options.includes('ro')) {
        options.push('ro');
      }
      // Privileged: writable /sys and cgroup fs.
      if (privileged && (m.destination === '/sys' || m.type === 'cgroup')) options = options.filter((o) => o !== 'ro');
      return { ...m, options };
    });
  // cgroup v1: runc makes the `cgroup` mount a tmpfs holding read-only binds of the
  // container's controllers, but (unlike the runc Docker first shipped with, and
  // cgroup v2's single mount) leaves the tmpfs itself writable. Bind it onto itself
  // read-only: at mount time the rootfs is still reached at its host path.
  const cgroupAt = defaults.findIndex((m) => m.type === 'cgroup' && m.destination === '/sys/fs/cgroup');
  if (cgroupAt >= 0 && !cgroupV2() && defaults[cgroupAt]!.options!.includes('ro') && ![...userDest].some((d) => d.startsWith('/sys/fs/cgroup/'))) {
    defaults.splice(cgroupAt + 1, 0, {
      destination: '/sys/fs/cgroup',
      type: 'bind',
      source: posix.join(input.rootfs, 'sys/fs/cgroup'),
      options: ['rbind', 'ro', 'nosuid', 'noexec', 'nodev'],
    });
  }
  // Parents before children, so a volume inside another volume lands on top.
  const sortedUser = user
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map(({ m }) => m);

  let devices: OciDevice[];
  let deviceRules: OciDeviceCgroup[];
  if (privileged) {
    devices = hostDevices();
    deviceRules = [{ allow: true, access: 'rwm' }];
  } else {
    const mapped = mappedDevices(hc.Devices);
    devices = mapped.devices;
    deviceRules = [...defaultDeviceRules(), ...mapped.rules, ...cgroupRules(hc.DeviceCgroupRules)];
  }

  const caps = resolveCaps(hc.CapAdd, hc.CapDrop, privileged);
  const process: OciProcess = {
    terminal: input.tty,
    user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
    args,
    env: [...input.env],
    cwd: input.cwd || '/',
    capabilities: capSet(caps),
    noNewPrivileges: input.noNewPrivileges ?? sec.noNewPrivileges,
  };
  const rl = rlimits(hc);
  if (rl) process.rlimits = rl;
  // The client's window size at create (API ≥ 1.42): the terminal has it before the process first looks.
  const cs = hc.ConsoleSize;
  if (input.tty && Array.isArray(cs) && Number(cs[0]) > 0 && Number(cs[1]) > 0) process.consoleSize = { height: Number(cs[0]), width: Number(cs[1]) };
  if (typeof hc.OomScoreAdj === 'number') process.oomScoreAdj = hc.OomScoreAdj;

  const linux: OciLinux = {
    namespaces: namespaces(input),
    devices,
    resources: resources(hc, deviceRules),
    cgroupsPath: input.cgroupsPath,
  };
  const seccomp = containerSeccomp(sec.seccomp, privileged, caps);
  if (seccomp) linux.seccomp = seccomp;
  if (!privileged && !sec.unmaskedPaths) {
    // The container's own lists (dockerd stores the defaults in them at create; an API client may set others).
    linux.maskedPaths = [...(Array.isArray(hc.MaskedPaths) ? (hc.MaskedPaths as string[]) : MASKED_PATHS)];
    linux.readonlyPaths = [...(Array.isArray(hc.ReadonlyPaths) ? (hc.ReadonlyPaths as string[]) : READONLY_PATHS)];
  }
  const sysctls = hc.Sysctls;
  if (sysctls && typeof sysctls === 'object' && Object.keys(sysctls).length) linux.sysctl = { ...(sysctls as Record<string, string>) };

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process,
    root: { path: input.rootfs, readonly },
    mounts: [...defaults, ...sortedUser],
    linux,
  };
  // runc refuses a hostname without a private UTS namespace.
  if (input.namespaces?.uts !== 'host' && input.hostname) spec.hostname = input.hostname;
  return spec;
}

export interface ExecInput {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  tty: boolean;
  /** The container's HostConfig: exec gets the container's capabilities. */
  hostConfig: HostConfig;
  /** `docker exec --privileged`: all capabilities for this process. */
  privileged?: boolean;
  noNewPrivileges?: boolean;
}

/** The `process` object for `runc exec --process` (docker exec). */
export function buildExecProcess(input: ExecInput): OciProcess {
  const hc = input.hostConfig;
  const privileged = !!input.privileged || !!hc.Privileged;
  return {
    terminal: input.tty,
    user: { uid: input.user.uid, gid: input.user.gid, additionalGids: [...input.user.additionalGids] },
    args: [...input.args],
    env: [...input.env],
    cwd: input.cwd || '/',
    capabilities: capSet(resolveCaps(hc.CapAdd, hc.CapDrop, privileged)),
    noNewPrivileges: input.noNewPrivileges ?? securityOpts(hc).noNewPrivileges,
  };
}

/** config.json text; -1 rlimits become RLIM_INFINITY (uint64 max), which JSON.stringify cannot write. */
export function specToJson(value: OciSpec | OciProcess): string {
  return JSON.stringify(value, null, 2).replace(/"(soft|hard)": -1\b/g, '"$1": 18446744073709551615');
}
