/**
 * A container's writable layer as Docker exposes it: `docker diff` (its
 * changes) and `docker commit` (a new image from them).
 */
import { chainIds, type Digest } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { changes, layerTar, type Change, type DiffSource } from '../../archive/diff.js';
import { applyChanges } from '../../build/changes.js';
import type { ContainerService, Container } from '../containers/service.js';
import type { Reference } from '../../core/reference.js';
import { importTarget } from '../images/import.js';
import type { ContainerConfig } from '../images/types.js';
import { storeLayer, writeImage } from './image-writer.js';

/** Where a container's changes are, for the snapshotter in use. */
export function diffSource(svc: ContainerService, c: Container): DiffSource {
  const snap = svc.snapshotter;
  const chain = (c.rec.RootfsChain ?? []) as Digest[];
  if (snap.driver === 'vfs') {
    const top = chain[chain.length - 1];
    return { dir: snap.upperPath(c.rec.Id), kind: 'full', lowers: top ? [snap.layerDiffPath(top)] : [] };
  }
  return { dir: snap.upperPath(c.rec.Id), kind: 'overlay', lowers: [...chain].reverse().map((ch) => snap.layerDiffPath(ch)) };
}

export async function containerChanges(svc: ContainerService, ref: string): Promise<Change[]> {
  return changes(diffSource(svc, svc.get(ref)));
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause the container while its layer is read (default true, as Docker). */
  pause?: boolean;
  changes?: string[];
  /** A config to use instead of the container's (POST /commit body). */
  config?: ContainerConfig;
}

/** `docker commit`: the container's changes as one new layer on its image. */
export async function commitContainer(svc: ContainerService, ref: string, o: CommitOptions): Promise<Digest> {
  const c = svc.get(ref);
  const target: Reference | undefined = importTarget(o.repo, o.tag);
  const parent = svc.images.tryResolve(c.rec.Image);
  if (!parent) throw new InvalidArgumentError(`image of container ${c.rec.Id.slice(0, 12)} no longer exists`);
  const parentConfig = await svc.images.config(parent.id);
  let cfg: ContainerConfig = { ...c.rec.Config, ...(o.config ?? {}) };
  cfg = applyChanges(cfg, o.changes ?? []);
  const paused = o.pause !== false && c.state.Running && !c.state.Paused;
  if (paused) await svc.pause(c.rec.Id);
  let layer;
  try {
    const parentChain = chainIds(parent.layers.map((l) => l.diffId));
    layer = await storeLayer(svc.images, await layerTar(diffSource(svc, c)), parentChain[parentChain.length - 1]);
  } finally {
    if (paused) await svc.unpause(c.rec.Id).catch(() => {});
  }
  const created = [c.rec.Path, ...c.rec.Args].join(' ');
  const id = await writeImage(svc.images, {
    parent, parentConfig, config: cfg, layer,
    history: { created_by: created },
    author: o.author, comment: o.comment, container: c.rec.Id, containerConfig: c.rec.Config,
    tags: target ? [target] : [],
  });
  svc.events.publish('container', 'commit', c.rec.Id, { comment: o.comment ?? '', imageID: id, imageRef: target ? `${o.repo}:${target.tag}` : '' });
  return id;
}
