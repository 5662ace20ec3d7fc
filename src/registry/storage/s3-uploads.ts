/**
 * Upload sessions of the S3 driver, kept whole in the bucket so any replica
 * can continue any session (and a replica killed mid-request loses nothing it
 * acknowledged):
 *
 *   uploads/<uuid>/state.json     name, algorithm, times, the S3 multipart upload id,
 *                                 its finished parts, and the pending tail
 *   uploads/<uuid>/pending-<gen>  bytes received but not yet a part (S3 parts are ≥ 5 MiB
 *                                 except the last), named by generation so that a state
 *                                 never points at bytes a later, unfinished request wrote
 *   uploads/<uuid>/data           the assembled object, at completion only
 *
 * A PATCH streams its body into parts of PART_SIZE, writes the new tail, and
 * then the new state: the state is the commit point, so a request that breaks
 * off changes nothing (its parts are overwritten by the next request's part
 * numbers). At completion the digest is checked — against the running hash if
 * this replica saw every byte of the session, else by reading the assembled
 * object back — before the object is copied to blobs/ (idempotent: same key,
 * same bytes, whoever wins).
 */
import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { KeyedMutex } from '../../core/mutex.js';
import { log } from '../../core/log.js';
import { errors } from '../errors.js';
import { algorithmOf, hasherFor, digestOf } from '../names.js';
import type { UploadInfo } from './types.js';
import type { Bucket, Part } from './s3-client.js';

/** Size of the parts a PATCH body is cut into (S3's minimum is 5 MiB). */
export const PART_SIZE = 8 << 20;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface UploadState {
  name: string;
  alg: string;
  started: string;
  updated: string;
  gen: number;
  multipart?: string;
  parts: Part[];
  pending: { key?: string; size: number };
}

interface HashState {
  alg: string;
  hash: Hash;
  offset: number;
}

export class S3Uploads {
  /** Running hashes: only a cache, valid while `offset` equals the session's stored size. */
  private readonly hashes = new Map<string, HashState>();
  private readonly locks = new KeyedMutex();
  private readonly states = new WeakMap<UploadInfo, UploadState>();

  constructor(
    private readonly bucket: Bucket,
    private readonly link: (name: string, digest: string) => Promise<void>,
  ) {}

  private dir(id: string): string {
    return `uploads/${id}/`;
  }

  private info(id: string, st: UploadState): UploadInfo {
    const u: UploadInfo = { id, name: st.name, alg: st.alg, started: st.started, size: sizeOf(st) };
    this.states.set(u, st);
    return u;
  }

  private async save(id: string, st: UploadState): Promise<void> {
    st.updated = new Date().toISOString();
    await this.bucket.put(`${this.dir(id)}state.json`, JSON.stringify(st), 'application/json');
  }

