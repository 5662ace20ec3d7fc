/**
 * A HostConfig as dockerd settles it at create: every field of its Go struct
 * present (zero-valued when not given, so inspect shows what dockerd shows),
 * and the daemon's defaults filled in — shm size, IPC and cgroup namespace
 * modes, masked and read-only paths, the runtime — with the values dockerd
 * discards (an unsupported blkio weight) dropped and a warning given.
 */
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../core/errors.js';
import { MASKED_PATHS, READONLY_PATHS } from '../../runtime/spec/security.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import { rootless } from '../../core/rootless.js';
import { discardLimits } from './rootless-limits.js';

/** dockerd's default /dev/shm size (64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** The runtime names a create may ask for, and the one it gets when it names none (runtimes.ts: RuntimeTable). */
export interface RuntimeNames {
  has(name: string): boolean;
  readonly defaultName: string;
}
const STOCK_ONLY: RuntimeNames = { has: (n) => n === 'runc' || n === 'io.containerd.runc.v2', defaultName: 'runc' };

/** Every key of dockerd's HostConfig with its zero value, as dockerd's inspect writes an unset one. */
function zeroHostConfig(): HostConfig {
  return {
    Binds: null,
    ContainerIDFile: '',
    LogConfig: { Type: '', Config: {} },
    NetworkMode: '',
    PortBindings: null,
    RestartPolicy: { Name: '', MaximumRetryCount: 0 },
    AutoRemove: false,
    VolumeDriver: '',
    VolumesFrom: null,
    CapAdd: null,
    CapDrop: null,
    CgroupnsMode: '',
    Dns: null,
    DnsOptions: null,
    DnsSearch: null,
    ExtraHosts: null,
    GroupAdd: null,
    IpcMode: '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: '',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: false,
    SecurityOpt: null,
    UTSMode: '',
    UsernsMode: '',
    ShmSize: 0,
    ConsoleSize: [0, 0],
    Isolation: '',
    CpuShares: 0,
    Memory: 0,
    NanoCpus: 0,
    CgroupParent: '',
    BlkioWeight: 0,
    BlkioWeightDevice: null,
    BlkioDeviceReadBps: null,
    BlkioDeviceWriteBps: null,
    BlkioDeviceReadIOps: null,
    BlkioDeviceWriteIOps: null,
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: '',
    CpusetMems: '',
    Devices: null,
    DeviceCgroupRules: null,
    DeviceRequests: null,
    KernelMemory: 0,
    KernelMemoryTCP: 0,
    MemoryReservation: 0,
    MemorySwap: 0,
    MemorySwappiness: null,
    OomKillDisable: false,
    PidsLimit: null,
    Ulimits: null,
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
  };
}

/** What the host offers that the defaults depend on. */
export interface HostFacts {
  cgroupV2: boolean;
  /** The blkio cgroup can take a weight (CFQ/BFQ): dockerd's sysInfo.BlkioWeight. */
  blkioWeight: boolean;
  /** False in rootless mode without delegated cgroups: limits are discarded with a warning (rootless-limits.ts). */
  cgroupLimits?: boolean;
}

export function hostFacts(): HostFacts {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const blkio = v2
    ? existsSync('/sys/fs/cgroup/io.weight') || existsSync('/sys/fs/cgroup/io.bfq.weight') || /\bio\b/.test(readSafe('/sys/fs/cgroup/cgroup.controllers'))
    : existsSync('/sys/fs/cgroup/blkio/blkio.weight') || existsSync('/sys/fs/cgroup/blkio/blkio.bfq.weight');
  const mode = rootless();
  return { cgroupV2: v2, blkioWeight: blkio, cgroupLimits: !mode || mode.cgroupsDelegated };
}

function readSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The HostConfig to store for a create request, and dockerd's warnings.
 * `given` absent (a body without HostConfig) leaves the runtime to be
 * chosen at start, as dockerd does.
 */
export function settleHostConfig(
  given: HostConfig | null | undefined,
  facts: HostFacts,
  runtimes: RuntimeNames = STOCK_ONLY,
): { hostConfig: HostConfig; warnings: string[] } {
  const warnings: string[] = [];
  const h: HostConfig = { ...zeroHostConfig(), ...(given ?? {}) };
  h.RestartPolicy = { Name: '', MaximumRetryCount: 0, ...(given?.RestartPolicy ?? {}) };
  if (given) {
    if (!h.Runtime) h.Runtime = runtimes.defaultName;
    else if (typeof h.Runtime !== 'string' || !runtimes.has(h.Runtime)) throw new InvalidArgumentError(`Unknown runtime specified ${String(h.Runtime)}`);
  }
  if (!h.NetworkMode) h.NetworkMode = 'default';
  if (!h.ShmSize) h.ShmSize = DEFAULT_SHM_SIZE;
  if (!h.IpcMode) h.IpcMode = 'private';
  if (!h.CgroupnsMode) h.CgroupnsMode = facts.cgroupV2 ? 'private' : 'host';
  if (!h.Privileged) {
    h.MaskedPaths ??= [...MASKED_PATHS];
    h.ReadonlyPaths ??= [...READONLY_PATHS];
  }
  // dockerd stores "unlimited" and "default" as unset.
  if (typeof h.PidsLimit === 'number' && h.PidsLimit <= 0) h.PidsLimit = null;
  if (h.MemorySwappiness === -1) h.MemorySwappiness = null;
  if (h.OomKillDisable === null) h.OomKillDisable = false;
  if (h.Init === null) delete h.Init;
  if (facts.cgroupLimits === false) warnings.push(...discardLimits(h));
  if ((h.BlkioWeight ?? 0) > 0 && !facts.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    h.BlkioWeight = 0;
  }
  if ((h.BlkioWeight ?? 0) > 0 && (h.BlkioWeight! < 10 || h.BlkioWeight! > 1000)) throw new InvalidArgumentError('Range of blkio weight is from 10 to 1000');
  return { hostConfig: h, warnings };
}

/** The runtime a container runs with: the one it asked for, else the default (dockerd fills it in at start). */
export function runtimeOf(h: HostConfig, defaultName = 'runc'): string {
  return typeof h.Runtime === 'string' && h.Runtime ? h.Runtime : defaultName;
}
