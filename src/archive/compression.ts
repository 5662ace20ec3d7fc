/**
 * Compression of tar streams: detect it from the magic bytes and undo it.
 * gzip is Node's own zlib; bzip2, xz and zstd (rarer in images, and absent
 * from Node 20's zlib) go through Debian's command-line tools.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidArgumentError, messageOf } from '../core/errors.js';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

/** The compression a stream starting with `head` uses (needs up to 6 bytes). */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/**
 * Read at least `n` bytes (fewer if the stream ends first) without consuming
 * them: the returned stream yields everything, head included.
 */
export function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const finish = (ended: boolean) => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', onError);
      const head = Buffer.concat(chunks);
      if (ended) {
        resolve({ head, stream: Readable.from(head.length ? [head] : []) });
      } else {
        if (head.length) input.unshift(head);
        resolve({ head, stream: input });
      }
    };
    const onReadable = () => {
      let c: Buffer | null;
      while (len < n && (c = input.read() as Buffer | null) !== null) {
        chunks.push(c);
        len += c.length;
      }
      if (len >= n) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (e: Error) => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      reject(e);
    };
    input.on('readable', onReadable);
    input.on('end', onEnd);
    input.on('error', onError);
  });
}

/** Run a decompressor program as a stream filter; its failure becomes a stream error. */
function filterThrough(cmd: string, input: Readable, what: Compression): Readable {
  const out = new PassThrough();
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  child.stdin.on('error', () => {
    /* the program exited early; its exit status says why */
  });
  input.on('error', (e) => {
    child.kill();
    out.destroy(e);
  });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('error', (e) => out.destroy(new InvalidArgumentError(`cannot decompress ${what} stream: ${e.message}`)));
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new InvalidArgumentError(`${what} decompression failed: ${stderr.trim() || `exit status ${code}`}`));
  });
  out.on('close', () => {
    if (child.exitCode === null) child.kill();
  });
  return out;
}

/** The uncompressed form of `input`, whatever compression it came in. */
export async function decompressStream(input: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(input, 6);
  const compression = detectCompression(head);
  switch (compression) {
    case 'none':
      return { stream, compression };
    case 'gzip': {
      // Large output chunks: a layer inflates to hundreds of MB, and each chunk is a thread-pool round trip.
      const gunzip = createGunzip({ chunkSize: 256 << 10 });
      const out = new PassThrough();
      stream.on('error', (e) => out.destroy(e));
      gunzip.on('error', (e) => out.destroy(new InvalidArgumentError(`gzip: ${messageOf(e)}`)));
      stream.pipe(gunzip).pipe(out);
      return { stream: out, compression };
    }
    case 'bzip2':
      return { stream: filterThrough('bzip2', stream, compression), compression };
    case 'xz':
      return { stream: filterThrough('xz', stream, compression), compression };
    case 'zstd':
      return { stream: filterThrough('zstd', stream, compression), compression };
  }
}
