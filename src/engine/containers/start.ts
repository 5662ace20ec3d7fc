/**
 * Starting a container: prepare its rootfs, network and /etc files, write its
 * OCI spec, start its shim and the runtime's start, then hand it to the
 * monitor (exit, health, log rotation). Also dockerd's start rules (paused,
 * restarting, marked for removal) and the restart policy's fresh start.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { usernsPathOf } from '../../network/netns.js';
import { ConflictError, messageOf, SystemError } from '../../core/errors.js';
import { ZERO_TIME } from '../../core/go-values.js';
import { log } from '../../core/log.js';
import type { KeyedMutex } from '../../core/mutex.js';
import { which } from '../../core/proc.js';
import type { ContainerRuntimes } from './runtimes.js';
import { alive, shimReport, startShim, type ShimPaths } from '../../runtime/shim.js';
import { specToJson } from '../../runtime/spec/index.js';
import { resolveUser } from '../../runtime/user.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import { DEFAULT_PATH, processEnv } from './config.js';
import { etcMountsOf, resolveHostGateway, writeEtcFiles } from './etc-files.js';
import { runtimeOf } from './hostconfig.js';
import { addInitFiles } from './initlayer.js';
import { linkEffects, linksOf } from './links.js';
import { logDriverRefusal } from './logdrivers.js';
import { logRotation } from './logfiles.js';
import { containerSpec } from './oci/spec.js';
import { rootlessSpec } from './oci/rootless.js';
import type { ContainerMounts } from './mounts.js';
import type { ContainerNetworking, NetAttachment, PendingAttachment } from './networking.js';
import type { Container } from './record.js';
import { startFailure } from './start-failure.js';

/** What conmon keeps of a `--log-driver none` container's output while it runs (for attach only). */
const NONE_LOG_CAP = 1024 * 1024;

/** What starting a container needs of the container service. */
export interface StartHost {
  readonly snapshotter: Snapshotter;
  readonly runc: ContainerRuntimes;
  readonly events: EventBus;
  readonly locks: KeyedMutex;
  readonly opts: { readonly initPath?: string };
  readonly networking?: ContainerNetworking;
  readonly volumes?: ContainerMounts;
  get(ref: string): Container;
  dataDir(id: string): string;
  shim(id: string): ShimPaths;
  logPath(c: Container): string;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  persist(c: Container): Promise<void>;
  saveState(c: Container): Promise<void>;
  /** The monitor's parts, begun once the process runs. */
  watchExit(c: Container): void;
  watchHealth(c: Container): void;
  keepLogs(c: Container): void;
  remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void>;
}

