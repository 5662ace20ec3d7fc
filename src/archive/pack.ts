/**
 * Filesystem → tar: one file or a directory tree, as `docker cp` and
 * `docker export` send it. Symlinks are stored as links (never followed),
 * repeated hard links as hard links, owners, modes and times kept.
 *
 * The walk goes through handles only (see tree.ts): each child is opened
 * O_NOFOLLOW on its directory's handle, and everything about it (its type,
 * its listing, its bytes) is read through that handle, so a container that
 * swaps a directory for a symlink mid-walk gets its own symlink archived,
 * never what it points at.
 */
import { closeSync, constants, createReadStream, fstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { extract, pack, type Header, type Pack } from 'tar-stream';
import { O_PATH, at, self } from './tree.js';

type Headers = Partial<Header> & Pick<Header, 'name'>;

/** A tar-stream (streamx) pack as a Node stream, errors carried over. */
export function nodeStream(p: Pack): Readable {
  const out = new PassThrough();
  p.on('error', (e: Error) => out.destroy(e));
  p.pipe(out);
  return out;
}

function header(name: string, st: Stats): Headers {
  return { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
}

/** Tar the file or directory at the host path `hostPath` (the caller's own), its entry named `name`. */
export function packPath(hostPath: string, name: string): Readable {
  const full = resolve(hostPath);
  const base = basename(full);
  let fd: number;
  try {
    fd = openSync(base ? dirname(full) : full, O_PATH | constants.O_DIRECTORY);
  } catch (e) {
    const out = new PassThrough();
    process.nextTick(() => out.destroy(e as Error));
    return out;
  }
  return packHandle(fd, base || undefined, name, () => closeSync(fd));
}

/**
 * Tar what `name` names in the directory handle `dirfd` (the directory itself
 * when `name` is undefined), its entry named `entryName` (a directory's
 * children become `entryName/child`). The handle must stay open until the
 * stream ends; `done` runs then. Errors destroy the stream.
 */
export function packHandle(dirfd: number, name: string | undefined, entryName: string, done?: () => void): Readable {
  const p = pack();
  const links = new Map<string, string>();
  // A reader that goes away destroys the pack: the walk must then end at once and close its
  // handles, or they would keep a container's rootfs busy (it could not be unmounted).
  let closed = false;
  p.on('close', () => {
    closed = true;
  });
  const entry = (h: Headers, body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new Error('archive closed'));
        return;
      }
      const onClose = () => reject(new Error('archive closed'));
      p.once('close', onClose);
      const done = (err?: Error | null) => {
        p.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      if (body) p.entry(h, body, done);
      else p.entry(h, done);
    });
  const add = async (fd: number, parentfd: number | undefined, childName: string | undefined, entryName: string): Promise<void> => {
    const st = fstatSync(fd);
    const h = header(entryName, st);
    if (st.isDirectory()) {
      await entry({ ...h, name: entryName.endsWith('/') ? entryName : `${entryName}/`, type: 'directory' });
      const names = readdirSync(self(fd)).sort();
      for (const n of names) {
        let cfd: number;
        try {
          cfd = openSync(at(fd, n), O_PATH | constants.O_NOFOLLOW);
        } catch {
          continue;
        } // gone meanwhile
        try {
          await add(cfd, fd, n, entryName === '.' || entryName === './' ? `./${n}` : `${entryName.replace(/\/$/, '')}/${n}`);
        } finally {
          closeSync(cfd);
        }
      }
      return;
    }
    if (st.isSymbolicLink()) {
      // The link's own text, read by its name in the directory handle: at worst another link's text, never a file.
      if (parentfd === undefined || childName === undefined) return; // a tree's root is a directory
      const linkname = readlinkSync(at(parentfd, childName));
      await entry({ ...h, type: 'symlink', linkname });
      return;
    }
    if (st.nlink > 1 && st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first) {
        await entry({ ...h, type: 'link', linkname: first });
        return;
      }
      links.set(key, entryName);
    }
    // An empty file is its header alone (given an empty body, or the pack would wait for one).
    if (st.isFile() && st.size === 0) {
      await entry({ ...h, type: 'file', size: 0 }, Buffer.alloc(0));
      return;
    }
    if (st.isFile()) {
      // Reopened through the handle: the very inode just examined, whatever the name points at now.
      const rfd = openSync(self(fd), constants.O_RDONLY | constants.O_NONBLOCK);
      const w = p.entry({ ...h, type: 'file', size: st.size });
      await new Promise<void>((resolve, reject) => {
        const r = createReadStream('', { fd: rfd, end: Math.max(0, st.size - 1), autoClose: true });
        // An archive torn down mid-file (its reader went away) must not leave the file open:
        // an open file keeps a container's rootfs busy, and it could not be unmounted.
        const fail = (e: Error) => {
          r.destroy();
          reject(e);
        };
        r.on('error', fail);
        w.on('error', fail);
        w.on('close', () => {
          r.destroy();
          reject(new Error('archive closed'));
        }); // a no-op once finished
        w.on('finish', resolve);
        r.pipe(w);
      });
      return;
    }
    const dev = { devmajor: Number((BigInt(st.rdev) >> 8n) & 0xfffn), devminor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)) };
    if (st.isCharacterDevice()) await entry({ ...h, type: 'character-device', ...dev });
    else if (st.isBlockDevice()) await entry({ ...h, type: 'block-device', ...dev });
    else if (st.isFIFO()) await entry({ ...h, type: 'fifo' });
    // Sockets have no tar form: left out, as Docker does.
  };
  void (async () => {
    let fd: number | undefined;
    try {
      if (name !== undefined) fd = openSync(at(dirfd, name), O_PATH | constants.O_NOFOLLOW);
      await add(fd ?? dirfd, name === undefined ? undefined : dirfd, name, entryName);
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    } finally {
      if (fd !== undefined) closeSync(fd);
      done?.();
    }
  })();
  return nodeStream(p);
}

/**
 * A tar stream with each entry's header rewritten (or the entry left out,
 * when `rewrite` returns null). A consumer that goes away mid-stream (a
 * closed connection, `| head`) stops the reading: nothing is written into
 * the finished archive afterwards.
 */
export function rewriteTar(input: Readable, rewrite: (h: Header) => Header | null): Readable {
  const ex = extract();
  const out = pack();
  let done = false;
  const stop = (e?: Error) => {
    if (done) return;
    done = true;
    ex.destroy();
    input.destroy();
    if (e) out.destroy(e);
  };
  ex.on('entry', (h, stream, next) => {
    const nh = done ? null : rewrite(h);
    if (!nh) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    try {
      const sink = out.entry(nh, next);
      // Torn down with the archive when the consumer leaves: handled here, not left to crash the process.
      sink.on('error', () => stop());
      stream.on('error', () => stop());
      stream.pipe(sink);
    } catch (e) {
      stop(e as Error); // the archive was closed under us
    }
  });
  ex.on('finish', () => {
    if (!done) {
      done = true;
      out.finalize();
    }
  });
  ex.on('error', (e) => stop(e));
  input.on('error', (e) => stop(e));
  out.on('close', () => stop());
  input.pipe(ex);
  return nodeStream(out);
}
