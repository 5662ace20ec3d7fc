/**
 * Resolve a path as a process inside a container would see it, without ever
 * leaving the container's filesystem: each component is looked up in turn,
 * `..` stops at the container's root, and symlinks are followed relative to
 * that root (an absolute target starts again at the container's `/`).
 *
 * The container's view is given by `hostOf`, which maps a clean absolute
 * container path to the host path holding it (the rootfs, or a volume or
 * bind mounted over part of it).
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError } from '../core/errors.js';

export type HostOf = (ctrPath: string) => string;

/** A host-path mapper for a rootfs with mounts over it (longest destination wins). */
export function mountedView(rootfs: string, mounts: Array<{ destination: string; source: string }>): HostOf {
  const sorted = [...mounts].sort((a, b) => b.destination.length - a.destination.length);
  return (p: string) => {
    for (const m of sorted) {
      if (p === m.destination) return m.source;
      if (p.startsWith(m.destination + '/')) return posix.join(m.source, p.slice(m.destination.length));
    }
    return posix.join(rootfs, p);
  };
}

export interface Resolved {
  /** The clean absolute path inside the container, symlinks on the way followed. */
  ctrPath: string;
  /** Where that is on the host. */
  hostPath: string;
}

/**
 * Resolve `path` (absolute, inside the container). Symlinks in every
 * component but the last are followed; the last only when `followLast`.
 */
export function resolveInContainer(hostOf: HostOf, path: string, followLast: boolean): Resolved {
  let todo = path.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const name = todo.shift()!;
    if (name === '..') { done.pop(); continue; }
    const ctr = '/' + [...done, name].join('/');
    const last = todo.length === 0;
    if (last && !followLast) { done.push(name); break; }
    let target: string | undefined;
    try {
      const st = lstatSync(hostOf(ctr));
      if (st.isSymbolicLink()) target = readlinkSync(hostOf(ctr));
    } catch { /* missing: the rest cannot be symlinks we know of */ }
    if (target === undefined) { done.push(name); continue; }
    if (++links > 255) throw new BerthError(`too many levels of symbolic links: ${path}`, 400);
    if (target.startsWith('/')) done.length = 0;
    todo = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...todo];
  }
  const ctrPath = '/' + done.join('/');
  return { ctrPath, hostPath: hostOf(ctrPath) };
}
