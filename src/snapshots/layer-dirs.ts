/**
 * What both snapshotters share: committed layers as directories named by
 * chain ID, each made in a private temp dir and renamed into place only when
 * complete (so a crash never leaves a half-unpacked layer that looks whole),
 * and writable snapshots under active/<key>.
 *
 *   <root>/layers/<chain hex>/diff        the layer's files
 *   <root>/layers/<chain hex>/meta.json   its LayerInfo
 *   <root>/tmp/                           in-progress work, emptied at start
 *   <root>/active/<key>/                  writable snapshots
 */
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { discardDir, writeJsonAtomic, fsyncDir } from '../core/atomic.js';
import { type Digest, hexOf, hashingTap, sha256Digest, isDigest } from '../core/digest.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { KeyedMutex } from '../core/mutex.js';
import { applyTar, type WhiteoutMode } from '../archive/apply.js';
import { applyBlob } from '../archive/blob-apply.js';
import type { ApplyLayerOptions, DriverName, LayerInfo, Snapshotter } from './snapshotter.js';
import { idMapKey, rootPair, type IdMap } from '../core/idmap.js';
import { dropRemapped, LayerIdmapper, type IdmapMode } from './idmap.js';

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function chainOf(parent: Digest | undefined, diffId: Digest): Digest {
  return parent ? sha256Digest(`${parent} ${diffId}`) : diffId;
}

/** Read a stream to its end, discarding it. */
function drain(s: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    s.on('end', resolve);
    s.resume();
  });
}

export abstract class LayerDirSnapshotter implements Snapshotter {
  abstract readonly driver: DriverName;
  protected abstract readonly whiteouts: WhiteoutMode;
  private cache = new Map<Digest, LayerInfo>();
  private commits = new KeyedMutex();
  private idmappers = new Map<string, LayerIdmapper>();

  constructor(readonly root: string) {}

  protected layerDir(chainId: Digest): string {
    return join(this.root, 'layers', hexOf(chainId));
  }
  layerDiffPath(chainId: Digest): string {
    return join(this.layerDir(chainId), 'diff');
  }
  protected activeDir(key: string): string {
    if (!KEY_RE.test(key)) throw new InvalidArgumentError(`invalid snapshot key ${JSON.stringify(key)}`);
    return join(this.root, 'active', key);
  }

  async init(): Promise<void> {
    for (const d of ['layers', 'tmp', 'active']) await mkdir(join(this.root, d), { recursive: true, mode: 0o700 });
    // Anything in tmp/ is an unpack or delete that a crash interrupted.
    for (const name of await readdir(join(this.root, 'tmp'))) await rm(join(this.root, 'tmp', name), { recursive: true, force: true });
  }

  /** Fill `dir` (an empty diff dir) as the base the tar is applied onto; vfs copies the parent here. */
  protected abstract seed(dir: string, parent: Digest | undefined): Promise<void>;
  /** Called after a layer is renamed into place (overlay2 adds its short link). */
  protected async committed(_info: LayerInfo): Promise<void> {}
  /** Called before a layer directory is deleted. */
  protected async removing(_chainId: Digest): Promise<void> {}

  /** Whether seed() needs the parent layer (vfs copies it); overlay2 layers are independent until commit. */
  protected readonly seedsFromParent: boolean = false;

