/** HostConfig.Tmpfs (--tmpfs /run:rw,size=64m) → tmpfs mounts, options merged as moby merges them. */
import { posix } from 'node:path';
import { InvalidArgumentError } from '../../../core/errors.js';
import type { OciMount } from '../../../runtime/spec/types.js';

const TMPFS_KV = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);
/** Flags with an opposite: the later of a pair wins, as in moby's MergeTmpfsOptions. */
const TMPFS_FLAG_KEY: Record<string, string> = {
  ro: 'rw',
  rw: 'rw',
  exec: 'exec',
  noexec: 'exec',
  suid: 'suid',
  nosuid: 'suid',
  dev: 'dev',
  nodev: 'dev',
  sync: 'sync',
  async: 'sync',
  mand: 'mand',
  nomand: 'mand',
  atime: 'atime',
  noatime: 'atime',
  diratime: 'diratime',
  nodiratime: 'diratime',
  relatime: 'relatime',
  norelatime: 'relatime',
  strictatime: 'strictatime',
  nostrictatime: 'strictatime',
  dirsync: 'dirsync',
  tmpcopyup: 'tmpcopyup',
  private: 'prop',
  rprivate: 'prop',
  shared: 'prop',
  rshared: 'prop',
  slave: 'prop',
  rslave: 'prop',
  unbindable: 'prop',
  runbindable: 'prop',
};

/** Later options override earlier ones of the same kind; order of last occurrence kept. */
function mergeTmpfsOptions(opts: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = opts.length - 1; i >= 0; i--) {
    const o = opts[i].trim();
    if (!o) continue;
    const eq = o.indexOf('=');
    const key = eq >= 0 ? o.slice(0, eq) : TMPFS_FLAG_KEY[o];
    if (key === undefined || (eq >= 0 && !TMPFS_KV.has(key))) throw new InvalidArgumentError(`invalid tmpfs option "${o}"`);
    if (seen.has(key)) continue;
    seen.add(key);
    out.unshift(o);
  }
  return out;
}

/** HostConfig.Tmpfs {'/run': 'rw,size=64m'} → tmpfs mounts, noexec,nosuid,nodev unless overridden. */
export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): OciMount[] {
  return Object.entries(tmpfs ?? {}).map(([dest, data]) => {
    if (!posix.isAbsolute(dest) || posix.normalize(dest) === '/') {
      throw new InvalidArgumentError(`invalid mount config for type "tmpfs": invalid mount path: '${dest}' mount path must be absolute and not '/'`);
    }
    const options = mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]);
    return { destination: posix.normalize(dest), type: 'tmpfs', source: 'tmpfs', options };
  });
}
