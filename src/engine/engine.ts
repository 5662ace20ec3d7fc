/**
 * The engine: every service of one daemon, wired over one data root.
 * Opening it recovers from whatever a crash left (partial ingests, temp
 * snapshots, blobs and layers no image references).
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { secureDataRoot } from './data-root.js';
import { ContentStore } from '../content/store.js';
import { createSnapshotter } from '../snapshots/index.js';
import type { DriverName, Snapshotter } from '../snapshots/snapshotter.js';
import { log } from '../core/log.js';
import { EventBus } from './events.js';
import { ImageStore } from './images/store.js';
import { ImageService } from './images/service.js';
import { ContainerService } from './containers/service.js';
import { settleLogConfig } from './containers/logfiles.js';
import { ExecService } from './containers/exec.js';
import { DistributionService } from './distribution/service.js';
import { NetworkService } from './networks/service.js';
import { VolumeService } from './volumes/service.js';
import { ContainerFiles } from './containers/files.js';
import { BuildService } from './build/service.js';
import { BuildSpool } from './build/spool.js';

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
}

export class Engine {
  readonly startedAt = new Date();
  readonly execs: ExecService;
  readonly distribution: DistributionService;
  volumes!: VolumeService;
  builds!: BuildService;
  readonly files: ContainerFiles;

  private constructor(
    readonly opts: EngineOptions,
    readonly events: EventBus,
    readonly content: ContentStore,
    readonly snapshotter: Snapshotter,
    readonly images: ImageService,
    readonly containers: ContainerService,
    readonly networks: NetworkService,
  ) {
    this.execs = new ExecService(containers);
    this.files = new ContainerFiles(containers);
    const list = (k: string) => (Array.isArray(opts.config[k]) ? (opts.config[k] as unknown[]).map(String) : []);
    this.distribution = new DistributionService(images, {
      mirrors: list('registry-mirrors'), insecure: list('insecure-registries'), certsDir: opts.certsDir,
    });
  }

  static async open(opts: EngineOptions): Promise<Engine> {
    await secureDataRoot(opts.dataRoot);
    await mkdir(opts.execRoot, { recursive: true, mode: 0o700 });
    const content = new ContentStore(join(opts.dataRoot, 'content'));
    await content.init();
    const snapshotter = createSnapshotter(opts.storageDriver, opts.dataRoot);
    await snapshotter.init();
    const store = new ImageStore(join(opts.dataRoot, 'images'));
    await store.init();
    const events = new EventBus();
    const images = new ImageService(content, store, snapshotter, events);
    const logOpts = opts.config['log-opts'] as Record<string, string> | undefined;
    settleLogConfig(undefined, logOpts); // daemon.json's log-opts are checked at start, as dockerd does
    const containers = new ContainerService(images, snapshotter, events, { dataRoot: opts.dataRoot, execRoot: opts.execRoot, logOpts });
    const networks = new NetworkService(events, { dataRoot: opts.dataRoot, execRoot: opts.execRoot, config: opts.config });
    networks.containers = containers;
    containers.networking = networks;
    const volumes = new VolumeService(events, join(opts.dataRoot, 'volumes'));
    volumes.containers = () => containers.list();
    containers.volumes = volumes;
    await volumes.init();
    const engine = new Engine(opts, events, content, snapshotter, images, containers, networks);
    engine.volumes = volumes;
    // Build contexts are spooled under the data root's tmp/, emptied here of a killed daemon's.
    const spool = new BuildSpool(join(opts.dataRoot, 'tmp', 'build'), opts.maxBuildContextSize);
    await spool.init();
    engine.builds = new BuildService(images, containers, spool);
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
    this.containers.close();
    this.networks.close();
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
