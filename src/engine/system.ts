/** /version, /info and /system/df: what the daemon reports about itself. */
import { readFile } from 'node:fs/promises';
import { cpus, totalmem, hostname, release, arch } from 'node:os';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { chainIds } from '../core/digest.js';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION, compareApiVersions } from '../core/version.js';
import { hostFacts, runtimeVersion } from './host-facts.js';
import { rootlessInfo } from './rootless-info.js';
import { swarmInfo } from './swarm.js';
import { hostPlatform } from './platform.js';
import { listContainers } from './containers/views.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { ContainerService } from './containers/service.js';
import type { EventBus } from './events.js';
import type { ImageService } from './images/service.js';
import type { VolumeService } from './volumes/service.js';

/** What /info and /system/df read (the engine hands itself). */
export interface SystemSources {
  opts: { dataRoot: string; config: Record<string, unknown>; remap?: { user: string; group: string } };
  /** With `--userns-remap`: idmapped mounts or chowned copies of the layers. */
  remapMode?: string;
  images: ImageService;
  containers: ContainerService;
  volumes: VolumeService;
  snapshotter: Snapshotter;
  events: EventBus;
}

const GIT_COMMIT = 'berth';

export async function version(): Promise<Record<string, unknown>> {
  const p = hostPlatform();
  const runc = await runtimeVersion('runc');
  const details = {
    ApiVersion: API_VERSION,
    Arch: p.architecture,
    BuildTime: '',
    Experimental: 'false',
    GitCommit: GIT_COMMIT,
    GoVersion: `node${process.versions.node}`,
    KernelVersion: release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: 'linux',
  };
  return {
    Platform: { Name: 'Berth Engine' },
    Components: [
      { Name: 'Engine', Version: BERTH_VERSION, Details: details },
      ...(runc.version ? [{ Name: 'runc', Version: runc.version, Details: { GitCommit: runc.commit } }] : []),
    ],
    Version: BERTH_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: GIT_COMMIT,
    GoVersion: details.GoVersion,
    Os: 'linux',
    Arch: p.architecture,
    KernelVersion: release(),
    BuildTime: '',
  };
}

let osName: string | undefined;
async function operatingSystem(): Promise<string> {
  if (osName) return osName;
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    osName = 'Linux';
  }
  return osName;
}

/** os-release's VERSION_ID ("12"), dockerd's OSVersion. */
let osVersionId: string | undefined;
async function osVersion(): Promise<string> {
  if (osVersionId !== undefined) return osVersionId;
  try {
    osVersionId = /^VERSION_ID="?([^"\n]*)"?/m.exec(await readFile('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    osVersionId = '';
  }
  return osVersionId;
}

/**
 * The engine's ID: made once and kept in the data root (dockerd keeps its
 * `engine-id` there too), so it names this engine across restarts and never
 * shows a path.
 */
const engineIds = new Map<string, string>();
function engineId(dataRoot: string): string {
  let id = engineIds.get(dataRoot);
  if (id) return id;
  const file = join(dataRoot, 'engine-id');
  try {
    id = readFileSync(file, 'utf8').trim();
  } catch {
    /* first start */
  }
  if (!id) {
    id = randomUUID();
    try {
      writeFileSync(file, id + '\n', { flag: 'wx' });
    } catch {
      id = readFileSync(file, 'utf8').trim();
    }
  }
  engineIds.set(dataRoot, id);
  return id;
}

/** Open descriptors of this process (dockerd's NFd). */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** RegistryConfig as dockerd reports it: Docker Hub's index and every insecure registry, lists never null. */
function registryConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  const list = (k: string) => (Array.isArray(cfg[k]) ? (cfg[k] as unknown[]).map(String) : []);
  const insecure = list('insecure-registries');
  const cidrs = insecure.filter((x) => /^[\d.:a-fA-F]+\/\d+$/.test(x));
  const indexes: Record<string, unknown> = {};
  for (const host of insecure.filter((x) => !cidrs.includes(x))) {
    const name = host.replace(/^https?:\/\//, '').replace(/\/$/, '');
    indexes[name] = { Name: name, Mirrors: [], Secure: false, Official: false };
  }
  indexes['docker.io'] = { Name: 'docker.io', Mirrors: list('registry-mirrors'), Secure: true, Official: true };
  return {
    AllowNondistributableArtifactsCIDRs: [],
    AllowNondistributableArtifactsHostnames: [],
    InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8', ...cidrs],
    IndexConfigs: indexes,
    Mirrors: list('registry-mirrors'),
  };
}

