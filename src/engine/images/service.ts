/**
 * The image service: names, records, layers and their lifetimes. It holds
 * Docker's policy for looking images up, tagging, removing and pruning;
 * api/ calls it and only encodes what it returns.
 */
import { type Digest, chainIds, shortId, isDigest } from '../../core/digest.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../core/errors.js';
import { untilSeconds } from '../../core/go-time.js';
import { type Filters, checkFilterKeys, matchLabels } from '../../core/filters.js';
import { type Reference, parseReference, withDefaultTag, formatReference, familiarString, familiarName, fullName } from '../../core/reference.js';
import type { ContentStore } from '../../content/store.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { ImageStore } from './store.js';
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
export interface ImageUsage {
  usersOf(imageId: Digest): ImageUser[];
  /** Chain IDs containers' root filesystems stand on. */
  layerRoots(): Digest[];
  /** Keys of the writable snapshots containers own (their IDs). */
  snapshotOwners(): Iterable<string>;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** Docker's image list entry (GET /images/json). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize?: number;
  Labels: Record<string, string>;
  Containers: number;
}

/** Digests and chain IDs an in-flight operation has stored but not yet referenced. */
export class Leases {
  private held = new Map<string, number>();
  hold(keys: string[]): () => void {
    for (const k of keys) this.held.set(k, (this.held.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of keys) {
        const n = (this.held.get(k) ?? 1) - 1;
        if (n <= 0) this.held.delete(k);
        else this.held.set(k, n);
      }
    };
  }
  has(k: string): boolean {
    return this.held.has(k);
  }
}

function isTagged(ref: string): boolean {
  return !ref.includes('@');
}

/** Docker's reference filter: glob with `*` not crossing `/`, matched against familiar forms. */
function refPatternMatches(pattern: string, ref: Reference): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
  );
  const name = familiarName(ref);
  const candidates = [name, familiarString(ref), fullName(ref), formatReference(ref)];
  return candidates.some((c) => re.test(c));
}

/** The lease key that keeps writable snapshot `key` from collection while its owner is still being made. */
export function snapshotLease(key: string): string {
  return `snapshot:${key}`;
}

export class ImageService {
  private configCache = new Map<Digest, ImageConfig>();
  private layerSizes = new Map<Digest, number>();

  constructor(
    readonly content: ContentStore,
    readonly store: ImageStore,
    readonly snapshotter: Snapshotter,
    readonly events: EventBus,
    readonly leases: Leases,
    private readonly usage: ImageUsage,
  ) {}

  /** Which containers use an image. */
  usersOf(imageId: Digest): ImageUser[] {
    return this.usage.usersOf(imageId);
  }
  private extraLayerRoots(): Digest[] {
    return this.usage.layerRoots();
  }
  private snapshotOwners(): Iterable<string> {
    return this.usage.snapshotOwners();
  }

  // ---- lookups -------------------------------------------------------------

