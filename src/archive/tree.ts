/**
 * A directory tree reached only through handles: the one way Berth touches a
 * layer, a rootfs or a running container's files.
 *
 * The rule (Docker learned it from CVE-2018-15664): a tree's content is
 * hostile, and a running container can swap any directory for a symlink
 * between two of our syscalls. So nothing in a tree is ever named by a host
 * path string. A `Tree` holds an open handle on its root; every lookup goes
 * one component at a time, each opened with O_NOFOLLOW on the handle of the
 * one before (openat and friends from the native addon, or for Node's own
 * calls `/proc/self/fd/<fd>/<name>`, the same lookup through procfs), and
 * every operation acts on a handle of the directory that holds the entry
 * plus the entry's single name. Symlinks met on the way are read
 * and followed by us, as if the root were `/`; `..` pops our own stack of
 * handles and stops at the root. A swap between two steps makes the next
 * O_NOFOLLOW open fail (ELOOP, ENOTDIR): the walk errs, it never leaves.
 */
import { openSync, closeSync, lstatSync, fstatSync, readdirSync, chmodSync, constants, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { BerthError, InvalidArgumentError } from '../core/errors.js';
import { native } from './native.js';

/** Linux's O_PATH (x86, arm, riscv): a handle that can be looked through, not read. */
export const O_PATH = 0o10000000;
const { O_DIRECTORY, O_NOFOLLOW, O_RDONLY, S_IFMT, S_IFDIR, S_IFLNK } = constants;
const MAX_LINKS = 40;

/** The path that names `name` inside the directory held by `dirfd`, the handle fixed, the name not followed by *at-style calls. */
export function at(dirfd: number, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new InvalidArgumentError(`invalid path component ${JSON.stringify(name)}`);
  }
  return `/proc/self/fd/${dirfd}/${name}`;
}

/** The object a handle holds itself (a magic link the kernel follows to exactly that inode). */
export function self(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** Full Stats of the entry itself (through /proc: for the few callers that need more than its type). */
export function lstatAt(dirfd: number, name: string): Stats | undefined {
  return lstatSync(at(dirfd, name), { throwIfNoEntry: false });
}

/** The entry's st_mode, not following it; 0 when there is no such entry. */
export function modeAt(dirfd: number, name: string): number {
  return native().modeAt(dirfd, name);
}

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isSymlink = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** A handle on the directory `name` in `dirfd`; fails (ELOOP, ENOTDIR) rather than follow a symlink. */
export function openDirAt(dirfd: number, name: string): number {
  return native().openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
}

/** chmod of the entry itself; a symlink (which has no mode of its own) is left alone. */
export function chmodAt(dirfd: number, name: string, mode: number): void {
  const fd = openSync(at(dirfd, name), O_PATH | O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isSymbolicLink()) chmodSync(self(fd), mode & 0o7777);
  } finally {
    closeSync(fd);
  }
}

/** Remove `name` in `dirfd` and, for a directory, everything below it, never through a symlink. */
export function removeAllAt(dirfd: number, name: string): void {
  const mode = modeAt(dirfd, name);
  if (!mode) return;
  if (!isDir(mode)) {
    native().unlinkat(dirfd, name, false);
    return;
  }
  const fd = openDirAt(dirfd, name);
  try {
    for (const child of readdirSync(self(fd))) removeAllAt(fd, child);
  } finally {
    closeSync(fd);
  }
  native().unlinkat(dirfd, name, true);
}

/** Where a lookup ended: the directory that holds the entry, and its name ('' when it is that directory itself). */
export interface Found {
  /** A handle on the directory; the caller closes it (`Tree.release`). */
  dirfd: number;
  name: string;
  /** The clean absolute path inside the tree, symlinks on the way resolved. */
  path: string;
}

export interface LookupOptions {
  /** Past a missing component, finish the path by its words alone (nothing there can be a symlink); `name` is then '' and `dirfd` the last directory found. */
  missingOk?: boolean;
  /** Follow a symlink in the last component too (it is always followed in the others). */
  followLast?: boolean;
  /** Make missing directories on the way (0755), and replace a non-directory in the way with one, as a layer does. */
  create?: boolean;
  /** Refuse every symlink instead of following it (re-finding something this process made). */
  noSymlinks?: boolean;
}

