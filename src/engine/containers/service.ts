/**
 * The container service: every container's record and state, and the
 * lifecycle — create, start, stop, kill, wait, restart, remove — with
 * Docker's rules and messages.
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
import { dirSize } from '../../core/dir-size.js';
import { randomBytes } from 'node:crypto';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { discardDir, replaceJson, writeJsonAtomic } from '../../core/atomic.js';
import { chainIds, type Digest } from '../../core/digest.js';
import { humanDuration } from '../../core/duration.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError, messageOf, SystemError } from '../../core/errors.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { KeyedMutex } from '../../core/mutex.js';
import { log } from '../../core/log.js';
import { run, which } from '../../core/proc.js';
import { Runc } from '../../runtime/runc.js';
import { alive, readExitCode, shimPaths, shimPid, shimReport, startShim, wasOomKilled, type ShimPaths } from '../../runtime/shim.js';
import { buildSpec, specToJson } from '../../runtime/spec.js';
import { resolveUser } from '../../runtime/user.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import { snapshotLease, type ImageService, type ImageUsage } from '../images/service.js';
import type { ContainerConfig } from '../images/types.js';
import { DEFAULT_PATH, checkImagePlatform, commandOf, createPlatform, mergeConfig, processEnv, validateHostConfig } from './config.js';
import { hostFacts, runtimeOf, settleHostConfig } from './hostconfig.js';
import { etcMountsOf, resolveHostGateway, rewriteOwnHosts, writeEtcFiles } from './etc.js';
import { addInitFiles } from './initlayer.js';
import { logDriverRefusal } from './logdrivers.js';
import { linkEffects, linksOf, parseLinks, renamedLinks, storedLinks } from './links.js';
import { LogKeeper, logRotation, settleLogConfig } from './logfiles.js';
import { startHealthChecks } from './health.js';
import { restartDelay } from './restart-policy.js';
import { randomName, validName } from './names.js';
import type { ContainerRecord, ContainerState, HostConfig } from './types.js';
import type { ContainerNetworking, NetAttachment, PendingAttachment } from './networking.js';
import type { ContainerMounts } from './mounts.js';
import { ZERO_TIME } from '../../core/go-values.js';

/** What conmon keeps of a `--log-driver none` container's output while it runs (for attach only). */
const NONE_LOG_CAP = 1024 * 1024;

export interface Container {
  rec: ContainerRecord;
  state: ContainerState;
  /** Resolved on the next exit (wait next-exit / not-running). */
  exitWaiters: Array<(code: number) => void>;
  removeWaiters: Array<(code: number) => void>;
  watcher?: FSWatcher;
  poll?: NodeJS.Timeout;
  restartTimer?: NodeJS.Timeout;
  /** The restart policy's current delay (dockerd's restart manager): 100 ms, doubled at each restart, reset after a 10 s run. */
  restartDelayMs?: number;
  /** A kill or stop asked for this exit: the restart policy does not apply to it (dockerd's ExitOnNext). */
  exitOnNext?: boolean;
  removing?: boolean;
  stopHealth?: () => void;
  /** Keeps the chain of rotated log files while the container runs (max-size with max-file > 1). */
  logKeeper?: LogKeeper;
}

export interface CreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: unknown;
  StopTimeout?: number;
}

export interface ContainerServiceOptions {
  dataRoot: string;
  execRoot: string;
  runtime?: string;
  initPath?: string;
  /** daemon.json `log-opts`: defaults for containers that use the default (json-file) log driver. */
  logOpts?: Record<string, string>;
}

function emptyState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
    Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

/** A signal name or number as the runtime takes it; Docker's error otherwise. */
export function parseSignal(s: string | undefined, def = 'SIGKILL'): string {
  const v = (s || def).toUpperCase();
  if (/^\d+$/.test(v)) {
    if (Number(v) < 1 || Number(v) > 64) throw new InvalidArgumentError(`Invalid signal: ${s}`);
    return v;
  }
  const name = v.startsWith('SIG') ? v : `SIG${v}`;
  if (!(name in osConstants.signals) && !/^SIGRTM(IN|AX)([+-]\d+)?$/.test(name)) throw new InvalidArgumentError(`Invalid signal: ${s}`);
  return name;
}

/** A removed container's record dir, renamed so and deleted after `rm` has returned. */
const REMOVED_PREFIX = '.removed-';

