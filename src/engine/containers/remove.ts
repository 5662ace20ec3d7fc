/**
 * Removing containers: `rm` (with -f and -v), `rm --link`, and `container
 * prune`. A removed container's record dir is renamed away at once and
 * deleted after; berthd's start sweeps what a crash left (see recover.ts).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { discardDir } from '../../core/atomic.js';
import { BerthError, ConflictError, messageOf, NotFoundError } from '../../core/errors.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { untilSeconds } from '../../core/go-time.js';
import { log } from '../../core/log.js';
import type { KeyedMutex } from '../../core/mutex.js';
import type { ContainerRuntimes } from './runtimes.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import { unwatch } from './monitor.js';
import type { ContainerMounts } from './mounts.js';
import type { ContainerNetworking } from './networking.js';
import type { Container } from './record.js';
import { killAll, nextExit, withTimeout } from './stop.js';

/** A removed container's record dir, renamed so and deleted after `rm` has returned. */
export const REMOVED_PREFIX = '.removed-';

/** What removing containers needs of the container service. */
export interface RemoveHost {
  readonly byId: Map<string, Container>;
  readonly runc: ContainerRuntimes;
  readonly snapshotter: Snapshotter;
  readonly events: EventBus;
  readonly locks: KeyedMutex;
  readonly opts: { readonly dataRoot: string };
  readonly networking?: ContainerNetworking;
  readonly volumes?: ContainerMounts;
  get(ref: string): Container;
  tryGet(ref: string): Container | undefined;
  list(): Container[];
  dataDir(id: string): string;
  execDir(id: string): string;
  attrs(c: Container, extra?: Record<string, string>): Record<string, string>;
  persist(c: Container): Promise<void>;
  sizeRw(c: Container): Promise<number>;
}

/**
 * Remove a container (`force` kills a running one first): its runtime state,
 * network, rootfs, shim files and record, then its volumes (`volumes`: the
 * anonymous ones too); waiters on its removal are told.
 */
export async function removeContainer(svc: RemoveHost, ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
  const c = svc.get(ref);
  if (c.removing) throw new ConflictError(`removal of container ${c.rec.Id} is already in progress`);
  if ((c.state.Running || c.state.Paused || c.state.Restarting) && !opts.force) {
    const what = c.state.Paused ? 'paused' : c.state.Restarting ? 'restarting' : 'running';
    throw new ConflictError(
      `You cannot remove a ${what} container ${c.rec.Id}. ${c.state.Paused ? 'Unpause and then stop' : 'Stop'} the container before attempting removal or force remove`,
    );
  }
  c.removing = true;
  try {
    if (c.restartTimer) {
      clearTimeout(c.restartTimer);
      c.restartTimer = undefined;
    }
    if (c.state.Running) {
      const exited = nextExit(c);
      await killAll(svc, c);
      if (c.state.Paused) await svc.runc.resume(c.rec.Id).catch(() => {});
      if (!(await withTimeout(exited, 30_000))) throw new BerthError(`could not kill running container ${c.rec.Id}, cannot remove`, 500);
    }
    await svc.locks.run(c.rec.Id, async () => {
      unwatch(c);
      // The exit path has normally deleted the runtime's state already: spawn the runtime only for leftovers.
      if (existsSync(join(svc.runc.of(c.rec.Id).root, c.rec.Id))) await svc.runc.delete(c.rec.Id, true).catch(() => {});
      await svc.networking?.detach(c).catch((e) => log.warn('network teardown failed', { id: c.rec.Id, error: messageOf(e) }));
      await svc.snapshotter.remove(c.rec.Id);
      // The shim's files go after: a dir left by a crash is swept at init.
      void rm(svc.execDir(c.rec.Id), { recursive: true, force: true }).catch(() => {});
      // The record goes last, and at once (a rename): init skips and sweeps the renamed dir.
      await discardDir(svc.dataDir(c.rec.Id), join(svc.opts.dataRoot, 'containers', `${REMOVED_PREFIX}${c.rec.Id}`));
      svc.byId.delete(c.rec.Id);
      await svc.volumes?.removeContainer(c, !!opts.volumes);
    });
  } catch (err) {
    c.removing = false;
    throw err;
  }
  svc.events.publish('container', 'destroy', c.rec.Id, svc.attrs(c));
  for (const w of c.removeWaiters.splice(0)) w(c.state.ExitCode);
  for (const w of c.exitWaiters.splice(0)) w(c.state.ExitCode);
}

/**
 * `docker rm --link linker/alias`: the linker forgets a legacy link (its
 * running processes keep the /etc/hosts line they have, as with dockerd).
 */
export async function removeLink(svc: RemoveHost, ref: string): Promise<void> {
  const name = ref.startsWith('/') ? ref : `/${ref}`;
  const cut = name.lastIndexOf('/');
  if (cut === 0) {
    svc.get(ref);
    throw new BerthError('Conflict, cannot remove the default link name of the container', 500);
  }
  const linker = svc.tryGet(name.slice(1, cut));
  const links = linker?.rec.HostConfig.Links ?? [];
  const kept = links.filter((l) => l.slice(l.indexOf(':') + 1) !== `${linker?.rec.Name}/${name.slice(cut + 1)}`);
  if (!linker || kept.length === links.length) throw new NotFoundError(`No such container: ${ref}`);
  await svc.locks.run(linker.rec.Id, async () => {
    linker.rec.HostConfig.Links = kept.length ? kept : null;
    await svc.persist(linker);
  });
}

/** `docker container prune`: every stopped container the filters (until, label, label!) pick. */
export async function pruneContainers(svc: RemoveHost, filters: Filters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
  checkFilterKeys(filters, ['until', 'label', 'label!']);
  const until = filters.until?.[0] ? untilSeconds(filters.until[0]) : undefined;
  const deleted: string[] = [];
  let space = 0;
  for (const c of svc.list()) {
    if (c.state.Running || c.state.Paused || c.state.Restarting) continue;
    if (until !== undefined && Date.parse(c.rec.Created) / 1000 >= until) continue;
    if (!matchLabels(c.rec.Config.Labels, filters.label)) continue;
    if (filters['label!']?.length && filters['label!'].some((l) => matchLabels(c.rec.Config.Labels, [l]))) continue;
    space += await svc.sizeRw(c).catch(() => 0);
    await removeContainer(svc, c.rec.Id, { force: false }).then(
      () => deleted.push(c.rec.Id),
      () => {},
    );
  }
  svc.events.publish('container', 'prune', '', { reclaimed: String(space) });
  return { ContainersDeleted: deleted, SpaceReclaimed: space };
}
