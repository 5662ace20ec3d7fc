/**
 * Unpacking layer blobs into snapshots, with the diffID checked on the way:
 * a layer whose uncompressed bytes do not hash to what the image config says
 * never becomes a snapshot.
 */
import type { Readable } from 'node:stream';
import { type Digest, hashingTap } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { decompressStream } from '../../archive/compression.js';
import type { Snapshotter, LayerInfo } from '../../snapshots/snapshotter.js';

/**
 * Unpack one (possibly compressed) layer blob on top of `parent`, verifying
 * its diffID. Returns the committed snapshot.
 */
export async function unpackLayer(
  snapshotter: Snapshotter,
  blob: Readable,
  parent: Digest | undefined,
  expectedDiffId: Digest | undefined,
  what: string,
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
