/**
 * The image service: names, records, layers and their lifetimes. It holds
 * Docker's policy for tagging, removing and pruning images and registers new
 * ones; lookups live in lookups.ts, what the API shows in views.ts, and
 * garbage collection in gc.ts. api/ calls it and only encodes what it returns.
 */
import { type Digest, chainIds, shortId, isDigest } from '../../core/digest.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import { untilSeconds } from '../../core/go-time.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { type Reference, parseReference, withDefaultTag, formatReference, familiarString, fullName } from '../../core/reference.js';
import { collectActive, collectBlobs, collectLayers, strayActive } from './gc.js';
import { ImageLookups } from './lookups.js';
import { snapshotLease } from './storage.js';
import { isTagged } from './store.js';
import type { ImageConfig, ImageRecord } from './types.js';
import { createdSeconds, imageHistory, inspectImage, listImages, type ImageSummary } from './views.js';

export type { ImageUsage, ImageUser } from './lookups.js';

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export class ImageService extends ImageLookups {
  // ---- list / inspect / history (views.ts) ----------------------------------

  list(opts: { all?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
    return listImages(this, opts);
  }

  inspect(name: string): Promise<Record<string, unknown>> {
    return inspectImage(this, name);
  }

  history(name: string): Promise<Array<Record<string, unknown>>> {
    return imageHistory(this, name);
  }

  // ---- tag / remove / prune -------------------------------------------------

  async tag(source: string, target: string): Promise<void> {
    const rec = this.resolve(source);
    const ref = withDefaultTag(parseReference(target));
    if (ref.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
    await this.store.lock.run(async () => {
      await this.setTag(ref, rec);
    });
  }

  /** Point a tag at an image (caller holds the store lock). */
  async setTag(ref: Reference, rec: ImageRecord): Promise<Digest | undefined> {
    const key = formatReference(ref);
    const prev = await this.store.setRef(key, rec.id);
    await this.store.put({ ...rec, lastTagTime: new Date().toISOString() });
    this.events.publish('image', 'tag', rec.id, { name: familiarString(ref) });
    return prev;
  }

  async remove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteItem[]> {
    return this.store.lock.run(async () => {
      const out: ImageDeleteItem[] = [];
      const rec = this.resolve(name);
      const byRef = this.asStoredRef(name, rec.id);
      if (byRef) {
        const refs = this.store.refsOf(rec.id);
        const users = this.usersOf(rec.id);
        if (refs.length === 1 && users.length > 0 && !opts.force) {
          throw new ConflictError(
            `conflict: unable to remove repository reference "${name}" (must force) - container ${shortId(users[0].id)} is using its referenced image ${shortId(rec.id)}`,
          );
        }
        await this.untag(byRef, rec.id, out);
        // The image itself stays while another name, a container or a child image holds it (quietly, as dockerd).
        if (refs.length > 1 || users.length > 0 || this.children(rec.id).length > 0) return out;
        await this.deleteImage(rec, opts, out);
        return out;
      }
      // A digest reference a pull or push recorded: untagged like a tag (dockerd keeps them as references).
      const recorded = this.recordedDigestRef(name, rec);
      if (recorded) {
        const left = { ...rec, repoDigests: rec.repoDigests.filter((d) => d !== recorded) };
        await this.store.put(left);
        const shown = familiarString(parseReference(recorded));
        out.push({ Untagged: shown });
        this.events.publish('image', 'untag', rec.id, { name: shown });
        if (this.store.refsOf(rec.id).length > 0 || left.repoDigests.length > 0 || this.usersOf(rec.id).length > 0 || this.children(rec.id).length > 0)
          return out;
        await this.deleteImage(left, opts, out);
        return out;
      }
      // By ID.
      const users = this.usersOf(rec.id);
      const running = users.find((u) => u.running);
      if (running) {
        throw new ConflictError(
          `conflict: unable to delete ${shortId(rec.id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`,
        );
      }
      // dockerd's order: several repositories first, then a stopped container.
      const refs = this.store.refsOf(rec.id);
      const repos = new Set(refs.map((r) => fullName(parseReference(r))));
      if (repos.size > 1 && !opts.force) {
        throw new ConflictError(`conflict: unable to delete ${shortId(rec.id)} (must be forced) - image is referenced in multiple repositories`);
      }
      if (users.length > 0 && !opts.force) {
        throw new ConflictError(
          `conflict: unable to delete ${shortId(rec.id)} (must be forced) - image is being used by stopped container ${shortId(users[0].id)}`,
        );
      }
      if (this.children(rec.id).length > 0) {
        throw new ConflictError(`conflict: unable to delete ${shortId(rec.id)} (cannot be forced) - image has dependent child images`);
      }
      for (const r of refs) await this.untag(r, rec.id, out);
      if (users.length > 0) return out; // forced: the stopped container keeps the untagged image
      await this.deleteImage(rec, opts, out);
      return out;
    });
  }

  /** The stored reference `name` denotes, if it names the image by reference (not by ID). */
  private asStoredRef(name: string, id: Digest): string | undefined {
    const ref = safeParse(name);
    if (!ref) return undefined;
    const key = formatReference(withDefaultTag(ref));
    return this.store.resolveRef(key) === id ? key : undefined;
  }

  /** The RepoDigests entry (`name@sha256:…`, as recorded by a pull or push) that `name` denotes, if any. */
  private recordedDigestRef(name: string, rec: ImageRecord): string | undefined {
    const ref = safeParse(name);
    if (!ref?.digest) return undefined;
    const want = `${fullName(ref)}@${ref.digest}`;
    return rec.repoDigests.find((d) => d === want);
  }

  private async untag(ref: string, id: Digest, out: ImageDeleteItem[]): Promise<void> {
    await this.store.removeRef(ref);
    const shown = familiarString(parseReference(ref));
    out.push({ Untagged: shown });
    this.events.publish('image', 'untag', id, { name: shown });
  }

  private async deleteImage(rec: ImageRecord, opts: { noprune?: boolean }, out: ImageDeleteItem[]): Promise<void> {
    await this.store.delete(rec.id);
    this.forgetConfig(rec.id);
    out.push({ Deleted: rec.id });
    this.events.publish('image', 'delete', rec.id, { name: rec.id });
    for (const c of await this.collectLayers()) out.push({ Deleted: c });
    await this.collectBlobs();
    // Untagged parents with no other children go too, as in Docker.
    if (!opts.noprune && rec.parent) {
      const parent = this.store.get(rec.parent);
      if (parent && this.store.refsOf(parent.id).length === 0 && this.children(parent.id).length === 0 && this.usersOf(parent.id).length === 0) {
        await this.deleteImage(parent, opts, out);
      }
    }
  }

  /**
   * Docker's image prune: each candidate is removed as `docker rmi` would
   * remove it (by each of its references in order, or by ID), and one that
   * conflicts (in use, has children) is passed over — so an in-use image
   * keeps its last tag, and a tagged parent loses its tag and then goes with
   * its last child, whichever of the two comes first.
   */
  async prune(filters: Filters = {}): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }> {
    checkFilterKeys(filters, ['dangling', 'until', 'label', 'label!']);
    const d = filters.dangling;
    if (d?.length && !d.every((v) => ['true', 'false', '1', '0'].includes(v))) throw new InvalidArgumentError(`Invalid filter 'dangling=[${d.join(' ')}]'`);
    const danglingOnly = !(d?.includes('false') || d?.includes('0'));
    const until = filters.until?.length ? untilSeconds(filters.until[0]) : undefined;
    const deleted: ImageDeleteItem[] = [];
    const before = await this.layerBytes();
    const candidates: ImageRecord[] = [];
    for (const rec of this.store.list()) {
      const refs = this.store.refsOf(rec.id);
      const children = this.children(rec.id).length;
      if (danglingOnly && children > 0) continue;
      if (refs.length === 0 && children > 0) continue;
      const cfg = await this.config(rec.id);
      if (until !== undefined && createdSeconds(cfg, rec) >= until) continue;
      if (!matchLabels(cfg.config?.Labels, filters.label)) continue;
      if (filters['label!']?.length && !filters['label!'].every((l) => !matchLabels(cfg.config?.Labels, [l]))) continue;
      candidates.push(rec);
    }
    const passOver = async (fn: () => Promise<ImageDeleteItem[]>) => {
      try {
        deleted.push(...(await fn()));
      } catch (e) {
        if (!(e instanceof ConflictError) && !(e instanceof NotFoundError)) throw e;
      }
    };
    for (const rec of candidates) {
      if (!this.store.has(rec.id)) continue; // went with a child already
      const refs = this.store.refsOf(rec.id).sort();
      if (refs.length === 0) {
        await passOver(() => this.remove(rec.id.slice('sha256:'.length)));
        continue;
      }
      if (danglingOnly && refs.some(isTagged)) continue;
      for (const r of refs) await passOver(() => this.remove(r));
    }
    const reclaimed = Math.max(0, before - (await this.layerBytes()));
    this.events.publish('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  private async layerBytes(): Promise<number> {
    let n = 0;
    for (const l of await this.snapshotter.listLayers()) n += l.size;
    return n;
  }

  // ---- garbage collection (gc.ts) -------------------------------------------

  /** Writable snapshots that no container owns and no work in progress holds. */
  strayActive(): Promise<string[]> {
    return strayActive(this.storage, this.usage);
  }

  /** Remove every stray writable snapshot; returns their keys. */
  collectActive(): Promise<string[]> {
    return collectActive(this.storage, this.usage);
  }

  /**
   * Take back what an operation that gave up (a cancelled pull) stored: of
   * `chains` and `blobs`, whatever no image or other root uses and no lease holds.
   */
  async collectUnused(chains: Digest[], blobs: Digest[]): Promise<void> {
    await this.collectLayers(new Set(chains));
    await this.collectBlobs(new Set(blobs));
  }

  /** Remove layer snapshots no image (or other root) uses, of `only` if given; returns their chain IDs. */
  async collectLayers(only?: Set<string>): Promise<Digest[]> {
    const removed = await collectLayers(this.storage, this.usage, only);
    for (const c of removed) this.layerSizes.delete(c);
    return removed;
  }

  /** Remove blobs no image references, of `only` if given; returns their digests. */
  collectBlobs(only?: Set<string>): Promise<Digest[]> {
    return collectBlobs(this.storage, only);
  }

  // ---- leases ---------------------------------------------------------------

  /** Keep an image's layers from collection (a build standing on it) until the returned release is called. */
  holdLayers(rec: ImageRecord): () => void {
    return this.leases.hold(chainIds(rec.layers.map((l) => l.diffId)));
  }

  /** Keep writable snapshot `key` from collection while its owner (a container, a build step) is being made. */
  holdSnapshot(key: string): () => void {
    return this.leases.hold([snapshotLease(key)]);
  }

  // ---- registration ---------------------------------------------------------

  /**
   * Make a new image visible: its config and layer blobs and snapshots must
   * already be stored. Tags it with each of `tags`; returns messages about
   * tags that moved away from another image.
   */
  async register(rec: ImageRecord, tags: Reference[]): Promise<string[]> {
    if (!isDigest(rec.id)) throw new InvalidArgumentError(`invalid image ID ${rec.id}`);
    return this.store.lock.run(async () => {
      const existing = this.store.get(rec.id);
      const merged: ImageRecord = existing
        ? {
            ...existing,
            repoDigests: [...new Set([...existing.repoDigests, ...rec.repoDigests])],
            manifests: [...new Set([...(existing.manifests ?? []), ...(rec.manifests ?? [])])],
          }
        : rec;
      await this.store.put(merged);
      const notes: string[] = [];
      for (const t of tags) {
        const prev = await this.setTag(t, merged);
        if (prev) notes.push(`The image ${familiarString(t)} already exists, renaming the old one with ID ${prev} to empty string`);
      }
      return notes;
    });
  }

  /**
   * Store a new image's config and register the image (its layers must
   * already be stored); returns its record as stored.
   */
  async create(config: ImageConfig, rec: Omit<ImageRecord, 'id'>, tags: Reference[] = []): Promise<ImageRecord> {
    const blob = await this.content.put(JSON.stringify(config));
    const release = this.leases.hold([blob.digest]);
    try {
      const full: ImageRecord = { id: blob.digest, ...rec };
      await this.register(full, tags);
      return this.store.get(full.id) ?? full;
    } finally {
      release();
    }
  }
}

function safeParse(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}
