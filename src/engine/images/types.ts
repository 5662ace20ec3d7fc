import type { Digest } from '../../core/digest.js';

export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

/** A layer of an image: the blob as stored, and what it unpacks to. */
export interface LayerRef {
  /** Digest of the stored blob (compressed or not, as received). */
  digest: Digest;
  mediaType: string;
  size: number;
  diffId: Digest;
}

/** Docker's container config inside an image config (capitalised keys). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: Record<string, unknown>;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Shell?: string[];
  [k: string]: unknown;
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
