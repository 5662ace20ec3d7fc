/**
 * Watching a running container: its shim's exit file (inotify and a slow
 * poll), its health checks and its log rotations; and what an exit does —
 * release the rootfs, runtime state, network and volumes, record the exit,
 * then apply the restart policy or --rm.
 */
import { watch } from 'node:fs';
import { messageOf } from '../../core/errors.js';
import { log } from '../../core/log.js';
import type { KeyedMutex } from '../../core/mutex.js';
import type { ContainerRuntimes } from './runtimes.js';
import { alive, readExitCode, shimPid, wasOomKilled, type ShimPaths } from '../../runtime/shim.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import { startHealthChecks, type ProbeHost } from './health.js';
import { LogKeeper, logRotation } from './logfiles.js';
import type { ContainerMounts } from './mounts.js';
import type { ContainerNetworking } from './networking.js';
import type { Container } from './record.js';
import { restartDelay } from './restart-policy.js';

/** What watching containers and their exits needs of the container service. */
export interface MonitorHost extends ProbeHost {
  readonly snapshotter: Snapshotter;
  readonly runc: ContainerRuntimes;
  readonly byId: ReadonlyMap<string, Container>;
  readonly events: EventBus;
  readonly locks: KeyedMutex;
  readonly networking?: ContainerNetworking;
  readonly volumes?: ContainerMounts;
  shim(id: string): ShimPaths;
  logPath(c: Container): string;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  persist(c: Container): Promise<void>;
  saveState(c: Container): Promise<void>;
  /** The restart policy's start (under the container's lock). */
  startProcess(c: Container): Promise<void>;
  remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void>;
}

/** Follow conmon's log rotations while the container runs (see logfiles.ts). */
export function keepLogs(svc: Pick<MonitorHost, 'logPath'>, c: Container): void {
  c.logKeeper?.stop();
  c.logKeeper = undefined;
  let rotation;
  try {
    rotation = logRotation(c.rec.HostConfig.LogConfig);
  } catch {
    return;
  }
  if (!rotation || rotation.maxFile <= 1) return;
  c.logKeeper = new LogKeeper(svc.logPath(c), rotation);
  c.logKeeper.start();
}

/** Run the container's health checks while it runs; each change of status is saved and published. */
export function watchHealth(svc: MonitorHost, c: Container): void {
  c.stopHealth?.();
  c.stopHealth = startHealthChecks(svc, c, (status) => {
    void svc.saveState(c).catch(() => {});
    svc.events.publish('container', `health_status: ${status}`, c.rec.Id, svc.attrs(c));
  });
}

/** Notice the shim's exit file: inotify on the exit dir, and a slow poll in case a change is missed. */
export function watchExit(svc: MonitorHost, c: Container): void {
  unwatch(c);
  const sp = svc.shim(c.rec.Id);
  const check = () => {
    void checkExit(svc, c);
  };
  try {
    c.watcher = watch(sp.exitDir, check);
    c.watcher.on('error', () => {});
  } catch {
    /* the poll still covers it */
  }
  c.poll = setInterval(check, 2000);
  c.poll.unref();
  check();
}

/** Stop watching the container: exit, health checks and log rotation. */
export function unwatch(c: Container): void {
  c.stopHealth?.();
  c.stopHealth = undefined;
  c.watcher?.close();
  c.logKeeper?.stop();
  if (c.poll) clearInterval(c.poll);
  c.watcher = undefined;
  c.poll = undefined;
}

async function checkExit(svc: MonitorHost, c: Container): Promise<void> {
  if (!c.state.Running) return;
  const sp = svc.shim(c.rec.Id);
  let code = await readExitCode(sp, c.rec.Id);
  if (code === null) {
    // A shim that vanished without writing an exit code (killed, host trouble): the container is gone too.
    const spid = await shimPid(sp);
    if (spid && alive(spid)) return;
    if (c.state.Pid && alive(c.state.Pid)) return;
    code = await readExitCode(sp, c.rec.Id);
    if (code === null) code = 255;
  }
  await svc.locks.run(c.rec.Id, () => onExit(svc, c, code!));
}

/**
 * The process exited: release what the start took, record the exit, wake
 * the waiters, and apply the restart policy (restart after its delay) or
 * --rm (remove).
 */
async function onExit(svc: MonitorHost, c: Container, code: number): Promise<void> {
  if (!c.state.Running) return;
  unwatch(c);
  // A rotation just before the exit still gets its file moved along.
  await c.logKeeper?.kick();
  c.logKeeper = undefined;
  const id = c.rec.Id;
  const oom = await wasOomKilled(svc.shim(id));
  const ranMs = Date.now() - Date.parse(c.state.StartedAt);
  // Independent clean-ups side by side (they are most of the time between an exit and `wait` returning):
  // the rootfs first (its exec is the longest wait), the runtime's state, and the network (which may
  // finish on its own: see release); volumes last.
  await Promise.all([
    svc.snapshotter.unmount(id).catch((e) => log.warn('unmount failed', { id, error: messageOf(e) })),
    svc.runc.deleteExited(id).catch((e) => log.warn('runtime delete failed', { id, error: messageOf(e) })),
    svc.networking?.release(c).catch((e) => log.warn('network teardown failed', { id, error: messageOf(e) })),
  ]);
  await svc.volumes?.detach(c).catch((e) => log.warn('volume release failed', { id, error: messageOf(e) }));
  c.state = {
    ...c.state,
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    Pid: 0,
    ExitCode: code,
    OOMKilled: oom,
    FinishedAt: new Date().toISOString(),
  };
  if (oom) svc.events.publish('container', 'oom', id, svc.attrs(c));
  const delay = restartDelay(c.rec.HostConfig.RestartPolicy, {
    code,
    ranMs,
    exitOnNext: !!c.exitOnNext || !!c.removing,
    manuallyStopped: !!c.rec.ManuallyStopped,
    restartCount: c.rec.RestartCount,
    previousDelayMs: c.restartDelayMs,
  });
  const restart = delay !== null;
  c.exitOnNext = false;
  if (restart) {
    c.restartDelayMs = delay;
    c.rec.RestartCount++;
    c.state.Status = 'restarting';
    c.state.Restarting = true;
    await svc.persist(c);
  }
  await svc.saveState(c);
  svc.events.publish('container', 'die', id, svc.attrs(c, { exitCode: String(code), execDuration: String(Math.round(ranMs / 1000)) }));
  for (const w of c.exitWaiters.splice(0)) w(code);
  if (restart) {
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      void svc.locks.run(id, async () => {
        if (!svc.byId.has(id) || c.state.Running || !c.state.Restarting || c.removing) return;
        try {
          await svc.startProcess(c);
        } catch (e) {
          log.warn('restart failed', { id, error: messageOf(e) });
          if (c.rec.HostConfig.AutoRemove) void svc.remove(id, { force: true, volumes: true }).catch(() => {});
        }
      });
    }, delay!);
  } else if (c.rec.HostConfig.AutoRemove) {
    void svc.remove(id, { force: true, volumes: true }).catch((e) => log.warn('auto-remove failed', { id, error: messageOf(e) }));
  }
}
