/**
 * A container's writable layer as a change list (`docker diff`) and as a
 * layer tar (`docker commit`, build steps).
 *
 * overlay2: the upper dir holds exactly the changes; overlayfs whiteouts
 * (a 0/0 character device, the trusted.overlay.opaque xattr on a directory)
 * become the OCI/AUFS `.wh.NAME` and `.wh..wh..opq` entries.
 * vfs: the rootfs is a full copy, so it is compared with its parent layer's
 * tree (owner, mode, size, mtime, link target) to find what changed.
 *
 * Hard links inside the layer stay links, xattrs (except overlayfs's own)
 * ride along as PAX records; modes, owners and times are kept. A remapped
 * container's layer (`idmap`) is archived with the container's ids, not the
 * host's (layer-owners.ts); its vfs copy is compared with its parent's tree
 * as that tree was shifted for it.
 */
import { closeSync, constants, fstatSync, lstatSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SystemError } from '../core/errors.js';
import { NotRegularFileError } from '../core/nonblocking.js';
import { run } from '../core/proc.js';
import { native } from './native.js';
import { encodeHeader, padding, TAR_END, type TarHeader } from './tar-writer.js';
import { Tree } from './tree.js';
import { isOverlayAttr, overlayOpaqueAttr } from './overlay-attrs.js';
import { containerGid, containerUid, hostGid, hostUid, type IdMap } from '../core/idmap.js';
import { xattrsToContainer } from './layer-owners.js';

/** Docker's change kinds: 0 modified, 1 added, 2 deleted. */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

export type DiffKind = 'add' | 'modify' | 'delete' | 'opaque';

interface Item {
  rel: string;
  kind: DiffKind;
  /** Absolute path to read the entry from (absent for deletions). */
  abs?: string;
  st?: Stats;
}

/** Every xattr under `root` (one getfattr run), keyed by absolute path. */
export async function readXattrs(root: string): Promise<Map<string, Map<string, Buffer>>> {
  const r = await run('getfattr', ['-R', '-P', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root]);
  const out = new Map<string, Map<string, Buffer>>();
  if (r.code !== 0 && !r.stdout) return out; // no xattr support: nothing to carry
  let cur: Map<string, Buffer> | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      const p = unescapeOctal(line.slice(8));
      cur = new Map();
      out.set(p, cur);
    } else if (cur && line.includes('=')) {
      const eq = line.indexOf('=');
      const v = line.slice(eq + 1);
      cur.set(line.slice(0, eq), v.startsWith('0x') ? Buffer.from(v.slice(2), 'hex') : Buffer.from(v.replace(/^"|"$/g, '')));
    }
  }
  return out;
}

function unescapeOctal(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The path in any of `lowers` (top first), honouring whiteouts and opaque dirs on the way. */
function inLowers(lowers: string[], rel: string, opaque: (p: string) => boolean): boolean {
  for (const l of lowers) {
    const st = lstatSync(join(l, rel), { throwIfNoEntry: false });
    if (st) return !(st.isCharacterDevice() && st.rdev === 0);
    // A whiteout or an opaque parent in this layer hides everything below.
    const parts = rel.split('/');
    for (let i = parts.length - 1; i >= 1; i--) {
      const parent = join(l, ...parts.slice(0, i));
      const pst = lstatSync(parent, { throwIfNoEntry: false });
      if (pst?.isCharacterDevice() && pst.rdev === 0) return false;
      if (pst?.isDirectory() && opaque(parent)) return false;
    }
  }
  return false;
}

/** What an overlay upper dir changed, in walk order (parents first, names sorted). */
export function overlayItems(upper: string, lowers: string[], xattrs: Map<string, Map<string, Buffer>>): Item[] {
  const items: Item[] = [];
  const opaque = (p: string) => xattrs.get(p)?.get(overlayOpaqueAttr())?.toString() === 'y';
  const walk = (dir: string, rel: string, hidden: boolean) => {
    for (const name of sortedNames(dir)) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isCharacterDevice() && st.rdev === 0) {
        items.push({ rel: r, kind: 'delete' });
        continue;
      }
      const existed = !hidden && inLowers(lowers, r, opaque);
      const isOpaque = st.isDirectory() && opaque(abs);
      items.push({ rel: r, kind: isOpaque ? 'opaque' : existed ? 'modify' : 'add', abs, st });
      if (st.isDirectory()) walk(abs, r, hidden || isOpaque);
    }
  };
  walk(upper, '', false);
  return items;
}

