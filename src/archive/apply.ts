/**
 * Apply a layer tar to a directory.
 *
 * Everything lands under `root`: names are cleaned and refused if they climb
 * out, symlinks met on the way are followed as if `root` were `/`, and hard
 * links may only point inside. Ownership, modes, timestamps and xattrs are
 * kept; directory times are set last, once their contents stop changing.
 *
 * Filesystem calls are synchronous on purpose: each is a few microseconds,
 * while a round trip through libuv's thread pool costs far more, and a layer
 * is thousands of them. The event loop still turns between input chunks.
 *
 * Whiteouts (`.wh.NAME`, `.wh..wh..opq`) are either kept in overlayfs's own
 * form (a 0/0 character device, the trusted.overlay.opaque xattr), for a
 * layer that overlayfs will stack, or carried out by deleting, for a layer
 * applied onto a full copy of its parent (vfs).
 */
import {
  lstatSync as lstat, mkdirSync as mkdir, openSync, writeSync, fchownSync, fchmodSync, futimesSync, closeSync,
  readdirSync as readdir, readlinkSync as readlink, rmSync as rm, symlinkSync as symlink, linkSync as link,
  lchownSync as lchown, chmodSync as chmod, lutimesSync as lutimes, utimesSync as utimes, unlinkSync as unlink,
} from 'node:fs';
import { posix, join } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, SystemError, BerthError } from '../core/errors.js';
import { run } from '../core/proc.js';
import { tarReader, type TarEntry } from './tar-reader.js';

export type WhiteoutMode = 'overlay' | 'delete';

export interface ApplyOptions {
  whiteouts: WhiteoutMode;
  /** The process umask (read on the main thread: workers cannot ask for it). */
  umask?: number;
}

export interface ApplyResult {
  /** Bytes of regular-file content written. */
  size: number;
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const isRoot = process.getuid?.() === 0;
const isRootGroup = process.getegid?.() === 0;

/** A tar name as a path relative to the root; '' is the root itself. */
export function cleanName(name: string): string {
  const stripped = name.replace(/^\/+/, '');
  const n = posix.normalize(stripped === '' ? '.' : stripped).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) {
    throw new InvalidArgumentError(`invalid tar entry ${JSON.stringify(name)}: path is outside of the root`);
  }
  return n === '.' ? '' : n;
}

interface Node { path: string; entry: TarEntry }

/** getfattr's dump escaping: octal for anything setfattr would misread. */
function dumpPath(p: string): string {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    out += b <= 0x20 || b >= 0x7f || b === 0x5c ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b);
  }
  return out;
}

class Applier {
  size = 0;
  /** Resolved real parent directories by relative path, so deep trees cost no repeated walks. */
  private dirs = new Map<string, string>();
  /** Every path this layer wrote, for opaque-directory handling in delete mode. */
  private touched = new Set<string>();
  private dirTimes: Node[] = [];
  private nodes: Node[] = [];
  private xattrs: Array<{ path: string; name: string; value: Buffer }> = [];
  /**
   * Whether a new file may get a group other than ours: a setgid directory
   * passes its own on. A layer dir starts empty, so only this layer's own
   * directories can be setgid; a vfs copy of the parent can hold any.
   */
  private setgidDirs: boolean;

  constructor(readonly root: string, readonly mode: WhiteoutMode, readonly umask: number) {
    this.setgidDirs = mode === 'delete';
  }

