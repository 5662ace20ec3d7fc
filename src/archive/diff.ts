/**
 * A container's changes as Docker sees them: the list (`docker diff`) and
 * the layer tar (`docker commit`, a build step). Two sources:
 *   - an overlay upper dir, read as is: a 0/0 char device is a deletion
 *     (`.wh.NAME`), the trusted.overlay.opaque xattr an opaque directory
 *     (`.wh..wh..opq`);
 *   - a full copy (vfs), compared entry by entry with its parent's tree.
 * Modes, owners, times, symlinks, hard links and xattrs are kept.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { run } from '../core/proc.js';

export type ChangeKind = 0 | 1 | 2; // Docker's: 0 modified, 1 added, 2 deleted
export interface Change { Path: string; Kind: ChangeKind }

/** One entry of a layer: a path to take from disk, or a whiteout. */
interface LayerEntry { rel: string; abs?: string; st?: Stats; whiteout?: boolean; opaque?: boolean }

async function list(dir: string): Promise<string[]> {
  try { return (await readdir(dir)).sort(); } catch { return []; }
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try { return await lstat(p); } catch { return null; }
}

/** Every xattr under `root` (one getfattr run), by absolute path; overlay's own ones left out. */
async function readXattrs(root: string): Promise<Map<string, Map<string, Buffer>>> {
  const out = new Map<string, Map<string, Buffer>>();
  const r = await run('getfattr', ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root]);
  let cur: Map<string, Buffer> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const p = line.slice(8).replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
      cur = new Map();
      out.set(p, cur);
    } else if (cur && line.includes('=')) {
      const eq = line.indexOf('=');
      const name = line.slice(0, eq);
      const v = line.slice(eq + 1);
      cur.set(name, v.startsWith('0x') ? Buffer.from(v.slice(2), 'hex') : Buffer.from(v.replace(/^"|"$/g, '')));
    }
  }
  return out;
}

/** Entries of an overlay upper dir, in walk order. */
async function overlayEntries(upper: string, lower: (rel: string) => Promise<Stats | null>): Promise<Array<LayerEntry & { existed: boolean }>> {
  const xattrs = await readXattrs(upper);
  const out: Array<LayerEntry & { existed: boolean }> = [];
  const walk = async (dir: string, rel: string) => {
    for (const name of await list(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      if (st.isCharacterDevice() && st.rdev === 0) { out.push({ rel: r, whiteout: true, existed: true }); continue; }
      const opaque = st.isDirectory() && xattrs.get(abs)?.get('trusted.overlay.opaque')?.toString() === 'y';
      out.push({ rel: r, abs, st, opaque, existed: (await lower(r)) !== null });
      if (st.isDirectory()) await walk(abs, r);
    }
  };
  await walk(upper, '');
  return out;
}

function sameMeta(a: Stats, b: Stats, dir: boolean): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (dir) return Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);
  return a.size === b.size && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs) && a.rdev === b.rdev;
}

/** Entries of a full copy compared with its parent's full tree (vfs). */
async function compareEntries(root: string, base: string | undefined): Promise<Array<LayerEntry & { existed: boolean }>> {
  const out: Array<LayerEntry & { existed: boolean }> = [];
  const walk = async (rel: string) => {
    const here = rel ? join(root, rel) : root;
    const there = base ? (rel ? join(base, rel) : base) : undefined;
    const names = await list(here);
    const old = there ? await list(there) : [];
    const all = [...new Set([...names, ...old])].sort();
    for (const name of all) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(here, name);
      const st = await lstatOrNull(abs);
      const prev = there ? await lstatOrNull(join(there, name)) : null;
      if (!st) { if (prev) out.push({ rel: r, whiteout: true, existed: true }); continue; }
      if (prev && prev.isDirectory() !== st.isDirectory()) {
        out.push({ rel: r, abs, st, existed: true, opaque: st.isDirectory() });
        if (st.isDirectory()) await walkNew(r);
        continue;
      }
      let changed = !prev || !sameMeta(st, prev, st.isDirectory());
      if (!changed && st.isSymbolicLink()) changed = (await readlink(abs)) !== (await readlink(join(there!, name)));
      if (st.isDirectory()) {
        const at = out.length;
        await walk(r);
        // A directory is part of the layer when it or anything under it changed.
        if (changed || out.length > at) out.splice(at, 0, { rel: r, abs, st, existed: !!prev });
      } else if (changed) out.push({ rel: r, abs, st, existed: !!prev });
    }
  };
  const walkNew = async (rel: string) => {
    for (const name of await list(join(root, rel))) {
      const r = `${rel}/${name}`;
      const st = await lstat(join(root, r));
      out.push({ rel: r, abs: join(root, r), st, existed: false });
      if (st.isDirectory()) await walkNew(r);
    }
  };
  await walk('');
  return out;
}

