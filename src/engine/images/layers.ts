/**
 * Unpacking layer blobs into snapshots, with the diffID checked on the way:
 * a layer whose uncompressed bytes do not hash to what the image config says
 * never becomes a snapshot.
 */
import { Transform, type Readable } from 'node:stream';
import { type Digest, newHasher } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { decompressStream } from '../../archive/compression.js';
import type { Snapshotter, LayerInfo } from '../../snapshots/snapshotter.js';

/**
 * A pass-through that hashes what flows by. `digest` settles when the stream
 * ends; it rejects when `expected` is given and differs, which makes the
 * snapshotter throw its temp dir away.
 */
export function hashingTap(expected?: Digest, what = 'layer'): { tap: Transform; digest: Promise<Digest> } {
  const h = newHasher();
  let settle!: (d: Digest) => void;
  let fail!: (e: Error) => void;
  const digest = new Promise<Digest>((res, rej) => { settle = res; fail = rej; });
  digest.catch(() => {}); // observed by the snapshotter; avoid unhandled rejections on early errors
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) { h.update(chunk); cb(null, chunk); },
    flush(cb) {
      const d = 'sha256:' + h.digest('hex');
      if (expected && d !== expected) fail(new InvalidArgumentError(`invalid diffID for ${what}: expected ${expected}, got ${d}`));
      else settle(d);
      cb();
    },
  });
  tap.on('error', (e) => fail(e));
  return { tap, digest };
}

/**
 * Unpack one (possibly compressed) layer blob on top of `parent`, verifying
 * its diffID. Returns the committed snapshot.
 */
export async function unpackLayer(
  snapshotter: Snapshotter, blob: Readable, parent: Digest | undefined, expectedDiffId: Digest | undefined, what: string,
): Promise<LayerInfo> {
  const { stream } = await decompressStream(blob);
  const { tap, digest } = hashingTap(expectedDiffId, what);
  stream.on('error', (e) => tap.destroy(e));
  const info = await snapshotter.applyLayer({ parent, tar: stream.pipe(tap), diffId: digest });
  if (expectedDiffId && info.diffId !== expectedDiffId) {
    throw new InvalidArgumentError(`invalid diffID for ${what}: expected ${expectedDiffId}, got ${info.diffId}`);
  }
  return info;
}
