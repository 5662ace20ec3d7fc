/**
 * The engine: every service of one daemon, wired over one data root, and the
 * API's only door to them. Opening it recovers from whatever a crash left
 * (partial ingests, temp snapshots, blobs and layers no image references).
 * Each service gets its collaborators through its constructor, as narrow
 * interfaces where one service asks another (images ask containers which use
 * them; networks and volumes ask which containers there are).
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { secureDataRoot } from './data-root.js';
import { ContentStore } from '../content/store.js';
import { createSnapshotter } from '../snapshots/index.js';
import type { IdmapMode } from '../snapshots/idmap.js';
import type { Remap } from '../runtime/userns-remap.js';
import { rootPair } from '../core/idmap.js';
import { openToRemappedRoot } from './containers/userns-dirs.js';
import type { DriverName, Snapshotter } from '../snapshots/snapshotter.js';
import { InvalidArgumentError, messageOf } from '../core/errors.js';
import type { Filters } from '../core/filters.js';
import { log } from '../core/log.js';
import type { AuthConfig } from '../distribution/auth.js';
import { EventBus } from './events.js';
import { ImageStore } from './images/store.js';
import { ImageService } from './images/service.js';
import { Leases, type ImageStorage } from './images/storage.js';
import { checkStore, type CheckReport } from './images/check.js';
import { importImage, type ImportOptions } from './images/import.js';
import { loadImages } from './images/load.js';
import { saveImages } from './images/save.js';
import { ContainerService } from './containers/service.js';
import { settleLogConfig } from './containers/logfiles.js';
import { ExecService } from './containers/exec.js';
import { ContainerStreams } from './containers/streams.js';
import { inspectContainer, listContainers } from './containers/views.js';
import { DistributionService } from './distribution/service.js';
import { inspectDistribution, type DistributionInspect } from './distribution/inspect.js';
import { pull, type PullRequest } from './distribution/pull.js';
import { push, type PushRequest } from './distribution/push.js';
import { NetworkService } from './networks/service.js';
import { listNetworks, networkView } from './networks/views.js';
import { VolumeService } from './volumes/service.js';
import { ContainerFiles } from './containers/files.js';
import { BuildService } from './build/service.js';
import { BuildSpool } from './build/spool.js';
import * as plugins from './plugins.js';
import * as swarm from './swarm.js';
import { diskUsage, info, version } from './system.js';
import { Sessions } from './sessions.js';
import { RuntimeTable } from './containers/runtimes.js';
import { EngineMetrics } from './metrics/recorder.js';
import { HistoryService } from './history/service.js';

export interface EngineOptions {
  dataRoot: string;
  execRoot: string;
  storageDriver: DriverName;
  /** Daemon configuration as read from daemon.json and flags, for /info. */
  config: Record<string, unknown>;
  /** Per-registry CA and client certificates (Docker's /etc/docker/certs.d); default: certs.d beside daemon.json. */
  certsDir?: string;
  /** Bytes a build context may unpack to (max-build-context-size); default 4 GiB. */
  maxBuildContextSize?: number;
  /** `--userns-remap`: the user, group and mapping every container gets unless `--userns=host`. */
  remap?: Remap;
  /** Keep Prometheus metrics (berthd's `metrics-addr` is set); off: every observation is a no-op. */
  metrics?: boolean;
  /** Seconds between history points (default 5; daemon.json's undocumented `history-interval`, for tests). */
  historyInterval?: number;
}

/** The services one daemon runs, made by Engine.open. */
interface Services {
  events: EventBus;
  content: ContentStore;
  snapshotter: Snapshotter;
  storage: ImageStorage;
  images: ImageService;
  containers: ContainerService;
  networks: NetworkService;
  volumes: VolumeService;
  distribution: DistributionService;
  builds: BuildService;
  remapMode?: IdmapMode;
  metrics: EngineMetrics;
}

export class Engine {
  readonly startedAt = new Date();
  readonly events: EventBus;
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly images: ImageService;
  readonly containers: ContainerService;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly distribution: DistributionService;
  readonly builds: BuildService;
  /** The stores images are kept in, for load, import, save and check. */
  private readonly storage: ImageStorage;
  readonly execs: ExecService;
  readonly files: ContainerFiles;
  /** Logs, attach, stats and TTY resize of containers and execs. */
  readonly streams: ContainerStreams;
  /** The plugin API of a daemon with no plugins. */
  readonly plugins = plugins;
  /** The cluster API of a node outside any swarm. */
  readonly swarm = swarm;
  /** BuildKit sessions a client opens beside a build (held idle: Berth has no BuildKit). */
  readonly sessions = new Sessions();
  /** With `--userns-remap`: how remapped containers see image layers (idmapped mounts, or chowned copies). */
  readonly remapMode?: IdmapMode;
  /** Prometheus metrics: the engine's counters and the containers' cgroups, read when scraped. */
  readonly metrics: EngineMetrics;
  /** Per-container history, sampled only while someone asks (GET /berth/containers/{id}/history). */
  readonly history: HistoryService;

