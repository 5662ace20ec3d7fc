/**
 * What the API shows of images: the list (GET /images/json, with Docker's
 * filters and its <none> placeholders), inspect and history, read through
 * the image lookups and shaped as dockerd answers.
 */
import { chainIds } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { untilSeconds } from '../../core/go-time.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { type Reference, parseReference, formatReference, familiarString, familiarName, fullName } from '../../core/reference.js';
import type { ImageLookups } from './lookups.js';
import type { ImageConfig, ImageRecord } from './types.js';

/** Docker's image list entry (GET /images/json). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** Docker's reference filter: glob with `*` not crossing `/`, matched against familiar forms. */
function refPatternMatches(pattern: string, ref: Reference): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
  );
  const name = familiarName(ref);
  const candidates = [name, familiarString(ref), fullName(ref), formatReference(ref)];
  return candidates.some((c) => re.test(c));
}

export async function listImages(svc: ImageLookups, opts: { all?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
  const f = opts.filters ?? {};
  checkFilterKeys(f, ['dangling', 'label', 'before', 'since', 'reference', 'until']);
  const dangling = f.dangling?.[0];
  if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) {
    throw new InvalidArgumentError(`Invalid filter 'dangling=[${f.dangling!.join(' ')}]'`);
  }
  // before/since compare creation times at full precision, as dockerd does (two builds in one second differ).
  const before = f.before?.length ? await createdMsOf(svc, svc.resolve(f.before[0])) : undefined;
  const since = f.since?.length ? await createdMsOf(svc, svc.resolve(f.since[0])) : undefined;
  const until = f.until?.length ? untilSeconds(f.until[0]) : undefined;
  const out: ImageSummary[] = [];
  const precise = new Map<string, number>();
  for (const rec of svc.records()) {
    const cfg = await svc.config(rec.id);
    const tags = svc.tagsOf(rec.id);
    if (dangling !== undefined && (tags.length === 0) !== (dangling === 'true' || dangling === '1')) continue;
    // Dangling means a top image without a tag, as dockerd counts it: intermediate build steps are not.
    if ((dangling === 'true' || dangling === '1') && svc.children(rec.id).length > 0) continue;
    if (!opts.all && tags.length === 0 && dangling === undefined && svc.children(rec.id).length > 0) continue;
    if (!matchLabels(cfg.config?.Labels, f.label)) continue;
    const created = createdSeconds(cfg, rec);
    const createdMs = createdMillis(cfg, rec);
    if (before !== undefined && createdMs >= before) continue;
    if (since !== undefined && createdMs <= since) continue;
    if (until !== undefined && created >= until) continue;
    let repoTags = tags.map((r) => familiarString(parseReference(r)));
    if (f.reference?.length) {
      const refs = tags.map((r) => parseReference(r));
      const matched = refs.filter((r) => f.reference!.some((p) => refPatternMatches(p, r)));
      if (matched.length === 0) continue;
      repoTags = matched.map((r) => familiarString(r));
    }
    const size = await svc.size(rec);
    const digests = svc.repoDigests(rec);
    out.push({
      Id: rec.id,
      ParentId: rec.parent ?? '',
      // dockerd 20.10 lists an untagged image as <none>:<none>, and no digests (or labels) as null.
      RepoTags: (tags.length ? repoTags : digests.length ? null : ['<none>:<none>']) as string[],
      RepoDigests: (digests.length ? digests : tags.length ? null : ['<none>@<none>']) as string[],
      Created: created,
      Size: size,
      SharedSize: -1,
      VirtualSize: size,
      Labels: (cfg.config?.Labels ?? null) as Record<string, string>,
      Containers: svc.usersOf(rec.id).length,
    });
    precise.set(rec.id, createdMs);
  }
  out.sort((a, b) => precise.get(b.Id)! - precise.get(a.Id)! || a.Id.localeCompare(b.Id));
  return out;
}

async function createdMsOf(svc: ImageLookups, rec: ImageRecord): Promise<number> {
  return createdMillis(await svc.config(rec.id), rec);
}

export async function inspectImage(svc: ImageLookups, name: string): Promise<Record<string, unknown>> {
  const rec = svc.resolve(name);
  const cfg = await svc.config(rec.id);
  const size = await svc.size(rec);
  return {
    Id: rec.id,
    RepoTags: svc.repoTags(rec.id),
    RepoDigests: svc.repoDigests(rec),
    Parent: rec.parent ?? '',
    Comment: cfg.comment ?? '',
    Created: cfg.created ?? rec.addedAt,
    Container: cfg.container ?? '',
    ContainerConfig: { ...emptyContainerConfig(), ...(cfg.container_config ?? {}) },
    DockerVersion: cfg.docker_version ?? '',
    Author: cfg.author ?? '',
    Config: { ...emptyContainerConfig(), ...(cfg.config ?? {}) },
    Architecture: cfg.architecture,
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: cfg.os,
    Size: size,
    VirtualSize: size,
    GraphDriver: svc.graphDriver(rec),
    RootFS: { Type: cfg.rootfs.type, Layers: cfg.rootfs.diff_ids },
    Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

export async function imageHistory(svc: ImageLookups, name: string): Promise<Array<Record<string, unknown>>> {
  const rec = svc.resolve(name);
  const cfg = await svc.config(rec.id);
  const chains = chainIds(rec.layers.map((l) => l.diffId));
  const sizes = await Promise.all(chains.map((c) => svc.layerSize(c)));
  let entries = cfg.history ?? [];
  if (entries.length === 0) entries = rec.layers.map(() => ({ created: cfg.created }));
  let layer = 0;
  const rows = entries
    .map((h) => {
      const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
      return {
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null as string[] | null,
        Size: size,
        Comment: h.comment ?? '',
      };
    })
    .reverse();
  // Each entry from the top belongs to the next image down the parent chain (images built here).
  let cur: ImageRecord | undefined = rec;
  for (const row of rows) {
    if (!cur) break;
    row.Id = cur.id;
    const tags = svc.repoTags(cur.id);
    row.Tags = tags.length ? tags : null;
    cur = cur.parent ? svc.get(cur.parent) : undefined;
  }
  if (rows.length > 0) rows[0].Tags = svc.repoTags(rec.id);
  return rows;
}

export function createdSeconds(cfg: ImageConfig, rec: ImageRecord): number {
  return Math.floor(createdMillis(cfg, rec) / 1000);
}

function createdMillis(cfg: ImageConfig, rec: ImageRecord): number {
  const t = Date.parse(cfg.created ?? rec.addedAt);
  return Number.isNaN(t) ? 0 : t;
}

export function emptyContainerConfig(): Record<string, unknown> {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
  };
}