  async applyLayer(opts: ApplyLayerOptions): Promise<LayerInfo> {
    const { parent } = opts;
    const parentHere = async () => {
      await opts.parentReady;
      if (parent && !(await this.hasLayer(parent))) throw new NotFoundError(`parent layer ${parent} does not exist`);
    };
    if (!opts.parentReady) await parentHere();
    // Same content on the same parent is already here: nothing to unpack.
    if (typeof opts.diffId === 'string') {
      const have = await this.layerInfo(chainOf(parent, opts.diffId));
      if (have) {
        if (opts.tar) await drain(opts.tar);
        else await opts.blob.verified;
        return have;
      }
    }
    const tmp = await mkdtemp(join(this.root, 'tmp', 'apply-'));
    try {
      const diff = join(tmp, 'diff');
      await mkdir(diff, { mode: 0o755 });
      if (this.seedsFromParent) await parentHere();
      await this.seed(diff, parent);
      let size: number;
      let diffId: Digest;
      if (opts.blob) {
        const out = await applyBlob(diff, opts.blob, { whiteouts: this.whiteouts, onRead: opts.onRead });
        if (opts.diffId && out.diffId !== opts.diffId)
          throw new InvalidArgumentError(`invalid diffID for layer ${opts.blob.name}: expected ${opts.diffId}, got ${out.diffId}`);
        ({ size, diffId } = out);
      } else {
        let input = opts.tar;
        let hashed: Promise<Digest> | undefined;
        if (opts.diffId === undefined) {
          const { tap, digest } = hashingTap();
          hashed = digest;
          opts.tar.on('error', (e) => tap.destroy(e));
          input = opts.tar.pipe(tap);
        }
        ({ size } = await applyTar(diff, input, { whiteouts: this.whiteouts }));
        diffId = await (hashed ?? opts.diffId!);
      }
      if (!isDigest(diffId)) throw new InvalidArgumentError(`invalid diffID ${diffId}`);
      const info: LayerInfo = { chainId: chainOf(parent, diffId), diffId, size, ...(parent ? { parent } : {}) };
      await writeJsonAtomic(join(tmp, 'meta.json'), info);
      await parentHere();
      return await this.commits.run(info.chainId, async () => {
        const existing = await this.layerInfo(info.chainId);
        if (existing) {
          await rm(tmp, { recursive: true, force: true });
          return existing;
        }
        await rename(tmp, this.layerDir(info.chainId));
        await fsyncDir(join(this.root, 'layers'));
        this.cache.set(info.chainId, info);
        await this.committed(info);
        return info;
      });
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async hasLayer(chainId: Digest): Promise<boolean> {
    return (await this.layerInfo(chainId)) !== null;
  }

  async layerInfo(chainId: Digest): Promise<LayerInfo | null> {
    const cached = this.cache.get(chainId);
    if (cached) return cached;
    if (!isDigest(chainId)) return null;
    try {
      const info = JSON.parse(await readFile(join(this.layerDir(chainId), 'meta.json'), 'utf8')) as LayerInfo;
      this.cache.set(chainId, info);
      return info;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async listLayers(): Promise<LayerInfo[]> {
    const out: LayerInfo[] = [];
    for (const hex of await readdir(join(this.root, 'layers'))) {
      const info = await this.layerInfo(`sha256:${hex}`);
      if (info) out.push(info);
    }
    return out;
  }

  async removeLayer(chainId: Digest): Promise<void> {
    await this.commits.run(chainId, async () => {
      if (!(await this.hasLayer(chainId))) return;
      await this.removing(chainId);
      await dropRemapped(this.root, this.shortName(chainId));
      // Out of layers/ first (one rename), so a crash mid-delete leaves only tmp/ debris.
      const doomed = join(this.root, 'tmp', `rm-${hexOf(chainId)}-${Date.now()}`);
      await rename(this.layerDir(chainId), doomed);
      this.cache.delete(chainId);
      await rm(doomed, { recursive: true, force: true });
    });
  }

  /** The remapped views of layers for one mapping. */
  protected idmapper(map: IdMap): LayerIdmapper {
    const k = idMapKey(map);
    let m = this.idmappers.get(k);
    if (!m) this.idmappers.set(k, (m = new LayerIdmapper(this.root, map)));
    return m;
  }

  remapMode(map: IdMap): Promise<IdmapMode> {
    return this.idmapper(map).modeOf();
  }

  /** A short name unique per layer, for its remapped view (overlay2 also names its l/ links so). */
  protected shortName(chainId: Digest): string {
    return hexOf(chainId).slice(0, 26);
  }

  /** Chain IDs from `chainId` down to the base layer. */
  protected async chain(chainId: Digest): Promise<Digest[]> {
    const out: Digest[] = [];
    for (let c: Digest | undefined = chainId; c; ) {
      const info = await this.layerInfo(c);
      if (!info) throw new NotFoundError(`layer ${c} does not exist`);
      out.push(c);
      c = info.parent;
    }
    return out;
  }

  protected async newActive(key: string, parent: Digest | undefined, idmap?: IdMap): Promise<string> {
    const dir = this.activeDir(key);
    if (parent && !(await this.hasLayer(parent))) throw new NotFoundError(`layer ${parent} does not exist`);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`snapshot ${key} already exists`);
      throw e;
    }
    // runc mounts a remapped container's rootfs as its remapped root: its group may pass (not list).
    if (idmap) {
      await chown(dir, 0, rootPair(idmap).gid);
      await chmod(dir, 0o710);
    }
    await writeJsonAtomic(join(dir, 'meta.json'), { ...(parent ? { parent } : {}), ...(idmap ? { idmap } : {}) });
    return dir;
  }

  protected async activeParent(key: string): Promise<Digest | undefined> {
    return (await this.activeMeta(key)).parent;
  }

  /** The active snapshot's parent and, for a remapped one, its mapping. */
  protected async activeMeta(key: string): Promise<{ parent?: Digest; idmap?: IdMap }> {
    try {
      return JSON.parse(await readFile(join(this.activeDir(key), 'meta.json'), 'utf8')) as { parent?: Digest; idmap?: IdMap };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`snapshot ${key} does not exist`);
      throw e;
    }
  }

  upperPath(key: string): string {
    return join(this.activeDir(key), 'diff');
  }

  async commitActive(key: string, diffId: Digest, size: number): Promise<LayerInfo> {
    const parent = await this.activeParent(key);
    const info: LayerInfo = { chainId: chainOf(parent, diffId), diffId, size, ...(parent ? { parent } : {}) };
    return this.commits.run(info.chainId, async () => {
      const existing = await this.layerInfo(info.chainId);
      if (existing) return existing;
      const tmp = await mkdtemp(join(this.root, 'tmp', 'commit-'));
      try {
        await rename(this.upperPath(key), join(tmp, 'diff'));
        await writeJsonAtomic(join(tmp, 'meta.json'), info);
        await rename(tmp, this.layerDir(info.chainId));
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
      await fsyncDir(join(this.root, 'layers'));
      this.cache.set(info.chainId, info);
      await this.committed(info);
      return info;
    });
  }

  async listActive(): Promise<string[]> {
    return readdir(join(this.root, 'active'));
  }

  abstract prepare(key: string, parent?: Digest, opts?: { idmap?: IdMap }): Promise<void>;
  abstract mount(key: string): Promise<string>;
  abstract unmount(key: string): Promise<void>;

  /**
   * Gone from active/ when this returns (one rename); its files are deleted
   * after, off the path of `rm` and `run --rm` (tmp/ is emptied at init
   * should that be cut short).
   */
  async remove(key: string): Promise<void> {
    const dir = this.activeDir(key);
    await this.unmount(key).catch((e) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    await discardDir(dir, join(this.root, 'tmp', `rm-${key}-${Date.now()}`));
  }
}
