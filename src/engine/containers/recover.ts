/**
 * Finding containers again when berthd starts: load every record, sweep what
 * a crash left (half-created containers, removed ones, orphan runtime dirs),
 * watch again the containers whose shims kept them running, drop build step
 * containers of a killed build, and start those whose restart policy says so.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../core/errors.js';
import { ZERO_TIME } from '../../core/go-values.js';
import { log } from '../../core/log.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import { emptyState, type ContainerRecord, type ContainerState, type Container } from './record.js';
import { REMOVED_PREFIX } from './remove.js';

/** What recovering containers at startup needs of the container service. */
export interface RecoverHost {
  readonly byId: Map<string, Container>;
  readonly snapshotter: Snapshotter;
  readonly opts: { readonly dataRoot: string; readonly execRoot: string };
  saveState(c: Container): Promise<void>;
  watchExit(c: Container): void;
  watchHealth(c: Container): void;
  keepLogs(c: Container): void;
  start(ref: string): Promise<boolean>;
  remove(ref: string, opts: { force?: boolean; volumes?: boolean }): Promise<void>;
}

/** Load every container and reconcile it with its shim; then apply restart policies. */
export async function recoverContainers(svc: RecoverHost): Promise<void> {
  const root = join(svc.opts.dataRoot, 'containers');
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(join(svc.opts.execRoot, 'containers'), { recursive: true, mode: 0o700 });
  for (const id of await readdir(root)) {
    if (id.startsWith(REMOVED_PREFIX)) {
      await rm(join(root, id), { recursive: true, force: true });
      continue;
    }
    try {
      const rec = JSON.parse(await readFile(join(root, id, 'config.json'), 'utf8')) as ContainerRecord;
      let state: ContainerState;
      try {
        state = JSON.parse(await readFile(join(root, id, 'state.json'), 'utf8')) as ContainerState;
      } catch {
        state = emptyState();
      }
      svc.byId.set(id, { rec, state, exitWaiters: [], removeWaiters: [] });
    } catch (e) {
      // Created but never recorded (a crash inside create): nothing refers to it.
      log.warn('dropping incomplete container', { id, error: messageOf(e) });
      await svc.snapshotter.remove(id).catch(() => {});
      await rm(join(root, id), { recursive: true, force: true });
    }
  }
  // Runtime dirs of containers that are gone: a removal cut short (remove() deletes them in the background).
  for (const id of await readdir(join(svc.opts.execRoot, 'containers'))) {
    if (!svc.byId.has(id)) await rm(join(svc.opts.execRoot, 'containers', id), { recursive: true, force: true });
  }
  for (const c of svc.byId.values()) {
    if (c.state.Running) {
      svc.watchExit(c); // finds an exit that happened while berthd was down
      svc.watchHealth(c);
      svc.keepLogs(c); // and rotations conmon made meanwhile
    } else if (c.state.Restarting) {
      c.state = { ...c.state, Restarting: false, Status: 'exited' };
      await svc.saveState(c);
    }
  }
  // A build's step containers outlive only a killed daemon: nobody will ever use or remove them.
  for (const c of [...svc.byId.values()]) {
    if (!c.rec.BuildStep) continue;
    log.info('removing a build step container left by an earlier run', { id: c.rec.Id });
    await svc.remove(c.rec.Id, { force: true }).catch((e) => log.warn('removing a build step container failed', { id: c.rec.Id, error: messageOf(e) }));
  }
  // Docker starts containers whose policy says so when the daemon starts.
  for (const c of svc.byId.values()) {
    const p = c.rec.HostConfig.RestartPolicy?.Name;
    if (c.state.Running || c.rec.ManuallyStopped) continue;
    if (p === 'always' || (p === 'unless-stopped' && c.state.StartedAt !== ZERO_TIME)) {
      if (c.state.StartedAt === ZERO_TIME) continue;
      void svc.start(c.rec.Id).catch((e) => log.warn('restart on daemon start failed', { id: c.rec.Id, error: messageOf(e) }));
    }
  }
}