/** Start; false when it was already running (the API's 304). */
export async function startContainer(svc: StartHost, ref: string): Promise<boolean> {
  const c = svc.get(ref);
  return svc.locks.run(c.rec.Id, async () => {
    if (c.removing) throw new ConflictError(`container is marked for removal and cannot be started`);
    if (c.state.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
    // dockerd counts a restarting container as running: its start is a no-op.
    if (c.state.Running || c.state.Restarting) return false;
    // A start by the user begins the restart policy afresh, as dockerd's does.
    c.rec.ManuallyStopped = false;
    c.rec.RestartCount = 0;
    c.restartDelayMs = undefined;
    try {
      await startProcess(svc, c);
    } catch (e) {
      // As dockerd: a --rm container that fails to start is removed (the docker CLI waits for that).
      if (c.rec.HostConfig.AutoRemove) setImmediate(() => void svc.remove(c.rec.Id, { force: true, volumes: true }).catch(() => {}));
      throw e;
    }
    return true;
  });
}

/**
 * Start the container's process, under its lock: rootfs, network, /etc files,
 * OCI spec, shim, runtime start; on failure everything set up is undone and
 * the state records dockerd's exit code for it.
 */
export async function startProcess(svc: StartHost, c: Container): Promise<void> {
  const id = c.rec.Id;
  const sp = svc.shim(id);
  try {
    const h = c.rec.HostConfig;
    const cfg = c.rec.Config;
    const refusal = await logDriverRefusal(h.LogConfig?.Type, h.LogConfig?.Config);
    if (refusal) throw refusal;
    // dockerd settles the runtime at the first start of a container created without a HostConfig.
    if (!h.Runtime) {
      h.Runtime = runtimeOf(h, svc.runc.table.defaultName);
      await svc.persist(c);
    }
    const rotation = logRotation(h.LogConfig);
    const netMode = h.NetworkMode ?? 'default';
    // Legacy links first: a stopped target fails the start before anything is set up.
    const links =
      h.Links?.length && svc.networking
        ? linkEffects(
            c,
            linksOf(c, (r) => svc.get(r)),
            (t) => svc.networking!.bridgeAddress(t),
          )
        : { hosts: [], env: [] };
    // The bundle dir, the rootfs and the network namespace side by side; all settle before
    // a failure is thrown, so the clean-up below never races one still being made.
    // The namespace exists once attach returns; its endpoints come up while the runtime creates the container.
    const settled = await Promise.allSettled([
      rm(sp.dir, { recursive: true, force: true }).then(() => mkdir(sp.bundle, { recursive: true, mode: 0o700 })),
      svc.snapshotter.mount(id),
      svc.networking
        ? svc.networking.attach(c)
        : (async (): Promise<PendingAttachment> => {
            const net: NetAttachment = {
              namespace: netMode === 'host' ? 'host' : netMode.startsWith('container:') ? await nsOf(svc, netMode.slice(10), 'net') : 'private',
              addresses: [],
            };
            return { namespace: net.namespace, done: Promise.resolve(net) };
          })(),
      // `--log-driver none` keeps no output from an earlier run.
      h.LogConfig?.Type === 'none' ? rm(svc.logPath(c), { force: true }) : Promise.resolve(),
    ]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const rootfs = (settled[1] as PromiseFulfilledResult<string>).value;
    const pending = (settled[2] as PromiseFulfilledResult<PendingAttachment>).value;
    const network = pending.namespace;
    // Joining another container's network is taking its name and its /etc files too, as dockerd does.
    const netOwner = netMode.startsWith('container:') ? svc.get(netMode.slice(10)) : undefined;
    if (netOwner && (cfg.Hostname !== netOwner.rec.Config.Hostname || cfg.Domainname !== netOwner.rec.Config.Domainname)) {
      cfg.Hostname = netOwner.rec.Config.Hostname;
      cfg.Domainname = netOwner.rec.Config.Domainname ?? '';
      await svc.persist(c);
    }
    const hostname = netMode === 'host' ? (await readFile('/proc/sys/kernel/hostname', 'utf8')).trim() : (cfg.Hostname ?? id.slice(0, 12));
    const extraHosts = resolveHostGateway(h.ExtraHosts, () => svc.networking?.hostGateway());
    const etc = (net: NetAttachment, inPlace: boolean) =>
      netOwner
        ? Promise.resolve(etcMountsOf(svc.dataDir(netOwner.rec.Id)))
        : writeEtcFiles(svc.dataDir(id), hostname, cfg.Domainname ?? '', { ...h, ExtraHosts: extraHosts }, network === 'host', net, inPlace, links.hosts);
    const [mounts] = await Promise.all([etc({ namespace: network, addresses: [] }, false), addInitFiles(rootfs)]);
    // --read-only covers the /etc files too, as dockerd mounts them (a volume or bind stays as asked).
    if (h.ReadonlyRootfs) for (const m of mounts) m.options = [...(m.options ?? []), 'ro'];
    if (svc.volumes) mounts.push(...(await svc.volumes.attach(c, rootfs)));
    const user = await resolveUser(rootfs, cfg.User, h.GroupAdd);
    const env = processEnv([DEFAULT_PATH, `HOSTNAME=${hostname}`, ...(cfg.Tty ? ['TERM=xterm'] : []), ...links.env], cfg.Env);
    if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    const ns = (mode: string | undefined, kind: string) =>
      mode === 'host' ? 'host' : mode?.startsWith('container:') ? nsOf(svc, mode.slice(10), kind) : Promise.resolve('private');
    const spec = containerSpec({
      id,
      rootfs,
      args: [c.rec.Path, ...c.rec.Args],
      env,
      cwd: cfg.WorkingDir || '/',
      user,
      hostname,
      tty: !!cfg.Tty,
      hostConfig: h,
      noNewPrivileges: c.rec.NoNewPrivileges,
      cgroupsPath: `/berth/${id}`,
      extraMounts: mounts,
      namespaces: {
        network,
        pid: await ns(h.PidMode, 'pid'),
        ipc: await ns(h.IpcMode, 'ipc'),
        uts: h.UTSMode === 'host' ? 'host' : 'private',
        ...(c.rec.IdMap ? { user: { map: c.rec.IdMap, ...usernsToJoin(network) } } : {}),
      },
      // A static init: it runs in any image, libc or not.
      ...(h.Init ? { initPath: svc.opts.initPath ?? which('tini-static') ?? which('docker-init') ?? '/usr/bin/tini-static' } : {}),
    });
    rootlessSpec(spec); // what runc cannot do in a user namespace, left out (rootless mode only)
    await writeFile(join(sp.bundle, 'config.json'), specToJson(spec));
    const runtime = svc.runc.forStart(id);
    const pid = await startShim({
      id,
      name: c.rec.Name,
      paths: sp,
      runtime: runtime.binary,
      runtimeArgs: runtime.globalArgs,
      runtimeRoot: runtime.root,
      logPath: svc.logPath(c),
      // With `none` the file only feeds attach: conmon starts it over past a small cap.
      logSizeMax: rotation?.maxSize ?? (h.LogConfig?.Type === 'none' ? NONE_LOG_CAP : undefined),
      tty: !!cfg.Tty,
      stdin: !!cfg.OpenStdin,
      // With a TTY, stdin stays open when the attached client leaves (detach), as in docker.
      leaveStdinOpen: !cfg.StdinOnce || !!cfg.Tty,
    });
    // /etc/hosts and resolv.conf get the addresses and DNS now, into the files the container has mounted.
    if (!netOwner) await etc(await pending.done, true);
    await svc.runc.start(id, pid).catch(async (e: unknown) => {
      // The process died before its start: say what the shim saw, so the cause can be found.
      if (e instanceof SystemError && !alive(pid)) throw new SystemError(`${e.message} (${await shimReport(sp, id)})`);
      throw e;
    });
    c.state = {
      ...c.state,
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: pid,
      ExitCode: 0,
      Error: '',
      StartedAt: new Date().toISOString(),
      FinishedAt: c.state.FinishedAt,
    };
    await svc.saveState(c);
    svc.watchExit(c);
    svc.watchHealth(c);
    svc.keepLogs(c);
    svc.events.publish('container', 'start', id, svc.attrs(c));
  } catch (err) {
    await svc.runc.delete(id, true).catch(() => {});
    await svc.networking?.detach(c).catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) }));
    await svc.volumes?.detach(c).catch(() => {});
    await svc.snapshotter.unmount(id).catch(() => {});
    const failed = startFailure(c.rec.Path, err);
    c.state = {
      ...c.state,
      Status: c.state.StartedAt === ZERO_TIME ? 'created' : 'exited',
      Running: false,
      Restarting: false,
      Pid: 0,
      ExitCode: failed.code,
      Error: messageOf(err),
    };
    await svc.saveState(c).catch(() => {});
    throw failed.error;
  }
}

/** A namespace path of another running container, for --network/--pid/--ipc container:NAME. */
async function nsOf(svc: Pick<StartHost, 'get'>, ref: string, kind: string): Promise<string> {
  const other = svc.get(ref);
  if (!other.state.Running) throw new ConflictError(`cannot join namespace of a non running container: ${ref}`);
  return `/proc/${other.state.Pid}/ns/${kind}`;
}

/**
 * The user namespace a remapped container joins with its network namespace: the one made
 * with it (network/netns.ts), or, for `--network container:X`, X's own; a private network
 * namespace is made by the runtime inside the container's new user namespace.
 */
function usernsToJoin(network: string): { path?: string } {
  if (network.startsWith('/proc/')) return { path: network.replace(/\/net$/, '/user') };
  if (network.startsWith('/') && existsSync(usernsPathOf(network))) return { path: usernsPathOf(network) };
  return {};
}
