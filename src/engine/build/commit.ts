/**
 * `docker commit` and `docker diff`: a container's writable layer as a new
 * image, or as a list of changes.
 */
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { parseReference, withDefaultTag, isValidTag } from '../../core/reference.js';
import type { Change } from '../../archive/diff.js';
import { applyChanges } from '../../dockerfile/changes.js';
import type { ContainerService } from '../containers/service.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import { createImage } from './image.js';
import { commitSnapshot, snapshotChanges, type LayerStores } from './layers.js';

export interface CommitOptions {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause?: boolean;
  changes?: string[];
  /** The config the request body sent; the container's fills in what it leaves out (mergeCommitConfig). */
  config?: ContainerConfig;
}

/**
 * dockerd's merge of a commit's config with the container's: the user's
 * fields win; user, working dir, stop signal, volumes, exposed ports, env
 * (by name), labels, healthcheck (per field) and cmd/entrypoint come from
 * the container where the user left them out. Nothing else does (hostname,
 * image, tty…), so a commit with a config does not carry those over.
 */
export function mergeCommitConfig(user: ContainerConfig, ctr: ContainerConfig): ContainerConfig {
  const out: ContainerConfig = { ...user };
  if (!out.User) out.User = ctr.User;
  out.ExposedPorts = out.ExposedPorts && Object.keys(out.ExposedPorts).length ? { ...ctr.ExposedPorts, ...out.ExposedPorts } : ctr.ExposedPorts;
  if (!out.Env?.length) out.Env = ctr.Env;
  else {
    const names = new Set(out.Env.map((e) => e.split('=')[0]));
    out.Env = [...out.Env, ...(ctr.Env ?? []).filter((e) => !names.has(e.split('=')[0]))];
  }
  out.Labels = { ...(ctr.Labels ?? {}), ...(out.Labels ?? {}) };
  if (!out.Entrypoint?.length) {
    if (!out.Cmd?.length) out.Cmd = ctr.Cmd;
    if (out.Entrypoint == null) out.Entrypoint = ctr.Entrypoint;
  }
  if (ctr.Healthcheck) {
    const h = { ...(out.Healthcheck ?? {}) };
    for (const k of ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
      const v = h[k];
      if (v === undefined || v === 0 || (Array.isArray(v) && v.length === 0)) h[k] = ctr.Healthcheck[k];
    }
    out.Healthcheck = out.Healthcheck ? h : ctr.Healthcheck;
  }
  if (!out.WorkingDir) out.WorkingDir = ctr.WorkingDir;
  out.Volumes = out.Volumes && Object.keys(out.Volumes).length ? { ...out.Volumes, ...ctr.Volumes } : ctr.Volumes;
  if (!out.StopSignal) out.StopSignal = ctr.StopSignal;
  return out;
}

export async function containerChanges(svc: ContainerService, stores: LayerStores, ref: string): Promise<Change[]> {
  const c = svc.get(ref);
  return snapshotChanges(stores.snapshotter, c.rec.Id, c.rec.RootfsParent as Digest | undefined, c.rec.IdMap);
}

export async function commitContainer(svc: ContainerService, stores: LayerStores, o: CommitOptions): Promise<Digest> {
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
  const parent = svc.images.get(c.rec.Image);
  // As dockerd: the changes apply to the config sent (else the container's), then the merge fills in.
  const config = o.config ? mergeCommitConfig(applyChanges(o.config, o.changes ?? []), c.rec.Config) : applyChanges(c.rec.Config, o.changes ?? []);
  const pause = (o.pause ?? true) && c.state.Running && !c.state.Paused;
  if (pause) await svc.pause(c.rec.Id);
  let layer;
  try {
    layer = await commitSnapshot(stores, c.rec.Id, c.rec.RootfsParent as Digest | undefined, false, c.rec.IdMap);
  } finally {
    if (pause) await svc.unpause(c.rec.Id).catch(() => {});
  }
  const rec = await createImage(svc.images, {
    parent,
    config: o.config ? config : { ...config, Image: c.rec.Image },
    containerConfig: c.rec.Config,
    container: c.rec.Id,
    author: o.author,
    comment: o.comment,
    createdBy: [c.rec.Path, ...c.rec.Args].join(' '),
    layer,
  });
  if (target) await svc.images.register(rec, [target]);
  svc.events.publish('container', 'commit', c.rec.Id, { comment: o.comment ?? '', imageID: rec.id, imageRef: o.repo ?? '' });
  return rec.id;
}