  async config(id: Digest): Promise<ImageConfig> {
    let c = this.configCache.get(id);
    if (!c) {
      c = await this.content.readJson<ImageConfig>(id);
      this.configCache.set(id, c);
    }
    return c;
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

  private children(id: Digest): ImageRecord[] {
    return this.store.list().filter((r) => r.parent === id);
  }

  // ---- list / inspect / history ---------------------------------------------

  async list(opts: { all?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
    const f = opts.filters ?? {};
    checkFilterKeys(f, ['dangling', 'label', 'before', 'since', 'reference', 'until']);
    const dangling = f.dangling?.[0];
    if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) {
      throw new InvalidArgumentError(`Invalid filter 'dangling=[${f.dangling!.join(' ')}]'`);
    }
    // before/since compare creation times at full precision, as dockerd does (two builds in one second differ).
    const before = f.before?.length ? await this.createdMsOf(this.resolve(f.before[0])) : undefined;
    const since = f.since?.length ? await this.createdMsOf(this.resolve(f.since[0])) : undefined;
    const until = f.until?.length ? untilSeconds(f.until[0]) : undefined;
    const out: ImageSummary[] = [];
    const precise = new Map<string, number>();
    for (const rec of this.store.list()) {
      const cfg = await this.config(rec.id);
      const tags = this.store.refsOf(rec.id).filter(isTagged);
      if (dangling !== undefined && (tags.length === 0) !== (dangling === 'true' || dangling === '1')) continue;
      // Dangling means a top image without a tag, as dockerd counts it: intermediate build steps are not.
      if ((dangling === 'true' || dangling === '1') && this.children(rec.id).length > 0) continue;
      if (!opts.all && tags.length === 0 && dangling === undefined && this.children(rec.id).length > 0) continue;
      if (!matchLabels(cfg.config?.Labels, f.label)) continue;
      const created = createdSeconds(cfg, rec);
      const createdMs = createdMillis(cfg, rec);
      if (before !== undefined && createdMs >= before) continue;
      if (since !== undefined && createdMs <= since) continue;
      if (until !== undefined && created >= until) continue;
      let repoTags = tags.map((r) => familiarString(parseReference(r)));
      if (f.reference?.length) {
        const refs = tags.map((r) => parseReference(r));
        const matched = refs.filter((r) => f.reference!.some((p) => refPatternMatches(p, r)));
        if (matched.length === 0) continue;
        repoTags = matched.map((r) => familiarString(r));
      }
      const size = await this.size(rec);
      const digests = this.repoDigests(rec);
      out.push({
        Id: rec.id,
        ParentId: rec.parent ?? '',
        // dockerd 20.10 lists an untagged image as <none>:<none>, and no digests (or labels) as null.
        RepoTags: (tags.length ? repoTags : digests.length ? null : ['<none>:<none>']) as string[],
        RepoDigests: (digests.length ? digests : tags.length ? null : ['<none>@<none>']) as string[],
        Created: created,
        Size: size,
        SharedSize: -1,
        VirtualSize: size,
        Labels: (cfg.config?.Labels ?? null) as Record<string, string>,
        Containers: this.usersOf(rec.id).length,
      });
      precise.set(rec.id, createdMs);
    }
    out.sort((a, b) => precise.get(b.Id)! - precise.get(a.Id)! || a.Id.localeCompare(b.Id));
    return out;
  }

  private async createdMsOf(rec: ImageRecord): Promise<number> {
    return createdMillis(await this.config(rec.id), rec);
  }

  async inspect(name: string): Promise<Record<string, unknown>> {
    const rec = this.resolve(name);
    const cfg = await this.config(rec.id);
    const size = await this.size(rec);
    return {
      Id: rec.id,
      RepoTags: this.repoTags(rec.id),
      RepoDigests: this.repoDigests(rec),
      Parent: rec.parent ?? '',
      Comment: cfg.comment ?? '',
      Created: cfg.created ?? rec.addedAt,
      Container: cfg.container ?? '',
      ContainerConfig: { ...emptyContainerConfig(), ...(cfg.container_config ?? {}) },
      DockerVersion: cfg.docker_version ?? '',
      Author: cfg.author ?? '',
      Config: { ...emptyContainerConfig(), ...(cfg.config ?? {}) },
      Architecture: cfg.architecture,
      ...(cfg.variant ? { Variant: cfg.variant } : {}),
      Os: cfg.os,
      Size: size,
      VirtualSize: size,
      GraphDriver: this.graphDriver(rec),
      RootFS: { Type: cfg.rootfs.type, Layers: cfg.rootfs.diff_ids },
      Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
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

  async history(name: string): Promise<Array<Record<string, unknown>>> {
    const rec = this.resolve(name);
    const cfg = await this.config(rec.id);
    const chains = chainIds(rec.layers.map((l) => l.diffId));
    const sizes = await Promise.all(chains.map((c) => this.layerSize(c)));
    let entries = cfg.history ?? [];
    if (entries.length === 0) entries = rec.layers.map(() => ({ created: cfg.created }));
    let layer = 0;
    const rows = entries
      .map((h) => {
        const size = h.empty_layer ? 0 : (sizes[layer++] ?? 0);
        return {
          Id: '<missing>',
          Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
          CreatedBy: h.created_by ?? '',
          Tags: null as string[] | null,
          Size: size,
          Comment: h.comment ?? '',
        };
      })
      .reverse();
    // Each entry from the top belongs to the next image down the parent chain (images built here).
    let cur: ImageRecord | undefined = rec;
    for (const row of rows) {
      if (!cur) break;
      row.Id = cur.id;
      const tags = this.repoTags(cur.id);
      row.Tags = tags.length ? tags : null;
      cur = cur.parent ? this.store.get(cur.parent) : undefined;
    }
    if (rows.length > 0) rows[0].Tags = this.repoTags(rec.id);
    return rows;
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
    this.configCache.delete(rec.id);
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

  // ---- garbage collection ---------------------------------------------------

  /** Writable snapshots that no container owns and no work in progress holds (a lease on snapshotLease(key)). */
  async strayActive(): Promise<string[]> {
    const owned = new Set(this.snapshotOwners());
    return (await this.snapshotter.listActive()).filter((k) => !owned.has(k) && !this.leases.has(snapshotLease(k)));
  }

  /**
   * Unmount and remove every stray writable snapshot (a build step or a
   * container create cut short by a crash); returns their keys. Runs before
   * collectLayers, whose layers such a snapshot may still stack on.
   */
  async collectActive(): Promise<string[]> {
    const removed: string[] = [];
    for (const key of await this.strayActive()) {
      await this.snapshotter.remove(key);
      removed.push(key);
    }
    return removed;
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
    const used = new Set<string>(this.extraLayerRoots());
    for (const rec of this.store.list()) for (const c of chainIds(rec.layers.map((l) => l.diffId))) used.add(c);
    const removed: Digest[] = [];
    for (const l of await this.snapshotter.listLayers()) {
      if ((only && !only.has(l.chainId)) || used.has(l.chainId) || this.leases.has(l.chainId)) continue;
      await this.snapshotter.removeLayer(l.chainId);
      this.layerSizes.delete(l.chainId);
      removed.push(l.chainId);
    }
    return removed;
  }

  /** Remove blobs no image references, of `only` if given; returns their digests. */
  async collectBlobs(only?: Set<string>): Promise<Digest[]> {
    const used = new Set<string>();
    for (const rec of this.store.list()) {
      used.add(rec.id);
      for (const l of rec.layers) used.add(l.digest);
      for (const d of rec.repoDigests) used.add(d.slice(d.indexOf('@') + 1));
      for (const d of rec.manifests ?? []) {
        used.add(d);
        // A pushed manifest may name blobs of its own (layers compressed for the push).
        try {
          const m = await this.content.readJson<{ layers?: { digest: string }[] }>(d as Digest);
          for (const l of m.layers ?? []) used.add(l.digest);
        } catch {
          /* not stored, or not an image manifest */
        }
      }
    }
    for (const r of this.store.allRefs().keys()) if (!isTagged(r)) used.add(r.slice(r.indexOf('@') + 1));
    const removed: Digest[] = [];
    for (const b of await this.content.list()) {
      if ((only && !only.has(b.digest)) || used.has(b.digest) || this.leases.has(b.digest)) continue;
      await this.content.delete(b.digest);
      removed.push(b.digest);
    }
    return removed;
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
}

function safeParse(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}

export function createdSeconds(cfg: ImageConfig, rec: ImageRecord): number {
  return Math.floor(createdMillis(cfg, rec) / 1000);
}

function createdMillis(cfg: ImageConfig, rec: ImageRecord): number {
  const t = Date.parse(cfg.created ?? rec.addedAt);
  return Number.isNaN(t) ? 0 : t;
}

export function emptyContainerConfig(): Record<string, unknown> {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
  };
}
