/**
 * Files in and out of a container: the archive API's stat, get and put, and
 * export. Paths are resolved as the container sees them, volumes and binds
 * included, and never reach outside its filesystem (see archive/resolve.ts).
 *
 * A running container is reached through its root (/proc/<pid>/root, with
 * every mount it has); a stopped one through its snapshot, mounted for the
 * operation, with its volumes and binds laid over it.
 */
import { lstat, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { applyTar } from '../../archive/apply.js';
import { decompressStream } from '../../archive/compression.js';
import { packPath, rewriteTar } from '../../archive/pack.js';
import { type HostOf, mountedView, resolveInContainer } from '../../archive/resolve.js';
import { BerthError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import type { ContainerService, Container } from './service.js';

/** The X-Docker-Container-Path-Stat document. */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

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

function goMode(st: import('node:fs').Stats): number {
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

/** Docker keeps a trailing "/" or "/." of the request: they mean "the directory itself, followed". */
function followsLast(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}

export class ContainerFiles {
  constructor(private readonly svc: ContainerService) {}

  /** Run `fn` with the container's filesystem view; a stopped container's rootfs is mounted meanwhile. */
  private async withView<T>(c: Container, fn: (hostOf: HostOf, rootfs: string) => Promise<T>): Promise<T> {
    return this.svc.withRootfs(c, async (rootfs, running) => {
      if (running && c.state.Pid) return fn((p) => posix.join(`/proc/${c.state.Pid}/root`, p), rootfs);
      const mounts = (c.rec.MountPoints ?? []).flatMap((m) => {
        const source = this.svc.volumes?.hostPath(m);
        return source ? [{ destination: m.Destination, source }] : [];
      });
      return fn(mountedView(rootfs, mounts), rootfs);
    });
  }

  private notFound(ref: string, path: string): NotFoundError {
    return new NotFoundError(`Could not find the file ${path} in container ${ref}`);
  }

  private async statAt(hostOf: HostOf, ref: string, path: string): Promise<{ stat: PathStat; hostPath: string; ctrPath: string }> {
    if (!path) throw new InvalidArgumentError('path must not be empty');
    const abs = path.startsWith('/') ? path : `/${path}`;
    const r = resolveInContainer(hostOf, abs, followsLast(path));
    const st = await lstat(r.hostPath).catch(() => null);
    if (!st) throw this.notFound(ref, path);
    let linkTarget = '';
    if (st.isSymbolicLink()) linkTarget = resolveInContainer(hostOf, r.ctrPath, true).ctrPath;
    const name = posix.basename(posix.normalize(abs)) || '/';
    return {
      stat: { name, size: st.size, mode: goMode(st), mtime: st.mtime.toISOString(), linkTarget },
      hostPath: r.hostPath, ctrPath: r.ctrPath,
    };
  }

  async stat(ref: string, path: string): Promise<PathStat> {
    const c = this.svc.get(ref);
    return this.withView(c, async (hostOf) => (await this.statAt(hostOf, ref, path)).stat);
  }

  /**
   * Tar of `path` (a directory's content under its own name, or under "." for
   * "dir/."), handed to `send` with its stat; the filesystem stays available until `send` is done.
   */
  async get(ref: string, path: string, send: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    const c = this.svc.get(ref);
    await this.withView(c, async (hostOf) => {
      const { stat: st, hostPath } = await this.statAt(hostOf, ref, path);
      const name = path.endsWith('/.') || path === '.' ? '.' : st.name;
      await send(st, packPath(hostPath, name));
    });
  }

  /** Extract a tar (maybe compressed) into the directory at `path`. */
  async put(ref: string, path: string, body: Readable, opts: { copyUIDGID?: boolean; noOverwriteDirNonDir?: boolean } = {}): Promise<void> {
    const c = this.svc.get(ref);
    if (c.rec.HostConfig.ReadonlyRootfs) throw new BerthError('container rootfs is marked read-only', 403);
    await this.withView(c, async (hostOf) => {
      const abs = path.startsWith('/') ? path : `/${path}`;
      const r = resolveInContainer(hostOf, abs, true);
      const st = await stat(r.hostPath).catch(() => null);
      if (!st) { body.resume(); throw this.notFound(ref, path); }
      if (!st.isDirectory()) { body.resume(); throw new InvalidArgumentError(`extraction point is not a directory`); }
      const { stream } = await decompressStream(body);
      // Without copyUIDGID, files belong to the container's root, as Docker makes them.
      const input = opts.copyUIDGID ? stream : chownTo(stream, 0, 0);
      await applyTar(r.hostPath, input, { whiteouts: 'delete' });
    });
  }

  /** `docker export`: the container's own filesystem (no volumes or binds), as one tar. */
  async export(ref: string, send: (tar: Readable) => Promise<void>): Promise<void> {
    const c = this.svc.get(ref);
    // The host sees the snapshot without the container's mounts: volumes and binds stay out, as in Docker.
    await this.svc.withRootfs(c, async (rootfs) => send(renameRoot(packPath(rootfs, '.'))));
  }
}

/** Entries "./x" → "x" and the root "./" left out, as docker export writes them. */
function renameRoot(input: Readable): Readable {
  return rewriteTar(input, (h) => {
    const name = h.name.replace(/^\.\/?/, '');
    return name ? { ...h, name } : null;
  });
}

/** Rewrite every entry's owner on the way through. */
function chownTo(input: Readable, uid: number, gid: number): Readable {
  return rewriteTar(input, (h) => ({ ...h, uid, gid, uname: '', gname: '' }));
}
