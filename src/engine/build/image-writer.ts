/**
 * Writing images made on this daemon (build steps, commit): a layer tar is
 * stored as a blob and unpacked into a snapshot in one pass, then a config
 * derived from the parent's is stored and the image recorded with its
 * parent and build-cache key.
 */
import { Transform, type Readable } from 'node:stream';
import { chainIds, type Digest } from '../../core/digest.js';
import type { Reference } from '../../core/reference.js';
import type { LayerInfo } from '../../snapshots/snapshotter.js';
import { hostPlatform } from '../platform.js';
import type { ImageService } from '../images/service.js';
import { MediaType, type ContainerConfig, type HistoryEntry, type ImageConfig, type ImageRecord, type LayerRef } from '../images/types.js';

export interface StoredLayer { ref: LayerRef; info: LayerInfo; release: () => void }

/** Store `tar` (uncompressed) as a layer blob and a snapshot on top of `parent`. Hold it until `release`. */
export async function storeLayer(svc: ImageService, tar: Readable, parent: Digest | undefined): Promise<StoredLayer> {
  const writer = svc.content.writer();
  const tee = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (writer.write(chunk)) cb(null, chunk);
      else writer.once('drain', () => cb(null, chunk));
    },
    flush(cb) { writer.end(() => cb()); },
  });
  tar.on('error', (e) => tee.destroy(e));
  let releaseBlob: (() => void) | undefined;
  const diffId = new Promise<Digest>((resolve, reject) => {
    tee.once('end', () => {
      writer.commit().then((b) => { releaseBlob = svc.leases.hold([b.digest]); resolve(b.digest); }).catch(reject);
    });
    tee.once('error', reject);
  });
  diffId.catch(() => {});
  let info: LayerInfo;
  try {
    info = await svc.snapshotter.applyLayer({ parent, tar: tar.pipe(tee), diffId });
  } catch (err) {
    await writer.abort();
    releaseBlob?.();
    throw err;
  }
  const releaseLayer = svc.leases.hold([info.chainId]);
  return {
    ref: { digest: info.diffId, mediaType: MediaType.ociLayer, size: writer.size, diffId: info.diffId },
    info,
    release: () => { releaseLayer(); releaseBlob?.(); },
  };
}

export interface ChildImage {
  /** The image built on; undefined for `scratch`. */
  parent?: ImageRecord;
  parentConfig?: ImageConfig;
  config: ContainerConfig;
  history: HistoryEntry;
  layer?: StoredLayer;
  author?: string;
  comment?: string;
  /** The container it was committed from (commit, RUN). */
  container?: string;
  containerConfig?: ContainerConfig;
  cacheKey?: string;
  tags?: Reference[];
}

/** Store the config of an image one step above its parent and record it. */
export async function writeImage(svc: ImageService, c: ChildImage): Promise<Digest> {
  const now = new Date().toISOString();
  const base = c.parentConfig;
  const plat = hostPlatform();
  const history = [...(base?.history ?? [])];
  // An imported parent without history still gets one entry per layer, as Docker fills it.
  const baseLayers = c.parent?.layers ?? [];
  while (history.filter((h) => !h.empty_layer).length < baseLayers.length) history.push({ created: base?.created });
  const entry: HistoryEntry = { created: now, ...c.history };
  if (c.author) entry.author = c.author;
  if (c.comment) entry.comment = c.comment;
  if (!c.layer) entry.empty_layer = true;
  history.push(entry);
  const layers = [...baseLayers, ...(c.layer ? [c.layer.ref] : [])];
  const cfg: ImageConfig = {
    architecture: base?.architecture ?? plat.architecture,
    ...(base?.variant ?? plat.variant ? { variant: base?.variant ?? plat.variant } : {}),
    os: base?.os ?? plat.os,
    created: now,
    ...(c.author !== undefined ? { author: c.author } : base?.author ? { author: base.author } : {}),
    ...(c.comment ? { comment: c.comment } : {}),
    config: c.config,
    ...(c.container ? { container: c.container } : {}),
    ...(c.containerConfig ? { container_config: c.containerConfig } : {}),
    ...(c.parent ? { parent: c.parent.id } : {}),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const blob = await svc.content.put(JSON.stringify(cfg));
  const rec: ImageRecord = {
    id: blob.digest,
    layers,
    repoDigests: [],
    ...(c.parent ? { parent: c.parent.id } : {}),
    ...(c.cacheKey ? { buildCacheKey: c.cacheKey } : {}),
    addedAt: now,
  };
  try {
    await svc.register(rec, c.tags ?? []);
  } finally {
    c.layer?.release();
  }
  return rec.id;
}

/** Top chain ID of an image (undefined for no layers). */
export function topChain(rec: ImageRecord | undefined): Digest | undefined {
  if (!rec) return undefined;
  const c = chainIds(rec.layers.map((l) => l.diffId));
  return c[c.length - 1];
}
