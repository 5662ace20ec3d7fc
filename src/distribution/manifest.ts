/**
 * Manifests as registries serve them: Docker schema 2 and OCI image
 * manifests, manifest lists and OCI indexes (choose one by platform), and
 * schema 1, which is refused in Docker's words.
 */
import { InvalidArgumentError, NotFoundError } from '../core/errors.js';
import { MediaType } from '../core/wire/media-types.js';
import type { Descriptor, Platform } from '../core/wire/descriptor.js';

/** What a pull asks for, most preferred first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
].join(', ');

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ManifestIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export type Parsed = { kind: 'manifest'; mediaType: string; manifest: ImageManifest } | { kind: 'index'; mediaType: string; index: ManifestIndex };

export function isIndexType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

/** Docker's refusal of schema 1 images. */
export function schema1Error(name: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support is disabled by default and will be removed in an upcoming release. Suggest the author of ${name} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/`,
  );
}

/** Parse manifest bytes; the Content-Type header decides when the body does not say. */
export function parseManifest(bytes: Buffer, contentType: string | undefined, name: string): Parsed {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new InvalidArgumentError(`invalid manifest for ${name}: not JSON`);
  }
  const ct = (contentType ?? '').split(';')[0]!.trim();
  const mt = (typeof j.mediaType === 'string' && j.mediaType) || ct;
  if (j.schemaVersion === 1 || mt === MediaType.dockerSchema1 || mt === MediaType.dockerSchema1Signed) throw schema1Error(name);
  if (Array.isArray(j.manifests) || isIndexType(mt)) {
    if (!Array.isArray(j.manifests)) throw new InvalidArgumentError(`invalid manifest list for ${name}: no manifests`);
    return { kind: 'index', mediaType: mt || MediaType.ociIndex, index: j as unknown as ManifestIndex };
  }
  const cfg = j.config as Descriptor | undefined;
  if (!cfg || typeof cfg.digest !== 'string' || !Array.isArray(j.layers)) {
    throw new InvalidArgumentError(`invalid manifest for ${name}: unsupported manifest media type "${mt}"`);
  }
  return { kind: 'manifest', mediaType: mt || MediaType.ociManifest, manifest: j as unknown as ImageManifest };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Normalise as containerd's platforms package does (arm64's default variant is v8, arm's is v7). */
function normalize(p: Platform): Platform {
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (arch === 'x86_64' || arch === 'x86-64') arch = 'amd64';
  if (arch === 'aarch64') arch = 'arm64';
  if (arch === 'arm64' && (variant === 'v8' || !variant)) variant = undefined;
  if (arch === 'arm' && !variant) variant = 'v7';
  if (arch === 'amd64' && variant === 'v1') variant = undefined;
  return { os: p.os.toLowerCase(), architecture: arch, ...(variant ? { variant } : {}) };
}

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const w = normalize(want);
  const h = normalize(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  return !w.variant || w.variant === h.variant;
}

/** The manifest for `want` from an index, or Docker's error when none matches. */
export function selectPlatform(index: ManifestIndex, want: Platform): Descriptor {
  const candidates = index.manifests.filter((d) => !isIndexType(d.mediaType) && d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const hit = candidates.find((d) => platformMatches(want, d.platform));
  if (!hit) throw new NotFoundError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
  return hit;
}