export class ContainerService {
  private byId = new Map<string, Container>();
  private locks = new KeyedMutex();
  readonly runc: Runc;
  private readonly runtime: string;
  /** What the host offers that dockerd's create defaults depend on (cgroup version, blkio weight). */
  private readonly hostFacts = hostFacts();
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
    this.runtime = which(opts.runtime ?? 'runc') ?? opts.runtime ?? 'runc';
    this.runc = new Runc(this.runtime, join(opts.execRoot, 'runc'));
    this.imageUsage = {
      usersOf: (imageId) => [...this.byId.values()].filter((c) => c.rec.Image === imageId).map((c) => ({ id: c.rec.Id, running: c.state.Running })),
      layerRoots: () => [...this.byId.values()].flatMap((c) => c.rec.RootfsChain ?? []),
      snapshotOwners: () => this.byId.keys(),
    };
  }

  private dataDir(id: string): string { return join(this.opts.dataRoot, 'containers', id); }
  private execDir(id: string): string { return join(this.opts.execRoot, 'containers', id); }
  private shim(id: string): ShimPaths { return shimPaths(this.execDir(id)); }
  logPath(c: Container): string { return join(this.dataDir(c.rec.Id), 'container.log'); }

  // ---- lookup -------------------------------------------------------------

  list(): Container[] { return [...this.byId.values()]; }

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

  private nameTaken(name: string): Container | undefined {
    for (const c of this.byId.values()) if (c.rec.Name === name) return c;
    return undefined;
  }

  /** A client attached to the container's streams (dockerd's "attach" event, also for `docker run` attaching). */
  attached(c: Container): void {
    this.events.publish('container', 'attach', c.rec.Id, this.attrs(c));
  }

  private attrs(c: Container, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(c.rec.Config.Labels ?? {}), image: c.rec.Config.Image ?? '', name: c.rec.Name.slice(1), ...extra };
  }

  private async save(c: Container): Promise<void> {
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
  private async saveState(c: Container): Promise<void> {
    await replaceJson(join(this.dataDir(c.rec.Id), 'state.json'), c.state);
  }

  // ---- create -------------------------------------------------------------

  async create(nameIn: string | undefined, req: CreateRequest, opts: { buildStep?: boolean; platform?: string } = {}): Promise<{ Id: string; Warnings: string[] }> {
    if (!req.Image) throw new InvalidArgumentError('no image specified');
    const wanted = opts.platform ? createPlatform(opts.platform) : undefined;
    const image = this.images.tryResolve(req.Image);
    if (!image) throw new NotFoundError(`No such image: ${req.Image}`);
    const imgCfg = await this.images.config(image.id);
    if (wanted) checkImagePlatform(req.Image, wanted, imgCfg);
    const { hostConfig, warnings } = settleHostConfig(req.HostConfig, this.hostFacts);
    const { HostConfig: _h, NetworkingConfig: _n, ...cfgReq } = req;
    const config = mergeConfig(cfgReq, imgCfg.config);
    validateHostConfig(hostConfig, config);
    hostConfig.LogConfig = settleLogConfig(hostConfig.LogConfig, this.opts.logOpts);
    const { path, args } = commandOf(config);
    const networks = this.networking?.planCreate(hostConfig, req.NetworkingConfig ?? null, typeof req.MacAddress === 'string' ? req.MacAddress : undefined);
    const nm = hostConfig.NetworkMode ?? '';
    const links = parseLinks(hostConfig.Links, (r) => this.get(r));
    if (links.length && nm === 'host') throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    if (links.length && nm.startsWith('container:')) throw new InvalidArgumentError("conflicting options: container type network can't be used with links. This would result in undefined behavior");
    // Legacy links belong to the default bridge; on a user-defined network planCreate made them DNS aliases.
    const legacyLinks = this.networking && (nm === 'default' || nm === 'bridge') ? links : [];
    if (!this.networking && nm && !['default', 'bridge', 'none', 'host'].includes(nm) && !nm.startsWith('container:')) {
      throw new NotFoundError(`network ${nm} not found`);
    }

    const id = randomBytes(32).toString('hex');
    config.Hostname = config.Hostname || id.slice(0, 12);
    if (!this.volumes && (hostConfig.Binds?.length || (hostConfig.Mounts as unknown[] | undefined)?.length || (hostConfig.VolumesFrom as unknown[] | undefined)?.length)) {
      throw new InvalidArgumentError('volumes are not supported by this daemon');
    }
    return this.locks.run('names', async () => {
      let name: string;
      if (nameIn) {
        name = validName(nameIn);
        const other = this.nameTaken(name);
        if (other) throw new ConflictError(`Conflict. The container name "${name}" is already in use by container "${other.rec.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
      } else {
        name = randomName((n) => !!this.nameTaken(n));
      }
      hostConfig.Links = legacyLinks.length ? storedLinks(legacyLinks, name) : null;
      const mountPoints = this.volumes ? await this.volumes.planCreate(config, hostConfig, (r) => this.get(r)) : undefined;
      const chain = chainIds(image.layers.map((l) => l.diffId));
      const rec: ContainerRecord = {
        Id: id, Created: new Date().toISOString(), Name: name, Path: path, Args: args,
        Config: config, HostConfig: hostConfig, Image: image.id, RootfsParent: chain[chain.length - 1],
        RootfsChain: chain, RestartCount: 0, ...(networks ? { Networks: networks } : {}),
        ...(mountPoints ? { MountPoints: mountPoints } : {}), ...(opts.buildStep ? { BuildStep: true } : {}),
      };
      const c: Container = { rec, state: emptyState(), exitWaiters: [], removeWaiters: [] };
      await mkdir(this.dataDir(id), { recursive: true, mode: 0o700 });
      // Until the container is listed, its snapshot is ours only by this lease (system check would take it).
      const release = this.images.leases.hold([snapshotLease(id)]);
      try {
        await this.snapshotter.prepare(id, rec.RootfsParent as Digest | undefined);
        await this.save(c);
      } catch (err) {
        await this.snapshotter.remove(id).catch(() => {});
        await rm(this.dataDir(id), { recursive: true, force: true });
        await this.volumes?.removeContainer(c, true).catch(() => {});
        release();
        throw err;
      }
      this.byId.set(id, c);
      release();
      this.events.publish('container', 'create', id, this.attrs(c));
      return { Id: id, Warnings: warnings };
    });
  }

  // ---- start --------------------------------------------------------------

  /** Start; false when it was already running (the API's 304). */
  async start(ref: string): Promise<boolean> {
    const c = this.get(ref);
    return this.locks.run(c.rec.Id, async () => {
      if (c.removing) throw new ConflictError(`container is marked for removal and cannot be started`);
      if (c.state.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
      // dockerd counts a restarting container as running: its start is a no-op.
      if (c.state.Running || c.state.Restarting) return false;
      // A start by the user begins the restart policy afresh, as dockerd's does.
      c.rec.ManuallyStopped = false;
      c.rec.RestartCount = 0;
      c.restartDelayMs = undefined;
      try {
        await this.startLocked(c);
      } catch (e) {
        // As dockerd: a --rm container that fails to start is removed (the docker CLI waits for that).
        if (c.rec.HostConfig.AutoRemove) setImmediate(() => void this.remove(c.rec.Id, { force: true, volumes: true }).catch(() => {}));
        throw e;
      }
      return true;
    });
  }

  private async startLocked(c: Container): Promise<void> {
    const id = c.rec.Id;
    const sp = this.shim(id);
    try {
      const h = c.rec.HostConfig;
      const cfg = c.rec.Config;
      const refusal = await logDriverRefusal(h.LogConfig?.Type, h.LogConfig?.Config);
      if (refusal) throw refusal;
      // dockerd settles the runtime at the first start of a container created without a HostConfig.
      if (!h.Runtime) { h.Runtime = runtimeOf(h); await this.persist(c); }
      const rotation = logRotation(h.LogConfig);
      const netMode = h.NetworkMode ?? 'default';
      // Legacy links first: a stopped target fails the start before anything is set up.
      const links = h.Links?.length && this.networking ? linkEffects(c, linksOf(c, (r) => this.get(r)), (t) => this.networking!.bridgeAddress(t)) : { hosts: [], env: [] };
      // The bundle dir, the rootfs and the network namespace side by side; all settle before
      // a failure is thrown, so the clean-up below never races one still being made.
      // The namespace exists once attach returns; its endpoints come up while the runtime creates the container.
      const settled = await Promise.allSettled([
        rm(sp.dir, { recursive: true, force: true }).then(() => mkdir(sp.bundle, { recursive: true, mode: 0o700 })),
        this.snapshotter.mount(id),
        this.networking
          ? this.networking.attach(c)
          : (async (): Promise<PendingAttachment> => {
            const net: NetAttachment = { namespace: netMode === 'host' ? 'host' : netMode.startsWith('container:') ? await this.nsOf(netMode.slice(10), 'net') : 'private', addresses: [] };
            return { namespace: net.namespace, done: Promise.resolve(net) };
          })(),
        // `--log-driver none` keeps no output from an earlier run.
        h.LogConfig?.Type === 'none' ? rm(this.logPath(c), { force: true }) : Promise.resolve(),
      ]);
      for (const r of settled) if (r.status === 'rejected') throw r.reason;
      const rootfs = (settled[1] as PromiseFulfilledResult<string>).value;
      const pending = (settled[2] as PromiseFulfilledResult<PendingAttachment>).value;
      const network = pending.namespace;
      // Joining another container's network is taking its name and its /etc files too, as dockerd does.
      const netOwner = netMode.startsWith('container:') ? this.get(netMode.slice(10)) : undefined;
      if (netOwner && (cfg.Hostname !== netOwner.rec.Config.Hostname || cfg.Domainname !== netOwner.rec.Config.Domainname)) {
        cfg.Hostname = netOwner.rec.Config.Hostname;
        cfg.Domainname = netOwner.rec.Config.Domainname ?? '';
        await this.persist(c);
      }
      const hostname = netMode === 'host' ? (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim() : cfg.Hostname ?? id.slice(0, 12);
      const extraHosts = resolveHostGateway(h.ExtraHosts, () => this.networking?.hostGateway());
      const etc = (net: NetAttachment, inPlace: boolean) => netOwner
        ? Promise.resolve(etcMountsOf(this.dataDir(netOwner.rec.Id)))
        : writeEtcFiles(this.dataDir(id), hostname, cfg.Domainname ?? '', { ...h, ExtraHosts: extraHosts }, network === 'host', net, inPlace, links.hosts);
      const [mounts] = await Promise.all([etc({ namespace: network, addresses: [] }, false), addInitFiles(rootfs)]);
      if (this.volumes) mounts.push(...await this.volumes.attach(c, rootfs));
      const user = await resolveUser(rootfs, cfg.User, h.GroupAdd);
      const env = processEnv([DEFAULT_PATH, `HOSTNAME=${hostname}`, ...(cfg.Tty ? ['TERM=xterm'] : []), ...links.env], cfg.Env);
      if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
      const ns = (mode: string | undefined, kind: string) =>
        mode === 'host' ? 'host' : mode?.startsWith('container:') ? this.nsOf(mode.slice(10), kind) : Promise.resolve('private');
      const spec = buildSpec({
        id, rootfs, args: [c.rec.Path, ...c.rec.Args], env, cwd: cfg.WorkingDir || '/', user, hostname,
        tty: !!cfg.Tty, hostConfig: h, cgroupsPath: `/berth/${id}`, extraMounts: mounts,
        namespaces: { network, pid: await ns(h.PidMode, 'pid'), ipc: await ns(h.IpcMode, 'ipc'), uts: h.UTSMode === 'host' ? 'host' : 'private' },
        // A static init: it runs in any image, libc or not.
        ...(h.Init ? { initPath: this.opts.initPath ?? which('tini-static') ?? which('docker-init') ?? '/usr/bin/tini-static' } : {}),
      });
      await writeFile(join(sp.bundle, 'config.json'), specToJson(spec));
      const pid = await startShim({
        id, name: c.rec.Name, paths: sp, runtime: this.runtime, runtimeRoot: this.runc.root, logPath: this.logPath(c),
        // With `none` the file only feeds attach: conmon starts it over past a small cap.
        logSizeMax: rotation?.maxSize ?? (h.LogConfig?.Type === 'none' ? NONE_LOG_CAP : undefined),
        tty: !!cfg.Tty, stdin: !!cfg.OpenStdin,
        // With a TTY, stdin stays open when the attached client leaves (detach), as in docker.
        leaveStdinOpen: !cfg.StdinOnce || !!cfg.Tty,
      });
      // /etc/hosts and resolv.conf get the addresses and DNS now, into the files the container has mounted.
      if (!netOwner) await etc(await pending.done, true);
      await this.runc.start(id, pid).catch(async (e: unknown) => {
        // The process died before its start: say what the shim saw, so the cause can be found.
        if (e instanceof SystemError && !alive(pid)) throw new SystemError(`${e.message} (${await shimReport(sp, id)})`);
        throw e;
      });
      c.state = { ...c.state, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString(), FinishedAt: c.state.FinishedAt };
      await this.saveState(c);
      this.watchExit(c);
      this.watchHealth(c);
      this.keepLogs(c);
      this.events.publish('container', 'start', id, this.attrs(c));
    } catch (err) {
      await this.runc.delete(id, true).catch(() => {});
      await this.networking?.detach(c).catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) }));
      await this.volumes?.detach(c).catch(() => {});
      await this.snapshotter.unmount(id).catch(() => {});
      const failed = startFailure(c.rec.Path, err);
      c.state = { ...c.state, Status: c.state.StartedAt === ZERO_TIME ? 'created' : 'exited', Running: false, Restarting: false, Pid: 0, ExitCode: failed.code, Error: messageOf(err) };
      await this.saveState(c).catch(() => {});
      throw failed.error;
    }
  }

  /** Follow conmon's log rotations while the container runs (see logfiles.ts). */
  private keepLogs(c: Container): void {
    c.logKeeper?.stop();
    c.logKeeper = undefined;
    let rotation;
    try { rotation = logRotation(c.rec.HostConfig.LogConfig); } catch { return; }
    if (!rotation || rotation.maxFile <= 1) return;
    c.logKeeper = new LogKeeper(this.logPath(c), rotation);
    c.logKeeper.start();
  }

  private watchHealth(c: Container): void {
    c.stopHealth?.();
    c.stopHealth = startHealthChecks(this, c, (status) => {
      void this.saveState(c).catch(() => {});
      this.events.publish('container', `health_status: ${status}`, c.rec.Id, this.attrs(c));
    });
  }

  /**
   * SIGKILL to every process of the container. In its own PID namespace they
   * all end with its init, so that is signalled straight away (no runtime
   * exec: `rm -f` of many containers is mostly exec time); sharing one, the
   * runtime signals the whole cgroup.
   */
  private async killAll(c: Container): Promise<void> {
    if (!c.rec.HostConfig.PidMode && c.state.Pid > 0) {
      try { process.kill(c.state.Pid, 'SIGKILL'); return; } catch { /* already gone: let the runtime see */ }
    }
    await this.runc.kill(c.rec.Id, 'SIGKILL', true).catch(() => {});
  }

  /** A namespace path of another running container, for --network/--pid/--ipc container:NAME. */
  private async nsOf(ref: string, kind: string): Promise<string> {
    const other = this.get(ref);
    if (!other.state.Running) throw new ConflictError(`cannot join namespace of a non running container: ${ref}`);
    return `/proc/${other.state.Pid}/ns/${kind}`;
  }

  // ---- exit ---------------------------------------------------------------

  /** Notice the shim's exit file: inotify on the exit dir, and a slow poll in case a change is missed. */
  private watchExit(c: Container): void {
    this.unwatch(c);
    const sp = this.shim(c.rec.Id);
    const check = () => { void this.checkExit(c); };
    try {
      c.watcher = watch(sp.exitDir, check);
      c.watcher.on('error', () => {});
    } catch { /* the poll still covers it */ }
    c.poll = setInterval(check, 2000);
    c.poll.unref();
    check();
  }

  private unwatch(c: Container): void {
    c.stopHealth?.();
    c.stopHealth = undefined;
    c.watcher?.close();
    c.logKeeper?.stop();
    if (c.poll) clearInterval(c.poll);
    c.watcher = undefined;
    c.poll = undefined;
  }

  private async checkExit(c: Container): Promise<void> {
    if (!c.state.Running) return;
    const sp = this.shim(c.rec.Id);
    let code = await readExitCode(sp, c.rec.Id);
    if (code === null) {
      // A shim that vanished without writing an exit code (killed, host trouble): the container is gone too.
      const spid = await shimPid(sp);
      if (spid && alive(spid)) return;
      if (c.state.Pid && alive(c.state.Pid)) return;
      code = await readExitCode(sp, c.rec.Id);
      if (code === null) code = 255;
    }
    await this.locks.run(c.rec.Id, () => this.onExit(c, code!));
  }

  private async onExit(c: Container, code: number): Promise<void> {
    if (!c.state.Running) return;
    this.unwatch(c);
    // A rotation just before the exit still gets its file moved along.
    await c.logKeeper?.kick();
    c.logKeeper = undefined;
    const id = c.rec.Id;
    const oom = await wasOomKilled(this.shim(id));
    const ranMs = Date.now() - Date.parse(c.state.StartedAt);
    // Independent clean-ups side by side (they are most of the time between an exit and `wait` returning):
    // the rootfs first (its exec is the longest wait), the runtime's state, and the network (which may
    // finish on its own: see release); volumes last.
    await Promise.all([
      this.snapshotter.unmount(id).catch((e) => log.warn('unmount failed', { id, error: messageOf(e) })),
      this.runc.deleteExited(id).catch((e) => log.warn('runtime delete failed', { id, error: messageOf(e) })),
      this.networking?.release(c).catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) })),
    ]);
    await this.volumes?.detach(c).catch((e) => log.warn('volume release failed', { id, error: messageOf(e) }));
    c.state = { ...c.state, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, ExitCode: code, OOMKilled: oom, FinishedAt: new Date().toISOString() };
    if (oom) this.events.publish('container', 'oom', id, this.attrs(c));
    const delay = restartDelay(c.rec.HostConfig.RestartPolicy, {
      code, ranMs, exitOnNext: !!c.exitOnNext || !!c.removing, manuallyStopped: !!c.rec.ManuallyStopped,
      restartCount: c.rec.RestartCount, previousDelayMs: c.restartDelayMs,
    });
    const restart = delay !== null;
    c.exitOnNext = false;
    if (restart) {
      c.restartDelayMs = delay;
      c.rec.RestartCount++;
      c.state.Status = 'restarting';
      c.state.Restarting = true;
      await this.persist(c);
    }
    await this.saveState(c);
    this.events.publish('container', 'die', id, this.attrs(c, { exitCode: String(code), execDuration: String(Math.round(ranMs / 1000)) }));
    for (const w of c.exitWaiters.splice(0)) w(code);
    if (restart) {
      c.restartTimer = setTimeout(() => {
        c.restartTimer = undefined;
        void this.locks.run(id, async () => {
          if (!this.byId.has(id) || c.state.Running || !c.state.Restarting || c.removing) return;
          try { await this.startLocked(c); } catch (e) {
            log.warn('restart failed', { id, error: messageOf(e) });
            if (c.rec.HostConfig.AutoRemove) void this.remove(id, { force: true, volumes: true }).catch(() => {});
          }
        });
      }, delay!);
    } else if (c.rec.HostConfig.AutoRemove) {
      void this.remove(id, { force: true, volumes: true }).catch((e) => log.warn('auto-remove failed', { id, error: messageOf(e) }));
    }
  }

  // ---- stop / kill / wait -------------------------------------------------

  /**
   * A restarting container (waiting out its policy's delay) that is stopped,
   * killed or removed: it stays exited, and whoever waits for that is told.
   */
  private async cancelRestart(c: Container): Promise<void> {
    if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
    if (!c.state.Restarting) return;
    c.state = { ...c.state, Status: 'exited', Restarting: false };
    await this.save(c);
    for (const w of c.exitWaiters.splice(0)) w(c.state.ExitCode);
  }

  /**
   * Stop; false when it was not running (the API's 304). Answers once the
   * exit is recorded (onExit settles the state before it wakes the waiters).
   */
  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<boolean> {
    const c = this.get(ref);
    if (c.state.Restarting) {
      c.rec.ManuallyStopped = true;
      await this.cancelRestart(c);
      return true;
    }
    if (!c.state.Running) return false;
    const signal = parseSignal(opts.signal ?? c.rec.Config.StopSignal, 'SIGTERM');
    const timeout = opts.timeout ?? (c.rec.Config.StopTimeout as number | undefined) ?? 10;
    // Waiting from before the first await: an exit meanwhile is not missed.
    const exited = this.nextExit(c);
    c.rec.ManuallyStopped = true;
    c.exitOnNext = true;
    await this.save(c);
    if (!c.state.Running) return true;
    await this.runc.kill(c.rec.Id, signal).catch(() => {});
    if (c.state.Paused) await this.runc.resume(c.rec.Id).catch(() => {});
    if (timeout < 0) { await exited; return true; }
    if (await withTimeout(exited, timeout * 1000)) return true;
    await this.killAll(c);
    if (!(await withTimeout(exited, 30_000))) throw new BerthError(`container ${c.rec.Id} did not exit after SIGKILL`, 500);
    return true;
  }

  /**
   * Send a signal, as dockerd's kill: any signal marks the container as
   * stopped by hand (unless-stopped keeps it down); SIGKILL, or the stop
   * signal, also ends its restart policy for this exit and unpauses it.
   * SIGKILL answers only once the exit is recorded, so whatever the client
   * does next (inspect, rm, commit) sees an exited container.
   */
  async kill(ref: string, signal?: string): Promise<void> {
    const sig = parseSignal(signal);
    const c = this.tryGetOr404(ref, `Cannot kill container: ${ref}: `);
    if (!c.state.Running && !c.state.Restarting) throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.rec.Id} is not running`);
    const stopSignal = c.rec.Config.StopSignal ? parseSignal(c.rec.Config.StopSignal) : undefined;
    const sigkill = sig === 'SIGKILL' || sig === '9';
    const ends = sigkill || stopSignal === undefined || stopSignal === sig;
    if (ends) c.exitOnNext = true;
    c.rec.ManuallyStopped = true;
    // Waiting from before the first await: an exit meanwhile is not missed.
    const exited = sigkill && c.state.Running ? this.nextExit(c) : Promise.resolve(c.state.ExitCode);
    await this.persist(c);
    if (c.state.Restarting) {
      if (ends) await this.cancelRestart(c);
      return;
    }
    if (sigkill) {
      if (!c.state.Running) return void (await exited);
      await this.killAll(c);
      if (c.state.Paused) await this.runc.resume(c.rec.Id).catch(() => {});
      this.publishKill(c, sig);
      if (!(await withTimeout(exited, 30_000))) throw new BerthError(`Cannot kill container: ${ref}: container ${c.rec.Id} did not exit after SIGKILL`, 500);
      return;
    }
    if (!c.state.Running) throw new ConflictError(`Cannot kill container: ${ref}: Container ${c.rec.Id} is not running`);
    try { await this.runc.kill(c.rec.Id, sig); } catch (e) {
      throw new BerthError(`Cannot kill container: ${ref}: ${messageOf(e)}`, 500);
    }
    if (ends && c.state.Paused) await this.runc.resume(c.rec.Id).then(() => this.markUnpaused(c), () => {});
    this.publishKill(c, sig);
  }

  private publishKill(c: Container, sig: string): void {
    this.events.publish('container', 'kill', c.rec.Id, this.attrs(c, { signal: sig.replace(/^SIG/, '') === sig ? sig : String(osConstants.signals[sig as keyof typeof osConstants.signals] ?? sig) }));
  }

  /** A container found by reference, or a 404 whose message starts with `prefix` (dockerd wraps lookups so). */
  private tryGetOr404(ref: string, prefix: string): Container {
    const c = this.tryGet(ref);
    if (!c) throw new NotFoundError(`${prefix}No such container: ${ref}`);
    return c;
  }

  async restart(ref: string, timeout?: number, signal?: string): Promise<void> {
    await this.stop(ref, { timeout, signal });
    await this.start(ref);
    const c = this.get(ref);
    this.events.publish('container', 'restart', c.rec.Id, this.attrs(c));
  }

  private nextExit(c: Container): Promise<number> {
    return new Promise((resolve) => c.exitWaiters.push(resolve));
  }

  /** Docker's wait conditions: not-running (default), next-exit, removed. */
  waitFor(ref: string, condition = 'not-running'): Promise<number> {
    const c = this.get(ref);
    if (!['not-running', 'next-exit', 'removed', ''].includes(condition)) throw new InvalidArgumentError(`invalid condition: "${condition}"`);
    if (condition === 'removed') return new Promise((resolve) => c.removeWaiters.push(resolve));
    if ((condition === 'not-running' || condition === '') && !c.state.Running && !c.state.Restarting) return Promise.resolve(c.state.ExitCode);
    return this.nextExit(c);
  }

  // ---- pause / rename / update / top --------------------------------------

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

  private async markUnpaused(c: Container): Promise<void> {
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
    try { name = validName(stored); } catch (e) { throw new InvalidArgumentError(allocating + messageOf(e)); }
    await this.locks.run('names', async () => {
      const other = this.nameTaken(name);
      if (other && other !== c) throw new ConflictError(`${allocating}Conflict. The container name "${name}" is already in use by container "${other.rec.Id}". You have to remove (or rename) that container to be able to reuse that name.`);
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

  /** Change resources (and the restart policy) of a container, live when it runs. */
  async update(ref: string, upd: HostConfig): Promise<string[]> {
    const c = this.get(ref);
    const keys = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'] as const;
    const next: HostConfig = { ...c.rec.HostConfig };
    for (const k of keys) if (upd[k] !== undefined && upd[k] !== null && upd[k] !== 0 && upd[k] !== '') (next as Record<string, unknown>)[k] = upd[k];
    if (upd.RestartPolicy?.Name) next.RestartPolicy = upd.RestartPolicy;
    validateHostConfig(next, c.rec.Config);
    if (c.state.Running) {
      const r: Record<string, Record<string, unknown>> = { memory: {}, cpu: {}, blockIO: {}, pids: {} };
      if (next.Memory) r.memory!.limit = next.Memory;
      if (next.MemorySwap) r.memory!.swap = next.MemorySwap;
      else if (upd.Memory && next.MemorySwap === undefined) r.memory!.swap = -1;
      if (next.MemoryReservation) r.memory!.reservation = next.MemoryReservation;
      if (upd.NanoCpus) { r.cpu!.period = 100000; r.cpu!.quota = Math.round(next.NanoCpus! * 100000 / 1e9); }
      if (upd.CpuQuota) r.cpu!.quota = next.CpuQuota;
      if (upd.CpuPeriod) r.cpu!.period = next.CpuPeriod;
      if (upd.CpuShares) r.cpu!.shares = next.CpuShares;
      if (upd.CpusetCpus) r.cpu!.cpus = next.CpusetCpus;
      if (upd.CpusetMems) r.cpu!.mems = next.CpusetMems;
      if (upd.BlkioWeight) r.blockIO!.weight = next.BlkioWeight;
      if (upd.PidsLimit) r.pids!.limit = next.PidsLimit;
      try { await this.runc.update(c.rec.Id, r); } catch (e) {
        throw new BerthError(`Cannot update container ${c.rec.Id}: ${messageOf(e)}`, 500);
      }
    }
    c.rec.HostConfig = next;
    await this.save(c);
    this.events.publish('container', 'update', c.rec.Id, this.attrs(c));
    return [];
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
    if (pidCol < 0) throw new BerthError('Couldn\'t find PID field in ps output', 500);
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

  // ---- remove -------------------------------------------------------------

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.get(ref);
    if (c.removing) throw new ConflictError(`removal of container ${c.rec.Id} is already in progress`);
    if ((c.state.Running || c.state.Paused || c.state.Restarting) && !opts.force) {
      const what = c.state.Paused ? 'paused' : c.state.Restarting ? 'restarting' : 'running';
      throw new ConflictError(`You cannot remove a ${what} container ${c.rec.Id}. ${c.state.Paused ? 'Unpause and then stop' : 'Stop'} the container before attempting removal or force remove`);
    }
    c.removing = true;
    try {
      if (c.restartTimer) { clearTimeout(c.restartTimer); c.restartTimer = undefined; }
      if (c.state.Running) {
        const exited = this.nextExit(c);
        await this.killAll(c);
        if (c.state.Paused) await this.runc.resume(c.rec.Id).catch(() => {});
        if (!(await withTimeout(exited, 30_000))) throw new BerthError(`could not kill running container ${c.rec.Id}, cannot remove`, 500);
      }
      await this.locks.run(c.rec.Id, async () => {
        this.unwatch(c);
        // The exit path has normally deleted the runtime's state already: spawn the runtime only for leftovers.
        if (existsSync(join(this.runc.root, c.rec.Id))) await this.runc.delete(c.rec.Id, true).catch(() => {});
        await this.networking?.detach(c).catch((e) => log.warn('network teardown failed', { id: c.rec.Id, error: messageOf(e) }));
        await this.snapshotter.remove(c.rec.Id);
        // The shim's files go after: a dir left by a crash is swept at init.
        void rm(this.execDir(c.rec.Id), { recursive: true, force: true }).catch(() => {});
        // The record goes last, and at once (a rename): init skips and sweeps the renamed dir.
        await discardDir(this.dataDir(c.rec.Id), join(this.opts.dataRoot, 'containers', `${REMOVED_PREFIX}${c.rec.Id}`));
        this.byId.delete(c.rec.Id);
        await this.volumes?.removeContainer(c, !!opts.volumes);
      });
    } catch (err) {
      c.removing = false;
      throw err;
    }
    this.events.publish('container', 'destroy', c.rec.Id, this.attrs(c));
    for (const w of c.removeWaiters.splice(0)) w(c.state.ExitCode);
    for (const w of c.exitWaiters.splice(0)) w(c.state.ExitCode);
  }

  /**
   * `docker rm --link linker/alias`: the linker forgets a legacy link (its
   * running processes keep the /etc/hosts line they have, as with dockerd).
   */
  async removeLink(ref: string): Promise<void> {
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const cut = name.lastIndexOf('/');
    if (cut === 0) {
      this.get(ref);
      throw new BerthError('Conflict, cannot remove the default link name of the container', 500);
    }
    const linker = this.tryGet(name.slice(1, cut));
    const links = linker?.rec.HostConfig.Links ?? [];
    const kept = links.filter((l) => l.slice(l.indexOf(':') + 1) !== `${linker?.rec.Name}/${name.slice(cut + 1)}`);
    if (!linker || kept.length === links.length) throw new NotFoundError(`No such container: ${ref}`);
    await this.locks.run(linker.rec.Id, async () => {
      linker.rec.HostConfig.Links = kept.length ? kept : null;
      await this.persist(linker);
    });
  }

  async prune(filters: Filters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    checkFilterKeys(filters, ['until', 'label', 'label!']);
    const until = filters.until?.[0] ? parseUntil(filters.until[0]) : undefined;
    const deleted: string[] = [];
    let space = 0;
    for (const c of this.list()) {
      if (c.state.Running || c.state.Paused || c.state.Restarting) continue;
      if (until !== undefined && Date.parse(c.rec.Created) / 1000 >= until) continue;
      if (!matchLabels(c.rec.Config.Labels, filters.label)) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(c.rec.Config.Labels, [l]))) continue;
      space += await this.sizeRw(c).catch(() => 0);
      await this.remove(c.rec.Id, { force: false }).then(() => deleted.push(c.rec.Id), () => {});
    }
    this.events.publish('container', 'prune', '', { reclaimed: String(space) });
    return { ContainersDeleted: deleted, SpaceReclaimed: space };
  }

  /** Bytes of file content in the container's writable layer (directories and repeated hard links not counted, as Docker does). */
  async sizeRw(c: Container): Promise<number> {
    return dirSize(this.snapshotter.upperPath(c.rec.Id));
  }

  // ---- startup ------------------------------------------------------------

  /** Load every container and reconcile it with its shim; then apply restart policies. */
  async init(): Promise<void> {
    const root = join(this.opts.dataRoot, 'containers');
    await mkdir(root, { recursive: true, mode: 0o700 });
    await mkdir(join(this.opts.execRoot, 'containers'), { recursive: true, mode: 0o700 });
    for (const id of await readdir(root)) {
      if (id.startsWith(REMOVED_PREFIX)) {
        await rm(join(root, id), { recursive: true, force: true });
        continue;
      }
      try {
        const rec = JSON.parse(await readFile(join(root, id, 'config.json'), 'utf8')) as ContainerRecord;
        let state: ContainerState;
        try { state = JSON.parse(await readFile(join(root, id, 'state.json'), 'utf8')) as ContainerState; } catch { state = emptyState(); }
        this.byId.set(id, { rec, state, exitWaiters: [], removeWaiters: [] });
      } catch (e) {
        // Created but never recorded (a crash inside create): nothing refers to it.
        log.warn('dropping incomplete container', { id, error: messageOf(e) });
        await this.snapshotter.remove(id).catch(() => {});
        await rm(join(root, id), { recursive: true, force: true });
      }
    }
    // Runtime dirs of containers that are gone: a removal cut short (remove() deletes them in the background).
    for (const id of await readdir(join(this.opts.execRoot, 'containers'))) {
      if (!this.byId.has(id)) await rm(join(this.opts.execRoot, 'containers', id), { recursive: true, force: true });
    }
    for (const c of this.byId.values()) {
      if (c.state.Running) {
        this.watchExit(c); // finds an exit that happened while berthd was down
        this.watchHealth(c);
        this.keepLogs(c); // and rotations conmon made meanwhile
      } else if (c.state.Restarting) {
        c.state = { ...c.state, Restarting: false, Status: 'exited' };
        await this.saveState(c);
      }
    }
    // A build's step containers outlive only a killed daemon: nobody will ever use or remove them.
    for (const c of [...this.byId.values()]) {
      if (!c.rec.BuildStep) continue;
      log.info('removing a build step container left by an earlier run', { id: c.rec.Id });
      await this.remove(c.rec.Id, { force: true }).catch((e) => log.warn('removing a build step container failed', { id: c.rec.Id, error: messageOf(e) }));
    }
    // Docker starts containers whose policy says so when the daemon starts.
    for (const c of this.byId.values()) {
      const p = c.rec.HostConfig.RestartPolicy?.Name;
      if (c.state.Running || c.rec.ManuallyStopped) continue;
      if (p === 'always' || (p === 'unless-stopped' && c.state.StartedAt !== ZERO_TIME)) {
        if (c.state.StartedAt === ZERO_TIME) continue;
        void this.start(c.rec.Id).catch((e) => log.warn('restart on daemon start failed', { id: c.rec.Id, error: messageOf(e) }));
      }
    }
  }

  /** Stop watching (daemon shutdown); containers keep running under their shims. */
  close(): void {
    for (const c of this.byId.values()) {
      this.unwatch(c);
      if (c.restartTimer) clearTimeout(c.restartTimer);
    }
  }

  // ---- views --------------------------------------------------------------

  /** Docker's State.String(): "Up 5 minutes", "Exited (0) 3 seconds ago", "Created". */
  statusText(c: Container, now = Date.now()): string {
    const s = c.state;
    if (c.removing) return 'Removal In Progress';
    if (s.Running) {
      const up = humanDuration(now - Date.parse(s.StartedAt));
      if (s.Paused) return `Up ${up} (Paused)`;
      const health = s.Health?.Status;
      return health ? `Up ${up} (${health === 'starting' ? 'health: starting' : health})` : `Up ${up}`;
    }
    if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    if (s.Dead) return 'Dead';
    if (s.StartedAt === ZERO_TIME) return 'Created';
    if (s.FinishedAt === ZERO_TIME) return '';
    return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  }
}

/**
 * A failed start as dockerd reports it: a command that is missing exits 127,
 * one that cannot be run 126, a mount of a file over a directory 127 — each a
 * 400 (the container's configuration is at fault); anything else 128 and a 500.
 */
export function startFailure(cmd: string, err: unknown): { code: number; error: BerthError } {
  if (err instanceof BerthError && err.status < 500) return { code: 128, error: err };
  const msg = messageOf(err);
  const low = msg.toLowerCase();
  if (low.includes('permission denied')) return { code: 126, error: new InvalidArgumentError(msg) };
  if (low.includes('not a directory')) {
    return { code: 127, error: new InvalidArgumentError(`${msg}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`) };
  }
  if (low.includes(cmd.toLowerCase()) && (low.includes('executable file not found') || low.includes('no such file or directory'))) {
    return { code: 127, error: new InvalidArgumentError(msg) };
  }
  return { code: 128, error: err instanceof BerthError ? err : new BerthError(msg, 500) };
}

/** dockerd's 409 for what needs the process while a restart policy waits out its delay. */
function notRestarting(c: Container): void {
  if (c.state.Restarting) throw new ConflictError(`Container ${c.rec.Id} is restarting, wait until the container is running`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(() => { clearTimeout(t); resolve(true); }, () => { clearTimeout(t); resolve(false); });
  });
}

/** A Docker `until` filter value (timestamp or duration) as Unix seconds. */
function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d) return Date.now() / 1000 - Number(d[1]) * { s: 1, m: 60, h: 3600 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter 'until=${v}'`);
  return t / 1000;
}
