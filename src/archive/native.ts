/**
 * The native addon (native/berth_native.c, built by node-gyp into
 * build/Release): the filesystem calls Node lacks, on directory handles.
 * Loaded on first use, so a process that never needs it never maps it.
 */
import { loadAddon } from '../core/native-addon.js';

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

let loaded: Native | undefined;

/** The addon, found by walking up from this module (dist/src/archive, or the CLI bundle in dist/cli). */
export function native(): Native {
  loaded ??= loadAddon<Native>('berth_native');
  return loaded;
}
