/**
 * A build context landing on disk: a context tar unpacked into an empty
 * directory as it streams in, or a lone file (a Dockerfile sent as the whole
 * body, a heredoc, a download) written into one.
 *
 * The tar goes through the layer applier in its context mode (archive/apply.ts),
 * so a context is held to the same rule as a layer: every write is made
 * through handles of the tree's own directories (archive/tree.ts), an entry
 * under a symlink an earlier entry made lands where that symlink points
 * inside the tree, never outside it, and a hard link can only join two
 * names in it. Its size is capped by the caller, on the stream.
 */
import { closeSync, constants, fchmodSync, futimesSync, openSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../core/errors.js';
import { applyTar, containedName } from '../archive/apply.js';
import { Tree, at } from '../archive/tree.js';

const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Unpack the context tar `input` into the empty directory `dir`; a `.wh.` name is an ordinary file there. */
export async function unpackContext(input: Readable, dir: string): Promise<void> {
  await applyTar(dir, input, { whiteouts: 'none', context: true });
}

/** A lone file at `path` in the directory `dir`, its missing parents made. */
export async function writeLoneFile(input: AsyncIterable<Buffer>, dir: string, path: string, meta: { mode?: number; mtime?: number } = {}): Promise<void> {
  const rel = containedName(path);
  if (rel === '') throw new InvalidArgumentError(`unable to prepare context: invalid file name ${JSON.stringify(path)}`);
  const tree = Tree.open(dir);
  try {
    const parent = tree.dir(posix.dirname(rel), { create: true });
    try {
      const fd = openSync(at(parent.fd, posix.basename(rel)), FILE_FLAGS, 0o600);
      try {
        for await (const chunk of input) {
          for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
        }
        fchmodSync(fd, meta.mode ?? 0o644);
        const mtime = meta.mtime ?? Math.floor(Date.now() / 1000);
        futimesSync(fd, mtime, mtime);
      } finally {
        closeSync(fd);
      }
    } finally {
      tree.release(parent.fd);
    }
  } finally {
    tree.close();
  }
}
