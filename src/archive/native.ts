/**
 * The native addon (native/berth_native.c, built by node-gyp into
 * build/Release): the filesystem calls Node lacks, on directory handles.
 * Loaded on first use, so a process that never needs it never maps it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemError } from '../core/errors.js';

export interface Native {
  /** mknodat(dirfd, name, mode with S_IF* type bits, major, minor). */
  mknodat(dirfd: number, name: string, mode: number, major: number, minor: number): void;
  /** lsetxattr on `name` in the directory `dirfd` (never following it). */
  setxattrAt(dirfd: number, name: string, attr: string, value: Buffer): void;
  /** setxattr on the directory the handle `fd` holds. */
  setxattrFd(fd: number, attr: string, value: Buffer): void;
  openat(dirfd: number, name: string, flags: number, mode: number): number;
  mkdirat(dirfd: number, name: string, mode: number): void;
  symlinkat(target: string, dirfd: number, name: string): void;
  /** A hard link to the old entry itself (a symlink is not followed). */
  linkat(olddirfd: number, oldname: string, newdirfd: number, newname: string): void;
  unlinkat(dirfd: number, name: string, removeDir: boolean): void;
  /** fchownat with AT_SYMLINK_NOFOLLOW. */
  lchownat(dirfd: number, name: string, uid: number, gid: number): void;
  /** utimensat with AT_SYMLINK_NOFOLLOW; times in (fractional) seconds. */
  lutimesat(dirfd: number, name: string, atime: number, mtime: number): void;
  /** The entry's st_mode (not following it), 0 when there is no such entry. */
  modeAt(dirfd: number, name: string): number;
  readlinkat(dirfd: number, name: string): string;
}

declare const __filename: string | undefined;

let loaded: Native | undefined;

/** The addon, found by walking up from this module (dist/src/archive, or the CLI bundle in dist/cli). */
export function native(): Native {
  loaded ??= loadAddon<Native>('berth_native');
  return loaded;
}

/** A node-gyp addon `build/Release/<name>.node`, found by walking up from this module. */
export function loadAddon<T>(name: string): T {
  const here = import.meta.url ? fileURLToPath(import.meta.url) : typeof __filename === 'string' ? __filename : process.argv[1]!;
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    const file = join(dir, 'build', 'Release', `${name}.node`);
    if (existsSync(file)) return createRequire(here)(file) as T;
    if (dirname(dir) === dir) break;
  }
  throw new SystemError(`the native addon build/Release/${name}.node is missing: run \`npm run build\``);
}
