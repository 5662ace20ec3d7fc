/**
 * Apply a layer tar to a directory.
 *
 * Everything lands under the root, and only through handles (see tree.ts
 * for the rule): names are cleaned and refused if they climb out, the
 * parent of each entry is found by a walk that opens one component at a
 * time with O_NOFOLLOW on the handle of the last and follows symlinks
 * itself as if the root were `/`, and every call then acts on that parent's
 * handle and the entry's one name. Entries are applied in the order the tar
 * gives them (device nodes, fifos, whiteouts and xattrs too): nothing is kept
 * for later by a path a later entry could re-point. Only directory times are
 * set at the end, once their contents stop changing, along a chain of
 * O_NOFOLLOW handles that gives up on a path through a symlink. Hard links may only point inside. Ownership, modes,
 * timestamps and xattrs are kept.
 *
 * Filesystem calls are synchronous on purpose: each is a few microseconds,
 * while a round trip through libuv's thread pool costs far more, and a layer
 * is thousands of them. The event loop still turns between input chunks.
 *
 * Whiteouts (`.wh.NAME`, `.wh..wh..opq`) are either kept in overlayfs's own
 * form (a 0/0 character device, the trusted.overlay.opaque xattr), for a
 * layer that overlayfs will stack, carried out by deleting, for a layer
 * applied onto a full copy of its parent (vfs), or, for a plain archive
 * (`docker cp`, ADD), ordinary names as Docker's untar leaves them.
 *
 * A build context is unpacked here too (`context`): the same walk, with only
 * what a context is made of landing and dockerd's wording on refusals.
 *
 * Over 400 lines because the Applier is one walk whose parts (directory-handle cache, entry kinds, hard links,
 * whiteouts, deferred directory times) share its handles and must be read together to check the path-safety rule.
 */
import { writeSync, fchownSync, fchmodSync, futimesSync, closeSync, readdirSync, constants } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidArgumentError, SystemError, BerthError } from '../core/errors.js';
import { native } from './native.js';
import { tarReader, type TarEntry } from './tar-reader.js';
import { Tree, chmodAt, isDir, isMissing, isSymlink, modeAt, openDirAt, removeAllAt, self, type Found } from './tree.js';
import { isOverlayAttr, overlayOpaqueAttr } from './overlay-attrs.js';

export type WhiteoutMode = 'overlay' | 'delete' | 'none';

export interface ApplyOptions {
  whiteouts: WhiteoutMode;
  /** The process umask (read on the main thread: workers cannot ask for it). */
  umask?: number;
  /**
   * A build context, not a layer: only files, directories, symlinks and hard
   * links to files land (COPY never copies devices, fifos or xattrs), `..`
   * stops at the root as in a context's own paths, and a refusal reads
   * "unable to prepare context: …". (Its size is capped by the caller, on
   * the stream.)
   */
  context?: boolean;
  /** Refuse an entry that would replace a directory with a non-directory or the other way (`docker cp`'s default). */
  noOverwriteDirNonDir?: boolean;
}

/** An entry refused by `noOverwriteDirNonDir`; `path` is where it would land, inside the tree. */
export class OverwriteRefusal extends BerthError {
  constructor(
    readonly existingIsDir: boolean,
    readonly path: string,
  ) {
    super(`cannot overwrite ${existingIsDir ? 'directory' : 'non-directory'} ${JSON.stringify(path)}`, 500);
  }
}

export interface ApplyResult {
  /** Bytes of regular-file content written. */
  size: number;
}

const CONTEXT_REFUSAL = 'unable to prepare context: ';
const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const isRoot = process.getuid?.() === 0;
const isRootGroup = process.getegid?.() === 0;
const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY, S_IFCHR, S_IFBLK, S_IFIFO } = constants;
/** Parent handles kept at once; past this the oldest goes (a layer can hold 100k directories). */
const MAX_CACHED_DIRS = 1024;

/** A tar name as a path relative to the root; '' is the root itself. */
export function cleanName(name: string): string {
  const stripped = name.replace(/^\/+/, '');
  const n = posix.normalize(stripped === '' ? '.' : stripped).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) {
    throw new InvalidArgumentError(`invalid tar entry ${JSON.stringify(name)}: path is outside of the root`);
  }
  return n === '.' ? '' : n;
}

/** A name as a process chrooted at the root sees it: relative, `..` stopping at the root; '' is the root. */
export function containedName(name: string): string {
  return posix
    .normalize('/' + name)
    .slice(1)
    .replace(/\/+$/, '');
}

