/**
 * The S3 driver of the storage seam: the filesystem driver's layout as keys
 * in one bucket under a prefix, so several `berth registry serve` replicas on
 * the same bucket are one registry. No state lives in a replica's memory but
 * caches: upload sessions are objects in the bucket (storage/s3-uploads.ts),
 * tags and links are objects read on every request.
 *
 *   blobs/<alg>/<hex>                                  verified content, written once (idempotent)
 *   repositories/<name>/_layers/<alg>/<hex>             link
 *   repositories/<name>/_manifests/revisions/<alg>/<hex> link holding the media type
 *   repositories/<name>/_manifests/tags/<tag>           the digest (last writer wins)
 *   repositories/<name>/_manifests/referrers/<alg>/<subject>/<alg>/<hex>
 *   uploads/<uuid>/…                                   upload sessions
 */
import { Readable } from 'node:stream';
import { errors } from '../errors.js';
import { algorithmOf, digestOf } from '../names.js';
import type { ParsedManifest } from '../manifest.js';
import type { Descriptor } from '../../core/wire/descriptor.js';
import type { RegistryStorage, StoredManifest, UploadInfo } from './types.js';
import { Bucket } from './s3-client.js';
import { S3Uploads } from './s3-uploads.js';
import type { S3Settings } from './config.js';
import { log } from '../../core/log.js';

/** Lifetime of a presigned blob URL (Distribution uses 20 minutes). */
const REDIRECT_SECONDS = 10 * 60;

function split(d: string): string {
  const i = d.indexOf(':');
  return `${d.slice(0, i)}/${d.slice(i + 1)}`;
}

export class S3Storage implements RegistryStorage {
  readonly bucket: Bucket;
  private readonly up: S3Uploads;

  constructor(readonly settings: S3Settings) {
    this.bucket = new Bucket(settings);
    this.up = new S3Uploads(this.bucket, (name, digest) => this.linkLayer(name, digest));
  }

  describe(): string {
    const s = this.settings;
    return `s3 bucket ${s.bucket}${s.prefix ? ` prefix ${s.prefix}` : ''}${s.endpoint ? ` at ${s.endpoint}` : ''}${s.redirect ? ', redirects' : ''}`;
  }

  /** Check the bucket; a bucket that does not answer is logged, not fatal: requests get 503 until it does. */
  async init(): Promise<void> {
    try {
      await this.bucket.check();
    } catch (err) {
      log.warn(`registry storage: ${(err as Error).message}`);
    }
  }

  // ---- blobs -------------------------------------------------------------

  private blobKey(digest: string): string {
    return `blobs/${split(digest)}`;
  }

  blobSize(digest: string): Promise<number | undefined> {
    return this.bucket.size(this.blobKey(digest));
  }

  async allBlobs(): Promise<string[]> {
    return (await this.bucket.list('blobs/')).map((k) => k.replace('/', ':')).filter((d) => d.includes(':'));
  }

  async removeBlob(digest: string): Promise<void> {
    await this.bucket.del(this.blobKey(digest));
  }

  async putBlobBytes(data: Buffer, digest: string): Promise<void> {
    if (digestOf(algorithmOf(digest), data) !== digest) throw errors.digestInvalid('provided digest did not match uploaded content', { digest });
    if ((await this.blobSize(digest)) === data.length) return;
    await this.bucket.put(this.blobKey(digest), data);
  }

  readBlob(digest: string): Promise<Buffer | undefined> {
    return this.bucket.get(this.blobKey(digest));
  }

  /** The bytes come from S3 only once the stream is read; destroying it ends the S3 request. */
  openBlob(digest: string, start?: number, end?: number): Readable {
    const bucket = this.bucket;
    const key = this.blobKey(digest);
    return Readable.from(
      (async function* () {
        const body = await bucket.stream(key, start, end);
        if (!body) throw errors.blobUnknown(digest);
        for await (const chunk of body) yield chunk as Buffer;
      })(),
      { objectMode: false },
    );
  }

  async blobRedirectUrl(digest: string): Promise<string | undefined> {
    if (!this.settings.redirect) return undefined;
    return this.bucket.presignGet(this.blobKey(digest), REDIRECT_SECONDS);
  }

  // ---- repositories and links ---------------------------------------------

  private repo(name: string): string {
    return `repositories/${name}/`;
  }
  private layerLink(name: string, d: string): string {
    return `${this.repo(name)}_layers/${split(d)}`;
  }
  private revisionLink(name: string, d: string): string {
    return `${this.repo(name)}_manifests/revisions/${split(d)}`;
  }
  private tagLink(name: string, tag: string): string {
    return `${this.repo(name)}_manifests/tags/${tag}`;
  }
  private referrersDir(name: string, subject: string): string {
    return `${this.repo(name)}_manifests/referrers/${split(subject)}/`;
  }

  async repoExists(name: string): Promise<boolean> {
    return (await this.bucket.any(`${this.repo(name)}_layers/`)) || (await this.bucket.any(`${this.repo(name)}_manifests/`));
  }

  /** Idempotent: the link's content is its name, so writing it again changes nothing. */
  async linkLayer(name: string, digest: string): Promise<void> {
    await this.bucket.put(this.layerLink(name, digest), digest, 'text/plain');
  }

  async repoBlobSize(name: string, digest: string): Promise<number | undefined> {
    if (!(await this.bucket.exists(this.layerLink(name, digest))) && !(await this.bucket.exists(this.revisionLink(name, digest)))) return undefined;
    return this.blobSize(digest);
  }

