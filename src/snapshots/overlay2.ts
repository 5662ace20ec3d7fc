/**
 * overlay2: every layer's own files in their own directory, stacked at mount
 * time by overlayfs (lowerdir = the layer chain, upperdir = the container's
 * writable layer). Whiteouts stay in overlayfs's native form.
 *
 * Lower dirs are passed as short links (l/<id> → ../layers/<hex>/diff), so
 * most chains fit in the one page of mount options the kernel accepts with
 * absolute paths (mounted by mount(2) itself); a deeper one is mounted by the
 * mount command run from the snapshotter root, with relative paths.
 */
import { chown, mkdir, mkdtemp, rm, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Digest } from '../core/digest.js';
import { hexOf } from '../core/digest.js';
import { SystemError, messageOf } from '../core/errors.js';
import { MOUNT_DATA_MAX, mount, umount } from '../core/mounts.js';
import { run } from '../core/proc.js';
import { rootPair, type IdMap } from '../core/idmap.js';
import { rootless } from '../core/rootless.js';
import type { WhiteoutMode } from '../archive/apply.js';
import { LayerDirSnapshotter } from './layer-dirs.js';
import type { LayerInfo } from './snapshotter.js';

const MAX_LAYERS = 125;

function shortLink(chainId: Digest): string {
  return hexOf(chainId).slice(0, 26);
}

/**
 * Whether an overlay is mounted on `path`: every overlay mount is a device
 * of its own, so the dir and its parent differ. Two stats, where the mount
 * table (read twice per container lifecycle) grows with every container.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  try {
    const [here, parent] = await Promise.all([stat(path), stat(dirname(path))]);
    return here.dev !== parent.dev;
  } catch {
    return false;
  }
}

/** In a user namespace overlayfs keeps its attributes in user.overlay.* (see archive/overlay-attrs.ts). */
function userXattr(): string {
  return rootless() ? ',userxattr' : '';
}

/** Can overlayfs stack directories that live under `dataRoot`? */
export async function overlaySupported(dataRoot: string): Promise<boolean> {
  await mkdir(dataRoot, { recursive: true, mode: 0o710 });
  const dir = await mkdtemp(join(dataRoot, '.overlay-check-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, d));
    const at = (d: string) => join(dir, d);
    await mount('overlay', at('merged'), 'overlay', 0, `lowerdir=${at('lower')},upperdir=${at('upper')},workdir=${at('work')}${userXattr()}`);
    await umount(at('merged'));
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class Overlay2Snapshotter extends LayerDirSnapshotter {
  readonly driver = 'overlay2' as const;
  protected readonly whiteouts: WhiteoutMode = 'overlay';

  override async init(): Promise<void> {
    await super.init();
    await mkdir(join(this.root, 'l'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.root, 'empty'), { recursive: true, mode: 0o755 });
  }

  protected async seed(): Promise<void> {
    /* an overlay layer starts empty */
  }

  protected override async committed(info: LayerInfo): Promise<void> {
    const l = join(this.root, 'l', shortLink(info.chainId));
    await unlink(l).catch(() => {});
    await symlink(join('..', 'layers', hexOf(info.chainId), 'diff'), l);
  }

  protected override async removing(chainId: Digest): Promise<void> {
    await unlink(join(this.root, 'l', shortLink(chainId))).catch(() => {});
  }

  async prepare(key: string, parent?: Digest, opts: { idmap?: IdMap } = {}): Promise<void> {
    const dir = await this.newActive(key, parent, opts.idmap);
    for (const d of ['diff', 'work', 'merged']) await mkdir(join(dir, d), { mode: 0o755 });
    // A remapped container's writable layer (and so its / ) belongs to its root on the host.
    if (opts.idmap) {
      const { uid, gid } = rootPair(opts.idmap);
      await chown(join(dir, 'diff'), uid, gid);
    }
  }

  async mount(key: string): Promise<string> {
    const dir = this.activeDir(key);
    const merged = join(dir, 'merged');
    const { parent, idmap } = await this.activeMeta(key);
    if (await isMountPoint(merged)) return merged;
    const chain = parent ? await this.chain(parent) : [];
    if (chain.length > MAX_LAYERS) throw new SystemError(`max depth exceeded: ${chain.length} layers`);
    // A remapped container's lowers are its mapping's views of the layers (idmapped mounts or chowned copies).
    const mapper = idmap ? this.idmapper(idmap) : undefined;
    const lowers = mapper
      ? await Promise.all(chain.map(async (c) => relative(this.root, await mapper.lower(this.shortName(c), this.layerDiffPath(c)))))
      : chain.map((c) => join('l', shortLink(c)));
    const options = (base: string) => {
      const lower = lowers.length ? lowers.map((l) => join(base, l)).join(':') : join(base, 'empty');
      const rel = join(base, 'active', key);
      return `lowerdir=${lower},upperdir=${join(rel, 'diff')},workdir=${join(rel, 'work')}${userXattr()}`;
    };
    // By the mount(2) call itself while the options fit its one page; a deeper chain is
    // mounted by the mount command run from the snapshotter root, with paths relative to it.
    const opts = options(this.root);
    if (Buffer.byteLength(opts) <= MOUNT_DATA_MAX) {
      await mount('overlay', merged, 'overlay', 0, opts).catch((e: unknown) => {
        throw new SystemError(`error mounting snapshot ${key}: ${messageOf(e)}`);
      });
      return merged;
    }
    const r = await run('mount', ['-t', 'overlay', 'overlay', '-o', options(''), join('active', key, 'merged')], { cwd: this.root });
    if (r.code !== 0) throw new SystemError(`error mounting snapshot ${key}: ${r.stderr.trim()}`);
    return merged;
  }

  async unmount(key: string): Promise<void> {
    const merged = join(this.activeDir(key), 'merged');
    for (let busy = 0; await isMountPoint(merged); ) {
      try {
        await umount(merged);
        return; // mount() never stacks a second mount on it
      } catch (e) {
        // A reader that just stopped (an export whose client left) may hold a file a moment longer.
        if ((e as NodeJS.ErrnoException).code === 'EBUSY' && ++busy < 20) {
          await new Promise((res) => setTimeout(res, 25));
          continue;
        }
        throw new SystemError(`error unmounting snapshot ${key}: ${messageOf(e)}`);
      }
    }
  }
}