function sameMeta(a: Stats, b: Stats, idmap: IdMap | undefined): boolean {
  const [buid, bgid] = idmap ? [hostUid(idmap, b.uid), hostGid(idmap, b.gid)] : [b.uid, b.gid];
  if (a.mode !== b.mode || a.uid !== buid || a.gid !== bgid || a.rdev !== b.rdev) return false;
  if (a.isDirectory()) return true; // a directory's size and time change with its entries: its entries tell
  if (a.size !== b.size || Math.floor(a.mtimeMs) !== Math.floor(b.mtimeMs)) return false;
  if (a.isSymbolicLink()) return true;
  return true;
}

/** What a full-copy rootfs changed against its parent's tree (vfs); a remapped copy's against that tree's shifted owners. */
export function copyItems(rootfs: string, parent: string | undefined, idmap?: IdMap): Item[] {
  const items: Item[] = [];
  const walk = (dir: string, pdir: string | undefined, rel: string) => {
    const names = sortedNames(dir);
    const pnames = pdir ? new Set(readdirSync(pdir)) : new Set<string>();
    const all = [...new Set([...names, ...pnames])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const have = new Set(names);
    for (const name of all) {
      const r = rel ? `${rel}/${name}` : name;
      if (!have.has(name)) {
        items.push({ rel: r, kind: 'delete' });
        continue;
      }
      const abs = join(dir, name);
      const st = lstatSync(abs);
      const pabs = pdir && pnames.has(name) ? join(pdir, name) : undefined;
      const pst = pabs ? lstatSync(pabs) : undefined;
      if (!pst || pst.isDirectory() !== st.isDirectory()) {
        items.push({ rel: r, kind: pst ? 'modify' : 'add', abs, st });
        if (st.isDirectory()) walk(abs, undefined, r);
        continue;
      }
      let changed = !sameMeta(st, pst, idmap);
      if (!changed && st.isSymbolicLink()) changed = readlinkSync(abs) !== readlinkSync(pabs!);
      if (st.isDirectory()) {
        const before = items.length;
        if (changed) items.push({ rel: r, kind: 'modify', abs, st });
        walk(abs, pabs, r);
        // A directory whose entries changed is itself changed (its entry is needed in the tar).
        if (!changed && items.length > before) items.splice(before, 0, { rel: r, kind: 'modify', abs, st });
      } else if (changed) items.push({ rel: r, kind: 'modify', abs, st });
    }
  };
  walk(rootfs, parent, '');
  return items;
}

/** Docker's change list: sorted by path, directories holding added or deleted entries marked changed. */
export function changesOf(items: Item[]): Change[] {
  const out = new Map<string, Change['Kind']>();
  for (const it of items) {
    const p = '/' + it.rel;
    const kind: Change['Kind'] = it.kind === 'delete' ? 2 : it.kind === 'add' ? 1 : 0;
    out.set(p, kind);
    if (kind !== 0) {
      const parent = p.slice(0, p.lastIndexOf('/'));
      if (parent && !out.has(parent)) out.set(parent, 0);
    }
  }
  return [...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([Path, Kind]) => ({ Path, Kind }));
}

function typeOf(st: Stats): TarHeader['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived
}

export interface LayerTar {
  stream: Readable;
  /** Settles when the stream has ended: bytes of regular-file content, and whether the layer had any entry. */
  done: Promise<{ size: number; empty: boolean }>;
}

const CHUNK = 1 << 20;

/**
 * The items of the tree at `root` as a layer tar, read lazily as the
 * consumer pulls. Contents and link texts are read through handles on
 * `root` (archive/tree.ts) by each item's path, never following a symlink:
 * a running container (commit --pause=false) that swaps a directory for a
 * symlink after the walk makes the commit fail, not read the host's files.
 */
export function layerTar(root: string, items: Item[], xattrs: Map<string, Map<string, Buffer>>, idmap?: IdMap): LayerTar {
  let settle!: (v: { size: number; empty: boolean }) => void;
  let fail!: (e: Error) => void;
  const done = new Promise<{ size: number; empty: boolean }>((res, rej) => {
    settle = res;
    fail = rej;
  });
  done.catch(() => {});
  async function* gen(): AsyncGenerator<Buffer> {
    const tree = Tree.open(root);
    // Items come in walk order, so siblings share the last directory handle.
    let dirOf: { dir: string; fd: number } | undefined;
    const inDir = (dir: string): number => {
      if (dirOf?.dir === dir) return dirOf.fd;
      if (dirOf) tree.release(dirOf.fd);
      dirOf = { dir, fd: tree.dir(dir, { noSymlinks: true }).fd };
      return dirOf.fd;
    };
    try {
      yield* entries(inDir);
    } finally {
      if (dirOf) tree.release(dirOf.fd);
      tree.close();
    }
  }
  async function* entries(inDir: (dir: string) => number): AsyncGenerator<Buffer> {
    const links = new Map<string, string>();
    let size = 0;
    let pending: Buffer[] = [];
    let pendingLen = 0;
    const flush = () => {
      const b = Buffer.concat(pending, pendingLen);
      pending = [];
      pendingLen = 0;
      return b;
    };
    const push = (b: Buffer) => {
      pending.push(b);
      pendingLen += b.length;
    };
    for (const it of items) {
      const slash = it.rel.lastIndexOf('/');
      const dir = slash < 0 ? '' : it.rel.slice(0, slash + 1);
      const base = it.rel.slice(slash + 1);
      if (it.kind === 'delete') {
        push(encodeHeader({ name: `${dir}.wh.${base}`, type: 'file', mode: 0, mtime: 0, size: 0 }));
        continue;
      }
      const st = it.st!;
      const type = typeOf(st);
      if (!type) continue;
      let xa = new Map([...(xattrs.get(it.abs!) ?? new Map<string, Buffer>())].filter(([k]) => !isOverlayAttr(k)));
      if (idmap && xa.size) xa = xattrsToContainer(xa, idmap);
      const h: TarHeader = {
        name: type === 'directory' ? `${it.rel}/` : it.rel,
        type,
        mode: st.mode & 0o7777,
        uid: idmap ? containerUid(idmap, st.uid) : st.uid,
        gid: idmap ? containerGid(idmap, st.gid) : st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        xattrs: xa.size ? xa : undefined,
      };
      if (type === 'symlink') {
        h.linkname = native().readlinkat(inDir(dir), base);
        size += st.size;
      }
      if (type === 'char' || type === 'block') {
        h.devmajor = Math.floor(st.rdev / 256) & 0xfff;
        h.devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
      }
      if (type === 'file' && st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const first = links.get(key);
        if (first) {
          push(encodeHeader({ ...h, type: 'link', linkname: first, xattrs: undefined }));
          continue;
        }
        links.set(key, it.rel);
      }
      if (type === 'file') h.size = st.size;
      push(encodeHeader(h));
      if (it.kind === 'opaque') push(encodeHeader({ name: `${it.rel}/.wh..wh..opq`, type: 'file', mode: 0, mtime: 0, size: 0 }));
      if (type === 'file' && st.size > 0) {
        size += st.size;
        // Never a blocking open on the event loop: a running container may have made this a FIFO.
        const fd = openRegularFileAt(inDir(dir), base, it.rel);
        try {
          let left = st.size;
          while (left > 0) {
            const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
            const n = readSync(fd, buf, 0, buf.length, null);
            if (n <= 0) throw new SystemError(`${it.rel}: file shrank while being archived`);
            push(n === buf.length ? buf : buf.subarray(0, n));
            left -= n;
            if (pendingLen >= CHUNK) yield flush();
          }
        } finally {
          closeSync(fd);
        }
        push(Buffer.alloc(padding(st.size)));
      }
      if (pendingLen >= CHUNK) yield flush();
    }
    push(TAR_END);
    yield flush();
    settle({ size, empty: items.length === 0 });
  }
  const stream = Readable.from(gen(), { objectMode: false });
  stream.on('error', (e) => fail(e));
  return { stream, done };
}

/**
 * Open the regular file `name` in the directory handle `dirfd` for reading:
 * never a final symlink, never waiting on a FIFO or device, and refusing
 * whatever is not a regular file by the time it is open.
 */
function openRegularFileAt(dirfd: number, name: string, rel: string): number {
  const fd = native().openat(dirfd, name, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW, 0);
  try {
    if (!fstatSync(fd).isFile()) throw new NotRegularFileError(rel);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}