  async unlinkLayer(name: string, digest: string): Promise<boolean> {
    const k = this.layerLink(name, digest);
    if (!(await this.bucket.exists(k))) return false;
    await this.bucket.del(k);
    return true;
  }

  async layers(name: string): Promise<string[]> {
    return (await this.bucket.list(`${this.repo(name)}_layers/`)).map((k) => k.replace('/', ':'));
  }

  /** Every repository: the names before `/_layers/` or `/_manifests/` in the keys under repositories/. */
  async repositories(): Promise<string[]> {
    const out = new Set<string>();
    for (const k of await this.bucket.list('repositories/')) {
      const m = /^(.+?)\/_(?:layers|manifests)\//.exec(k);
      if (m) out.add(m[1]!);
    }
    return [...out].sort();
  }

  // ---- manifests, tags, referrers ------------------------------------------

  async putManifest(name: string, body: Buffer, digest: string, parsed: ParsedManifest, tags: string[], referrer?: Descriptor): Promise<void> {
    await this.putBlobBytes(body, digest);
    await this.bucket.put(this.revisionLink(name, digest), parsed.mediaType, 'text/plain');
    if (parsed.subject && referrer) {
      await this.bucket.put(this.referrersDir(name, parsed.subject.digest) + split(digest), JSON.stringify(referrer), 'application/json');
    }
    for (const tag of tags) await this.bucket.put(this.tagLink(name, tag), digest, 'text/plain');
  }

  async hasManifest(name: string, digest: string): Promise<boolean> {
    return (await this.bucket.exists(this.revisionLink(name, digest))) && (await this.bucket.exists(this.blobKey(digest)));
  }

  async getManifest(name: string, ref: string, isDigest: boolean): Promise<StoredManifest | undefined> {
    let digest = ref;
    if (!isDigest) {
      const d = await this.bucket.getText(this.tagLink(name, ref));
      if (!d) return undefined;
      digest = d.trim();
    }
    const mediaType = await this.bucket.getText(this.revisionLink(name, digest));
    if (mediaType === undefined) return undefined;
    const body = await this.readBlob(digest);
    if (!body) return undefined;
    return { digest, mediaType: mediaType.trim(), size: body.length, body };
  }

  async tags(name: string): Promise<Array<{ tag: string; digest: string }>> {
    const base = `${this.repo(name)}_manifests/tags/`;
    const out: Array<{ tag: string; digest: string }> = [];
    for (const tag of (await this.bucket.list(base)).filter((t) => !t.includes('/')).sort()) {
      const d = await this.bucket.getText(base + tag);
      if (d) out.push({ tag, digest: d.trim() });
    }
    return out;
  }

  /** The tag object's LastModified: it is rewritten on every push of the tag. */
  async tagTime(name: string, tag: string): Promise<Date | undefined> {
    return this.bucket.modified(this.tagLink(name, tag));
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const k = this.tagLink(name, tag);
    if (!(await this.bucket.exists(k))) return false;
    await this.bucket.del(k);
    return true;
  }

  async revisions(name: string): Promise<Array<{ digest: string; mediaType: string }>> {
    const base = `${this.repo(name)}_manifests/revisions/`;
    const out: Array<{ digest: string; mediaType: string }> = [];
    for (const k of await this.bucket.list(base)) {
      out.push({ digest: k.replace('/', ':'), mediaType: ((await this.bucket.getText(base + k)) ?? '').trim() });
    }
    return out;
  }

  async deleteManifest(name: string, digest: string, subject?: string): Promise<boolean> {
    if (!(await this.bucket.exists(this.revisionLink(name, digest)))) return false;
    for (const { tag, digest: d } of await this.tags(name)) if (d === digest) await this.deleteTag(name, tag);
    if (subject) await this.bucket.del(this.referrersDir(name, subject) + split(digest));
    await this.bucket.del(this.revisionLink(name, digest));
    return true;
  }

  async referrers(name: string, subject: string): Promise<Descriptor[]> {
    const base = this.referrersDir(name, subject);
    const out: Descriptor[] = [];
    for (const k of (await this.bucket.list(base)).sort()) {
      const digest = k.replace('/', ':');
      // A referrer whose manifest is gone is not listed.
      if (!(await this.bucket.exists(this.revisionLink(name, digest)))) continue;
      const text = await this.bucket.getText(base + k);
      if (!text) continue;
      try {
        out.push(JSON.parse(text) as Descriptor);
      } catch {
        /* an object edited by hand */
      }
    }
    return out;
  }

  // ---- uploads (storage/s3-uploads.ts) --------------------------------------

  startUpload(name: string, alg: string): Promise<UploadInfo> {
    return this.up.start(name, alg);
  }
  upload(name: string, id: string): Promise<UploadInfo> {
    return this.up.get(name, id);
  }
  lockUpload<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.up.lock(id, fn);
  }
  appendUpload(u: UploadInfo, body: Readable): Promise<number> {
    return this.up.append(u, body);
  }
  completeUpload(u: UploadInfo, digest: string): Promise<void> {
    return this.up.complete(u, digest, this.blobKey(digest));
  }
  cancelUpload(id: string): Promise<void> {
    return this.up.cancel(id);
  }
  purgeUploads(maxAgeMs: number): Promise<number> {
    return this.up.purge(maxAgeMs);
  }
  async touchUpload(_id: string): Promise<void> {
    /* every append rewrites the session's state with its time */
  }
}
