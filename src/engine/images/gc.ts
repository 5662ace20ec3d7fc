/**
 * Garbage collection of image data: writable snapshots no container owns,
 * layer snapshots no image stands on, blobs no image references — each kept
 * while a lease holds it (work in flight that has stored it but not yet
 * referenced it). Runs when an image is deleted, when a pull gives up, at
 * start (what a crash left) and from `berth system check --repair`.
 */
import { type Digest, chainIds } from '../../core/digest.js';
import { isTagged } from './store.js';
import { snapshotLease, type ImageStorage } from './storage.js';

/** What collection must leave alone besides images: what containers stand on and own. */
export interface CollectionRoots {
  /** Chain IDs containers' root filesystems stand on. */
  layerRoots(): Digest[];
  /** Keys of the writable snapshots containers own (their IDs). */
  snapshotOwners(): Iterable<string>;
}

type Stores = Pick<ImageStorage, 'content' | 'store' | 'snapshotter' | 'leases'>;

/** Writable snapshots that no container owns and no work in progress holds (a lease on snapshotLease(key)). */
export async function strayActive(s: Stores, roots: CollectionRoots): Promise<string[]> {
  const owned = new Set(roots.snapshotOwners());
  return (await s.snapshotter.listActive()).filter((k) => !owned.has(k) && !s.leases.has(snapshotLease(k)));
}

/**
 * Unmount and remove every stray writable snapshot (a build step or a
 * container create cut short by a crash); returns their keys. Runs before
 * collectLayers, whose layers such a snapshot may still stack on.
 */
export async function collectActive(s: Stores, roots: CollectionRoots): Promise<string[]> {
  const removed: string[] = [];
  for (const key of await strayActive(s, roots)) {
    await s.snapshotter.remove(key);
    removed.push(key);
  }
  return removed;
}

/** Remove layer snapshots no image (or other root) uses, of `only` if given; returns their chain IDs. */
export async function collectLayers(s: Stores, roots: CollectionRoots, only?: Set<string>): Promise<Digest[]> {
  const used = new Set<string>(roots.layerRoots());
  for (const rec of s.store.list()) for (const c of chainIds(rec.layers.map((l) => l.diffId))) used.add(c);
  const removed: Digest[] = [];
  for (const l of await s.snapshotter.listLayers()) {
    if ((only && !only.has(l.chainId)) || used.has(l.chainId) || s.leases.has(l.chainId)) continue;
    await s.snapshotter.removeLayer(l.chainId);
    removed.push(l.chainId);
  }
  return removed;
}

/** Remove blobs no image references, of `only` if given; returns their digests. */
export async function collectBlobs(s: Stores, only?: Set<string>): Promise<Digest[]> {
  const used = new Set<string>();
  for (const rec of s.store.list()) {
    used.add(rec.id);
    for (const l of rec.layers) used.add(l.digest);
    for (const d of rec.repoDigests) used.add(d.slice(d.indexOf('@') + 1));
    for (const d of rec.manifests ?? []) {
      used.add(d);
      // A pushed manifest may name blobs of its own (layers compressed for the push).
      try {
        const m = await s.content.readJson<{ layers?: { digest: string }[] }>(d as Digest);
        for (const l of m.layers ?? []) used.add(l.digest);
      } catch {
        /* not stored, or not an image manifest */
      }
    }
  }
  for (const r of s.store.allRefs().keys()) if (!isTagged(r)) used.add(r.slice(r.indexOf('@') + 1));
  const removed: Digest[] = [];
  for (const b of await s.content.list()) {
    if ((only && !only.has(b.digest)) || used.has(b.digest) || s.leases.has(b.digest)) continue;
    await s.content.delete(b.digest);
    removed.push(b.digest);
  }
  return removed;
}
