/**
 * `docker import`: one filesystem tar becomes a one-layer image. The tar is
 * read once: stored as the layer blob and unpacked into a snapshot at the
 * same time.
 */
import { Transform, type Readable } from 'node:stream';
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError, SystemError, messageOf } from '../../core/errors.js';
import { type Reference, parseReference, isValidTag } from '../../core/reference.js';
import { decompressStream } from '../../archive/compression.js';
import { applyChanges } from '../../dockerfile/changes.js';
import { hostPlatform, parsePlatform } from '../platform.js';
import type { Platform } from '../../core/wire/descriptor.js';
import type { ImageService } from './service.js';
import type { ImageStorage } from './storage.js';
import { MediaType } from '../../core/wire/media-types.js';
import type { ImageConfig, ImageRecord } from './types.js';

export interface ImportOptions {
  /** Repository, possibly with a tag ("repo:tag"), or empty for an untagged image. */
  repo?: string;
  tag?: string;
  message?: string;
  changes?: string[];
  platform?: string;
  /** What the image was imported from, for its comment ("-" for a request body). */
  source: string;
}

export function importTarget(repo: string | undefined, tag: string | undefined): Reference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  if (ref.digest) throw new InvalidArgumentError('cannot import digest reference');
  if (tag) {
    if (!isValidTag(tag)) throw new InvalidArgumentError(`invalid tag format`);
    ref.tag = tag;
  }
  return ref.tag ? ref : { ...ref, tag: 'latest' };
}

export async function importImage(svc: ImageService, stores: ImageStorage, body: Readable, opts: ImportOptions): Promise<Digest> {
  const target = importTarget(opts.repo, opts.tag);
  let platform: Platform;
  try {
    platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  const containerConfig = applyChanges({}, opts.changes ?? []);

  const { stream } = await decompressStream(body);
  const writer = stores.content.writer();
  // Every chunk goes to the blob writer (with backpressure) and on to the unpacker.
  const tee = new Transform({
    transform(chunk: Buffer, _e, cb) {
      if (writer.write(chunk)) cb(null, chunk);
      else writer.once('drain', () => cb(null, chunk));
    },
    flush(cb) {
      writer.end(() => cb());
    },
  });
  stream.on('error', (e) => tee.destroy(e));
  let releaseBlob: (() => void) | undefined;
  const diffId = new Promise<Digest>((resolve, reject) => {
    tee.once('end', () => {
      writer
        .commit()
        .then((b) => {
          releaseBlob = stores.leases.hold([b.digest]);
          resolve(b.digest);
        })
        .catch(reject);
    });
    tee.once('error', reject);
  });
  diffId.catch(() => {});

  let layer;
  try {
    layer = await stores.snapshotter.applyLayer({ tar: stream.pipe(tee), diffId });
  } catch (err) {
    await writer.abort();
    releaseBlob?.();
    // What docker users see for a rootfs that is no tar (dockerd unpacks in a child process: the exit status), a 500 there.
    if (/invalid tar header/i.test(messageOf(err))) throw new SystemError('Error processing tar file(exit status 1): archive/tar: invalid tar header');
    throw err;
  }
  const releaseLayer = stores.leases.hold([layer.chainId]);
  try {
    const now = new Date().toISOString();
    const comment = opts.message || `Imported from ${opts.source}`;
    const config: ImageConfig = {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created: now,
      comment,
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: now, comment }],
    };
    const cfgBlob = await stores.content.put(JSON.stringify(config));
    const rec: ImageRecord = {
      id: cfgBlob.digest,
      layers: [{ digest: layer.diffId, mediaType: MediaType.ociLayer, size: writer.size, diffId: layer.diffId }],
      repoDigests: [],
      addedAt: now,
    };
    await svc.register(rec, target ? [target] : []);
    stores.events.publish('image', 'import', rec.id, {});
    return rec.id;
  } finally {
    releaseLayer();
    releaseBlob?.();
  }
}
