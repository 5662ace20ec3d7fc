/**
 * The filesystem driver of the registry's storage seam (storage.ts), laid out so that a crash at any instant
 * leaves nothing half-visible:
 *
 *   blobs/<alg>/<hex>                                   verified content (layers, configs, manifests)
 *   uploads/<uuid>/{info.json,data}                     upload sessions; never visible as blobs
 *   repositories/<name>/_layers/<alg>/<hex>              link: the repository may serve this blob
 *   repositories/<name>/_manifests/revisions/<alg>/<hex> link: a manifest of the repository (holds its media type)
 *   repositories/<name>/_manifests/tags/<tag>            the digest a tag points at
 *   repositories/<name>/_manifests/referrers/<alg>/<subject-hex>/<alg>/<hex>
 *                                                        the referrer's descriptor (referrers API)
 *
 * A blob is written to its upload directory, fsynced, checked against its
 * digest and size, and only then renamed into blobs/. Links are written after
 * the bytes they name, each atomically (temp file, fsync, rename).
 *
 * Over 400 lines because blobs, repository links and uploads are one layout whose crash-safe ordering spans them.
 */
import { mkdir, readFile, readdir, rename, rm, stat, unlink, open, utimes } from 'node:fs/promises';
import { createWriteStream, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { randomUUID, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic, fsyncDir } from '../../core/atomic.js';
import { KeyedMutex } from '../../core/mutex.js';
import { errors } from '../errors.js';
import { algorithmOf, hasherFor, digestOf } from '../names.js';
import type { ParsedManifest } from '../manifest.js';
import type { Descriptor } from '../../core/wire/descriptor.js';
import type { RegistryStorage, StoredManifest, UploadInfo } from './types.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

function splitDigest(d: string): [string, string] {
  const i = d.indexOf(':');
  return [d.slice(0, i), d.slice(i + 1)];
}

/** Hash state of an upload kept between requests, valid while `offset` equals the data file's size. */
interface HashState {
  alg: string;
  hash: Hash;
  offset: number;
}

export class FsStorage implements RegistryStorage {
  private readonly hashes = new Map<string, HashState>();
  private readonly uploadLocks = new KeyedMutex();

  constructor(readonly root: string) {}

  describe(): string {
    return `root ${this.root}`;
  }

  async init(): Promise<void> {
    for (const d of ['blobs', 'uploads', 'repositories']) await mkdir(join(this.root, d), { recursive: true });
  }

  // ---- blobs -------------------------------------------------------------

  blobPath(digest: string): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.root, 'blobs', alg, hex);
  }

  /** The size of a stored blob, or undefined. */
  async blobSize(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  async allBlobs(): Promise<string[]> {
    const out: string[] = [];
    for (const alg of await list(join(this.root, 'blobs'))) {
      for (const hex of await list(join(this.root, 'blobs', alg))) out.push(`${alg}:${hex}`);
    }
    return out;
  }

  async removeBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** Move a verified, fsynced file into blobs/ (a blob that is already there wins). */
  private async commitFile(file: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    const dir = join(dest, '..');
    await mkdir(dir, { recursive: true });
    if (await exists(dest)) {
      await rm(file, { force: true });
      return;
    }
    await rename(file, dest);
    await fsyncDir(dir);
  }

  /** Store bytes held in memory (manifests) as a blob after checking their digest. */
  async putBlobBytes(data: Buffer, digest: string): Promise<void> {
    if (digestOf(algorithmOf(digest), data) !== digest) throw errors.digestInvalid('provided digest did not match uploaded content', { digest });
    if ((await this.blobSize(digest)) === data.length) return;
    const tmpDir = join(this.root, 'uploads', `.put-${randomUUID()}`);
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, 'data');
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.commitFile(tmp, digest);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  async readBlob(digest: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.blobPath(digest));
    } catch {
      return undefined;
    }
  }

  openBlob(digest: string, start?: number, end?: number): Readable {
    return createReadStream(this.blobPath(digest), { start, end, highWaterMark: 256 << 10 });
  }

  // ---- repositories and links ---------------------------------------------

  repoDir(name: string): string {
    return join(this.root, 'repositories', ...name.split('/'));
  }
  private layerLink(name: string, d: string): string {
    return join(this.repoDir(name), '_layers', ...splitDigest(d));
  }
  private revisionLink(name: string, d: string): string {
    return join(this.repoDir(name), '_manifests', 'revisions', ...splitDigest(d));
  }
  private tagLink(name: string, tag: string): string {
    return join(this.repoDir(name), '_manifests', 'tags', tag);
  }
  private referrersDir(name: string, subject: string): string {
    return join(this.repoDir(name), '_manifests', 'referrers', ...splitDigest(subject));
  }

  async repoExists(name: string): Promise<boolean> {
    return exists(this.repoDir(name));
  }

  async linkLayer(name: string, digest: string): Promise<void> {
    const p = this.layerLink(name, digest);
    if (!(await exists(p))) await writeFileAtomic(p, digest);
  }

  /** The size of a blob this repository may serve (a linked layer or one of its manifests). */
  async repoBlobSize(name: string, digest: string): Promise<number | undefined> {
    if (!(await exists(this.layerLink(name, digest))) && !(await exists(this.revisionLink(name, digest)))) return undefined;
    return this.blobSize(digest);
  }

  async unlinkLayer(name: string, digest: string): Promise<boolean> {
    try {
      await unlink(this.layerLink(name, digest));
      return true;
    } catch {
      return false;
    }
  }

  async layers(name: string): Promise<string[]> {
    const out: string[] = [];
    const base = join(this.repoDir(name), '_layers');
    for (const alg of await list(base)) for (const hex of await list(join(base, alg))) out.push(`${alg}:${hex}`);
    return out;
  }

  /** Every repository, in ASCII order: directories under repositories/ that hold `_manifests` or `_layers`. */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await list(dir);
      if (entries.includes('_manifests') || entries.includes('_layers')) out.push(prefix);
      for (const e of entries) {
        if (e.startsWith('_')) continue;
        await walk(join(dir, e), prefix ? `${prefix}/${e}` : e);
      }
    };
    await walk(join(this.root, 'repositories'), '');
    return out.filter((n) => n !== '').sort();
  }

  // ---- manifests, tags, referrers ------------------------------------------

  /**
   * Store a manifest: its bytes as a blob, then the revision link, the
   * referrer entry for its subject, and the tags, in that order.
   */
  async putManifest(name: string, body: Buffer, digest: string, parsed: ParsedManifest, tags: string[], referrer?: Descriptor): Promise<void> {
    await this.putBlobBytes(body, digest);
    await writeFileAtomic(this.revisionLink(name, digest), parsed.mediaType);
    if (parsed.subject && referrer) {
      await writeFileAtomic(join(this.referrersDir(name, parsed.subject.digest), ...splitDigest(digest)), JSON.stringify(referrer));
    }
    for (const tag of tags) await writeFileAtomic(this.tagLink(name, tag), digest);
  }

  async hasManifest(name: string, digest: string): Promise<boolean> {
    return (await exists(this.revisionLink(name, digest))) && (await exists(this.blobPath(digest)));
  }

  /** Resolve a tag or digest to the stored manifest, or undefined. */
  async getManifest(name: string, ref: string, isDigest: boolean): Promise<StoredManifest | undefined> {
    let digest = ref;
    if (!isDigest) {
      const d = await readText(this.tagLink(name, ref));
      if (!d) return undefined;
      digest = d.trim();
    }
    const mediaType = await readText(this.revisionLink(name, digest));
    if (mediaType === undefined) return undefined;
    let body: Buffer;
    try {
      body = await readFile(this.blobPath(digest));
    } catch {
      return undefined;
    }
    return { digest, mediaType: mediaType.trim(), size: body.length, body };
  }

  async tags(name: string): Promise<Array<{ tag: string; digest: string }>> {
    const dir = join(this.repoDir(name), '_manifests', 'tags');
    const out: Array<{ tag: string; digest: string }> = [];
    for (const tag of (await list(dir)).sort()) {
      const d = await readText(join(dir, tag));
      if (d) out.push({ tag, digest: d.trim() });
    }
    return out;
  }

  /** The tag link's modification time: it is rewritten on every push of the tag. */
  async tagTime(name: string, tag: string): Promise<Date | undefined> {
    try {
      return (await stat(this.tagLink(name, tag))).mtime;
    } catch {
      return undefined;
    }
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    try {
      await unlink(this.tagLink(name, tag));
      return true;
    } catch {
      return false;
    }
  }

  async revisions(name: string): Promise<Array<{ digest: string; mediaType: string }>> {
    const base = join(this.repoDir(name), '_manifests', 'revisions');
    const out: Array<{ digest: string; mediaType: string }> = [];
    for (const alg of await list(base)) {
      for (const hex of await list(join(base, alg))) {
        out.push({ digest: `${alg}:${hex}`, mediaType: ((await readText(join(base, alg, hex))) ?? '').trim() });
      }
    }
    return out;
  }

  /** Delete a manifest from a repository: its tags, its referrer entry, then its revision link. */
  async deleteManifest(name: string, digest: string, subject?: string): Promise<boolean> {
    if (!(await exists(this.revisionLink(name, digest)))) return false;
    for (const { tag, digest: d } of await this.tags(name)) if (d === digest) await this.deleteTag(name, tag);
    if (subject) await rm(join(this.referrersDir(name, subject), ...splitDigest(digest)), { force: true });
    await unlink(this.revisionLink(name, digest));
    return true;
  }

  async referrers(name: string, subject: string): Promise<Descriptor[]> {
    const base = this.referrersDir(name, subject);
    const out: Descriptor[] = [];
    for (const alg of await list(base)) {
      for (const hex of (await list(join(base, alg))).sort()) {
        const text = await readText(join(base, alg, hex));
        if (!text) continue;
        // A referrer whose manifest is gone is not listed.
        if (!(await exists(this.revisionLink(name, `${alg}:${hex}`)))) continue;
        try {
          out.push(JSON.parse(text) as Descriptor);
        } catch {
          /* torn entries cannot exist (atomic writes); skip if edited by hand */
        }
      }
    }
    return out;
  }

  // ---- uploads ------------------------------------------------------------

  private uploadDir(id: string): string {
    return join(this.root, 'uploads', id);
  }

  async startUpload(name: string, alg: string): Promise<UploadInfo> {
    const id = randomUUID();
    const dir = this.uploadDir(id);
    await mkdir(dir, { recursive: true });
    const started = new Date().toISOString();
    await (await open(join(dir, 'data'), 'w', 0o644)).close();
    await writeFileAtomic(join(dir, 'info.json'), JSON.stringify({ name, alg, started }));
    this.hashes.set(id, { alg, hash: hasherFor(alg), offset: 0 });
    return { id, name, alg, started, size: 0 };
  }

  /** The upload session `id` of repository `name`, or BLOB_UPLOAD_UNKNOWN. */
  async upload(name: string, id: string): Promise<UploadInfo> {
    if (!UUID_RE.test(id)) throw errors.uploadUnknown(id);
    const text = await readText(join(this.uploadDir(id), 'info.json'));
    if (!text) throw errors.uploadUnknown(id);
    const info = JSON.parse(text) as Omit<UploadInfo, 'id' | 'size'>;
    if (info.name !== name) throw errors.uploadUnknown(id);
    let size = 0;
    try {
      size = (await stat(join(this.uploadDir(id), 'data'))).size;
    } catch {
      throw errors.uploadUnknown(id);
    }
    return { id, ...info, size };
  }

  /** Serialise requests on one upload session. */
  lockUpload<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.uploadLocks.run(id, fn);
  }

  /**
   * Append a request body to an upload (caller holds the upload lock). The
   * hash advances with the bytes written; if the body breaks off, the state is
   * dropped and recomputed from the file when needed.
   */
  async appendUpload(u: UploadInfo, body: Readable): Promise<number> {
    const file = join(this.uploadDir(u.id), 'data');
    let st = this.hashes.get(u.id);
    if (st && st.offset !== u.size) st = undefined;
    this.hashes.delete(u.id);
    let written = 0;
    const hash = st?.hash;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash?.update(chunk);
        written += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(body, tap, createWriteStream(file, { flags: 'a', highWaterMark: 1 << 20 }));
    const size = u.size + written;
    if (st) this.hashes.set(u.id, { ...st, offset: size });
    u.size = size;
    return size;
  }

  /** Finish an upload: check digest (and the bytes' hash), move it into blobs/, link it into the repository. */
  async completeUpload(u: UploadInfo, digest: string): Promise<void> {
    const dir = this.uploadDir(u.id);
    const file = join(dir, 'data');
    const alg = algorithmOf(digest);
    const st = this.hashes.get(u.id);
    let actual: string;
    if (st && st.offset === u.size && st.alg === alg) actual = `${alg}:${st.hash.digest('hex')}`;
    else actual = await hashFile(file, alg);
    this.hashes.delete(u.id);
    if (actual !== digest) {
      // The session stays usable only if the bytes are still whole; a wrong digest ends it, as Distribution does.
      await this.cancelUpload(u.id);
      throw errors.digestInvalid('provided digest did not match uploaded content', { digest, actual });
    }
    const fh = await open(file, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commitFile(file, digest);
    await this.linkLayer(u.name, digest);
    await rm(dir, { recursive: true, force: true });
  }

  async cancelUpload(id: string): Promise<void> {
    this.hashes.delete(id);
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  /** Remove upload sessions (and half-written manifest temp dirs) older than `maxAgeMs`. */
  async purgeUploads(maxAgeMs: number): Promise<number> {
    let n = 0;
    const base = join(this.root, 'uploads');
    for (const id of await readdir(base).catch(() => [] as string[])) {
      try {
        const s = await stat(join(base, id));
        if (Date.now() - s.mtimeMs > maxAgeMs) {
          await rm(join(base, id), { recursive: true, force: true });
          this.hashes.delete(id);
          n++;
        }
      } catch {
        /* raced with completion */
      }
    }
    return n;
  }

  /** Mark an upload as recently used (its directory mtime drives purging). */
  async touchUpload(id: string): Promise<void> {
    const now = new Date();
    await utimes(this.uploadDir(id), now, now).catch(() => {});
  }
}

export async function hashFile(file: string, alg: string): Promise<string> {
  const h = hasherFor(alg);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `${alg}:${h.digest('hex')}`;
}