export interface DiffSource {
  /** The container's writable layer: an overlay upper dir, or (vfs) its full tree. */
  dir: string;
  kind: 'overlay' | 'full';
  /** For `full`: the parent's full tree. For `overlay`: the lower layer dirs, top first (to tell A from C). */
  lowers: string[];
}

async function entriesOf(src: DiffSource): Promise<Array<LayerEntry & { existed: boolean }>> {
  if (src.kind === 'full') return compareEntries(src.dir, src.lowers[0]);
  const lower = async (rel: string): Promise<Stats | null> => {
    for (const l of src.lowers) {
      const st = await lstatOrNull(join(l, rel));
      if (st) return st.isCharacterDevice() && st.rdev === 0 ? null : st;
    }
    return null;
  };
  return overlayEntries(src.dir, lower);
}

/** `docker diff`: A/C/D per path, sorted as Docker lists them. */
export async function changes(src: DiffSource): Promise<Change[]> {
  const entries = await entriesOf(src);
  return entries.map((e) => ({ Path: '/' + e.rel, Kind: (e.whiteout ? 2 : e.existed ? 0 : 1) as ChangeKind }));
}

/** The layer tar of a container's changes (uncompressed), with Docker's whiteouts. */
export async function layerTar(src: DiffSource): Promise<Readable> {
  const entries = await entriesOf(src);
  const xattrs = await readXattrs(src.dir);
  const pack = tarStream.pack();
  const out = new PassThrough();
  pack.pipe(out);
  pack.on('error', (e) => out.destroy(e));
  void (async () => {
    const inodes = new Map<string, string>();
    const entry = (h: Partial<tarStream.Header> & { name: string }, body?: Readable | Buffer) => new Promise<void>((resolve, reject) => {
      if (body === undefined || Buffer.isBuffer(body)) { pack.entry(h, (body as Buffer | undefined) ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())); return; }
      const w = pack.entry(h, (e) => (e ? reject(e) : resolve()));
      pipeline(body, w).catch(reject);
    });
    const dirOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '');
    const baseOf = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);
    for (const e of entries) {
      if (e.whiteout) { await entry({ name: `${dirOf(e.rel)}.wh.${baseOf(e.rel)}`, type: 'file', size: 0, mode: 0o600, mtime: new Date(0) }, Buffer.alloc(0)); continue; }
      const st = e.st!;
      const x = xattrs.get(e.abs!);
      const pax: Record<string, string> = {};
      for (const [k, v] of x ?? []) if (!k.startsWith('trusted.overlay.')) pax[`SCHILY.xattr.${k}`] = v.toString('binary');
      const base: Partial<tarStream.Header> & { name: string } = {
        name: e.rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0,
        ...(Object.keys(pax).length ? { pax } : {}),
      };
      if (st.isDirectory()) {
        await entry({ ...base, type: 'directory' });
        if (e.opaque) await entry({ name: `${e.rel}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o600, mtime: new Date(0) }, Buffer.alloc(0));
      } else if (st.isSymbolicLink()) {
        await entry({ ...base, type: 'symlink', linkname: await readlink(e.abs!) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first) { await entry({ ...base, type: 'link', linkname: first }); continue; }
        if (st.nlink > 1) inodes.set(key, e.rel);
        await entry({ ...base, type: 'file', size: st.size }, createReadStream(e.abs!));
      } else if (st.isFIFO()) {
        await entry({ ...base, type: 'fifo' });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await entry({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
      }
    }
    pack.finalize();
  })().catch((err) => { out.destroy(err as Error); });
  return out;
}
