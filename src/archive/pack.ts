/**
 * Filesystem → tar: one file or a directory tree, as `docker cp` and
 * `docker export` send it. Symlinks are stored as links (never followed),
 * repeated hard links as hard links, owners, modes and times kept. The walk
 * never leaves the given host path: it does not descend through symlinks,
 * and `skip` lets the caller leave out mounts inside the tree.
 */
import { lstat, opendir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { openRegularFile } from '../core/nonblocking.js';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { extract, pack, type Header, type Pack } from 'tar-stream';

type Headers = Partial<Header> & Pick<Header, 'name'>;

/** A tar-stream (streamx) pack as a Node stream, errors carried over. */
export function nodeStream(p: Pack): Readable {
  const out = new PassThrough();
  p.on('error', (e: Error) => out.destroy(e));
  p.pipe(out);
  return out;
}

export interface PackOptions {
  /** Host paths (below the packed one) not to descend into. */
  skip?: (hostPath: string) => boolean;
}

function header(name: string, st: Stats): Headers {
  return { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
}

/**
 * Tar `hostPath` with its entry named `name` (a directory's children become
 * `name/child`). Ends the stream when done; errors destroy it.
 */
export function packPath(hostPath: string, name: string, opts: PackOptions = {}): Readable {
  const p = pack();
  const links = new Map<string, string>();
  const add = async (path: string, entryName: string, st: Stats): Promise<void> => {
    const h = header(entryName, st);
    if (st.isDirectory()) {
      await entry(p, { ...h, name: entryName.endsWith('/') ? entryName : `${entryName}/`, type: 'directory' });
      const dir = await opendir(path);
      const names: string[] = [];
      for await (const e of dir) names.push(e.name);
      names.sort();
      for (const n of names) {
        const child = join(path, n);
        if (opts.skip?.(child)) continue;
        const cst = await lstat(child).catch(() => null);
        if (!cst) continue;
        await add(child, entryName === '.' || entryName === './' ? `./${n}` : `${entryName.replace(/\/$/, '')}/${n}`, cst);
      }
      return;
    }
    if (st.isSymbolicLink()) { await entry(p, { ...h, type: 'symlink', linkname: await readlink(path) }); return; }
    if (st.nlink > 1 && st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first) { await entry(p, { ...h, type: 'link', linkname: first }); return; }
      links.set(key, entryName);
    }
    if (st.isFile()) {
      // Opened without waiting: a container may have swapped the file for a FIFO since the lstat.
      const fh = await openRegularFile(path);
      const w = p.entry({ ...h, type: 'file', size: st.size });
      await new Promise<void>((resolve, reject) => {
        const r = fh.createReadStream();
        // An archive torn down mid-file (its reader went away) must not leave the file open:
        // an open file keeps a container's rootfs busy, and it could not be unmounted.
        const fail = (e: Error) => { r.destroy(); reject(e); };
        r.on('error', fail);
        w.on('error', fail);
        w.on('close', () => r.destroy());
        w.on('finish', resolve);
        r.pipe(w);
      });
      return;
    }
    const dev = { devmajor: Number((BigInt(st.rdev) >> 8n) & 0xfffn), devminor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)) };
    if (st.isCharacterDevice()) await entry(p, { ...h, type: 'character-device', ...dev });
    else if (st.isBlockDevice()) await entry(p, { ...h, type: 'block-device', ...dev });
    else if (st.isFIFO()) await entry(p, { ...h, type: 'fifo' });
    // Sockets have no tar form: left out, as Docker does.
  };
  void (async () => {
    try {
      await add(hostPath, name, await lstat(hostPath));
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    }
  })();
  return nodeStream(p);
}

function entry(p: Pack, h: Headers): Promise<void> {
  return new Promise((resolve, reject) => { p.entry(h, (err) => (err ? reject(err) : resolve())); });
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
    if (!nh) { stream.on('end', next); stream.resume(); return; }
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
  ex.on('finish', () => { if (!done) { done = true; out.finalize(); } });
  ex.on('error', (e) => stop(e));
  input.on('error', (e) => stop(e));
  out.on('close', () => stop());
  input.pipe(ex);
  return nodeStream(out);
}