  private constructor(
    readonly opts: EngineOptions,
    s: Services,
  ) {
    this.events = s.events;
    this.content = s.content;
    this.snapshotter = s.snapshotter;
    this.images = s.images;
    this.containers = s.containers;
    this.networks = s.networks;
    this.volumes = s.volumes;
    this.distribution = s.distribution;
    this.builds = s.builds;
    this.storage = s.storage;
    this.remapMode = s.remapMode;
    this.execs = new ExecService(s.containers);
    this.files = new ContainerFiles(s.containers);
    this.streams = new ContainerStreams(s.containers);
    this.metrics = s.metrics;
    this.history = new HistoryService(s.containers, s.events, s.metrics, opts.historyInterval);
    this.metrics.trackHistory(() => this.history.tracked);
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    await secureDataRoot(opts.dataRoot);
    await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
    const content = new ContentStore(join(opts.dataRoot, 'content'));
    await content.init();
    const snapshotter = createSnapshotter(opts.storageDriver, opts.dataRoot);
    await snapshotter.init();
    // Checked at start, as dockerd checks its remapped root: the kernel and filesystem decide idmapped or copied.
    const remapMode = opts.remap ? await snapshotter.remapMode(opts.remap.map) : undefined;
    if (opts.remap) await openToRemappedRoot(opts.dataRoot, opts.remap.map);
    const store = new ImageStore(join(opts.dataRoot, 'images'));
    await store.init();
    const events = new EventBus();
    const leases = new Leases();
    const storage: ImageStorage = { content, store, snapshotter, events, leases };
    const metrics: EngineMetrics = new EngineMetrics(opts.metrics === true, { containers: () => containers.list(), imageCount: () => store.list().length });
    // Images, networks and volumes ask about containers, which are made last (they use all three):
    // each asks through a function called only once the engine is open.
    const images: ImageService = new ImageService(storage, {
      usersOf: (id) => containers.imageUsage.usersOf(id),
      layerRoots: () => containers.imageUsage.layerRoots(),
      snapshotOwners: () => containers.imageUsage.snapshotOwners(),
    });
    const logOpts = opts.config['log-opts'] as Record<string, string> | undefined;
    settleLogConfig(undefined, logOpts); // daemon.json's log-opts are checked at start, as dockerd does
    const networks = new NetworkService(events, { dataRoot: opts.dataRoot, execRoot: opts.execRoot, config: opts.config }, () => containers);
    const volumes = new VolumeService(events, join(opts.dataRoot, 'volumes'), () => containers.list(), opts.remap ? rootPair(opts.remap.map) : undefined);
    const containers: ContainerService = new ContainerService(
      images,
      snapshotter,
      events,
      {
        dataRoot: opts.dataRoot,
        execRoot: opts.execRoot,
        logOpts,
        runtimes: new RuntimeTable(opts.config, opts.execRoot),
        noNewPrivileges: opts.config['no-new-privileges'] === true,
        ...(opts.remap ? { remap: opts.remap.map } : {}),
      },
      networks,
      volumes,
    );
    await volumes.init();
    const list = (k: string) => (Array.isArray(opts.config[k]) ? (opts.config[k] as unknown[]).map(String) : []);
    const distribution = new DistributionService(
      { images, ...storage },
      {
        mirrors: list('registry-mirrors'),
        insecure: list('insecure-registries'),
        certsDir: opts.certsDir,
      },
    );
    // Build contexts are spooled under the data root's tmp/, emptied here of a killed daemon's.
    const spool = new BuildSpool(join(opts.dataRoot, 'tmp', 'build'), opts.maxBuildContextSize);
    await spool.init();
    const timedPull = (req: PullRequest) =>
      metrics.timed(
        () => pull(distribution, req),
        (o, s) => metrics.observePull(o, s),
      );
    const builds = new BuildService(images, storage, containers, spool, { pull: timedPull }, (o, s) => metrics.observeBuild(o, s));
    const engine = new Engine(opts, { events, content, snapshotter, storage, images, containers, networks, volumes, distribution, builds, remapMode, metrics });
    await networks.init();
    // Containers first: their layers are roots the recovery must keep.
    await containers.init();
    // Then tear down the networking of containers that exited or vanished while berthd was down.
    await networks.reconcile();
    await engine.recover();
    return engine;
  }