  /**
   * The real directory a relative directory path names, creating what is
   * missing; symlinks are followed with `root` as `/` so nothing escapes.
   */
  resolveDir(rel: string): string {
    if (rel === '') return this.root;
    const known = this.dirs.get(rel);
    if (known) return known;
    const queue = rel.split('/');
    const cur: string[] = [];
    let hops = 0;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') { cur.pop(); continue; }
      const p = join(this.root, ...cur, c);
      const st = lstat(p, { throwIfNoEntry: false });
      if (!st) {
        mkdir(p, { mode: 0o755 });
        cur.push(c);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > 40) throw new InvalidArgumentError(`invalid tar entry ${JSON.stringify(rel)}: too many levels of symbolic links`);
        const target = readlink(p);
        if (target.startsWith('/')) cur.length = 0;
        queue.unshift(...target.split('/'));
        continue;
      }
      if (!st.isDirectory()) {
        // A file where a directory is needed: the later entry wins, as in Docker.
        unlink(p);
        mkdir(p, { mode: 0o755 });
      }
      cur.push(c);
    }
    const real = join(this.root, ...cur);
    this.dirs.set(rel, real);
    return real;
  }

  target(rel: string): { dir: string; base: string; path: string } {
    const dir = this.resolveDir(posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
    const base = posix.basename(rel);
    return { dir, base, path: join(dir, base) };
  }

  /** Make room for a new non-directory at `path`. */
  private clear(path: string): void {
    const st = lstat(path, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) { rm(path, { recursive: true, force: true }); this.dirs.clear(); }
    else unlink(path);
  }

  private owner(path: string, e: TarEntry): void {
    if (isRoot) lchown(path, e.uid, e.gid);
  }

  private queueXattrs(path: string, e: TarEntry): void {
    for (const [name, value] of e.xattrs) {
      // overlayfs's own attributes would let a layer rewrite how the stack is read.
      if (name.startsWith('trusted.overlay.')) continue;
      this.xattrs.push({ path, name, value });
    }
  }

  async entry(e: TarEntry, body: () => AsyncGenerator<Buffer>): Promise<void> {
    const rel = cleanName(e.name);
    if (rel === '') return; // the root's own attributes belong to whoever made it
    const base = posix.basename(rel);
    if (base.startsWith(WH_PREFIX)) return this.whiteout(rel, base);
    const t = this.target(rel);
    this.touched.add(t.path);
    switch (e.type) {
      case 'directory': {
        try { mkdir(t.path, { mode: 0o700 }); } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const st = lstat(t.path);
          if (!st.isDirectory()) { unlink(t.path); mkdir(t.path, { mode: 0o700 }); this.dirs.clear(); }
        }
        this.owner(t.path, e);
        chmod(t.path, e.mode);
        if (e.mode & 0o2000) this.setgidDirs = true;
        this.queueXattrs(t.path, e);
        this.dirTimes.push({ path: t.path, entry: e });
        return;
      }
      case 'file': {
        // Created with its final mode and owner where open() already gives them: a layer is
        // thousands of files, and each fchown or fchmod skipped is a syscall fewer per file.
        const mode = e.mode & 0o7777;
        let fd;
        try { fd = openSync(t.path, 'wx', mode); } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          this.clear(t.path);
          fd = openSync(t.path, 'wx', mode);
        }
        try {
          for await (const chunk of body()) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          }
          const chown = isRoot && !(e.uid === 0 && e.gid === 0 && isRootGroup && !this.setgidDirs);
          if (chown) fchownSync(fd, e.uid, e.gid);
          // chown clears setuid and setgid bits, and the umask may have taken some.
          if ((mode & this.umask) !== 0 || (chown && (mode & 0o6000) !== 0)) fchmodSync(fd, mode);
          futimesSync(fd, e.mtime, e.mtime);
        } finally { closeSync(fd); }
        this.size += e.size;
        this.queueXattrs(t.path, e);
        return;
      }
      case 'symlink': {
        try { symlink(e.linkname, t.path); } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          this.clear(t.path);
          symlink(e.linkname, t.path);
        }
        this.dirs.clear(); // a directory path through here may now resolve elsewhere
        this.owner(t.path, e);
        lutimes(t.path, e.mtime, e.mtime);
        this.queueXattrs(t.path, e);
        return;
      }
      case 'link': {
        const targetRel = cleanName(e.linkname);
        if (targetRel === '') throw new InvalidArgumentError(`invalid hard link ${JSON.stringify(e.name)} to the root`);
        const src = this.target(targetRel);
        if (src.path === t.path) return;
        try { link(src.path, t.path); } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') throw new InvalidArgumentError(`invalid hard link ${JSON.stringify(e.name)}: target ${JSON.stringify(e.linkname)} is not in the layer`);
          if (code !== 'EEXIST') throw err;
          this.clear(t.path);
          link(src.path, t.path);
        }
        return;
      }
      case 'char': case 'block': case 'fifo':
        this.clear(t.path);
        this.nodes.push({ path: t.path, entry: e });
        return;
    }
  }

  private whiteout(rel: string, base: string): void {
    const parentRel = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    const dir = this.resolveDir(parentRel);
    if (base === WH_OPAQUE) {
      if (this.mode === 'overlay') this.xattrs.push({ path: dir, name: 'trusted.overlay.opaque', value: Buffer.from('y') });
      else this.removeUntouched(dir);
      return;
    }
    const name = base.slice(WH_PREFIX.length);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new InvalidArgumentError(`invalid whiteout ${JSON.stringify(rel)}`);
    const path = join(dir, name);
    if (this.mode === 'delete') {
      rm(path, { recursive: true, force: true });
      this.dirs.clear();
      return;
    }
    this.clear(path);
    this.nodes.push({ path, entry: { name: rel, type: 'char', size: 0, mode: 0, uid: 0, gid: 0, mtime: 0, linkname: '', devmajor: 0, devminor: 0, xattrs: new Map() } });
  }

  /** An opaque directory on a full copy: drop what lower layers put there, keep what this layer wrote. */
  private removeUntouched(dir: string): void {
    for (const name of readdir(dir)) {
      const p = join(dir, name);
      if (!this.touched.has(p)) { rm(p, { recursive: true, force: true }); continue; }
      const st = lstat(p);
      if (st.isDirectory()) this.removeUntouched(p);
    }
    this.dirs.clear();
  }

  /** Device nodes and fifos (Node has no mknod), then xattrs, then the times nothing else will change. */
  async finish(): Promise<void> {
    for (let i = 0; i < this.nodes.length; i += 1000) {
      const batch = this.nodes.slice(i, i + 1000);
      const args: string[] = [];
      for (const { path, entry: e } of batch) {
        const kind = e.type === 'block' ? 'b' : e.type === 'fifo' ? 'p' : 'c';
        args.push(path, kind, String(e.devmajor), String(e.devminor));
      }
      const script = 'while [ $# -gt 0 ]; do if [ "$2" = p ]; then mknod -- "$1" p; else mknod -- "$1" "$2" "$3" "$4"; fi || exit 1; shift 4; done';
      const r = await run('sh', ['-c', script, 'sh', ...args]);
      if (r.code !== 0) throw new SystemError(`creating device nodes: ${r.stderr.trim()}`);
      for (const { path, entry: e } of batch) {
        this.owner(path, e);
        chmod(path, e.mode);
        utimes(path, e.mtime, e.mtime);
      }
    }
    if (this.xattrs.length) {
      let dump = '';
      for (const x of this.xattrs) dump += `# file: ${dumpPath(x.path)}\n${x.name}=0x${x.value.toString('hex')}\n\n`;
      const r = await run('setfattr', ['-h', '--restore=-'], { input: dump });
      if (r.code !== 0) throw new SystemError(`setting extended attributes: ${r.stderr.trim()}`);
    }
    for (let i = this.dirTimes.length - 1; i >= 0; i--) {
      const { path, entry } = this.dirTimes[i]!;
      lutimes(path, entry.mtime, entry.mtime); // never through a symlink that replaced it
    }
  }
}

/** Unpack `tar` (uncompressed) into `root`, which must exist. */
export async function applyTar(root: string, tar: Readable, opts: ApplyOptions): Promise<ApplyResult> {
  const reader = tarReader(tar);
  const a = new Applier(root, opts.whiteouts, opts.umask ?? process.umask());
  try {
    for (let e = await reader.next(); e; e = await reader.next()) await a.entry(e, reader.body);
    await a.finish();
    // Whatever follows the end-of-archive marker is read and ignored.
    await reader.drain();
  } catch (err) {
    void reader.drain(); // let the sender finish; the caller answers with the error now
    if (err instanceof BerthError) throw err;
    // Filesystem failures are ours (500); anything else is a malformed archive (400).
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new SystemError(`applying layer: ${(err as Error).message}`);
    throw new InvalidArgumentError(`invalid layer archive: ${(err as Error).message}`);
  }
  return { size: a.size };
}