function parts(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

class LinkLoopError extends BerthError {}

/** A lookup failure that means "nothing there (as asked)": missing, a non-directory on the way, a symlink where none may be, or a loop of them. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || e instanceof LinkLoopError;
}

/** What a path names: its lstat, its clean path inside the tree, and a symlink's target ('' otherwise). */
export interface Entry {
  stat: Stats;
  path: string;
  linkname: string;
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  e.code = code;
  return e;
}

export class Tree {
  /** Trees mounted at paths inside this one (a stopped container's volumes), by clean absolute path. */
  private mounts = new Map<string, Tree>();

  /** @param where this tree sits in the tree it was taken from ('/' for a root) */
  private constructor(
    readonly fd: number,
    private readonly owned: boolean,
    readonly where = '/',
  ) {}

  /**
   * A tree rooted at `hostPath`, which the caller trusts (a snapshot dir, a
   * container's `/proc/<pid>/root`): it is followed once, to take the handle.
   */
  static open(hostPath: string): Tree {
    return new Tree(openSync(hostPath, O_PATH | O_DIRECTORY), true);
  }

  /** Lay `tree` over `path` for lookups (not for removal or packing). */
  mount(path: string, tree: Tree): void {
    this.mounts.set('/' + parts(path).join('/'), tree);
  }

  close(): void {
    if (this.owned) closeSync(this.fd);
    for (const t of this.mounts.values()) t.close();
    this.mounts.clear();
  }

  /** Close a handle a lookup returned (never the tree's own). */
  release(fd: number): void {
    if (fd !== this.fd && ![...this.mounts.values()].some((t) => t.fd === fd)) closeSync(fd);
  }

  /** A handle on the root of the tree (or mount) at `path`, when one is laid there. */
  private rootAt(path: string): number | undefined {
    if (path === '/') return this.fd;
    return this.mounts.get(path)?.fd;
  }

  /**
   * Find `path` inside the tree as a process chrooted at its root would.
   * Each step is opened O_NOFOLLOW on the handle of the last, so nothing a
   * container changes meanwhile can take the walk outside.
   */
  lookup(path: string, opts: LookupOptions = {}): Found {
    const stack: Array<{ fd: number; name: string }> = [];
    const top = () => (stack.length ? stack[stack.length - 1]!.fd : this.fd);
    const here = () => '/' + stack.map((s) => s.name).join('/');
    const pop = () => {
      const s = stack.pop();
      if (s) this.release(s.fd);
    };
    let todo = parts(path);
    let links = 0;
    try {
      while (todo.length) {
        const c = todo.shift()!;
        if (c === '..') {
          pop();
          continue;
        }
        const last = todo.length === 0;
        const mode = modeAt(top(), c);
        if (isSymlink(mode) && (!last || opts.followLast)) {
          if (opts.noSymlinks) throw errno('ELOOP', `${path}: a symlink where none may be`);
          if (++links > MAX_LINKS) throw new LinkLoopError(`too many levels of symbolic links: ${path}`, 400);
          const target = native().readlinkat(top(), c);
          if (target.startsWith('/')) while (stack.length) pop();
          todo = [...parts(target), ...todo];
          continue;
        }
        const next = posix.join(here(), c);
        const mounted = this.rootAt(next);
        if (last && mounted === undefined) {
          const dirfd = stack.length ? stack.pop()!.fd : this.fd;
          while (stack.length) pop();
          return { dirfd, name: c, path: next };
        }
        if (mounted === undefined) {
          if (!mode && opts.missingOk && !opts.create) {
            const rest = posix.join(next, ...todo);
            const dirfd = stack.length ? stack.pop()!.fd : this.fd;
            while (stack.length) pop();
            return { dirfd, name: '', path: posix.resolve('/', rest) };
          }
          if (!mode) {
            if (!opts.create) throw errno('ENOENT', `${path}: no such file or directory`);
            native().mkdirat(top(), c, 0o755);
          } else if (!isDir(mode)) {
            if (!opts.create) throw errno('ENOTDIR', `${path}: not a directory`);
            // A file where a directory is needed: the later entry wins, as in Docker.
            native().unlinkat(top(), c, false);
            native().mkdirat(top(), c, 0o755);
          }
        }
        stack.push({ fd: mounted ?? openDirAt(top(), c), name: c });
      }
      // The path names a directory itself: hand back a handle on it.
      const found = here();
      const dirfd = stack.length ? stack.pop()!.fd : this.fd;
      while (stack.length) pop();
      return { dirfd, name: '', path: found };
    } catch (e) {
      while (stack.length) pop();
      throw e;
    }
  }

  /**
   * A handle on the directory at `path` (symlinks followed inside the tree,
   * or refused with `noSymlinks`; missing ones made when `create`); the
   * caller gives it back with `release`.
   */
  dir(path: string, opts: { create?: boolean; noSymlinks?: boolean } = {}): { fd: number; path: string } {
    const f = this.lookup(path, { followLast: !opts.noSymlinks, create: opts.create, noSymlinks: opts.noSymlinks });
    if (f.name === '') return { fd: f.dirfd, path: f.path };
    try {
      if (opts.create) {
        const mode = modeAt(f.dirfd, f.name);
        if (!mode) native().mkdirat(f.dirfd, f.name, 0o755);
        else if (!isDir(mode)) {
          native().unlinkat(f.dirfd, f.name, false);
          native().mkdirat(f.dirfd, f.name, 0o755);
        }
      }
      return { fd: openDirAt(f.dirfd, f.name), path: f.path };
    } finally {
      this.release(f.dirfd);
    }
  }

  /** The directory at `path` as a tree of its own (its handle owned by the new tree). */
  subtree(path: string, opts: { create?: boolean } = {}): Tree {
    const { fd, path: found } = this.dir(path, opts);
    return new Tree(fd === this.fd || this.isMountRoot(fd) ? reopen(fd) : fd, true, found);
  }

  private isMountRoot(fd: number): boolean {
    return [...this.mounts.values()].some((t) => t.fd === fd);
  }

  /** lstat of what `path` names (the last component not followed unless asked). */
  lstat(path: string, followLast = false): { stat: Stats; found: Found } {
    const f = this.lookup(path, { followLast });
    try {
      const st = f.name === '' ? fstatSync(f.dirfd) : lstatAt(f.dirfd, f.name);
      if (!st) throw errno('ENOENT', `${path}: no such file or directory`);
      return { stat: st, found: f };
    } catch (e) {
      this.release(f.dirfd);
      throw e;
    }
  }

  /**
   * What `path` names (the last component followed only when asked), or
   * undefined when nothing is there; with `noSymlinks` a symlink on the way
   * counts as nothing there.
   */
  find(path: string, opts: { followLast?: boolean; noSymlinks?: boolean } = {}): Entry | undefined {
    let f: Found;
    try {
      f = this.lookup(path, opts);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    try {
      const stat = f.name === '' ? fstatSync(f.dirfd) : lstatAt(f.dirfd, f.name);
      if (!stat) return undefined;
      return { stat, path: f.path, linkname: stat.isSymbolicLink() ? native().readlinkat(f.dirfd, f.name) : '' };
    } finally {
      this.release(f.dirfd);
    }
  }

  /** The names in the directory at `path` (symlinks followed inside the tree); none when it is not a directory. */
  list(path: string): string[] {
    let d: { fd: number };
    try {
      d = this.dir(path);
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    try {
      return readdirSync(self(d.fd));
    } finally {
      this.release(d.fd);
    }
  }

  /**
   * Open a regular file at `path` for reading (symlinks followed inside the
   * tree), never a FIFO or a device; null when it is missing or not a file.
   */
  openFile(path: string): number | null {
    let f: Found;
    try {
      f = this.lookup(path, { followLast: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
      throw e;
    }
    try {
      if (f.name === '') return null;
      let fd: number;
      try {
        fd = native().openat(f.dirfd, f.name, O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK, 0);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
        throw e;
      }
      if (!fstatSync(fd).isFile()) {
        closeSync(fd);
        return null;
      }
      return fd;
    } finally {
      this.release(f.dirfd);
    }
  }
}

/** A second handle on the same directory. */
function reopen(fd: number): number {
  return openSync(self(fd), O_PATH | O_DIRECTORY);
}
