import type { Digest } from '../../core/digest.js';
import type { ContainerConfig } from '../../core/wire/container-config.js';

/** A layer of an image: the blob as stored, and what it unpacks to. */
export interface LayerRef {
  /** Digest of the stored blob (compressed or not, as received). */
  digest: Digest;
  mediaType: string;
  size: number;
  diffId: Digest;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config blob (OCI image config / Docker image JSON). */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  config?: ContainerConfig;
  container_config?: ContainerConfig;
  container?: string;
  parent?: string;
  rootfs: { type: string; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

/** What the daemon keeps about an image beside its config blob. */
export interface ImageRecord {
  /** Image ID: the digest of its config blob. */
  id: Digest;
  layers: LayerRef[];
  /** Manifests this image was pulled or pushed as: "repo@sha256:…" (full names). */
  repoDigests: string[];
  /** Image manifests (not indexes) stored for this image as pulled or pushed, so a push can reuse them byte for byte. */
  manifests?: Digest[];
  /** Parent image ID (images built locally). */
  parent?: string;
  /** When this record was created on this daemon (ISO time). */
  addedAt: string;
  lastTagTime?: string;
}
