/**
 * Layers for a remapped container (`--userns-remap`): each lower layer shown
 * with its owners shifted into the container's host range, so root's files
 * in the image are the remapped root's. Two ways, chosen once per mapping by
 * a probe on the snapshotter's own filesystem:
 *
 *   idmapped  an idmapped mount of the layer's diff (open_tree clone +
 *             mount_setattr MOUNT_ATTR_IDMAP + move_mount, native/berth_idmap.c),
 *             with a user namespace holding the mapping; nothing is copied.
 *   copied    a copy of the layer with every owner shifted (dockerd's way,
 *             whose remapped daemon unpacks a whole chowned image tree).
 *
 * Either lives at <root>/r/<uid>.<gid>/<short id>, made on first use and kept
 * (a mount across berthd restarts too) until the layer is removed. Overlayfs
 * itself cannot be idmapped on this kernel (mount_setattr gives EINVAL), so the
 * overlay is built from idmapped lowers; the container's upper dir is made owned
 * by the remapped root and holds host ids.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MNT_DETACH, umount } from '../core/mounts.js';
import { loadAddon } from '../core/native-addon.js';
import { SystemError, messageOf } from '../core/errors.js';
import { hostGid, hostUid, idMapKey, procMapText, type IdMap } from '../core/idmap.js';
import { log } from '../core/log.js';
import { KeyedMutex } from '../core/mutex.js';
import { run } from '../core/proc.js';

export type IdmapMode = 'idmapped' | 'copied';

interface IdmapAddon {
  idmapMount(usernsFd: number, source: string, target: string): void;
}

/** A user namespace with `map`, held by an open fd (the process that made it is gone). */
async function usernsFd(map: IdMap): Promise<number> {
  const child = spawn('unshare', ['--user', 'sleep', 'infinity'], { stdio: 'ignore' });
  const pid = child.pid;
  if (!pid) throw new SystemError('unshare --user did not start');
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  try {
    const mine = readlinkSync('/proc/self/ns/user');
    // unshare has made the namespace once its ns link differs from ours.
    for (let i = 0; ; i++) {
      let ns = mine;
      try {
        ns = readlinkSync(`/proc/${pid}/ns/user`);
      } catch {
        /* not yet */
      }
      if (ns !== mine) break;
      if (i > 400) throw new SystemError('unshare --user did not make a user namespace');
      await new Promise((r) => setTimeout(r, 5));
    }
    await writeFile(`/proc/${pid}/uid_map`, procMapText(map.uid));
    await writeFile(`/proc/${pid}/gid_map`, procMapText(map.gid));
    return openSync(`/proc/${pid}/ns/user`, 'r');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Whether `target` is already an idmapped mount of `dir` (a berthd before this one made it): a
 * mount of the same filesystem has the same device, so the directory's own inode tells.
 */
async function isIdmapOf(target: string, dir: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([stat(target), stat(dir)]);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** Unmount everything stacked on `path` (nothing when it is no mount). */
async function unmountAll(path: string): Promise<void> {
  for (let i = 0; i < 16; i++) {
    try {
      await umount(path, MNT_DETACH);
    } catch {
      return; // EINVAL: nothing (more) is mounted there
    }
  }
}

/** Shift every owner in a tree by the mapping, in place (setuid/setgid bits kept: chown clears them). */
export async function shiftTree(dir: string, map: IdMap): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    await lchown(p, hostUid(map, st.uid), hostGid(map, st.gid));
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) await chmod(p, st.mode & 0o7777);
    if (st.isDirectory()) for (const name of await readdir(p)) await walk(join(p, name));
  };
  await walk(dir);
}

/** The remapped view of layers for one mapping. */
export class LayerIdmapper {
  private fd: number | undefined;
  private mode: Promise<IdmapMode> | undefined;
  private locks = new KeyedMutex();
  readonly dir: string;

  constructor(
    private readonly root: string,
    readonly map: IdMap,
  ) {
    this.dir = join(root, 'r', idMapKey(map));
  }

  /** Which way this mapping's layers are shown; probed once (kernel and filesystem). */
  modeOf(): Promise<IdmapMode> {
    this.mode ??= this.probe();
    return this.mode;
  }

  private async probe(): Promise<IdmapMode> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = await mkdtemp(join(this.root, 'tmp', 'idmap-check-'));
    try {
      const src = join(tmp, 'src');
      const dst = join(tmp, 'dst');
      await mkdir(src);
      await mkdir(dst);
      this.fd = await usernsFd(this.map);
      loadAddon<IdmapAddon>('berth_idmap').idmapMount(this.fd, src, dst);
      const st = await stat(dst);
      await umount(dst);
      if (st.uid !== hostUid(this.map, 0)) throw new SystemError(`an idmapped mount showed uid ${st.uid}`);
      return 'idmapped';
    } catch (e) {
      log.warn('idmapped mounts unsupported here: remapped containers get chowned copies of their layers', { error: messageOf(e) });
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      return 'copied';
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** The remapped view of one layer's diff dir, made if missing; `name` is short and unique per layer. */
  async lower(name: string, diff: string): Promise<string> {
    const mode = await this.modeOf();
    const target = join(this.dir, name);
    return this.locks.run(name, async () => {
      if (mode === 'idmapped') {
        if (await isIdmapOf(target, diff)) return target;
        await mkdir(target, { recursive: true, mode: 0o755 });
        loadAddon<IdmapAddon>('berth_idmap').idmapMount(this.fd!, diff, target);
        return target;
      }
      try {
        await stat(target);
        return target;
      } catch {
        /* not copied yet */
      }
      const tmp = await mkdtemp(join(this.root, 'tmp', 'remap-'));
      try {
        const copy = join(tmp, 'diff');
        await mkdir(copy);
        const r = await run('cp', ['-a', '--reflink=auto', `${diff}/.`, `${copy}/`]);
        if (r.code !== 0) throw new SystemError(`copying layer for remapping: ${r.stderr.trim()}`);
        await shiftTree(copy, this.map);
        await rename(copy, target);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      return target;
    });
  }
}

/** Drop a layer's remapped views, of every mapping (the layer is being removed). */
export async function dropRemapped(root: string, name: string): Promise<void> {
  let keys: string[];
  try {
    keys = await readdir(join(root, 'r'));
  } catch {
    return;
  }
  for (const k of keys) {
    const target = join(root, 'r', k, name);
    await unmountAll(target);
    await rm(target, { recursive: true, force: true });
  }
}
