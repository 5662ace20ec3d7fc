/**
 * `docker commit` and `docker diff`: a container's writable layer as a new
 * image, or as a list of changes.
 */
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseReference, withDefaultTag, isValidTag } from '../../core/reference.js';
import type { Change } from '../../archive/diff.js';
import { applyChanges } from '../../build/changes.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerConfig } from '../images/types.js';
import { createImage } from './image.js';
import { commitSnapshot, snapshotChanges } from './layers.js';

export interface CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause?: boolean;
  changes?: string[];
  /** Config fields from the request body, over the container's. */
  config?: ContainerConfig;
}

export async function containerChanges(svc: ContainerService, ref: string): Promise<Change[]> {
  const c = svc.get(ref);
  return snapshotChanges(svc.images, c.rec.Id, c.rec.RootfsParent as Digest | undefined);
}

export async function commitContainer(svc: ContainerService, o: CommitOptions): Promise<Digest> {
  const c = svc.get(o.container);
  let target;
  if (o.repo) {
    target = parseReference(o.repo);
    if (target.digest) throw new InvalidArgumentError('cannot commit to digest reference');
    if (o.tag) {
      if (!isValidTag(o.tag)) throw new InvalidArgumentError(`invalid tag format`);
      target.tag = o.tag;
    }
    target = withDefaultTag(target);
  }
  const parent = svc.images.store.get(c.rec.Image);
  const base: ContainerConfig = { ...c.rec.Config, ...(o.config ?? {}) };
  const config = applyChanges(base, o.changes ?? []);
  const pause = (o.pause ?? true) && c.state.Running && !c.state.Paused;
  if (pause) await svc.pause(c.rec.Id);
  let layer;
  try {
    layer = await commitSnapshot(svc.images, c.rec.Id, c.rec.RootfsParent as Digest | undefined, false);
  } finally {
    if (pause) await svc.unpause(c.rec.Id).catch(() => {});
  }
  const rec = await createImage(svc.images, {
    parent, config: { ...config, Image: c.rec.Image }, containerConfig: c.rec.Config, container: c.rec.Id,
    author: o.author, comment: o.comment, createdBy: [c.rec.Path, ...c.rec.Args].join(' '), layer,
  });
  if (target) await svc.images.register(rec, [target]);
  svc.events.publish('container', 'commit', c.rec.Id, { comment: o.comment ?? '', imageID: rec.id, imageRef: o.repo ?? '' });
  return rec.id;
}
