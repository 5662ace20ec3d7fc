/**
 * `docker load`: a docker-archive (manifest.json, as `docker save` writes,
 * legacy or OCI-style paths) or an OCI image layout (index.json).
 *
 * Every file of the archive is first streamed into the content store's ingest
 * area and hashed; nothing is published until the whole archive has been read
 * and its manifests check out. Then blobs are published, layers unpacked
 * (diffIDs verified), and only at the end is the image recorded and tagged.
 * A crash at any point leaves no half-loaded image.
 */
import { createReadStream } from 'node:fs';
import { readFile, open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { type Digest, isDigest, chainIds } from '../../core/digest.js';
import { InvalidArgumentError, messageOf } from '../../core/errors.js';
import { type Reference, parseReference, withDefaultTag, familiarString } from '../../core/reference.js';
import { decompressStream, detectCompression } from '../../archive/compression.js';
import type { ContentWriter } from '../../content/store.js';
import { hostPlatform } from '../platform.js';
import { unpackLayer } from './layers.js';
import type { ImageService } from './service.js';
import type { ImageStorage } from './storage.js';
import { MediaType } from '../../core/wire/media-types.js';
import type { Descriptor } from '../../core/wire/descriptor.js';
import type { ImageConfig, ImageRecord, LayerRef } from './types.js';

interface ArchiveFile {
  writer: ContentWriter;
  size: number;
}

/** The archive's files by normalised path, with symlinks and hard links resolved. */
class ArchiveFiles {
  files = new Map<string, ArchiveFile>();
  links = new Map<string, string>();
  /** Every writer ever opened, so discard() reaches those a repeated name replaced too. */
  private writers: ContentWriter[] = [];

  /**
   * A regular file at `name`. A name met again replaces the earlier file, as
   * unpacking the archive would; the earlier write is thrown away now, not at restart.
   */
  async add(name: string, f: ArchiveFile): Promise<void> {
    this.writers.push(f.writer);
    const earlier = this.files.get(name);
    this.files.set(name, f);
    this.links.delete(name);
    await earlier?.writer.abort();
  }

  get(path: string): ArchiveFile | undefined {
    let p = clean(path);
    for (let hops = 0; hops < 16; hops++) {
      const f = this.files.get(p);
      if (f) return f;
      const to = this.links.get(p);
      if (to === undefined) return undefined;
      p = to;
    }
    return undefined;
  }

  async json<T>(path: string, what: string): Promise<T> {
    const f = this.get(path);
    if (!f) throw new InvalidArgumentError(`invalid archive: ${what} "${path}" not found in archive`);
    verifyName(f, path);
    const t = await readFile(f.writer.ingestPath, 'utf8');
    try {
      return JSON.parse(t) as T;
    } catch {
      throw new InvalidArgumentError(`invalid archive: ${what} "${path}" is not valid JSON`);
    }
  }

  async discard(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.abort()));
  }
}

function clean(p: string): string {
  const n = posix.normalize('/' + p).slice(1);
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Read the outer tar: each regular file to an ingest writer. */
async function readArchive(stores: ImageStorage, body: Readable): Promise<ArchiveFiles> {
  const files = new ArchiveFiles();
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const name = clean(header.name);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      const writer = stores.content.writer();
      files
        .add(name, { writer, size: header.size ?? 0 })
        .then(() => pipeline(stream, writer))
        .then(
          () => next(),
          (e) => next(e),
        );
      return;
    }
    if ((header.type === 'symlink' || header.type === 'link') && header.linkname) {
      // A link replaces a file of the same name, as unpacking would: links are looked up after files.
      const earlier = files.files.get(name);
      files.files.delete(name);
      if (earlier) void earlier.writer.abort();
      files.links.set(name, header.type === 'symlink' ? clean(posix.join(posix.dirname(name), header.linkname)) : clean(header.linkname));
    }
    stream.resume();
    stream.on('end', () => next());
  });
  try {
    const { stream } = await decompressStream(body);
    await pipeline(stream, ex);
  } catch (err) {
    await files.discard();
    // What docker users see for a damaged archive (dockerd unpacks it in a child process, hence the exit status).
    const msg = messageOf(err);
    if (/invalid tar header/i.test(msg)) throw new InvalidArgumentError('Error processing tar file(exit status 1): archive/tar: invalid tar header');
    if (/unexpected end of data/i.test(msg)) throw new InvalidArgumentError('Error processing tar file(exit status 1): unexpected EOF');
    throw new InvalidArgumentError(`invalid archive: ${msg}`);
  }
  if (files.files.size === 0) {
    throw new InvalidArgumentError('invalid archive: the archive is empty');
  }
  return files;
}

