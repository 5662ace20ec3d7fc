/**
 * Where a build keeps its context while it runs: <data-root>/tmp/build/<id>/,
 * one private directory per build, removed when the build ends however it
 * ends, and swept at daemon start (what a killed daemon left).
 *
 * A context is decompressed as it streams in and unpacked to disk, never
 * held in memory; what it may unpack to is capped (max-build-context-size),
 * counting the uncompressed tar stream, headers included, so neither a
 * compression bomb nor a flood of empty entries can fill the disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { InvalidArgumentError } from '../../core/errors.js';
import { decompressStream, peek } from '../../archive/compression.js';
import { looksLikeTar } from '../../archive/tar-buffer.js';
import { unpackContext, writeLoneFile } from '../../dockerfile/unpack.js';

/** The default cap on what one build context may unpack to: 4 GiB. */
export const DEFAULT_MAX_CONTEXT_SIZE = 4 * 1024 ** 3;

export class ContextTooLargeError extends InvalidArgumentError {
  constructor(max: number) {
    super(`unable to prepare context: the build context is larger than the daemon's limit of ${humanBinary(max)} (max-build-context-size)`);
  }
}

function humanBinary(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}

/** Passes bytes through until more than `max` have gone by, then fails. */
function capped(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new ContextTooLargeError(max));
      else cb(null, chunk);
    },
  });
}

export class BuildSpool {
  constructor(
    readonly root: string,
    readonly maxContextSize = DEFAULT_MAX_CONTEXT_SIZE,
  ) {}

  /** Make the spool and empty it of what an earlier run left. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.root)) await rm(join(this.root, name), { recursive: true, force: true });
  }

  /** A fresh private directory for one build; the caller removes it with `release`. */
  async create(): Promise<string> {
    const dir = join(this.root, randomBytes(12).toString('hex'));
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  async release(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Unpack a context sent as bytes — a tar, possibly compressed, or else a
   * Dockerfile by itself (named `dockerfile`) — into the empty `dir`.
   */
  async unpack(body: Readable, dir: string, dockerfile: string): Promise<void> {
    const { stream } = await decompressStream(body);
    const limited = capped(this.maxContextSize);
    stream.on('error', (e) => limited.destroy(e));
    stream.pipe(limited);
    try {
      const { head, stream: input } = await peek(limited, 512);
      if (head.length === 0) return;
      if (looksLikeTar(head)) await unpackContext(input, dir);
      else await writeLoneFile(input as AsyncIterable<Buffer>, dir, dockerfile || 'Dockerfile');
    } catch (err) {
      // Stop decompressing; the rest of the upload is read and dropped, so the client sees the answer.
      stream.unpipe(limited);
      stream.destroy();
      body.unpipe();
      body.resume();
      throw err;
    }
  }
}
