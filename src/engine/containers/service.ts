/**
 * The container service: every container's record and state, and the
 * lifecycle — create, start, stop, kill, wait, restart, remove — with
 * Docker's rules and messages. This class owns the state (the containers,
 * their locks, the runtime) and delegates each concern to its own file:
 * create.ts, start.ts, monitor.ts (exits, restart policy), stop.ts,
 * remove.ts, update.ts, recover.ts (berthd's start); records in record.ts.
 *
 * State on disk (written whole or not at all):
 *   <data-root>/containers/<id>/config.json   ContainerRecord
 *   <data-root>/containers/<id>/state.json    ContainerState
 *   <data-root>/containers/<id>/container.log the shim's log (CRI k8s-file lines)
 *   <exec-root>/containers/<id>/              runtime bundle and shim files (see runtime/shim.ts)
 *
 * A running container is owned by its shim (conmon), not by berthd: after a
 * daemon restart, `init` finds each one again by its shim's pid and exit file.
 */
import { join } from 'node:path';
import { replaceJson, writeJsonAtomic } from '../../core/atomic.js';
import { dirSize } from '../../core/dir-size.js';
import { BerthError, ConflictError, InvalidArgumentError, messageOf, NotFoundError } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import { KeyedMutex } from '../../core/mutex.js';
import { run } from '../../core/proc.js';
import { shimPaths, type ShimPaths } from '../../runtime/shim.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { ImageService, ImageUsage } from '../images/service.js';
import { createContainer, type CreateRequest } from './create.js';
import { rewriteOwnHosts } from './etc-files.js';
import { hostFacts } from './hostconfig.js';
import { renamedLinks } from './links.js';
import { keepLogs, unwatch, watchExit, watchHealth } from './monitor.js';
import type { ContainerMounts } from './mounts.js';
import { validName } from './names.js';
import type { ContainerNetworking } from './networking.js';
import type { Container } from './record.js';
import { recoverContainers } from './recover.js';
import { pruneContainers, removeContainer, removeLink } from './remove.js';
import { startContainer, startProcess } from './start.js';
import { killContainer, stopContainer, waitFor } from './stop.js';
import type { HostConfig } from '../../core/wire/host-config.js';
import type { IdMap } from '../../core/idmap.js';
import { updateContainer } from './update.js';
import { ContainerRuntimes, RuntimeTable } from './runtimes.js';

export interface ContainerServiceOptions {
  dataRoot: string;
  execRoot: string;
  /** The configured OCI runtimes (daemon.json `runtimes`, `default-runtime`); runc alone without. */
  runtimes?: RuntimeTable;
  initPath?: string;
  /** daemon.json `log-opts`: defaults for containers that use the default (json-file) log driver. */
  logOpts?: Record<string, string>;
  /** daemon.json `no-new-privileges`: the default for containers that do not set it. */
  noNewPrivileges?: boolean;
  /** `--userns-remap`: the mapping each new container gets (unless `--userns=host`). */
  remap?: IdMap;
}

export class ContainerService {
  /** Every container by full ID. The members below that the service's own parts use (start.ts, monitor.ts, …) are theirs too. */
  readonly byId = new Map<string, Container>();
  readonly locks = new KeyedMutex();
  /** Each container's OCI runtime, by its ID. */
  readonly runc: ContainerRuntimes;
  /** What the host offers that dockerd's create defaults depend on (cgroup version, blkio weight). */
  readonly hostFacts = hostFacts();
  /** What the image service asks about containers' use of images and layers. */
  readonly imageUsage: ImageUsage;

  constructor(
    readonly images: ImageService,
    readonly snapshotter: Snapshotter,
    readonly events: EventBus,
    readonly opts: ContainerServiceOptions,
    /** Networks; without them every container gets loopback only. */
    readonly networking?: ContainerNetworking,
    /** Volumes and binds; without them a container may have none. */
    readonly volumes?: ContainerMounts,
  ) {
    this.runc = new ContainerRuntimes(opts.runtimes ?? new RuntimeTable({}, opts.execRoot), (id) => {
      const r = this.byId.get(id)?.rec.HostConfig.Runtime;
      return typeof r === 'string' ? r : undefined;
    });
    this.imageUsage = {
      usersOf: (imageId) => [...this.byId.values()].filter((c) => c.rec.Image === imageId).map((c) => ({ id: c.rec.Id, running: c.state.Running })),
      layerRoots: () => [...this.byId.values()].flatMap((c) => c.rec.RootfsChain ?? []),
      snapshotOwners: () => this.byId.keys(),
    };
  }

  dataDir(id: string): string {
    return join(this.opts.dataRoot, 'containers', id);
  }
  execDir(id: string): string {
    return join(this.opts.execRoot, 'containers', id);
  }
  shim(id: string): ShimPaths {
    return shimPaths(this.execDir(id));
  }
  logPath(c: Container): string {
    return join(this.dataDir(c.rec.Id), 'container.log');
  }