/** One image to load, described by paths inside the archive. */
interface Candidate {
  configPath: string;
  layers: { path: string; mediaType?: string; digest?: Digest }[];
  tags: Reference[];
  /** Whether paths are digest-named (blobs/sha256/…) and must hash to their names. */
  manifestDigest?: Digest;
}

async function fromManifestJson(files: ArchiveFiles): Promise<Candidate[]> {
  type Entry = { Config: string; RepoTags?: string[] | null; Layers: string[] };
  const entries = await files.json<Entry[]>('manifest.json', 'manifest');
  if (!Array.isArray(entries)) throw new InvalidArgumentError('invalid archive: manifest.json is not a list');
  return entries.map((e) => {
    if (!e || typeof e !== 'object' || typeof e.Config !== 'string' || !Array.isArray(e.Layers))
      throw new InvalidArgumentError('invalid archive: manifest.json entry lacks Config or Layers');
    // Wrong types are refused as dockerd's decoder of manifest.json refuses them, before any is used as a name or path.
    for (const [field, list] of [
      ['Layers', e.Layers],
      ['RepoTags', e.RepoTags ?? []],
    ] as const) {
      const bad = Array.isArray(list) ? list.find((x) => typeof x !== 'string') : list;
      if (bad !== undefined)
        throw new InvalidArgumentError(
          `invalid archive: json: cannot unmarshal ${Array.isArray(bad) ? 'array' : bad === null ? 'null' : typeof bad} into Go struct field manifestItem.${field} of type ${Array.isArray(list) ? 'string' : '[]string'}`,
        );
    }
    return {
      configPath: e.Config,
      layers: e.Layers.map((path) => ({ path })),
      tags: (e.RepoTags ?? []).map((t) => withDefaultTag(parseReference(t))),
    };
  });
}

function blobPath(d: Digest): string {
  if (!isDigest(d)) throw new InvalidArgumentError(`invalid archive: unsupported digest ${JSON.stringify(d)}`);
  return `blobs/sha256/${d.slice(7)}`;
}

function platformMatches(p: Descriptor['platform']): boolean {
  const host = hostPlatform();
  return !p || (p.os === host.os && p.architecture === host.architecture && (!host.variant || !p.variant || p.variant === host.variant));
}

async function fromOciLayout(files: ArchiveFiles): Promise<Candidate[]> {
  type Index = { manifests?: Descriptor[] };
  type Manifest = { mediaType?: string; config: Descriptor; layers: Descriptor[]; manifests?: Descriptor[] };
  const index = await files.json<Index>('index.json', 'index');
  const out: Candidate[] = [];
  for (const desc of index.manifests ?? []) {
    let d = desc;
    let m = await files.json<Manifest>(blobPath(d.digest), 'manifest');
    // A nested index: take the manifest for this host's platform.
    for (let depth = 0; (d.mediaType === MediaType.ociIndex || d.mediaType === MediaType.dockerManifestList || m.manifests) && depth < 4; depth++) {
      const pick = (m.manifests ?? []).find((x) => platformMatches(x.platform) && x.mediaType !== 'application/vnd.in-toto+json');
      if (!pick)
        throw new InvalidArgumentError(`invalid archive: no manifest in ${d.digest} matches platform ${hostPlatform().os}/${hostPlatform().architecture}`);
      d = pick;
      m = await files.json<Manifest>(blobPath(d.digest), 'manifest');
    }
    if (!m.config || !Array.isArray(m.layers)) throw new InvalidArgumentError(`invalid archive: manifest ${d.digest} lacks config or layers`);
    const name = desc.annotations?.['io.containerd.image.name'] ?? desc.annotations?.['org.opencontainers.image.ref.name'];
    const tags: Reference[] = [];
    if (name && (name.includes('/') || name.includes(':'))) {
      try {
        tags.push(withDefaultTag(parseReference(name)));
      } catch {
        /* a bare ref.name like "latest" names no repository */
      }
    }
    out.push({
      configPath: blobPath(m.config.digest),
      layers: m.layers.map((l) => ({ path: blobPath(l.digest), mediaType: l.mediaType, digest: l.digest })),
      tags,
      manifestDigest: d.digest,
    });
  }
  return out;
}

/** A file in the archive, checked: present, and hashing to its name where the name is a digest. */
function checked(files: ArchiveFiles, path: string, what: string): ArchiveFile {
  const f = files.get(path);
  if (!f) throw new InvalidArgumentError(`invalid archive: ${what} "${path}" referenced by the manifest is missing`);
  verifyName(f, path);
  return f;
}

/** A digest-named blob (blobs/sha256/<hex>) must hash to its name. */
function verifyName(f: ArchiveFile, path: string): void {
  const m = /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(clean(path));
  if (m && f.writer.digest !== 'sha256:' + m[1]) {
    throw new InvalidArgumentError(`invalid archive: digest mismatch for ${path}: content hashes to ${f.writer.digest}`);
  }
}

