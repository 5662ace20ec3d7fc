/**
 * Writable layers → image layers, for build steps, `commit` and `diff`.
 *
 * A build step's snapshot is done with once its changes are archived, so
 * its files are moved into the new layer (commitActive) instead of being
 * unpacked again from the tar; a running container's layer (commit) is
 * archived and unpacked, since the container keeps using it.
 */
import { PassThrough } from 'node:stream';
import type { Digest } from '../../core/digest.js';
import { changesOf, copyItems, layerTar, overlayItems, readXattrs, type Change } from '../../archive/diff.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { ImageStorage } from '../images/storage.js';
import { MediaType } from '../../core/wire/media-types.js';
import type { LayerRef } from '../images/types.js';
import type { IdMap } from '../../core/idmap.js';

/** Mount points the runtime creates in a rootfs that lacks them: never part of a container's changes. */
const RUNTIME_PATHS = new Set(['.dockerenv', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc/mtab', 'dev', 'proc', 'sys']);

type Items = ReturnType<typeof overlayItems>;

/** The stores a new layer goes into: its blob, its snapshot, and the leases that hold both until an image uses them. */
export type LayerStores = Pick<ImageStorage, 'content' | 'snapshotter' | 'leases'>;

/**
 * The changed entries of snapshot `key` (a container's or a build step's), runtime mount points left out;
 * `idmap` is the snapshot's mapping when it was prepared remapped (its vfs copy has shifted owners).
 */
export async function snapshotItems(
  sn: Snapshotter,
  key: string,
  parentChain: Digest | undefined,
  idmap?: IdMap,
): Promise<{ upper: string; items: Items; xattrs: Map<string, Map<string, Buffer>> }> {
  const upper = sn.upperPath(key);
  const xattrs = await readXattrs(upper);
  let items: Items;
  if (sn.driver === 'overlay2') {
    const lowers: string[] = [];
    for (let c = parentChain; c; ) {
      lowers.push(sn.layerDiffPath(c));
      c = (await sn.layerInfo(c))?.parent;
    }
    items = overlayItems(upper, lowers, xattrs);
  } else {
    items = copyItems(upper, parentChain ? sn.layerDiffPath(parentChain) : undefined, idmap);
  }
  return { upper, items: dropRuntimePaths(items), xattrs };
}

function dropRuntimePaths(items: Items): Items {
  const dropped = new Set<string>();
  let out = items.filter((it) => {
    const top = it.rel.split('/')[0]!;
    const isRuntime = RUNTIME_PATHS.has(it.rel) || (['dev', 'proc', 'sys'].includes(top) && items.some((x) => x.rel === top && x.kind === 'add'));
    if (!isRuntime || it.kind !== 'add') return true;
    if (it.st?.isFile() && it.st.size > 0) return true;
    dropped.add(it.rel.includes('/') ? it.rel.slice(0, it.rel.lastIndexOf('/')) : '');
    return false;
  });
  // A directory copied up only to hold a dropped mount point is no change either.
  out = out.filter((it) => !(it.kind === 'modify' && it.st?.isDirectory() && dropped.has(it.rel) && !out.some((x) => x.rel.startsWith(it.rel + '/'))));
  return out;
}

export async function snapshotChanges(sn: Snapshotter, key: string, parentChain: Digest | undefined, idmap?: IdMap): Promise<Change[]> {
  return changesOf((await snapshotItems(sn, key, parentChain, idmap)).items);
}

export interface NewLayer {
  ref: LayerRef;
  chainId: Digest;
  /** Drop the leases that keep the new blob and layer from collection until an image uses them. */
  release(): void;
}

/**
 * Archive snapshot `key`'s changes into a layer blob and make them a layer
 * on `parentChain`. `move` takes the snapshot's files (a finished build
 * step); otherwise the tar is unpacked into a new layer. A remapped
 * snapshot (`idmap`) holds host ids: its tar is written with the
 * container's, and unpacked (its files cannot be moved as they are).
 * Returns undefined when nothing changed (an empty layer in history).
 */
export async function commitSnapshot(
  stores: LayerStores,
  key: string,
  parentChain: Digest | undefined,
  move: boolean,
  idmap?: IdMap,
): Promise<NewLayer | undefined> {
  const { upper, items, xattrs } = await snapshotItems(stores.snapshotter, key, parentChain, idmap);
  if (items.length === 0) return undefined;
  // A remapped container's writable layer holds host ids: the image layer gets the container's.
  const tar = layerTar(upper, items, xattrs, idmap);
  let info;
  let blob;
  const releases: Array<() => void> = [];
  try {
    if (move && !idmap) {
      blob = await stores.content.ingest(tar.stream);
      releases.push(stores.leases.hold([blob.digest]));
      const { size } = await tar.done;
      info = await stores.snapshotter.commitActive(key, blob.digest, size);
    } else {
      // One pass: every byte goes to the blob and to the unpacker.
      const toBlob = new PassThrough();
      const toLayer = new PassThrough();
      // A failed archive (a file the container changed under us) errors both copies, maybe before their
      // readers listen; the readers still see the stored error, and berthd must not die of it meanwhile.
      toBlob.on('error', () => {});
      toLayer.on('error', () => {});
      tar.stream.on('data', (c: Buffer) => {
        const a = toBlob.write(c);
        const b = toLayer.write(c);
        if (!a || !b) {
          tar.stream.pause();
          let waiting = (a ? 0 : 1) + (b ? 0 : 1);
          const go = () => {
            if (--waiting === 0) tar.stream.resume();
          };
          if (!a) toBlob.once('drain', go);
          if (!b) toLayer.once('drain', go);
        }
      });
      tar.stream.on('end', () => {
        toBlob.end();
        toLayer.end();
      });
      tar.stream.on('error', (e) => {
        toBlob.destroy(e);
        toLayer.destroy(e);
      });
      const blobP = stores.content.ingest(toBlob);
      const diffId = blobP.then((b) => b.digest);
      diffId.catch(() => {});
      info = await stores.snapshotter.applyLayer({ parent: parentChain, tar: toLayer, diffId });
      blob = await blobP;
      releases.push(stores.leases.hold([blob.digest]));
    }
    releases.push(stores.leases.hold([info.chainId]));
  } catch (err) {
    for (const r of releases) r();
    throw err;
  }
  return {
    ref: { digest: blob.digest, mediaType: MediaType.ociLayer, size: blob.size, diffId: blob.digest },
    chainId: info.chainId,
    release: () => {
      for (const r of releases) r();
    },
  };
}
