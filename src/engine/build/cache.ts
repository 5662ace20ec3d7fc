/**
 * The classic builder's cache: the intermediate images in the image store.
 * A step looks for a child of the current image made with the same container
 * config (BuildCache), which survives daemon restarts with the store.
 *
 * POST /build/prune: the build cache dockerd keeps apart from images
 * (BuildKit's) does not exist here — the classic builder's cache is the
 * intermediate images, which `image prune` takes. So the answer is dockerd's
 * for an empty cache, after the request is checked as dockerd checks it,
 * and `docker builder prune` / `docker system prune` succeed.
 */
import { chainIds } from '../../core/digest.js';
import { InvalidArgumentError, SystemError } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import type { ImageService } from '../images/service.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { ImageRecord } from '../images/types.js';
import { createImage } from './image.js';
import { parseGoDuration } from '../../core/go-time.js';

/** The filter keys dockerd 20.10 accepts for a build cache prune. */
const KEYS = ['until', 'unused-for', 'label', 'label!', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private'];

export interface BuildCachePruneReport {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

export function pruneBuildCache(filters: Filters, keepStorage: string | undefined): BuildCachePruneReport {
  if (keepStorage !== undefined && keepStorage !== '' && !/^[+-]?\d+$/.test(keepStorage)) {
    throw new SystemError(`keep-storage is in bytes and expects an integer, got ${keepStorage}`);
  }
  const fail = (msg: string) => new InvalidArgumentError(`failed to prune build cache: ${msg}`);
  for (const k of Object.keys(filters)) if (!KEYS.includes(k)) throw fail(`Invalid filter '${k}'`);
  if (filters.until?.length && filters['unused-for']?.length) throw fail('conflicting filters: "until" and "unused-for"');
  const key = filters['unused-for']?.length ? 'unused-for' : 'until';
  const until = [...(filters.until ?? []), ...(filters['unused-for'] ?? [])];
  if (until.length > 1) throw fail('filters expect only one value');
  if (until.length === 1) {
    try {
      parseGoDuration(until[0]!);
    } catch (e) {
      throw fail(`"${key}" filter expects a duration (e.g., '24h'): ${(e as Error).message}`);
    }
  }
  for (const k of KEYS.slice(4)) if ((filters[k]?.length ?? 0) > 1) throw fail('filters expect only one value');
  return { CachesDeleted: null, SpaceReclaimed: 0 };
}

/** The fields of a container config that decide whether a cached image fits (Docker's compare). */
function cacheView(c: ContainerConfig | undefined): string {
  const x = c ?? {};
  return JSON.stringify([
    x.Cmd ?? null,
    x.Entrypoint?.length ? x.Entrypoint : null,
    x.Env ?? [],
    x.Labels ?? {},
    Object.keys(x.ExposedPorts ?? {}).sort(),
    Object.keys(x.Volumes ?? {}).sort(),
    x.User ?? '',
    x.WorkingDir ?? '',
    x.Shell ?? null,
    x.Healthcheck ?? null,
    x.StopSignal ?? '',
    x.OnBuild ?? null,
    !!x.Tty,
    !!x.OpenStdin,
  ]);
}

/** The cache lookup of one build: images made by the same step on the same parent (with --cache-from, only those). */
export class BuildCache {
  private cacheFromIds?: Set<string>;

  constructor(
    private readonly images: ImageService,
    private readonly cacheFrom: string[],
  ) {}

  /**
   * A cached child of `parentImage` made with container config `cc` (the step
   * whose image config would be `config`), if there is one.
   */
  async lookup(parentImage: ImageRecord | undefined, config: ContainerConfig, cc: ContainerConfig): Promise<ImageRecord | undefined> {
    const parent = parentImage?.id;
    const want = cacheView(cc);
    const allowed = this.cacheFrom.length ? await this.cacheFromSet() : undefined;
    let hit: ImageRecord | undefined;
    for (const rec of this.images.records()) {
      if ((rec.parent ?? undefined) !== parent) continue;
      if (allowed && !allowed.has(rec.id)) continue;
      const cfg = await this.images.config(rec.id);
      if (!cfg.container_config || cacheView(cfg.container_config) !== want) continue;
      if (!hit || Date.parse(cfg.created ?? '') > Date.parse((await this.images.config(hit.id)).created ?? '')) hit = rec;
    }
    if (!hit && allowed) hit = await this.cacheFromHistory(parentImage, config, cc);
    return hit;
  }

  /** With --cache-from, only those images and their ancestors are cache. */
  private async cacheFromSet(): Promise<Set<string>> {
    if (this.cacheFromIds) return this.cacheFromIds;
    const ids = new Set<string>();
    for (const name of this.cacheFrom) {
      for (let rec = this.images.tryResolve(name); rec && !ids.has(rec.id); rec = rec.parent ? this.images.get(rec.parent) : undefined) ids.add(rec.id);
    }
    this.cacheFromIds = ids;
    return ids;
  }

  /**
   * A --cache-from image with no parent chain here (loaded or pulled): if its
   * history continues the current image's with this very step, make the
   * step's image from its layers.
   */
  private async cacheFromHistory(image: ImageRecord | undefined, config: ContainerConfig, cc: ContainerConfig): Promise<ImageRecord | undefined> {
    const parentCfg = image ? await this.images.config(image.id) : undefined;
    const ph = parentCfg?.history ?? [];
    const pd = parentCfg?.rootfs.diff_ids ?? [];
    const createdBy = cc.Cmd!.join(' ');
    for (const name of this.cacheFrom) {
      const src = this.images.tryResolve(name);
      if (!src) continue;
      const cfg = await this.images.config(src.id);
      const h = cfg.history ?? [];
      if (h.length <= ph.length || h[ph.length]!.created_by !== createdBy) continue;
      if (!ph.every((e, i) => e.created_by === h[i]!.created_by && !!e.empty_layer === !!h[i]!.empty_layer)) continue;
      if (!pd.every((d, i) => cfg.rootfs.diff_ids[i] === d)) continue;
      const entry = h[ph.length]!;
      const layerRef = entry.empty_layer ? undefined : src.layers[pd.length];
      if (!entry.empty_layer && !layerRef) continue;
      return createImage(this.images, {
        parent: image,
        config: { ...config, Image: image?.id ?? '' },
        containerConfig: { ...cc, Image: image?.id ?? '' },
        createdBy,
        layer: layerRef ? { ref: layerRef, chainId: chainIds([...pd, layerRef.diffId]).at(-1)!, release: () => {} } : undefined,
      });
    }
    return undefined;
  }
}
