/**
 * `docker save`: images to one tar that both an OCI image layout reader and
 * `docker load` (any version, through manifest.json) accept:
 *
 *   blobs/sha256/<hex>   configs, layers, manifests
 *   index.json, oci-layout
 *   manifest.json        docker-archive's list of {Config, RepoTags, Layers}
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { nodeStream } from '../../archive/pack.js';
import { type Digest, hexOf, sha256Digest } from '../../core/digest.js';
import { SystemError, messageOf } from '../../core/errors.js';
import { type Reference, parseReference, withDefaultTag, formatReference, familiarString, fullName } from '../../core/reference.js';
import type { ImageService } from './service.js';
import type { ImageStorage } from './storage.js';
import { MediaType } from '../../core/wire/media-types.js';
import type { ImageRecord } from './types.js';

interface SaveItem {
  rec: ImageRecord;
  tags: Reference[];
}

/** Which images and tags `names` select, as Docker resolves them. */
function select(svc: ImageService, names: string[]): SaveItem[] {
  const items = new Map<Digest, SaveItem>();
  for (const name of names) {
    const rec = svc.resolve(name);
    const item = items.get(rec.id) ?? { rec, tags: [] };
    items.set(rec.id, item);
    let ref: Reference | undefined;
    try {
      ref = parseReference(name);
    } catch {
      /* an ID */
    }
    if (!ref || ref.digest) continue;
    const tagKeys = svc.tagsOf(rec.id);
    // A bare repository name saves every tag of that repository, as Docker does.
    const wanted =
      ref.tag === undefined
        ? tagKeys.filter((k) => fullName(parseReference(k)) === fullName(ref!))
        : tagKeys.filter((k) => k === formatReference(withDefaultTag(ref!)));
    for (const k of wanted) {
      const r = parseReference(k);
      if (!item.tags.some((t) => formatReference(t) === k)) item.tags.push(r);
    }
  }
  return [...items.values()];
}

function manifestFor(rec: ImageRecord, configSize: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: rec.id, size: configSize },
      layers: rec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
}

/**
 * Resolve names and check every blob is present before a byte is sent, so
 * a missing image or blob is an error response, not a truncated tar.
 */
export async function saveImages(svc: ImageService, stores: ImageStorage, names: string[]): Promise<Readable> {
  const items = select(svc, names);
  const blobs = new Map<Digest, number>();
  const extra = new Map<Digest, Buffer>();
  const index: unknown[] = [];
  const manifestJson: unknown[] = [];
  for (const { rec, tags } of items) {
    const cfg = await stores.content.info(rec.id);
    if (!cfg) throw new SystemError(`image ${rec.id}: config blob is missing from the store; run 'berth system check'`);
    blobs.set(rec.id, cfg.size);
    for (const l of rec.layers) {
      const info = await stores.content.info(l.digest);
      if (!info) throw new SystemError(`image ${rec.id}: layer blob ${l.digest} is missing from the store; run 'berth system check'`);
      blobs.set(l.digest, info.size);
    }
    const manifest = manifestFor(rec, cfg.size);
    const mDigest = sha256Digest(manifest);
    extra.set(mDigest, manifest);
    const desc = { mediaType: MediaType.ociManifest, digest: mDigest, size: manifest.length };
    if (tags.length === 0) index.push(desc);
    for (const t of tags) {
      index.push({ ...desc, annotations: { 'io.containerd.image.name': formatReference(t), 'org.opencontainers.image.ref.name': t.tag } });
    }
    manifestJson.push({
      Config: `blobs/sha256/${hexOf(rec.id)}`,
      RepoTags: tags.length ? tags.map((t) => familiarString(t)) : null,
      Layers: rec.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    });
  }

  const tar = pack();
  // Errors carried over, so a client that stops reading (`save | head`) does not leave one unhandled.
  const out = nodeStream(tar);
  const write = async () => {
    const dir = (name: string) => new Promise<void>((res, rej) => tar.entry({ name, type: 'directory', mode: 0o755 }, (e) => (e ? rej(e) : res())));
    const file = (name: string, data: Buffer) => new Promise<void>((res, rej) => tar.entry({ name, mode: 0o644 }, data, (e) => (e ? rej(e) : res())));
    await dir('blobs');
    await dir('blobs/sha256');
    for (const [d, size] of blobs) {
      const entry = tar.entry({ name: `blobs/sha256/${hexOf(d)}`, size, mode: 0o644 });
      await pipeline(stores.content.createReadStream(d), entry);
    }
    for (const [d, data] of extra) await file(`blobs/sha256/${hexOf(d)}`, data);
    await file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index })));
    await file('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    await file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    tar.finalize();
  };
  write().catch((err) => out.destroy(new SystemError(`save failed: ${messageOf(err)}`)));
  for (const { rec, tags } of items) stores.events.publish('image', 'save', rec.id, tags.length ? { name: familiarString(tags[0]) } : {});
  return out;
}
