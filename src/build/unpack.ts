/**
 * A build context tar unpacked into an empty directory, as it streams in.
 *
 * Only what a context is made of lands: files, directories, symlinks, and
 * hard links to files already unpacked; devices, fifos and xattrs are
 * dropped (COPY never copied them). Every write is made through Rooted
 * handles, names resolved inside the tree first: an entry under a symlink
 * that an earlier entry made lands where that symlink points inside the
 * tree, never outside it, and a hard link can only join two names in it.
 * Directory times are set once the tar has ended, when nothing more is
 * written into them.
 */
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lutimesSync, mkdirSync, openSync,
  rmSync, symlinkSync, writeSync,
} from 'node:fs';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../core/errors.js';
import { tarReader, type TarEntry } from '../archive/tar-reader.js';
import { Rooted, splitPath } from './rooted.js';

const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
// Owners are kept when the daemon can set them (as root); they are part of a copy's cache key.
const isRoot = process.getuid?.() === 0;

function bad(msg: string): never {
  throw new InvalidArgumentError(`unable to prepare context: ${msg}`);
}

/** A lone file (a Dockerfile sent as the whole body, a heredoc, a download) at `path` in the directory `dir`. */
export async function writeLoneFile(input: AsyncIterable<Buffer>, dir: string, path: string, meta: { mode?: number; mtime?: number } = {}): Promise<void> {
  const root = Rooted.open(dir);
  try {
    const names = splitPath(path);
    if (names.length === 0) bad(`invalid file name ${JSON.stringify(path)}`);
    makeParents(root, names.slice(0, -1), new Map());
    const mtime = meta.mtime ?? Math.floor(Date.now() / 1000);
    await writeFile(root, names, { name: path, mode: meta.mode ?? 0o644, uid: 0, gid: 0, mtime }, input);
  } finally {
    root.close();
  }
}

/** Unpack the context tar `input` into the empty directory `dir`. */
export async function unpackContext(input: Readable, dir: string): Promise<void> {
  const root = Rooted.open(dir);
  const reader = tarReader(input);
  // Directory times to set at the end, by path (walked again with O_NOFOLLOW, so a dir replaced since is skipped).
  const dirTimes = new Map<string, number>();
  try {
    for (let e = await reader.next(); e; e = await reader.next()) {
      const names = root.resolve(e.name, false);
      if (!names) bad(`too many levels of symbolic links: ${e.name}`);
      if (names.length === 0) continue; // the root itself stays as the daemon made it
      if (e.type !== 'file' && e.type !== 'directory' && e.type !== 'symlink' && e.type !== 'link') continue;
      makeParents(root, names.slice(0, -1), dirTimes);
      const existing = root.lstat(names);
      if (existing && !(existing.isDirectory() && e.type === 'directory')) {
        root.inParent(names, (d, n) => rmSync(`${d}/${n}`, { recursive: true, force: true }));
        dirTimes.delete(names.join('/'));
      }
      if (e.type === 'file') await writeFile(root, names, e, reader.body());
      else if (e.type === 'directory') {
        if (!existing) root.inParent(names, (d, n) => mkdirSync(`${d}/${n}`, { mode: 0o700 }));
        const fd = root.sub(names);
        if (!fd) bad(`cannot make directory ${e.name}`);
        try { fchmodSync(fd.fd, e.mode); if (isRoot) fchownSync(fd.fd, e.uid, e.gid); } finally { fd.close(); }
        dirTimes.set(names.join('/'), e.mtime);
      } else if (e.type === 'symlink') {
        root.inParent(names, (d, n) => {
          symlinkSync(e!.linkname, `${d}/${n}`);
          if (isRoot) lchownSync(`${d}/${n}`, e!.uid, e!.gid);
          lutimesSync(`${d}/${n}`, e!.mtime, e!.mtime);
        });
      } else hardLink(root, names, e);
    }
    for (const [path, mtime] of dirTimes) {
      const d = root.sub(splitPath(path));
      if (d) try { futimesSync(d.fd, mtime, mtime); } finally { d.close(); }
    }
  } catch (err) {
    await reader.drain();
    throw err;
  } finally {
    root.close();
  }
}

/** Directories a tar left out exist implicitly (0755, root's); a name in the way that is not a directory is an error. */
function makeParents(root: Rooted, parents: string[], dirTimes: Map<string, number>): void {
  for (let i = 1; i <= parents.length; i++) {
    const names = parents.slice(0, i);
    const st = root.lstat(names);
    if (st?.isDirectory()) continue;
    if (st) bad(`${names.join('/')} is not a directory`);
    root.inParent(names, (d, n) => mkdirSync(`${d}/${n}`, { mode: 0o755 }));
    dirTimes.delete(names.join('/'));
  }
}

async function writeFile(root: Rooted, names: string[], e: Pick<TarEntry, 'name' | 'mode' | 'uid' | 'gid' | 'mtime'>, body: AsyncIterable<Buffer>): Promise<void> {
  const fd = root.inParent(names, (d, n) => openSync(`${d}/${n}`, FILE_FLAGS, 0o600));
  if (fd === undefined) bad(`cannot write ${e.name}`);
  try {
    for await (const chunk of body) {
      for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
    }
    fchmodSync(fd, e.mode);
    if (isRoot) fchownSync(fd, e.uid, e.gid);
    futimesSync(fd, e.mtime, e.mtime);
  } finally {
    closeSync(fd);
  }
}

/** A tar hard link: a second name for a regular file already in the tree (its target resolved inside it). */
function hardLink(root: Rooted, names: string[], e: TarEntry): void {
  const target = root.resolve(e.linkname, false);
  const st = target && target.length ? root.lstat(target) : undefined;
  if (!target || !st?.isFile()) bad(`invalid hard link ${JSON.stringify(e.name)} to ${JSON.stringify(e.linkname)}: no such file in the context`);
  root.inParent(target, (td, tn) => root.inParent(names, (d, n) => linkSync(`${td}/${tn}`, `${d}/${n}`)));
}

