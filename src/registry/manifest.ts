/**
 * What the registry needs to know about a pushed manifest: its media type,
 * the blobs and manifests it references (checked on push, marked by gc), its
 * subject (for the referrers API) and the descriptor that lists it as a referrer.
 */
import { RegistryError } from './errors.js';
import { isSupportedDigest } from './names.js';
import { MediaType } from '../core/wire/media-types.js';
import type { Descriptor } from '../core/wire/descriptor.js';

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const IMAGE_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);

export interface ParsedManifest {
  mediaType: string;
  isIndex: boolean;
  /** Blobs (config, layers) an image manifest needs in the repository. */
  blobs: Descriptor[];
  /** Child manifests of an index. */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  configMediaType?: string;
}

function bad(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, detail ?? null);
}

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Descriptor;
  if (!d || typeof d !== 'object') throw bad(`${where}: descriptor expected`);
  if (typeof d.digest !== 'string' || !isSupportedDigest(d.digest)) throw bad(`${where}: invalid digest`, { digest: d?.digest });
  if (typeof d.size !== 'number' || !Number.isInteger(d.size) || d.size < 0) throw bad(`${where}: invalid size`, { digest: d.digest });
  return d;
}

/** Strip parameters from a Content-Type value. */
export function bareType(ct: string | undefined): string {
  return (ct ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parse a pushed manifest. The Content-Type the client sent must agree with
 * the manifest's own mediaType when both are present; without either, the
 * shape decides (an index has `manifests`).
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('manifest is not valid JSON');
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw bad('manifest must be a JSON object');
  const ct = bareType(contentType);
  if (m.schemaVersion === 1 || ct === MediaType.dockerSchema1 || ct === MediaType.dockerSchema1Signed) {
    throw bad('schema 1 manifests are not supported; push with a client that writes schema 2 or OCI manifests');
  }
  if (m.schemaVersion !== 2) throw bad('schemaVersion must be 2');
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw bad('mediaType must be a string');
  const declared: string | undefined = m.mediaType;
  if (declared && ct && ct !== 'application/octet-stream' && ct !== 'application/json' && declared !== ct) {
    throw bad(`mediaType in manifest (${declared}) does not match Content-Type (${ct})`);
  }
  let mediaType = declared || (ct && ct !== 'application/octet-stream' && ct !== 'application/json' ? ct : '');
  if (!mediaType) mediaType = Array.isArray(m.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  const isIndex = INDEX_TYPES.has(mediaType) || (!IMAGE_TYPES.has(mediaType) && Array.isArray(m.manifests));
  const out: ParsedManifest = { mediaType, isIndex, blobs: [], manifests: [] };
  if (isIndex) {
    if (!Array.isArray(m.manifests)) throw bad('index has no manifests list');
    out.manifests = m.manifests.map((d: unknown, i: number) => descriptor(d, `manifests[${i}]`));
  } else {
    if (m.config === undefined) throw bad('image manifest has no config');
    const config = descriptor(m.config, 'config');
    out.configMediaType = config.mediaType;
    if (m.layers !== undefined && !Array.isArray(m.layers)) throw bad('layers must be a list');
    const layers = ((m.layers ?? []) as unknown[]).map((d, i) => descriptor(d, `layers[${i}]`));
    out.blobs = [config, ...layers];
  }
  if (m.subject !== undefined && m.subject !== null) out.subject = descriptor(m.subject, 'subject');
  if (typeof m.artifactType === 'string' && m.artifactType) out.artifactType = m.artifactType;
  if (m.annotations && typeof m.annotations === 'object') out.annotations = m.annotations as Record<string, string>;
  return out;
}

/** Every digest a manifest keeps alive: its blobs, child manifests and subject. */
export function referencedDigests(p: ParsedManifest): string[] {
  const out = [...p.blobs.map((d) => d.digest), ...p.manifests.map((d) => d.digest)];
  if (p.subject) out.push(p.subject.digest);
  return out;
}

/** Blobs whose bytes live elsewhere (Docker's foreign layers) need not be in the registry. */
export function isForeign(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0 && /foreign|nondistributable/.test(d.mediaType ?? '');
}

/** The descriptor under which a manifest with a subject is listed by the referrers API. */
export function referrerDescriptor(p: ParsedManifest, digest: string, size: number): Descriptor {
  const d: Descriptor = { mediaType: p.mediaType, digest, size };
  const artifactType = p.artifactType ?? (p.isIndex ? undefined : p.configMediaType);
  if (artifactType) d.artifactType = artifactType;
  if (p.annotations && Object.keys(p.annotations).length) d.annotations = p.annotations;
  return d;
}
