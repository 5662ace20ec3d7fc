/**
 * The OCI content descriptor (media type, digest, size) that manifests,
 * indexes and image layouts use to point at blobs, and the platform an index
 * entry names: one shape for the registry client, the registry server and
 * image save/load.
 */
import type { Digest } from '../digest.js';

/** An OCI platform as an index entry or an image config names it. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
}
