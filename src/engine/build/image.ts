/**
 * One new image on top of a parent: what a build step and `commit` make.
 * The ID is the digest of the config, which carries the history entry
 * (`empty_layer` when the step changed no file) and the parent's layers
 * plus the new one.
 */
import type { Digest } from '../../core/digest.js';
import { hostPlatform } from '../platform.js';
import type { ImageService } from '../images/service.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';
import type { HistoryEntry, ImageConfig, ImageRecord } from '../images/types.js';
import type { NewLayer } from './layers.js';

export interface NewImage {
  parent?: ImageRecord;
  config: ContainerConfig;
  containerConfig?: ContainerConfig;
  container?: string;
  author?: string;
  comment?: string;
  createdBy: string;
  layer?: NewLayer;
}

export async function createImage(images: ImageService, n: NewImage): Promise<ImageRecord> {
  const parentCfg = n.parent ? await images.config(n.parent.id) : undefined;
  const now = new Date().toISOString();
  const hist: HistoryEntry = { created: now, created_by: n.createdBy };
  if (n.author) hist.author = n.author;
  if (n.comment) hist.comment = n.comment;
  if (!n.layer) hist.empty_layer = true;
  const plat = parentCfg ?? { architecture: hostPlatform().architecture, os: hostPlatform().os, variant: hostPlatform().variant };
  const diffIds: Digest[] = [...(parentCfg?.rootfs.diff_ids ?? []), ...(n.layer ? [n.layer.ref.diffId] : [])];
  const cfg: ImageConfig = {
    architecture: plat.architecture,
    ...(plat.variant ? { variant: plat.variant } : {}),
    os: plat.os,
    created: now,
    ...(n.author ? { author: n.author } : {}),
    ...(n.comment ? { comment: n.comment } : {}),
    config: n.config,
    ...(n.container ? { container: n.container } : {}),
    // The classic builder's step config always carries a Labels map (empty when none).
    ...(n.containerConfig ? { container_config: { ...n.containerConfig, Labels: n.containerConfig.Labels ?? {} } } : {}),
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [...(parentCfg?.history ?? []), hist],
  };
  try {
    return await images.create(cfg, {
      layers: [...(n.parent?.layers ?? []), ...(n.layer ? [n.layer.ref] : [])],
      repoDigests: [],
      ...(n.parent ? { parent: n.parent.id } : {}),
      addedAt: now,
    });
  } finally {
    n.layer?.release();
  }
}
