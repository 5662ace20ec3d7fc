/**
 * What images are made of on disk, shared by everyone who makes or reads
 * them: the blob store, the layer snapshotter, the record and reference
 * store, the event bus, and the leases that keep what an operation in flight
 * has stored but not yet referenced. The engine makes one of each and hands
 * the same set to the image service and to whoever makes images (pull, push,
 * load, import, build), so none reaches into another's fields for them.
 */
import type { ContentStore } from '../../content/store.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { ImageStore } from './store.js';

/** The stores one daemon keeps images in. */
export interface ImageStorage {
  content: ContentStore;
  store: ImageStore;
  snapshotter: Snapshotter;
  events: EventBus;
  leases: Leases;
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

/** The lease key that keeps writable snapshot `key` from collection while its owner is still being made. */
export function snapshotLease(key: string): string {
  return `snapshot:${key}`;
}
