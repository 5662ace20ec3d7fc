/**
 * The content store: every blob by digest, OCI image layout style.
 *
 *   <root>/blobs/sha256/<hex>   verified blobs, immutable
 *   <root>/ingest/<ref>         partial writes; never visible as blobs
 *
 * Lifecycle of a write: writer() → write chunks → commit(expected) which
 * checks size and digest, fsyncs and renames into blobs/. abort() or a crash
 * leaves only an ingest file, which init() sweeps away.
 *
 * Downloads use a resumable ingest instead (ingest/sha256-<hex>, named by the
 * digest they should become): it survives interruptions and daemon restarts,
 * and the next attempt continues from the bytes already there.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, readFile, unlink, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, type Hash } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, hexOf, newHasher, isDigest } from '../core/digest.js';
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { fsyncDir } from '../core/atomic.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface Expected {
  digest?: Digest;
  size?: number;
}

/** An open ingest: bytes are hashed as they are written. */
export class ContentWriter extends Writable {
  private readonly hash: Hash = newHasher();
  private readonly file: WriteStream;
  private bytes = 0;
  private done = false;

  constructor(
    private readonly store: ContentStore,
    readonly ingestPath: string,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.file = createWriteStream(ingestPath, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
    this.file.on('error', (e) => this.destroy(e));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.file.write(chunk)) cb();
    else this.file.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.file.end(() => cb());
  }

  get size(): number {
    return this.bytes;
  }

  private digestValue?: Digest;

  /** Digest of everything written; only once the writable side has finished. */
  get digest(): Digest {
    if (!this.writableFinished) throw new Error('content writer: digest before finish');
    return (this.digestValue ??= 'sha256:' + this.hash.digest('hex'));
  }

  /**
   * Verify and publish. The writable side must have finished (await
   * `finished(writer)` or pipeline). Throws 400 on a size or digest mismatch,
   * leaving nothing behind.
   */
  async commit(expected: Expected = {}): Promise<BlobInfo> {
    if (this.done) throw new Error('content writer already committed');
    this.done = true;
    const digest = this.digest;
    try {
      if (expected.size !== undefined && expected.size !== this.bytes) {
        throw new InvalidArgumentError(`unexpected size for blob ${expected.digest ?? digest}: got ${this.bytes} bytes, expected ${expected.size}`);
      }
      if (expected.digest !== undefined && expected.digest !== digest) {
        throw new InvalidArgumentError(`digest mismatch: expected ${expected.digest}, got ${digest}`);
      }
      const fh = await open(this.ingestPath, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.store.publish(this.ingestPath, digest);
      return { digest, size: this.bytes };
    } catch (err) {
      await unlink(this.ingestPath).catch(() => {});
      throw err;
    }
  }

  /** Throw the partial write away. */
  async abort(): Promise<void> {
    this.done = true;
    if (!this.destroyed) this.destroy();
    if (!this.file.closed) this.file.destroy();
    await new Promise<void>((r) => (this.file.closed ? r() : this.file.once('close', () => r())));
    await unlink(this.ingestPath).catch(() => {});
  }
}

const RESUMABLE_RE = /^sha256-[a-f0-9]{64}$/;

/**
 * A download into the store that can be interrupted and continued: open()
 * re-hashes what an earlier attempt left, `offset` says where to continue,
 * append() adds bytes, commit() verifies size and digest and publishes.
 * One writer per digest at a time (the caller serialises).
 */
export class ResumableIngest {
  private hash: Hash = newHasher();
  private closed = false;

  private constructor(
    readonly store: ContentStore,
    readonly digest: Digest,
    readonly path: string,
    private fh: FileHandle,
    public offset: number,
  ) {}

  static async open(store: ContentStore, digest: Digest): Promise<ResumableIngest> {
    if (!isDigest(digest)) throw new InvalidArgumentError(`invalid digest: ${digest}`);
    const path = join(store.ingestDir, 'sha256-' + hexOf(digest));
    const fh = await open(path, 'a+', 0o600);
    const w = new ResumableIngest(store, digest, path, fh, 0);
    const size = (await fh.stat()).size;
    if (size > 0) {
      await pipeline(
        createReadStream('', { fd: fh.fd, start: 0, end: size - 1, autoClose: false, highWaterMark: 1 << 20 }),
        new Writable({
          write(c: Buffer, _e, cb) {
            w.hash.update(c);
            cb();
          },
        }),
      );
      w.offset = size;
    }
    return w;
  }