  // ---- lookup -------------------------------------------------------------

  list(): Container[] {
    return [...this.byId.values()];
  }

  /** By full ID, by name, or by unique ID prefix; Docker's 404 otherwise. */
  get(ref: string): Container {
    const c = this.tryGet(ref);
    if (!c) throw new NotFoundError(`No such container: ${ref}`);
    return c;
  }

  tryGet(ref: string): Container | undefined {
    if (!ref) return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    for (const c of this.byId.values()) if (c.rec.Name === name) return c;
    if (!/^[a-f0-9]+$/.test(ref)) return undefined;
    const hits = [...this.byId.values()].filter((c) => c.rec.Id.startsWith(ref));
    if (hits.length > 1) throw new BerthError(`multiple IDs found with provided prefix: ${ref}`, 400);
    return hits[0];
  }

  nameTaken(name: string): Container | undefined {
    for (const c of this.byId.values()) if (c.rec.Name === name) return c;
    return undefined;
  }

  /** A client attached to the container's streams (dockerd's "attach" event, also for `docker run` attaching). */
  attached(c: Container): void {
    this.events.publish('container', 'attach', c.rec.Id, this.attrs(c));
  }

  attrs(c: Container, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(c.rec.Config.Labels ?? {}), image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1), ...extra };
  }

  async save(c: Container): Promise<void> {
    await writeJsonAtomic(join(this.dataDir(c.rec.Id), 'config.json'), c.rec);
    await this.saveState(c);
  }

  /** A running container's /etc/hosts for the addresses it has now (network connect/disconnect). */
  async rewriteHosts(c: Container, addresses: string[]): Promise<void> {
    if (!c.state.Running) return;
    await rewriteOwnHosts(this.dataDir(c.rec.Id), c.rec.Config.Hostname ?? c.rec.Id.slice(0, 12), c.rec.Config.Domainname ?? '', addresses);
  }

  /** Write the record after another service changed it (network connect/disconnect). */
  async persist(c: Container): Promise<void> {
    await writeJsonAtomic(join(this.dataDir(c.rec.Id), 'config.json'), c.rec);
  }

  /**
   * The state is rewritten at every transition, and the shim is its truth
   * (init() reconciles with it): replaced atomically but not synced, which
   * took milliseconds off every start and exit. A file a power cut tore
   * loads as a created container.
   */
  async saveState(c: Container): Promise<void> {
    await replaceJson(join(this.dataDir(c.rec.Id), 'state.json'), c.state);
  }

  // ---- lifecycle (each in its own file) ----------------------------------

  create(nameIn: string | undefined, req: CreateRequest, opts: { buildStep?: boolean; platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    return createContainer(this, nameIn, req, opts);
  }

  /** Start; false when it was already running (the API's 304). */
  start(ref: string): Promise<boolean> {
    return startContainer(this, ref);
  }
  /** Start the process under the container's lock (the restart policy's start). */
  startProcess(c: Container): Promise<void> {
    return startProcess(this, c);
  }

  watchExit(c: Container): void {
    watchExit(this, c);
  }
  watchHealth(c: Container): void {
    watchHealth(this, c);
  }
  keepLogs(c: Container): void {
    keepLogs(this, c);
  }

  /**
   * Stop; false when it was not running (the API's 304). Answers once the
   * exit is recorded (onExit settles the state before it wakes the waiters).
   */
  stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<boolean> {
    return stopContainer(this, ref, opts);
  }
  /** Send a signal, as dockerd's kill (see stop.ts). */
  kill(ref: string, signal?: string): Promise<void> {
    return killContainer(this, ref, signal);
  }

  async restart(ref: string, timeout?: number, signal?: string): Promise<void> {
    await this.stop(ref, { timeout, signal });
    await this.start(ref);
    const c = this.get(ref);
    this.events.publish('container', 'restart', c.rec.Id, this.attrs(c));
  }

  /** Docker's wait conditions: not-running (default), next-exit, removed. */
  waitFor(ref: string, condition = 'not-running'): Promise<number> {
    return waitFor(this, ref, condition);
  }

  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return removeContainer(this, ref, opts);
  }
  /** `docker rm --link linker/alias`: the linker forgets a legacy link. */
  removeLink(ref: string): Promise<void> {
    return removeLink(this, ref);
  }
  prune(filters: Filters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    return pruneContainers(this, filters);
  }

  /** Change resources (and the restart policy) of a container, live when it runs. */
  update(ref: string, upd: HostConfig): Promise<string[]> {
    return updateContainer(this, ref, upd);
  }

  /** Load every container and reconcile it with its shim; then apply restart policies (recover.ts). */
  init(): Promise<void> {
    return recoverContainers(this);
  }

  /** Stop watching (daemon shutdown); containers keep running under their shims. */
  close(): void {
    for (const c of this.byId.values()) {
      unwatch(c);
      if (c.restartTimer) clearTimeout(c.restartTimer);
    }
  }

  // ---- pause / rename / top ----------------------------------------------

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    notRestarting(c);
    if (!c.state.Running) throw new ConflictError(`Container ${c.rec.Id} is not running`);
    if (c.state.Paused) throw new ConflictError(`Container ${c.rec.Id} is already paused`);
    await this.runc.pause(c.rec.Id);
    c.state = { ...c.state, Paused: true, Status: 'paused' };
    await this.saveState(c);
    this.events.publish('container', 'pause', c.rec.Id, this.attrs(c));
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.state.Paused) throw new ConflictError(`Container ${c.rec.Id} is not paused`);
    await this.runc.resume(c.rec.Id);
    await this.markUnpaused(c);
  }

  async markUnpaused(c: Container): Promise<void> {
    if (!c.state.Paused) return;
    c.state = { ...c.state, Paused: false, Status: 'running' };
    await this.saveState(c);
    this.events.publish('container', 'unpause', c.rec.Id, this.attrs(c));
  }

  async rename(ref: string, newName: string): Promise<void> {
    const c = this.get(ref);
    if (!newName) throw new InvalidArgumentError('Neither old nor new names may be empty');
    // dockerd names the new name with its slash, and says where it failed.
    const allocating = 'Error when allocating new name: ';
    const stored = `/${newName.replace(/^\//, '')}`;
    let name: string;
    try {
      name = validName(stored);
    } catch (e) {
      throw new InvalidArgumentError(allocating + messageOf(e));
    }
    await this.locks.run('names', async () => {
      const other = this.nameTaken(name);
      if (other && other !== c)
        throw new ConflictError(
          `${allocating}Conflict. The container name "${name}" is already in use by container "${other.rec.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
      if (other === c) throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
      const old = c.rec.Name;
      c.rec.Name = name;
      await this.save(c);
      // Links name their target and linker: they follow the rename, here and in every container linking to it.
      for (const o of this.byId.values()) {
        const links = renamedLinks(o, old, name);
        if (!links) continue;
        o.rec.HostConfig.Links = links.legacy;
        for (const [net, l] of Object.entries(links.networks)) o.rec.Networks![net]!.Links = l;
        await this.persist(o);
      }
      this.events.publish('container', 'rename', c.rec.Id, this.attrs(c, { oldName: old }));
    });
  }

  /** `docker top`: ps over the container's pids, Docker's {Titles, Processes}. */
  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const c = this.get(ref);
    notRestarting(c);
    if (!c.state.Running) throw new ConflictError(`Container ${c.rec.Id} is not running`);
    const pids = new Set((await this.runc.ps(c.rec.Id)).map(String));
    const r = await run('ps', psArgs.split(/\s+/).filter(Boolean));
    if (r.code !== 0) throw new BerthError(`Error running ps: ${r.stderr.trim()}`, 500);
    const lines = r.stdout.trimEnd().split('\n');
    const titles = lines[0]!.trim().split(/\s+/);
    const pidCol = titles.indexOf('PID');
    if (pidCol < 0) throw new BerthError("Couldn't find PID field in ps output", 500);
    const procs: string[][] = [];
    for (const line of lines.slice(1)) {
      const f = line.trim().split(/\s+/);
      if (!pids.has(f[pidCol]!)) continue;
      procs.push([...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')]);
    }
    return { Titles: titles, Processes: procs };
  }

  /**
   * Run `fn` with the container's rootfs mounted: a running container's as it
   * is, a stopped one's mounted for the call (under the container's lock, so
   * a start waits) and unmounted after.
   */
  async withRootfs<T>(c: Container, fn: (rootfs: string, running: boolean) => Promise<T>): Promise<T> {
    if (c.state.Running) return fn(await this.snapshotter.mount(c.rec.Id), true);
    return this.locks.run(c.rec.Id, async () => {
      if (c.state.Running) return fn(await this.snapshotter.mount(c.rec.Id), true);
      if (c.removing) throw new ConflictError(`container ${c.rec.Id} is being removed`);
      const rootfs = await this.snapshotter.mount(c.rec.Id);
      try {
        return await fn(rootfs, false);
      } finally {
        if (!c.state.Running) await this.snapshotter.unmount(c.rec.Id).catch(() => {});
      }
    });
  }

  /** A build step's container the build leaves for the user (Docker keeps a failed step's): no longer the build's own. */
  async keepBuildStep(id: string): Promise<void> {
    const c = this.get(id);
    if (!c.rec.BuildStep) return;
    delete c.rec.BuildStep;
    await this.save(c);
  }

  /** Bytes of file content in the container's writable layer (directories and repeated hard links not counted, as Docker does). */
  async sizeRw(c: Container): Promise<number> {
    return dirSize(this.snapshotter.upperPath(c.rec.Id));
  }
}

/** dockerd's 409 for what needs the process while a restart policy waits out its delay. */
function notRestarting(c: Container): void {
  if (c.state.Restarting) throw new ConflictError(`Container ${c.rec.Id} is restarting, wait until the container is running`);
}