function parentOf(rel: string): string {
  const d = posix.dirname(rel);
  return d === '.' ? '' : d;
}

class Applier {
  size = 0;
  /** Handles on parent directories by the tar's relative path, so deep trees cost no repeated walks. */
  private dirs = new Map<string, { fd: number; path: string }>();
  /** Handles dropped from the cache while the entry in hand may still use them; closed after it. */
  private stale: number[] = [];
  /** Every path (inside the tree) this layer wrote, for opaque-directory handling in delete mode. */
  private touched = new Set<string>();
  /** Directories whose times are set last, by their path inside the tree. */
  private dirTimes: Array<{ path: string; mtime: number }> = [];
  /**
   * Whether a new file may get a group other than ours: a setgid directory
   * passes its own on. A layer dir starts empty, so only this layer's own
   * directories can be setgid; a vfs copy of the parent can hold any.
   */
  private setgidDirs: boolean;

  noOverwriteDirNonDir = false;

  constructor(
    readonly tree: Tree,
    readonly mode: WhiteoutMode,
    readonly umask: number,
    readonly context = false,
  ) {
    this.setgidDirs = mode === 'delete';
  }

  /** A handle on the directory `rel` names, made if missing; symlinks followed inside the tree. */
  parent(rel: string): { fd: number; path: string } {
    const known = this.dirs.get(rel);
    if (known) return known;
    // One step from a known parent when the last name is a plain directory (or nothing yet):
    // the common case, a tree written parents first, costs no walk from the root.
    const up = rel === '' ? undefined : this.dirs.get(parentOf(rel));
    let d: { fd: number; path: string } | undefined;
    if (up) {
      const base = posix.basename(rel);
      const mode = modeAt(up.fd, base);
      if (!mode) native().mkdirat(up.fd, base, 0o755);
      if (!mode || isDir(mode)) d = { fd: openDirAt(up.fd, base), path: posix.join(up.path, base) };
    }
    d ??= this.tree.dir(rel, { create: true });
    this.remember(rel, d);
    return d;
  }

  /** Keep a directory handle for later entries, letting the oldest go past the cap. */
  private remember(rel: string, d: { fd: number; path: string }): void {
    if (this.dirs.size >= MAX_CACHED_DIRS) {
      const [oldest, h] = this.dirs.entries().next().value!;
      this.dirs.delete(oldest);
      this.stale.push(h.fd);
    }
    this.dirs.set(rel, d);
  }

  /**
   * Drop every cached handle: something on a cached path may now resolve
   * elsewhere. The handles close once the entry in hand is done with them.
   */
  forget(): void {
    for (const d of this.dirs.values()) this.stale.push(d.fd);
    this.dirs.clear();
  }

  /** Close the handles `forget` let go of. */
  closeStale(): void {
    for (const fd of this.stale) this.tree.release(fd);
    this.stale = [];
  }

  /**
   * Make room for a new entry at `name` in `dirfd`. A cached handle's path
   * can only run through a directory or a symlink, so replacing one of those
   * is when the cache no longer tells the truth.
   */
  private clear(dirfd: number, name: string): void {
    const mode = modeAt(dirfd, name);
    if (!mode) return;
    if (isDir(mode) || isSymlink(mode)) this.forget();
    if (isDir(mode)) removeAllAt(dirfd, name);
    else native().unlinkat(dirfd, name, false);
  }

  private owner(dirfd: number, name: string, e: TarEntry): void {
    if (isRoot) native().lchownat(dirfd, name, e.uid, e.gid);
  }

  private xattrs(dirfd: number, name: string, e: TarEntry): void {
    if (this.context) return;
    for (const [attr, value] of e.xattrs) {
      // overlayfs's own attributes would let a layer rewrite how the stack is read.
      if (isOverlayAttr(attr)) continue;
      native().setxattrAt(dirfd, name, attr, value);
    }
  }

  async entry(e: TarEntry, body: () => AsyncGenerator<Buffer>): Promise<void> {
    try {
      await this.apply(e, body);
    } finally {
      this.closeStale();
    }
  }

