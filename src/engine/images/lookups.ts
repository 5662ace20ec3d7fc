/**
 * Finding images and reading what they are: Docker's lookup order (full ID,
 * reference, digest reference, unique ID prefix), an image's tags and
 * digests, its config and layer sizes (both cached), and which containers use
 * it. The read side the image service, its views and its callers share.
 */
import { type Digest, chainIds } from '../../core/digest.js';
import { NotFoundError } from '../../core/errors.js';
import { type Reference, parseReference, withDefaultTag, formatReference, familiarString, fullName } from '../../core/reference.js';
import type { ContentStore } from '../../content/store.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { CollectionRoots } from './gc.js';
import type { ImageStorage, Leases } from './storage.js';
import { isTagged, type ImageStore } from './store.js';
import type { ImageConfig, ImageRecord } from './types.js';

/** A container that holds on to an image. */
export interface ImageUser {
  id: string;
  running: boolean;
}

/**
 * What the image service asks of the containers (the container service
 * answers): which use an image, and which layers and writable snapshots they
 * hold, so removal and garbage collection leave them alone.
 */
export interface ImageUsage extends CollectionRoots {
  usersOf(imageId: Digest): ImageUser[];
}

export class ImageLookups {
  private configCache = new Map<Digest, ImageConfig>();
  protected layerSizes = new Map<Digest, number>();
  protected readonly content: ContentStore;
  protected readonly store: ImageStore;
  protected readonly snapshotter: Snapshotter;
  protected readonly events: EventBus;
  protected readonly leases: Leases;

  constructor(
    protected readonly storage: ImageStorage,
    protected readonly usage: ImageUsage,
  ) {
    this.content = storage.content;
    this.store = storage.store;
    this.snapshotter = storage.snapshotter;
    this.events = storage.events;
    this.leases = storage.leases;
  }

  /** Which containers use an image. */
  usersOf(imageId: Digest): ImageUser[] {
    return this.usage.usersOf(imageId);
  }

  /** Every image record. */
  records(): ImageRecord[] {
    return this.store.list();
  }

  /** The record of image `id` (a full ID), if there is one. */
  get(id: string): ImageRecord | undefined {
    return this.store.get(id);
  }

  /** The stored tag references (`docker.io/library/busybox:latest`) of image `id`. */
  tagsOf(id: Digest): string[] {
    return this.store.refsOf(id).filter(isTagged);
  }

  async config(id: Digest): Promise<ImageConfig> {
    let c = this.configCache.get(id);
    if (!c) {
      c = await this.content.readJson<ImageConfig>(id);
      this.configCache.set(id, c);
    }
    return c;
  }

  /** Forget image `id`'s config once the image is gone. */
  protected forgetConfig(id: Digest): void {
    this.configCache.delete(id);
  }

  /** Find an image the way Docker does: full ID, reference, digest reference, then unique ID prefix. */
  resolve(input: string): ImageRecord {
    const rec = this.tryResolve(input);
    if (rec) return rec;
    let shown = input;
    try {
      shown = familiarString(withDefaultTag(parseReference(input)));
    } catch {
      /* show as typed */
    }
    throw new NotFoundError(`No such image: ${shown}`);
  }

  tryResolve(input: string): ImageRecord | undefined {
    const full = /^(sha256:)?([a-f0-9]{64})$/.exec(input);
    if (full) return this.store.get('sha256:' + full[2]);
    let ref: Reference | undefined;
    try {
      ref = parseReference(input);
    } catch {
      /* maybe an ID prefix */
    }
    if (ref) {
      const key = formatReference(withDefaultTag(ref));
      const id = this.store.resolveRef(key);
      if (id) return this.store.get(id);
      if (ref.digest) {
        const want = `${fullName(ref)}@${ref.digest}`;
        const hit = this.store.list().find((r) => r.repoDigests.includes(want));
        if (hit) return hit;
      }
    }
    const prefix = /^(?:sha256:)?([a-f0-9]{1,63})$/.exec(input);
    if (prefix) {
      const hits = this.store.list().filter((r) => r.id.startsWith('sha256:' + prefix[1]));
      if (hits.length > 1) throw new NotFoundError(`No such image: ${input} (ambiguous ID prefix)`);
      if (hits.length === 1) return hits[0];
    }
    return undefined;
  }

  repoTags(id: Digest): string[] {
    return this.store
      .refsOf(id)
      .filter(isTagged)
      .map((r) => familiarString(parseReference(r)));
  }

  repoDigests(rec: ImageRecord): string[] {
    const all = new Set<string>();
    for (const r of this.store.refsOf(rec.id)) if (!isTagged(r)) all.add(r);
    for (const r of rec.repoDigests) all.add(r);
    return [...all].map((r) => familiarString(parseReference(r)));
  }

  async layerSize(chainId: Digest): Promise<number> {
    let s = this.layerSizes.get(chainId);
    if (s === undefined) {
      s = (await this.snapshotter.layerInfo(chainId))?.size ?? 0;
      this.layerSizes.set(chainId, s);
    }
    return s;
  }

  /** Total bytes of an image's layers (Docker's image Size). */
  async size(rec: ImageRecord): Promise<number> {
    let total = 0;
    for (const c of chainIds(rec.layers.map((l) => l.diffId))) total += await this.layerSize(c);
    return total;
  }

  topChainId(rec: ImageRecord): Digest | undefined {
    const c = chainIds(rec.layers.map((l) => l.diffId));
    return c[c.length - 1];
  }

  /** Images whose parent is image `id` (steps built on it). */
  children(id: Digest): ImageRecord[] {
    return this.store.list().filter((r) => r.parent === id);
  }

  graphDriver(rec: ImageRecord): { Name: string; Data: Record<string, string> | null } {
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    if (chains.length === 0) return { Name: this.snapshotter.driver, Data: null };
    const dirs = chains.map((c) => this.snapshotter.layerDiffPath(c)).reverse();
    if (this.snapshotter.driver === 'vfs') return { Name: 'vfs', Data: null };
    const data: Record<string, string> = { MergedDir: '', UpperDir: dirs[0], WorkDir: '' };
    if (dirs.length > 1) data.LowerDir = dirs.slice(1).join(':');
    return { Name: this.snapshotter.driver, Data: data };
  }
}
