/**
 * `berth system check`: re-verify the store. Every blob is re-hashed; every
 * image must have its config, its layer blobs and its layer snapshots. With
 * repair, whatever cannot be trusted is removed: corrupt blobs, and images
 * that lost a part (with their tags), and writable snapshots no container
 * or build in progress owns (unmounted first: a crash mid-build leaves one
 * mounted).
 */
import { chainIds } from '../../core/digest.js';
import type { ImageService } from './service.js';
import type { ImageStorage } from './storage.js';
import type { ImageConfig } from './types.js';

export interface Problem {
  kind: 'blob' | 'image' | 'layer' | 'reference' | 'snapshot';
  subject: string;
  detail: string;
}

export interface CheckReport {
  Blobs: number;
  Images: number;
  Layers: number;
  Problems: Problem[];
  Repaired: string[];
}

export async function checkStore(svc: ImageService, stores: ImageStorage, repair: boolean): Promise<CheckReport> {
  return stores.store.lock.run(async () => {
    const problems: Problem[] = [];
    const repaired: string[] = [];
    const badBlobs = new Set<string>();
    const blobs = await stores.content.list();
    for (const b of blobs) {
      if (!(await stores.content.verify(b.digest))) {
        badBlobs.add(b.digest);
        problems.push({ kind: 'blob', subject: b.digest, detail: 'content does not match its digest' });
      }
    }
    const layers = await stores.snapshotter.listLayers();
    const haveLayers = new Set(layers.map((l) => l.chainId));
    const badImages = new Set<string>();
    const images = stores.store.list();
    for (const rec of images) {
      const fail = (detail: string) => {
        badImages.add(rec.id);
        problems.push({ kind: 'image', subject: rec.id, detail });
      };
      if (badBlobs.has(rec.id) || !(await stores.content.has(rec.id))) {
        fail('config blob missing or corrupt');
        continue;
      }
      let cfg: ImageConfig;
      try {
        cfg = await stores.content.readJson<ImageConfig>(rec.id);
      } catch {
        fail('config blob is not valid JSON');
        continue;
      }
      const diffIds = cfg.rootfs?.diff_ids ?? [];
      if (diffIds.length !== rec.layers.length || diffIds.some((d, i) => d !== rec.layers[i].diffId)) {
        fail('layer list does not match the config');
        continue;
      }
      for (const l of rec.layers) {
        if (badBlobs.has(l.digest) || !(await stores.content.has(l.digest))) fail(`layer blob ${l.digest} missing or corrupt`);
      }
      chainIds(diffIds).forEach((c, i) => {
        if (!haveLayers.has(c)) fail(`layer ${i} snapshot ${c} is missing`);
      });
    }
    const stray = await svc.strayActive();
    for (const key of stray) problems.push({ kind: 'snapshot', subject: key, detail: 'writable snapshot owned by no container or build' });
    if (repair) {
      for (const key of await svc.collectActive()) repaired.push(`removed stray snapshot ${key}`);
      for (const id of badImages) {
        for (const r of stores.store.refsOf(id)) repaired.push(`untagged ${r}`);
        await stores.store.delete(id);
        repaired.push(`removed image ${id}`);
      }
      for (const d of badBlobs) {
        await stores.content.delete(d);
        repaired.push(`removed corrupt blob ${d}`);
      }
      for (const c of await svc.collectLayers()) repaired.push(`removed unused layer ${c}`);
      for (const d of await svc.collectBlobs()) repaired.push(`removed unused blob ${d}`);
    }
    return { Blobs: blobs.length, Images: images.length, Layers: layers.length, Problems: problems, Repaired: repaired };
  });
}