  /** Stop watching containers; they keep running under their shims. */
  close(): void {
    this.history.close();
    this.containers.close();
    this.networks.close();
  }

  // ---- the API's calls that are not one service's method ----------------------

  /** GET /containers/json. */
  listContainers(opts: { all?: boolean; limit?: number; size?: boolean; filters: Filters }): Promise<Record<string, unknown>[]> {
    return listContainers(this.containers, opts);
  }

  /** GET /containers/{id}/json. */
  inspectContainer(ref: string, size: boolean): Promise<Record<string, unknown>> {
    return inspectContainer(this.containers, this.containers.get(ref), { size, dataRoot: this.opts.dataRoot });
  }

  /** GET /networks. */
  listNetworks(filters: Filters): Record<string, unknown>[] {
    return listNetworks(this.networks, filters);
  }

  /** GET /networks/{id}. */
  inspectNetwork(ref: string, scope: string | undefined): Record<string, unknown> {
    return networkView(this.networks, this.networks.get(ref, scope));
  }

  /** POST /images/create?fromImage=: pull. */
  pull(req: PullRequest): Promise<void> {
    return this.metrics.timed(
      () => pull(this.distribution, req),
      (o, s) => this.metrics.observePull(o, s),
    );
  }

  /** POST /images/{name}/push. */
  push(req: PushRequest): Promise<void> {
    return push(this.distribution, req);
  }

  /** GET /distribution/{name}/json. */
  inspectDistribution(name: string, auth: AuthConfig | undefined): Promise<DistributionInspect> {
    return inspectDistribution(this.distribution, name, auth);
  }

  /**
   * POST /images/create?fromSrc=: import a root filesystem tar, from `body`
   * when `fromSrc` is "-", else fetched from the URL it names.
   */
  async importImage(fromSrc: string, body: Readable, opts: Omit<ImportOptions, 'source'>): Promise<string> {
    let from = body;
    if (fromSrc !== '-') {
      let url: URL;
      try {
        url = new URL(fromSrc.includes('://') ? fromSrc : `http://${fromSrc}`);
      } catch {
        throw new InvalidArgumentError(`invalid URL: ${fromSrc}`);
      }
      const resp = await fetch(url).catch((e) => {
        throw new InvalidArgumentError(`error importing from ${fromSrc}: ${messageOf(e)}`);
      });
      if (!resp.ok || !resp.body) throw new InvalidArgumentError(`error importing from ${fromSrc}: ${resp.status} ${resp.statusText}`);
      const { Readable: R } = await import('node:stream');
      from = R.fromWeb(resp.body as import('node:stream/web').ReadableStream);
    }
    return importImage(this.images, this.storage, from, { ...opts, source: fromSrc });
  }

  /** POST /images/load: the lines that tell what was loaded. */
  loadImages(body: Readable): Promise<string[]> {
    return loadImages(this.images, this.storage, body);
  }

  /** GET /images/get, /images/{name}/get: a tar of the images. */
  saveImages(names: string[]): Promise<Readable> {
    return saveImages(this.images, this.storage, names);
  }

  /** POST /berth/system/check. */
  checkStore(repair: boolean): Promise<CheckReport> {
    return checkStore(this.images, this.storage, repair);
  }

  /** GET /version. */
  version(): Promise<Record<string, unknown>> {
    return version();
  }

  /** GET /info. */
  info(apiVersion: string): Promise<Record<string, unknown>> {
    return info(this, apiVersion);
  }

  /** GET /system/df. */
  diskUsage(apiVersion: string): Promise<Record<string, unknown>> {
    return diskUsage(this, apiVersion);
  }

  /**
   * Drop what a crash left unreferenced: writable snapshots of builds and
   * creates cut short (nothing is in progress yet, so every one a container
   * does not own), then layers and blobs of images never recorded.
   */
  private async recover(): Promise<void> {
    const active = await this.images.collectActive();
    if (active.length) log.info('removed writable snapshots left by an earlier run', { snapshots: active.length });
    const layers = await this.images.collectLayers();
    const blobs = await this.images.collectBlobs();
    if (layers.length || blobs.length) log.info('removed unreferenced data left by an earlier run', { layers: layers.length, blobs: blobs.length });
  }
}