async function layerMediaType(f: ArchiveFile, declared: string | undefined): Promise<string> {
  if (declared) return declared;
  const fh = await open(f.writer.ingestPath, 'r');
  try {
    const head = Buffer.alloc(8);
    await fh.read(head, 0, 8, 0);
    switch (detectCompression(head)) {
      case 'gzip':
        return MediaType.ociLayerGzip;
      case 'zstd':
        return MediaType.ociLayerZstd;
      case 'none':
        return MediaType.ociLayer;
      default:
        throw new InvalidArgumentError('invalid archive: layers compressed with bzip2 or xz are not supported; use gzip, zstd or none');
    }
  } finally {
    await fh.close();
  }
}

/** Load an archive; returns the lines Docker prints ("Loaded image: …"). */
export async function loadImages(svc: ImageService, stores: ImageStorage, body: Readable): Promise<string[]> {
  const files = await readArchive(stores, body);
  const releases: (() => void)[] = [];
  try {
    const candidates = files.get('manifest.json') ? await fromManifestJson(files) : files.get('index.json') ? await fromOciLayout(files) : undefined;
    if (!candidates)
      throw new InvalidArgumentError('invalid archive: neither manifest.json nor index.json found; this is not a docker save or OCI layout archive');

    // Check everything before storing anything.
    const plans: {
      config: ImageConfig;
      configFile: ArchiveFile;
      layers: { file: ArchiveFile; mediaType: string }[];
      tags: Reference[];
      manifestDigest?: Digest;
    }[] = [];
    for (const c of candidates) {
      const configFile = checked(files, c.configPath, 'config');
      const config = await files.json<ImageConfig>(c.configPath, 'config');
      const diffIds = config?.rootfs?.diff_ids;
      if (!Array.isArray(diffIds)) throw new InvalidArgumentError(`invalid archive: config ${c.configPath} has no rootfs.diff_ids`);
      if (diffIds.length !== c.layers.length) {
        throw new InvalidArgumentError(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${c.layers.length}`);
      }
      const layers = [];
      for (const l of c.layers) {
        const file = checked(files, l.path, 'layer');
        layers.push({ file, mediaType: await layerMediaType(file, l.mediaType) });
      }
      plans.push({ config, configFile, layers, tags: c.tags, manifestDigest: c.manifestDigest });
    }

    const lines: string[] = [];
    for (const p of plans) {
      const diffIds = p.config.rootfs.diff_ids;
      const chains = chainIds(diffIds);
      releases.push(stores.leases.hold([p.configFile.writer.digest, ...p.layers.map((l) => l.file.writer.digest), ...chains]));
      const layerRefs: LayerRef[] = [];
      for (let i = 0; i < p.layers.length; i++) {
        const { file, mediaType } = p.layers[i];
        const digest = file.writer.digest;
        if (!(await stores.snapshotter.hasLayer(chains[i]))) {
          const parent = i === 0 ? undefined : chains[i - 1];
          await unpackLayer(stores.snapshotter, await source(stores, file), parent, diffIds[i], `layer ${i} (${digest})`);
        } else if (mediaType === MediaType.ociLayer && digest !== diffIds[i]) {
          throw new InvalidArgumentError(`invalid diffID for layer ${i}: expected ${diffIds[i]}, got ${digest}`);
        }
        layerRefs.push({ digest, mediaType, size: file.writer.size, diffId: diffIds[i] });
      }
      // Publish blobs only after their layers unpacked and verified.
      await publish(stores, p.configFile);
      for (const l of p.layers) await publish(stores, l.file);
      const id = p.configFile.writer.digest;
      const rec: ImageRecord = { id, layers: layerRefs, repoDigests: [], addedAt: new Date().toISOString() };
      const notes = await svc.register(rec, p.tags);
      lines.push(...notes);
      if (p.tags.length === 0) lines.push(`Loaded image ID: ${id}`);
      for (const t of p.tags) lines.push(`Loaded image: ${familiarString(t)}`);
      stores.events.publish('image', 'load', id, {});
    }
    return lines;
  } finally {
    await files.discard();
    for (const r of releases) r();
  }
}

/** Publish an archive file as a blob (once, even when several images share it). */
async function publish(stores: ImageStorage, f: ArchiveFile): Promise<void> {
  if (await stores.content.has(f.writer.digest)) return;
  await f.writer.commit();
}

/** An archive file's bytes: from ingest, or from the blob store once published. */
async function source(stores: ImageStorage, f: ArchiveFile): Promise<Readable> {
  return (await stores.content.has(f.writer.digest)) ? stores.content.createReadStream(f.writer.digest) : createReadStream(f.writer.ingestPath);
}