export async function info(engine: SystemSources, apiVersion = API_VERSION): Promise<Record<string, unknown>> {
  const images = engine.images.records();
  const all = engine.containers.list();
  const layers = await engine.snapshotter.listLayers();
  const cfg = engine.opts.config;
  const host = hostFacts();
  const runc = await runtimeVersion('runc');
  const pools = cfg['default-address-pools'];
  // dockerd 20.10 (API < 1.42) always reports kernel memory; later versions only where the host has it (never on cgroup v2).
  const kernelMemory =
    compareApiVersions(apiVersion, '1.42') < 0
      ? { KernelMemory: host.kernelMemory, KernelMemoryTCP: host.kernelMemoryTCP }
      : { ...(host.kernelMemory ? { KernelMemory: true } : {}), ...(host.kernelMemoryTCP ? { KernelMemoryTCP: true } : {}) };
  return rootlessInfo({
    ID: engineId(engine.opts.dataRoot),
    Containers: all.length,
    ContainersRunning: all.filter((c) => c.state.Running && !c.state.Paused).length,
    ContainersPaused: all.filter((c) => c.state.Paused).length,
    ContainersStopped: all.filter((c) => !c.state.Running).length,
    Images: images.length,
    Driver: engine.snapshotter.driver,
    DriverStatus:
      engine.snapshotter.driver === 'overlay2'
        ? [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Native Overlay Diff', 'true'], ['userxattr', 'false'], ...remapStatus(engine)]
        : remapStatus(engine),
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'local'] },
    // Only what daemon.json configured, as dockerd reports it (its built-in pools are not listed).
    ...(Array.isArray(pools) && pools.length
      ? { DefaultAddressPools: (pools as Array<{ base: string; size: number }>).map((p) => ({ Base: p.base, Size: p.size })) }
      : {}),
    MemoryLimit: host.memoryLimit,
    SwapLimit: host.swapLimit,
    ...kernelMemory,
    CpuCfsPeriod: host.cpuCfsPeriod,
    CpuCfsQuota: host.cpuCfsQuota,
    CPUShares: host.cpuShares,
    CPUSet: host.cpuSet,
    PidsLimit: host.pidsLimit,
    IPv4Forwarding: host.ipv4Forwarding,
    BridgeNfIptables: host.bridgeNfIptables,
    BridgeNfIp6tables: host.bridgeNfIp6tables,
    Debug: cfg.debug === true,
    NFd: openFds(),
    OomKillDisable: host.oomKillDisable,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: host.cgroupVersion,
    NEventsListener: engine.events.listeners(),
    KernelVersion: release(),
    OperatingSystem: await operatingSystem(),
    OSVersion: await osVersion(),
    OSType: 'linux',
    Architecture: arch() === 'x64' ? 'x86_64' : arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfig(cfg),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    GenericResources: null,
    DockerRootDir: engine.opts.dataRoot,
    HttpProxy: process.env.HTTP_PROXY ?? '',
    HttpsProxy: process.env.HTTPS_PROXY ?? '',
    NoProxy: process.env.NO_PROXY ?? '',
    Name: hostname(),
    Labels: (cfg.labels as string[] | undefined) ?? [],
    ExperimentalBuild: false,
    ServerVersion: BERTH_VERSION,
    Runtimes: engine.containers.runc.table.info(),
    DefaultRuntime: engine.containers.runc.table.defaultName,
    Swarm: swarmInfo(),
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'tini',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: runc.commit, Expected: runc.commit },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=builtin', ...(engine.opts.remap ? ['name=userns'] : []), ...(host.cgroupVersion === '2' ? ['name=cgroupns'] : [])],
    Warnings: null,
    // API 1.44 added the CDI spec directories; a daemon without experimental features reports none.
    ...(compareApiVersions(apiVersion, '1.44') >= 0 ? { CDISpecDirs: [] } : {}),
    // Berth's own: the layers its snapshotter holds (dockerd's clients ignore keys they do not know).
    Layers: layers.length,
  });
}

/** /system/df: images with their shared bytes; containers, volumes and build cache come with later services. */
export async function diskUsage(engine: SystemSources, apiVersion = API_VERSION): Promise<Record<string, unknown>> {
  const svc = engine.images;
  // As dockerd: the images `docker images` shows (no intermediate build steps), their layers shared among themselves.
  const list = await svc.list({ all: false });
  const useCount = new Map<string, number>();
  for (const rec of list.map((s) => svc.get(s.Id)!)) for (const c of chainIds(rec.layers.map((l) => l.diffId))) useCount.set(c, (useCount.get(c) ?? 0) + 1);
  let layersSize = 0;
  for (const l of await engine.snapshotter.listLayers()) layersSize += l.size;
  const images = [];
  for (const s of list) {
    const rec = svc.get(s.Id)!;
    let shared = 0;
    for (const c of chainIds(rec.layers.map((l) => l.diffId))) if ((useCount.get(c) ?? 0) > 1) shared += await svc.layerSize(c);
    images.push({ ...s, SharedSize: shared, Containers: svc.usersOf(s.Id).length });
  }
  // dockerd leaves a writable-layer size of zero out (omitempty).
  const containers = (await listContainers(engine.containers, { all: true, size: true, filters: {} })).map((c) => {
    const { SizeRw, ...rest } = c as typeof c & { SizeRw?: number };
    return SizeRw ? { ...rest, SizeRw } : rest;
  });
  // No build cache records (the classic builder keeps its steps as images): null, as dockerd answers with none.
  // BuilderSize went away at API 1.42.
  return {
    LayersSize: layersSize,
    Images: images,
    Containers: containers,
    Volumes: await engine.volumes.usage(),
    BuildCache: null,
    ...(compareApiVersions(apiVersion, '1.42') < 0 ? { BuilderSize: 0 } : {}),
  };
}

/**
 * With `--userns-remap`, how remapped containers see image layers: Berth's own
 * DriverStatus lines (dockerd has none; its remapped daemon always unpacks a chowned image tree).
 */
function remapStatus(engine: SystemSources): Array<[string, string]> {
  const r = engine.opts.remap;
  if (!r) return [];
  return [
    ['Userns remap', `${r.user}:${r.group}`],
    ['Userns layers', engine.remapMode === 'idmapped' ? 'idmapped mounts' : 'chowned copies'],
  ];
}
