/**
 * Files in and out of a container: the archive API's stat, get and put, and
 * export. Paths are resolved as the container sees them, volumes and binds
 * included, and every file operation goes through handles on the
 * container's tree (archive/tree.ts), so a container that swaps a directory
 * for a symlink meanwhile cannot send us outside its filesystem.
 *
 * A running container is reached through its root (/proc/<pid>/root, with
 * every mount it has), checked to be its own rootfs; a stopped one through
 * its snapshot, mounted for the operation, with its volumes and binds laid
 * over it.
 */
import { fstatSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { applyTar, OverwriteRefusal } from '../../archive/apply.js';
import { resolveUser } from '../../runtime/user.js';
import { decompressStream } from '../../archive/compression.js';
import { packHandle, rewriteTar } from '../../archive/pack.js';
import { toContainerOwners, toHostOwners } from './userns.js';
import { Tree, type Found } from '../../archive/tree.js';
import { BerthError, ConflictError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import { goMode, type PathStat } from '../../core/wire/path-stat.js';
import { addInitFiles } from './initlayer.js';
import type { Container } from './record.js';
import type { ContainerService } from './service.js';

/** Docker keeps a trailing "/" or "/." of the request: they mean "the directory itself, followed". */
function followsLast(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.') || path === '.';
}

/** dockerd's words for an empty path (its missing space included). */
export const EMPTY_PATH = 'bad parameter: pathcannot be empty';

/** dockerd rejects an empty path before it looks the container up (a 400 ahead of a 404). */
function requirePath(path: string): void {
  if (!path) throw new InvalidArgumentError(EMPTY_PATH);
}

/**
 * Why `dir` (a clean path in the container) may not be written, as dockerd
 * words it: the mount that holds it decides (the first one listed, as
 * dockerd's volume check takes), the rootfs's flag otherwise.
 */
function writeRefusal(c: Container, dir: string): string | undefined {
  const within = (dest: string) => {
    const d = posix.normalize(dest);
    return dir === d || dir.startsWith(d === '/' ? '/' : `${d}/`);
  };
  const m = (c.rec.MountPoints ?? []).find((x) => within(x.Destination));
  if (m) return m.RW ? undefined : 'mounted volume is marked read-only';
  return c.rec.HostConfig.ReadonlyRootfs ? 'container rootfs is marked read-only' : undefined;
}

/** An extraction failure in dockerd's words: it untars in a child process, whose failure it reports with this prefix. */
function untarFailure(e: unknown, dest: string): unknown {
  if (e instanceof OverwriteRefusal) {
    const path = posix.join(dest, e.path);
    return new BerthError(
      `Error processing tar file(exit status 1): ${
        e.existingIsDir
          ? `cannot overwrite directory ${JSON.stringify(path)} with non-directory ${JSON.stringify(dest)}`
          : `cannot overwrite non-directory ${JSON.stringify(path)} with directory ${JSON.stringify(dest)}`
      }`,
      500,
    );
  }
  if (e instanceof InvalidArgumentError) return new BerthError(`Error processing tar file(exit status 1): ${e.message}`, 500);
  return e;
}

export class ContainerFiles {
  constructor(private readonly svc: ContainerService) {}

  /** Run `fn` with the container's filesystem as a tree; a stopped container's rootfs is mounted meanwhile. */
  private async withTree<T>(c: Container, fn: (tree: Tree) => Promise<T>): Promise<T> {
    return this.svc.withRootfs(c, async (rootfs, running) => {
      const tree = running && c.state.Pid ? runningRoot(c.state.Pid, rootfs) : stoppedRoot(rootfs, this.mountsOf(c));
      try {
        return await fn(tree);
      } finally {
        tree.close();
      }
    });
  }

  private mountsOf(c: Container): Array<{ destination: string; source: string }> {
    return (c.rec.MountPoints ?? []).flatMap((m) => {
      const source = this.svc.volumes?.hostPath(m);
      return source ? [{ destination: m.Destination, source }] : [];
    });
  }

  private notFound(ref: string, path: string): NotFoundError {
    return new NotFoundError(`Could not find the file ${path} in container ${ref}`);
  }

  /** The stat document of `path` and where it was found; the caller releases `found.dirfd`. */
  private statAt(tree: Tree, ref: string, path: string): { stat: PathStat; found: Found } {
    if (!path) throw new InvalidArgumentError(EMPTY_PATH);
    const abs = path.startsWith('/') ? path : `/${path}`;
    let r;
    try {
      r = tree.lstat(abs, followsLast(path));
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw this.notFound(ref, path);
    }
    const { stat: st, found } = r;
    let linkTarget = '';
    if (st.isSymbolicLink()) {
      try {
        const t = tree.lookup(found.path, { followLast: true, missingOk: true });
        tree.release(t.dirfd);
        linkTarget = t.path;
      } catch {
        linkTarget = '';
      }
    }
    // The name of the path as asked: "d/." is ".", as dockerd takes the base of what it was given.
    const name = abs.endsWith('/.') ? '.' : posix.basename(posix.normalize(abs)) || '/';
    return { stat: { name, size: st.size, mode: goMode(st), mtime: st.mtime.toISOString(), linkTarget }, found };
  }

  async stat(ref: string, path: string): Promise<PathStat> {
    requirePath(path);
    const c = this.svc.get(ref);
    return this.withTree(c, async (tree) => {
      const { stat, found } = this.statAt(tree, ref, path);
      tree.release(found.dirfd);
      return stat;
    });
  }

  /**
   * Tar of `path` (a directory's content under its own name, or under "." for
   * "dir/."), handed to `send` with its stat; the filesystem stays available until `send` is done.
   */
  async get(ref: string, path: string, send: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    requirePath(path);
    const c = this.svc.get(ref);
    await this.withTree(c, async (tree) => {
      const { stat: st, found } = this.statAt(tree, ref, path);
      const name = path.endsWith('/.') || path === '.' ? '.' : st.name;
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          tree.release(found.dirfd);
        }
      };
      try {
        const tar = packHandle(found.dirfd, found.name || undefined, name, release);
        // A remapped container's files are owned by host ids: the archive gives the ids it sees.
        await send(st, c.rec.IdMap ? toContainerOwners(tar, c.rec.IdMap) : tar);
      } finally {
        release();
      }
    });
  }

  /**
   * Extract a tar (maybe compressed) into the directory at `path`, checked in
   * dockerd's order: the directory exists, is one, and is writable (a volume
   * by its own RW flag, anything else by the rootfs's).
   */
  async put(ref: string, path: string, body: Readable, opts: { copyUIDGID?: boolean; noOverwriteDirNonDir?: boolean } = {}): Promise<void> {
    if (!path) body.resume();
    requirePath(path);
    const c = this.svc.get(ref);
    await this.svc.withRootfs(c, async (rootfs, running) => {
      const tree = running && c.state.Pid ? runningRoot(c.state.Pid, rootfs) : stoppedRoot(rootfs, this.mountsOf(c));
      try {
        let dest: Tree;
        try {
          dest = tree.subtree(path.startsWith('/') ? path : `/${path}`);
        } catch (e) {
          body.resume();
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOTDIR') throw new BerthError('extraction point is not a directory', 500);
          if (e instanceof BerthError) throw e;
          throw this.notFound(ref, path);
        }
        try {
          const refusal = writeRefusal(c, dest.where);
          if (refusal) {
            body.resume();
            throw new BerthError(refusal, 500);
          }
          // Owners come from the tar, as dockerd keeps them; copyUIDGID gives everything to the container's user.
          const owner = opts.copyUIDGID && c.rec.Config.User ? await resolveUser(rootfs, c.rec.Config.User) : undefined;
          const { stream } = await decompressStream(body);
          const owned = owner ? chownTo(stream, owner.uid, owner.gid) : stream;
          // The tar's owners are the container's ids; a remapped container's are host ids on disk.
          const input = c.rec.IdMap ? toHostOwners(owned, c.rec.IdMap) : owned;
          try {
            await applyTar(dest, input, { whiteouts: 'none', noOverwriteDirNonDir: opts.noOverwriteDirNonDir });
          } catch (e) {
            throw untarFailure(e, dest.where);
          }
        } finally {
          dest.close();
        }
      } finally {
        tree.close();
      }
    });
  }

  /** `docker export`: the container's own filesystem (no volumes or binds), as one tar. */
  async export(ref: string, send: (tar: Readable) => Promise<void>): Promise<void> {
    const c = this.svc.get(ref);
    // The host sees the snapshot without the container's mounts: volumes and binds stay out, as in Docker.
    await this.svc.withRootfs(c, async (rootfs, running) => {
      // A container never started has its init layer's entries all the same, as in Docker.
      if (!running) await addInitFiles(rootfs);
      const tree = Tree.open(rootfs);
      try {
        const tar = renameRoot(packHandle(tree.fd, undefined, '.'));
        await send(c.rec.IdMap ? toContainerOwners(tar, c.rec.IdMap) : tar);
      } finally {
        tree.close();
      }
    });
  }
}

/**
 * A running container's root through /proc/<pid>/root, which sees every
 * mount it has. The pid could have exited and been reused by the time we
 * open it: the handle must hold the container's own rootfs, or we refuse.
 */
function runningRoot(pid: number, rootfs: string): Tree {
  let tree: Tree;
  try {
    tree = Tree.open(`/proc/${pid}/root`);
  } catch {
    throw new ConflictError('container is not running');
  }
  const a = fstatSync(tree.fd);
  const b = statSync(rootfs);
  if (a.dev !== b.dev || a.ino !== b.ino) {
    tree.close();
    throw new ConflictError('container is not running');
  }
  return tree;
}

/** A stopped container's rootfs with its volumes and binds laid over it for lookups. */
function stoppedRoot(rootfs: string, mounts: Array<{ destination: string; source: string }>): Tree {
  const tree = Tree.open(rootfs);
  try {
    for (const m of mounts) {
      try {
        tree.mount(m.destination, Tree.open(m.source));
      } catch {
        /* a bind whose source is gone: the rootfs shows through */
      }
    }
  } catch (e) {
    tree.close();
    throw e;
  }
  return tree;
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