  private async load(id: string): Promise<UploadState | undefined> {
    const text = await this.bucket.getText(`${this.dir(id)}state.json`);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as UploadState;
    } catch {
      return undefined;
    }
  }

  async start(name: string, alg: string): Promise<UploadInfo> {
    const id = randomUUID();
    const now = new Date().toISOString();
    const st: UploadState = { name, alg, started: now, updated: now, gen: 0, parts: [], pending: { size: 0 } };
    await this.save(id, st);
    this.hashes.set(id, { alg, hash: hasherFor(alg), offset: 0 });
    return this.info(id, st);
  }

  async get(name: string, id: string): Promise<UploadInfo> {
    if (!UUID_RE.test(id)) throw errors.uploadUnknown(id);
    const st = await this.load(id);
    if (!st || st.name !== name) throw errors.uploadUnknown(id);
    return this.info(id, st);
  }

  lock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  private async stateOf(u: UploadInfo): Promise<UploadState> {
    const st = this.states.get(u) ?? (await this.load(u.id));
    if (!st) throw errors.uploadUnknown(u.id);
    return st;
  }

  private async pendingBytes(st: UploadState): Promise<Buffer> {
    if (!st.pending.size || !st.pending.key) return Buffer.alloc(0);
    const b = await this.bucket.get(st.pending.key);
    if (!b || b.length < st.pending.size) throw errors.uploadUnknown('pending bytes of the upload are missing');
    return b.subarray(0, st.pending.size);
  }

  async append(u: UploadInfo, body: Readable): Promise<number> {
    const st = await this.stateOf(u);
    let hs = this.hashes.get(u.id);
    if (hs && hs.offset !== u.size) hs = undefined;
    this.hashes.delete(u.id);
    const dataKey = `${this.dir(u.id)}data`;
    const next: UploadState = { ...st, parts: [...st.parts], pending: { ...st.pending }, gen: st.gen + 1 };
    const pending = await this.pendingBytes(st);
    let buf: Buffer[] = pending.length ? [pending] : [];
    let bufLen = pending.length;
    let written = 0;
    const flush = async () => {
      const whole = Buffer.concat(buf, bufLen);
      buf = [];
      bufLen = 0;
      if (!next.multipart) {
        next.multipart = await this.bucket.createMultipart(dataKey);
        // Remember the multipart upload at once, so that purging can abort it even if this request dies.
        await this.save(u.id, { ...st, multipart: next.multipart });
      }
      next.parts.push(await this.bucket.uploadPart(dataKey, next.multipart, next.parts.length + 1, whole));
    };
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hs?.hash.update(chunk);
      written += chunk.length;
      buf.push(chunk);
      bufLen += chunk.length;
      if (bufLen >= PART_SIZE) await flush();
    }
    if (written === 0) return u.size;
    const oldPending = st.pending.key;
    if (bufLen > 0) {
      next.pending = { key: `${this.dir(u.id)}pending-${next.gen}`, size: bufLen };
      await this.bucket.put(next.pending.key!, Buffer.concat(buf, bufLen));
    } else next.pending = { size: 0 };
    await this.save(u.id, next);
    if (oldPending && oldPending !== next.pending.key) await this.bucket.del(oldPending).catch(() => {});
    this.states.set(u, next);
    u.size = sizeOf(next);
    if (hs) this.hashes.set(u.id, { ...hs, offset: u.size });
    return u.size;
  }

  async complete(u: UploadInfo, digest: string, blobKey: string): Promise<void> {
    const st = await this.stateOf(u);
    const alg = algorithmOf(digest);
    const hs = this.hashes.get(u.id);
    this.hashes.delete(u.id);
    const cached = hs && hs.offset === u.size && hs.alg === alg ? `${alg}:${hs.hash.digest('hex')}` : undefined;
    const size = sizeOf(st);
    if (!st.multipart) {
      // Everything is in the pending tail: small, checked in memory.
      const bytes = await this.pendingBytes(st);
      const actual = digestOf(alg, bytes);
      if (actual !== digest) return this.refuse(u.id, digest, actual);
      if ((await this.bucket.size(blobKey)) !== size) await this.bucket.put(blobKey, bytes);
    } else {
      const dataKey = `${this.dir(u.id)}data`;
      const parts = [...st.parts];
      try {
        const tail = await this.pendingBytes(st);
        if (tail.length) parts.push(await this.bucket.uploadPart(dataKey, st.multipart, parts.length + 1, tail));
        await this.bucket.completeMultipart(dataKey, st.multipart, parts);
      } catch (err) {
        // A completion that died after assembling the object (its multipart upload is gone) finds the object there.
        if ((await this.bucket.size(dataKey)) !== size) throw err;
      }
      const actual = cached ?? (await this.hashObject(dataKey, alg));
      if (actual !== digest) return this.refuse(u.id, digest, actual);
      if ((await this.bucket.size(blobKey)) !== size) await this.bucket.copy(dataKey, blobKey);
    }
    await this.link(u.name, digest);
    await this.bucket.delPrefix(this.dir(u.id));
  }

  private async hashObject(key: string, alg: string): Promise<string> {
    const h = hasherFor(alg);
    const body = await this.bucket.stream(key);
    if (!body) throw errors.uploadUnknown('assembled upload is missing');
    for await (const chunk of body) h.update(chunk as Buffer);
    return `${alg}:${h.digest('hex')}`;
  }

  /** A wrong digest ends the session, as Distribution does; nothing is stored. */
  private async refuse(id: string, digest: string, actual: string): Promise<never> {
    await this.cancel(id);
    throw errors.digestInvalid('provided digest did not match uploaded content', { digest, actual });
  }

  async cancel(id: string): Promise<void> {
    this.hashes.delete(id);
    const st = await this.load(id);
    // Not every S3-compatible server implements AbortMultipartUpload (s3rver does not): its parts are then left
    // to the bucket's own expiry of incomplete multipart uploads, and the session still ends.
    if (st?.multipart) {
      await this.bucket
        .abortMultipart(`${this.dir(id)}data`, st.multipart)
        .catch((err) => log.debug('abort multipart upload failed', { id, error: (err as Error).message }));
    }
    await this.bucket.delPrefix(this.dir(id));
  }

  /** Drop sessions whose state was last written more than `maxAgeMs` ago (or whose state is gone). */
  async purge(maxAgeMs: number): Promise<number> {
    let n = 0;
    for (const id of await this.bucket.dirs('uploads/')) {
      const st = await this.load(id);
      if (st && Date.now() - Date.parse(st.updated) <= maxAgeMs) continue;
      await this.cancel(id);
      n++;
    }
    return n;
  }
}

function sizeOf(st: UploadState): number {
  return st.parts.reduce((n, p) => n + p.size, 0) + st.pending.size;
}
