/** /version, /info and /system/df: what the daemon reports about itself. */
import { readFile } from 'node:fs/promises';
import { cpus, totalmem, hostname, release, arch } from 'node:os';
import { statfsSync } from 'node:fs';
import { chainIds } from '../core/digest.js';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../core/version.js';
import type { Engine } from './engine.js';
import { hostPlatform } from './platform.js';
import { listContainers } from './containers/views.js';

const GIT_COMMIT = 'berth';

export function version(): Record<string, unknown> {
  const p = hostPlatform();
  const details = {
    ApiVersion: API_VERSION, Arch: p.architecture, BuildTime: '', Experimental: 'false', GitCommit: GIT_COMMIT,
    GoVersion: `node${process.versions.node}`, KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux',
  };
  return {
    Platform: { Name: 'Berth Engine' },
    Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: details }],
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
  } catch { osName = 'Linux'; }
  return osName;
}

function cgroupVersion(): '1' | '2' {
  try { return statfsSync('/sys/fs/cgroup').type === 0x63677270 ? '2' : '1'; } catch { return '1'; }
}

export async function info(engine: Engine): Promise<Record<string, unknown>> {
  const images = engine.images.store.list();
  const all = engine.containers.list();
  const layers = await engine.snapshotter.listLayers();
  const p = hostPlatform();
  const cfg = engine.opts.config;
  return {
    ID: engine.opts.dataRoot,
    Containers: all.length,
    ContainersRunning: all.filter((c) => c.state.Running && !c.state.Paused).length,
    ContainersPaused: all.filter((c) => c.state.Paused).length,
    ContainersStopped: all.filter((c) => !c.state.Running).length,
    Images: images.length,
    Driver: engine.snapshotter.driver,
    DriverStatus: engine.snapshotter.driver === 'overlay2'
      ? [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true'], ['userxattr', 'false']]
      : [],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
    // The pools user networks are carved from (the default bridge takes the first free one unless `bip` is set).
    DefaultAddressPools: engine.networks.pools().map((p) => ({ Base: p.base, Size: p.size })),
    MemoryLimit: true, SwapLimit: true, KernelMemoryTCP: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
    IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false, Debug: cfg.debug === true,
    NFd: 0, OomKillDisable: false, NGoroutines: 0, SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: cgroupVersion(), NEventsListener: 0,
    KernelVersion: release(), OperatingSystem: await operatingSystem(), OSVersion: '', OSType: 'linux', Architecture: arch() === 'x64' ? 'x86_64' : arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null, InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], IndexConfigs: {}, Mirrors: (cfg['registry-mirrors'] as string[] | undefined) ?? [] },
    NCPU: cpus().length, MemTotal: totalmem(), GenericResources: null,
    DockerRootDir: engine.opts.dataRoot,
    HttpProxy: process.env.HTTP_PROXY ?? '', HttpsProxy: process.env.HTTPS_PROXY ?? '', NoProxy: process.env.NO_PROXY ?? '',
    Name: hostname(), Labels: (cfg.labels as string[] | undefined) ?? [], ExperimentalBuild: false, ServerVersion: BERTH_VERSION,
    Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true, Isolation: '', InitBinary: 'tini',
    ContainerdCommit: { ID: '', Expected: '' }, RuncCommit: { ID: '', Expected: '' }, InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=builtin'],
    Warnings: null,
    Layers: layers.length,
    Platform: p,
  };
}

/** /system/df: images with their shared bytes; containers, volumes and build cache come with later services. */
export async function diskUsage(engine: Engine): Promise<Record<string, unknown>> {
  const svc = engine.images;
  // As dockerd: the images `docker images` shows (no intermediate build steps), their layers shared among themselves.
  const list = await svc.list({ all: false });
  const useCount = new Map<string, number>();
  for (const rec of list.map((s) => svc.store.get(s.Id)!)) for (const c of chainIds(rec.layers.map((l) => l.diffId))) useCount.set(c, (useCount.get(c) ?? 0) + 1);
  let layersSize = 0;
  for (const l of await engine.snapshotter.listLayers()) layersSize += l.size;
  const images = [];
  for (const s of list) {
    const rec = svc.store.get(s.Id)!;
    let shared = 0;
    for (const c of chainIds(rec.layers.map((l) => l.diffId))) if ((useCount.get(c) ?? 0) > 1) shared += await svc.layerSize(c);
    images.push({ ...s, SharedSize: shared, Containers: svc.usersOf(s.Id).length });
  }
  const containers = await listContainers(engine.containers, { all: true, size: true, filters: {} });
  return { LayersSize: layersSize, Images: images, Containers: containers, Volumes: await engine.volumes.usage(), BuildCache: [] };
}
