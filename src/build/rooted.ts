/**
 * A directory tree reached only through handles of its own directories.
 *
 * A build context is hostile input: its symlinks may point at /etc, and the
 * tree it is read from (a spooled upload, a git checkout, a stage's rootfs)
 * holds them as real symlinks. So no path under the root is ever handed to
 * the kernel whole: each directory is opened from the one before it with
 * O_NOFOLLOW (`/proc/self/fd/<dir fd>/<name>` is openat(dir fd, name) for
 * Node, which has no openat), and the last name is looked up in the last
 * directory without following it. A symlink is followed only where the
 * caller asks to (`resolve`), and then inside the root: `..` stops at it and
 * an absolute target starts again from it.
 */
import { closeSync, constants, lstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const MAX_LINKS = 40;

/** A path as names under the root: relative, `..` never climbing above it. */
export function splitPath(p: string): string[] {
  const n = posix.normalize('/' + p).slice(1).replace(/\/+$/, '');
  return n ? n.split('/') : [];
}

/** The path naming an open directory, under which names are looked up without crossing a symlink. */
export function fdPath(fd: number): string { return `/proc/self/fd/${fd}`; }

/** Lookup failures that mean "not there (as a directory)" rather than a broken system. */
function missing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

export class Rooted {
  private constructor(readonly fd: number) {}

  /** Open `dir` (a path the daemon made or mounted itself) as a root. */
  static open(dir: string): Rooted {
    return new Rooted(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY));
  }

  /** The directory `names` below this root as a root of its own, if every component is a real directory. */
  sub(names: string[]): Rooted | undefined {
    let fd = -1;
    try {
      fd = openSync(`${fdPath(this.fd)}/.`, DIR_FLAGS);
      for (const n of names) {
        const next = openSync(`${fdPath(fd)}/${n}`, DIR_FLAGS);
        closeSync(fd);
        fd = next;
      }
      return new Rooted(fd);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      if (missing(e)) return undefined;
      throw e;
    }
  }

  close(): void { closeSync(this.fd); }

  /** `fn` with the path of directory `names` (held open meanwhile); undefined if it is not a directory here. */
  inDir<T>(names: string[], fn: (dir: string) => T): T | undefined {
    if (names.length === 0) return fn(fdPath(this.fd));
    const d = this.sub(names);
    if (!d) return undefined;
    try { return fn(fdPath(d.fd)); } finally { d.close(); }
  }

  /** `fn` with the directory holding `names`' last element, and that element's name. */
  inParent<T>(names: string[], fn: (dir: string, name: string) => T): T | undefined {
    if (names.length === 0) throw new InvalidArgumentError('the root has no parent');
    return this.inDir(names.slice(0, -1), (dir) => fn(dir, names[names.length - 1]!));
  }

  /** lstat of `names` (the last one not followed); undefined if it is not there. */
  lstat(names: string[]): Stats | undefined {
    if (names.length === 0) return lstatSync(`${fdPath(this.fd)}/.`);
    try {
      return this.inParent(names, (dir, name) => lstatSync(`${dir}/${name}`));
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  }

  /** The target of symlink `names`, or undefined if it is not a symlink. */
  readlink(names: string[]): string | undefined {
    if (names.length === 0) return undefined;
    try {
      return this.inParent(names, (dir, name) => (lstatSync(`${dir}/${name}`).isSymbolicLink() ? readlinkSync(`${dir}/${name}`) : undefined));
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  }

  /**
   * `path` with its symlinks followed inside the root (all but the last
   * unless `followLast`), as names with no symlink among them but maybe the
   * last; undefined on a loop. Missing names resolve as themselves.
   */
  resolve(path: string, followLast: boolean): string[] | undefined {
    let todo = splitPath(path);
    const done: string[] = [];
    let links = 0;
    while (todo.length) {
      const name = todo.shift()!;
      if (name === '..') { done.pop(); continue; }
      if (todo.length === 0 && !followLast) { done.push(name); break; }
      const target = this.readlink([...done, name]);
      if (target === undefined) { done.push(name); continue; }
      if (++links > MAX_LINKS) return undefined;
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...todo];
    }
    return done;
  }
}