  async append(chunk: Buffer): Promise<void> {
    let done = 0;
    while (done < chunk.length) done += (await this.fh.write(chunk, done, chunk.length - done, null)).bytesWritten;
    this.hash.update(chunk);
    this.offset += chunk.length;
  }

  /** Drop what is there and start over. */
  async reset(): Promise<void> {
    await this.fh.truncate(0);
    this.hash = newHasher();
    this.offset = 0;
  }

  /** Verify and publish; on a mismatch the partial file is thrown away (it can never become right). */
  async commit(expectedSize?: number): Promise<BlobInfo> {
    const got = 'sha256:' + this.hash.copy().digest('hex');
    try {
      if (expectedSize !== undefined && expectedSize !== this.offset) {
        throw new InvalidArgumentError(`unexpected size for blob ${this.digest}: got ${this.offset} bytes, expected ${expectedSize}`);
      }
      if (got !== this.digest) throw new InvalidArgumentError(`digest mismatch: expected ${this.digest}, got ${got}`);
      await this.fh.sync();
      await this.close();
      await this.store.publish(this.path, this.digest);
      return { digest: this.digest, size: this.offset };
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /** Stop writing; the bytes stay for a later attempt. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  async discard(): Promise<void> {
    await this.close();
    await unlink(this.path).catch(() => {});
  }
}

export class ContentStore {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  /** Create directories and drop partial writes a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
    // Partial downloads stay to be resumed; anonymous partial writes go.
    for (const name of await readdir(this.ingestDir)) {
      if (!RESUMABLE_RE.test(name)) await rm(join(this.ingestDir, name), { recursive: true, force: true });
    }
    // A crash between rename and directory fsync can leave a temp file in blobs/.
    for (const name of await readdir(this.blobsDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) await rm(join(this.blobsDir, name), { force: true });
    }
  }

  path(d: Digest): string {
    if (!isDigest(d)) throw new InvalidArgumentError(`invalid digest: ${d}`);
    return join(this.blobsDir, hexOf(d));
  }

  async info(d: Digest): Promise<BlobInfo | null> {
    try {
      const st = await stat(this.path(d));
      return { digest: d, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async has(d: Digest): Promise<boolean> {
    return (await this.info(d)) !== null;
  }

  async read(d: Digest): Promise<Buffer> {
    try {
      return await readFile(this.path(d));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${d} not found`);
      throw err;
    }
  }

  async readJson<T>(d: Digest): Promise<T> {
    return JSON.parse((await this.read(d)).toString('utf8')) as T;
  }

  createReadStream(d: Digest, opts: { start?: number; end?: number } = {}): Readable {
    return createReadStream(this.path(d), { ...opts, highWaterMark: 1 << 20 });
  }

  writer(): ContentWriter {
    return new ContentWriter(this, join(this.ingestDir, randomBytes(12).toString('hex')));
  }

  /** Store a whole buffer; verifies against `expected` when given. */
  async put(data: Uint8Array | string, expected: Expected = {}): Promise<BlobInfo> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const w = this.writer();
    w.end(buf);
    await new Promise<void>((res, rej) => {
      w.once('finish', res);
      w.once('error', rej);
    });
    return w.commit(expected);
  }

  /** Stream into the store; verifies against `expected` when given. */
  async ingest(src: Readable, expected: Expected = {}): Promise<BlobInfo> {
    const w = this.writer();
    try {
      await pipeline(src, w);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w.commit(expected);
  }

  /** A resumable ingest for a download of `digest`. */
  resumable(digest: Digest): Promise<ResumableIngest> {
    return ResumableIngest.open(this, digest);
  }

  /** Move a verified ingest file into blobs/. An existing blob is kept (same bytes). */
  async publish(ingestPath: string, d: Digest): Promise<void> {
    const target = this.path(d);
    if (await this.has(d)) {
      await unlink(ingestPath);
      return;
    }
    await rename(ingestPath, target);
    await fsyncDir(this.blobsDir);
  }

  async delete(d: Digest): Promise<void> {
    await rm(this.path(d), { force: true });
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const name of await readdir(this.blobsDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const st = await stat(join(this.blobsDir, name)).catch(() => null);
      if (st) out.push({ digest: 'sha256:' + name, size: st.size });
    }
    return out;
  }

  /** Re-hash a stored blob; true when its bytes still match its name. */
  async verify(d: Digest): Promise<boolean> {
    const h = newHasher();
    try {
      await pipeline(
        this.createReadStream(d),
        new Writable({
          write(c, _e, cb) {
            h.update(c);
            cb();
          },
        }),
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    return 'sha256:' + h.digest('hex') === d;
  }
}