  private async apply(e: TarEntry, body: () => AsyncGenerator<Buffer>): Promise<void> {
    const rel = this.context ? containedName(e.name) : cleanName(e.name);
    if (rel === '') return; // the root's own attributes belong to whoever made it
    if (this.context && (e.type === 'char' || e.type === 'block' || e.type === 'fifo')) return;
    const base = posix.basename(rel);
    if (base.startsWith(WH_PREFIX) && this.mode !== 'none') return this.whiteout(rel, base);
    const p = this.parent(parentOf(rel));
    const path = posix.join(p.path, base);
    if (this.noOverwriteDirNonDir) {
      const existing = modeAt(p.fd, base);
      if (existing && isDir(existing) !== (e.type === 'directory')) throw new OverwriteRefusal(isDir(existing), path);
    }
    this.touched.add(path);
    switch (e.type) {
      case 'directory': {
        try {
          native().mkdirat(p.fd, base, 0o700);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          if (!isDir(modeAt(p.fd, base))) {
            this.clear(p.fd, base);
            native().mkdirat(p.fd, base, 0o700);
          }
        }
        // Owner and mode through a handle on the directory itself, then kept for its children.
        const fd = native().openat(p.fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        try {
          if (isRoot) fchownSync(fd, e.uid, e.gid);
          fchmodSync(fd, e.mode & 0o7777);
        } catch (err) {
          closeSync(fd);
          throw err;
        }
        if (e.mode & 0o2000) this.setgidDirs = true;
        this.xattrs(p.fd, base, e);
        this.dirTimes.push({ path, mtime: e.mtime });
        const old = this.dirs.get(rel);
        if (old) {
          this.dirs.delete(rel);
          this.stale.push(old.fd);
        }
        this.remember(rel, { fd, path });
        return;
      }
      case 'file': {
        // Created with its final mode and owner where open() already gives them: a layer is
        // thousands of files, and each fchown or fchmod skipped is a syscall fewer per file.
        const mode = e.mode & 0o7777;
        const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
        let fd;
        try {
          fd = native().openat(p.fd, base, flags, mode);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          this.clear(p.fd, base);
          fd = native().openat(p.fd, base, flags, mode);
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
        } finally {
          closeSync(fd);
        }
        this.size += e.size;
        this.xattrs(p.fd, base, e);
        return;
      }
      case 'symlink': {
        try {
          native().symlinkat(e.linkname, p.fd, base);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          this.clear(p.fd, base);
          native().symlinkat(e.linkname, p.fd, base);
        }
        this.owner(p.fd, base, e);
        native().lutimesat(p.fd, base, e.mtime, e.mtime);
        this.xattrs(p.fd, base, e);
        // A layer's size is what its directory holds, as dockerd's overlay2 counts it: a symlink's own size is its target's length.
        this.size += Buffer.byteLength(e.linkname);
        return;
      }
      case 'link':
        return this.hardLink(e, p.fd, base, path);
      case 'char':
      case 'block':
      case 'fifo': {
        this.clear(p.fd, base);
        const kind = e.type === 'char' ? S_IFCHR : e.type === 'block' ? S_IFBLK : S_IFIFO;
        native().mknodat(p.fd, base, kind | (e.mode & 0o777), e.devmajor, e.devminor);
        this.owner(p.fd, base, e);
        chmodAt(p.fd, base, e.mode);
        native().lutimesat(p.fd, base, e.mtime, e.mtime);
        this.xattrs(p.fd, base, e);
        return;
      }
    }
  }

  /** A second name for something already in the tree; in a context, only for a regular file. */
  private hardLink(e: TarEntry, dirfd: number, base: string, path: string): void {
    const outside = () =>
      new InvalidArgumentError(
        this.context
          ? `invalid hard link ${JSON.stringify(e.name)} to ${JSON.stringify(e.linkname)}: no such file in the context`
          : `invalid hard link ${JSON.stringify(e.name)}: target ${JSON.stringify(e.linkname)} is not in the layer`,
      );
    const targetRel = this.context ? containedName(e.linkname) : cleanName(e.linkname);
    if (targetRel === '') throw this.context ? outside() : new InvalidArgumentError(`invalid hard link ${JSON.stringify(e.name)} to the root`);
    let src: Found;
    try {
      src = this.tree.lookup(targetRel, { followLast: false });
    } catch (err) {
      if (this.context && isMissing(err)) throw outside();
      throw err;
    }
    try {
      if (src.path === path) return;
      if (src.name === '') throw new InvalidArgumentError(`invalid hard link ${JSON.stringify(e.name)} to a directory`);
      if (this.context && (modeAt(src.dirfd, src.name) & constants.S_IFMT) !== constants.S_IFREG) throw outside();
      try {
        native().linkat(src.dirfd, src.name, dirfd, base);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw outside();
        if (code !== 'EEXIST') throw err;
        this.clear(dirfd, base);
        native().linkat(src.dirfd, src.name, dirfd, base);
      }
    } finally {
      this.tree.release(src.dirfd);
    }
  }

  private whiteout(rel: string, base: string): void {
    const p = this.parent(parentOf(rel));
    if (base === WH_OPAQUE) {
      if (this.mode === 'overlay') native().setxattrFd(p.fd, overlayOpaqueAttr(), Buffer.from('y'));
      else this.removeUntouched(p.fd, p.path);
      return;
    }
    const name = base.slice(WH_PREFIX.length);
    if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new InvalidArgumentError(`invalid whiteout ${JSON.stringify(rel)}`);
    if (this.mode === 'delete') {
      const mode = modeAt(p.fd, name);
      if (isDir(mode) || isSymlink(mode)) this.forget();
      removeAllAt(p.fd, name);
      return;
    }
    this.clear(p.fd, name);
    native().mknodat(p.fd, name, S_IFCHR, 0, 0);
  }

  /** An opaque directory on a full copy: drop what lower layers put there, keep what this layer wrote. */
  private removeUntouched(dirfd: number, dirPath: string): void {
    this.forget();
    for (const name of readdirSync(self(dirfd))) {
      const path = posix.join(dirPath, name);
      if (!this.touched.has(path)) {
        removeAllAt(dirfd, name);
        continue;
      }
      if (isDir(modeAt(dirfd, name))) {
        const fd = native().openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        try {
          this.removeUntouched(fd, path);
        } finally {
          closeSync(fd);
        }
      }
    }
  }

  /**
   * The times nothing else will change. In path order, holding handles on
   * the chain of directories above the one in hand, each opened O_NOFOLLOW
   * from the one before: a path that now runs through a symlink is left alone.
   */
  finish(): void {
    this.forget();
    this.closeStale();
    const times = new Map<string, number>();
    for (const { path, mtime } of this.dirTimes) times.set(path, mtime);
    // Parents first, and each directory right before what is below it ("/" sorts lowest).
    const paths = [...times.keys()].sort((a, b) => {
      const x = a.replaceAll('/', '\0');
      const y = b.replaceAll('/', '\0');
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const chain: Array<{ path: string; fd: number }> = [];
    const drop = () => closeSync(chain.pop()!.fd);
    try {
      for (const path of paths) {
        const parent = posix.dirname(path);
        while (chain.length && !(parent === chain[chain.length - 1]!.path || parent.startsWith(chain[chain.length - 1]!.path + '/'))) drop();
        let fd = chain.length ? chain[chain.length - 1]!.fd : this.tree.fd;
        const done = chain.length ? chain[chain.length - 1]!.path : '/';
        let ok = true;
        for (const name of parent.slice(done.length).split('/').filter(Boolean)) {
          try {
            fd = openDirAt(fd, name);
          } catch {
            ok = false;
            break;
          }
          chain.push({ path: posix.join(chain.length ? chain[chain.length - 1]!.path : '/', name), fd });
        }
        if (!ok) continue;
        const base = posix.basename(path);
        if (isDir(modeAt(fd, base))) native().lutimesat(fd, base, times.get(path)!, times.get(path)!);
      }
    } finally {
      while (chain.length) drop();
    }
  }
}

/** Unpack `tar` (uncompressed) into `root` (a directory that must exist, or a tree handle the caller keeps). */
export async function applyTar(root: string | Tree, tar: Readable, opts: ApplyOptions): Promise<ApplyResult> {
  const reader = tarReader(tar);
  const tree = typeof root === 'string' ? Tree.open(root) : root;
  const a = new Applier(tree, opts.whiteouts, opts.umask ?? process.umask(), opts.context);
  a.noOverwriteDirNonDir = opts.noOverwriteDirNonDir ?? false;
  try {
    for (let e = await reader.next(); e; e = await reader.next()) await a.entry(e, reader.body);
    a.finish();
    // Whatever follows the end-of-archive marker is read and ignored.
    await reader.drain();
  } catch (err) {
    void reader.drain(); // let the sender finish; the caller answers with the error now
    const failure = failureOf(err);
    if (opts.context && failure instanceof InvalidArgumentError && !failure.message.startsWith(CONTEXT_REFUSAL)) {
      throw new InvalidArgumentError(CONTEXT_REFUSAL + failure.message);
    }
    throw failure;
  } finally {
    a.forget();
    a.closeStale();
    if (typeof root === 'string') tree.close();
  }
  return { size: a.size };
}

/** Filesystem failures are ours (500); anything else is a malformed archive (400). */
function failureOf(err: unknown): BerthError {
  if (err instanceof BerthError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code) return new SystemError(`applying layer: ${(err as Error).message}`);
  return new InvalidArgumentError(`invalid layer archive: ${(err as Error).message}`);
}
