/**
 * The snapshotter: where image layers and container filesystems live on disk.
 *
 * Lifecycle of a layer snapshot (read-only, shared):
 *   applyLayer(parent, tar)  → unpacked into a private temp dir, then renamed
 *                              to its chain ID; visible only when complete.
 *   hasLayer / layerInfo / listLayers
 *   removeLayer(chainId)     → the engine calls it for layers no image uses.
 *
 * Lifecycle of an active snapshot (writable, one per container):
 *   prepare(key, parent) → mount(key) → … → unmount(key) → remove(key)
 *
 * Implementations: overlay2 (one directory per layer, stacked by overlayfs)
 * and vfs (each snapshot a full copy of its parent). Same behaviour otherwise.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../core/digest.js';
import type { BlobFile } from '../archive/blob-apply.js';
import type { IdMap } from '../core/idmap.js';
import type { IdmapMode } from './idmap.js';

export type DriverName = 'overlay2' | 'vfs';

export interface LayerInfo {
  chainId: Digest;
  diffId: Digest;
  /** Chain ID of the layer below, absent for a base layer. */
  parent?: Digest;
  /** Bytes of regular-file content this layer adds (Docker's layer "Size"). */
  size: number;
}

export type ApplyLayerOptions = {
  parent?: Digest;
  /**
   * Settles once the parent layer is committed, when the caller is still
   * unpacking it. Snapshotters whose layers are independent directories
   * (overlay2) unpack at once and wait only to commit; vfs, which starts
   * from a copy of the parent, waits before it begins.
   */
  parentReady?: Promise<unknown>;
} & (
  | {
      /** Uncompressed layer tar, applied on the event loop. */
      tar: Readable;
      /**
       * The layer's diffID if the caller knows or computes it (as a promise
       * that settles once the stream ends); otherwise the snapshotter hashes
       * the stream itself. A caller that expects a particular diffID checks the
       * returned LayerInfo before it references the layer.
       */
      diffId?: Digest | Promise<Digest>;
      blob?: undefined;
    }
  | {
      /** A (compressed) layer blob file, unpacked and hashed on a worker thread. */
      blob: BlobFile;
      /** The diffID it must have; nothing is committed otherwise. */
      diffId?: Digest;
      /** Compressed bytes unpacked so far, for progress. */
      onRead?: (bytes: number) => void;
      tar?: undefined;
    }
);

export interface Snapshotter {
  readonly driver: DriverName;
  /** Create directories, drop temp dirs left by a crash. Called once at daemon start. */
  init(): Promise<void>;
  applyLayer(opts: ApplyLayerOptions): Promise<LayerInfo>;
  hasLayer(chainId: Digest): Promise<boolean>;
  layerInfo(chainId: Digest): Promise<LayerInfo | null>;
  listLayers(): Promise<LayerInfo[]>;
  /** Remove a committed layer. The caller guarantees nothing uses it. */
  removeLayer(chainId: Digest): Promise<void>;
  /** Path of a committed layer's own files (its diff), for reading. */
  layerDiffPath(chainId: Digest): string;

  /**
   * A new writable snapshot on top of `parent` (a layer chain ID, or none for an empty rootfs).
   * With `idmap` (a remapped container) its layers are shown with owners shifted into the
   * mapping's host range and its own writable layer belongs to the remapped root.
   */
  prepare(key: string, parent?: Digest, opts?: { idmap?: IdMap }): Promise<void>;
  /** How layers are remapped for `map` on this host: idmapped mounts, or chowned copies. */
  remapMode(map: IdMap): Promise<IdmapMode>;
  /** Mount the active snapshot's merged view at its rootfs path and return that path. Idempotent. */
  mount(key: string): Promise<string>;
  unmount(key: string): Promise<void>;
  /** Unmount if needed and delete the active snapshot and its writable layer. Idempotent. */
  remove(key: string): Promise<void>;
  /**
   * Make an unmounted active snapshot's changes a committed layer on its
   * parent by moving its files (no copy); the caller computed the diffID
   * from the same files. The active snapshot is left without its files and
   * is removed as usual. Used by the builder, whose step containers are done.
   */
  commitActive(key: string, diffId: Digest, size: number): Promise<LayerInfo>;
  /** Directory holding the active snapshot's own changes (the upper dir). */
  upperPath(key: string): string;
  listActive(): Promise<string[]>;
}
