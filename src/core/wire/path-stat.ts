/**
 * The X-Docker-Container-Path-Stat document (HEAD/GET/PUT /containers/{id}/archive):
 * a path's name, size, Go os.FileMode, mtime and link target. The daemon encodes
 * it, the CLI decodes it, so both read the mode bits from here.
 */
import type { Stats } from 'node:fs';

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go's os.FileMode type bits, which the docker CLI decodes.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_PIPE = 2 ** 25;
const GO_SOCKET = 2 ** 24;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_CHARDEV = 2 ** 21;
const GO_STICKY = 2 ** 20;

/** A file's mode as Go's os.FileMode: permission bits plus Go's own type and special bits. */
export function goMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GO_DIR;
  else if (st.isSymbolicLink()) m += GO_SYMLINK;
  else if (st.isFIFO()) m += GO_PIPE;
  else if (st.isSocket()) m += GO_SOCKET;
  else if (st.isCharacterDevice()) m += GO_DEVICE + GO_CHARDEV;
  else if (st.isBlockDevice()) m += GO_DEVICE;
  if (st.mode & 0o4000) m += GO_SETUID;
  if (st.mode & 0o2000) m += GO_SETGID;
  if (st.mode & 0o1000) m += GO_STICKY;
  return m;
}

export const isDirStat = (s: PathStat): boolean => s.mode >= GO_DIR;
export const isSymlinkStat = (s: PathStat): boolean => !isDirStat(s) && Math.floor(s.mode / GO_SYMLINK) % 2 === 1;
