/**
 * `docker push`: every layer the registry lacks goes up (skipped when a HEAD
 * finds it, mounted when another repository of the same registry has it),
 * then the config, then the manifest — the one the image was pulled or
 * pushed as when there is one (so digests stay identical), else a new
 * Docker schema 2 manifest with uncompressed layers gzipped, as Docker
 * pushes them (OCI when a layer is zstd).
 */
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { type Reference, parseReference, fullName, familiarName, familiarString, formatReference } from '../../core/reference.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RepositoryClient } from '../../distribution/client.js';
import { NoCredentialsError, RegistryError } from '../../distribution/errors.js';
import type { ImageRecord, LayerRef } from '../images/types.js';
import { MediaType } from '../../core/wire/media-types.js';
import type { DistributionService } from './service.js';
import { type Emit, progressMessage, shortDigest, Throttle } from './progress.js';

export interface PushRequest {
  name: string;
  tag?: string;
  all?: boolean;
  auth?: AuthConfig;
  emit: Emit;
}

const MAX_CONCURRENT_UPLOADS = 5;

export async function push(svc: DistributionService, req: PushRequest): Promise<void> {
  const base = parseReference(req.name);
  if (base.digest) throw new InvalidArgumentError('cannot push a digest reference');
  const name = fullName(base);
  // As dockerd: the stream starts first, and an image that is not here is an error in it.
  req.emit({ status: `The push refers to repository [${name}]` });
  const tagged = [...svc.store.allRefs().keys()]
    .map((k) => parseReference(k))
    .filter((r) => r.tag !== undefined && r.digest === undefined && fullName(r) === name);
  if (tagged.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(base)}`);
  let refs: Reference[];
  if (req.all) refs = tagged;
  else {
    const r: Reference = { ...base, tag: req.tag || base.tag || 'latest' };
    if (!svc.store.resolveRef(formatReference(r))) throw new NotFoundError(`tag does not exist: ${familiarString(r)}`);
    refs = [r];
  }
  const client = await svc.withEndpoint(
    base.domain,
    async (ep) => {
      const c = new RepositoryClient(ep, base.path, req.auth, true);
      const res = await c.ping();
      res.resume();
      return c;
    },
    false,
  );
  for (const r of refs) {
    const id = svc.store.resolveRef(formatReference(r))!;
    const rec = svc.store.get(id)!;
    try {
      await pushOne(svc, client, r, rec, req.emit);
    } catch (err) {
      // dockerd names no request for missing credentials in a push, only the fault.
      if (err instanceof NoCredentialsError) throw new RegistryError('no basic auth credentials', err.httpStatus, err.codes, 500);
      throw err;
    }
  }
}

/** A repository of the same registry that already has this image's blobs (from RepoDigests). */
function mountSource(rec: ImageRecord, ref: Reference): string | undefined {
  for (const rd of rec.repoDigests) {
    const r = parseReference(rd);
    if (r.domain === ref.domain && r.path !== ref.path) return r.path;
  }
  return undefined;
}

async function pushOne(svc: DistributionService, client: RepositoryClient, ref: Reference, rec: ImageRecord, emit: Emit): Promise<void> {
  const images = svc.images;
  const from = mountSource(rec, ref);
  const throttle = new Throttle();
  // The manifest first: a new one compresses uncompressed layers, as Docker does on push.
  const { bytes, mediaType, layers } = await manifestFor(svc, rec);
  // Docker lists layers top first, by diffID.
  const order = [...layers].reverse();
  const ids = new Set<string>();
  for (const l of order) {
    const id = shortDigest(l.diffId);
    if (!ids.has(id)) {
      ids.add(id);
      emit({ status: 'Preparing', progressDetail: {}, id });
    }
  }
  const done = new Map<Digest, Promise<void>>();
  let active = 0;
  const queue: (() => void)[] = [];
  const take = async () => {
    if (active < MAX_CONCURRENT_UPLOADS) {
      active++;
      return;
    }
    await new Promise<void>((r) => queue.push(r));
  };
  const give = () => {
    const n = queue.shift();
    if (n) n();
    else active--;
  };

  const uploadLayer = async (l: LayerRef): Promise<void> => {
    const id = shortDigest(l.diffId);
    if (active >= MAX_CONCURRENT_UPLOADS) emit({ status: 'Waiting', progressDetail: {}, id });
    await take();
    try {
      if (await client.blobExists(l.digest)) {
        emit({ status: 'Layer already exists', progressDetail: {}, id });
        return;
      }
      let session: URL | undefined;
      if (from) {
        const m = await client.mountBlob(l.digest, from).catch(() => undefined);
        if (m === true) {
          emit({ status: `Mounted from ${from}`, progressDetail: {}, id });
          return;
        }
        session = m;
      }
      await uploadBlob(client, svc.content, l.digest, session, (n, total) => {
        if (throttle.due(id, n, total)) emit(progressMessage(id, 'Pushing', n, total));
      });
      emit({ status: 'Pushed', progressDetail: {}, id });
    } finally {
      give();
    }
  };
  const tasks = order.map((l) => {
    let p = done.get(l.digest);
    if (!p) {
      p = uploadLayer(l);
      done.set(l.digest, p);
    }
    return p;
  });
  const settled = await Promise.allSettled(tasks);
  const bad = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (bad) throw bad.reason;

  if (!(await client.blobExists(rec.id))) await uploadBlob(client, svc.content, rec.id, undefined, () => {});

  const digest = await client.putManifest(ref.tag!, bytes, mediaType);
  await svc.content.put(bytes, { digest });
  await images.register({ ...rec, repoDigests: [`${fullName(ref)}@${digest}`], manifests: [digest] }, []);
  emit({ status: `${ref.tag}: digest: ${digest} size: ${bytes.length}` });
  emit({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: bytes.length } });
  svc.events.publish('image', 'push', `${fullName(ref)}:${ref.tag}`, { name: `${fullName(ref)}:${ref.tag}` });
}

async function uploadBlob(
  client: RepositoryClient,
  content: import('../../content/store.js').ContentStore,
  digest: Digest,
  session: URL | undefined,
  progress: (n: number, total: number) => void,
): Promise<void> {
  const info = await content.info(digest);
  if (!info) throw new NotFoundError(`blob ${digest} is missing from the content store; pull or load the image again`);
  const url = session ?? (await client.startUpload());
  let n = 0;
  const counter = new Transform({
    transform(c: Buffer, _e, cb) {
      n += c.length;
      progress(n, info.size);
      cb(null, c);
    },
  });
  const src = content.createReadStream(digest);
  src.on('error', (e) => counter.destroy(e));
  try {
    await client.putBlob(url, digest, info.size, src.pipe(counter));
  } catch (err) {
    throw new RegistryError(
      `uploading blob ${digest}: ${messageOf(err)}`,
      err instanceof RegistryError ? err.httpStatus : 500,
      err instanceof RegistryError ? err.codes : [],
    );
  }
}

/**
 * The stored manifest for this image (byte for byte) when one's blobs are all
 * here, else a new Docker schema 2 manifest whose uncompressed layers are
 * gzipped into the content store first (deterministically: the same layer
 * always compresses to the same digest). Its layers come back with their
 * diffIDs, for the progress lines.
 */
async function manifestFor(svc: DistributionService, rec: ImageRecord): Promise<{ bytes: Buffer; mediaType: string; layers: LayerRef[] }> {
  const content = svc.content;
  for (const d of [...(rec.manifests ?? [])].reverse()) {
    if (!(await content.has(d))) continue;
    const bytes = await content.read(d);
    try {
      const j = JSON.parse(bytes.toString('utf8')) as {
        mediaType?: string;
        config?: { digest?: string };
        layers?: { digest: Digest; size: number; mediaType: string }[];
      };
      if (j.config?.digest !== rec.id || j.layers?.length !== rec.layers.length) continue;
      if (!(await Promise.all(j.layers.map((l) => content.has(l.digest)))).every(Boolean)) continue;
      const layers = j.layers.map((l, i) => ({ ...rec.layers[i]!, digest: l.digest, size: l.size, mediaType: l.mediaType }));
      return { bytes, mediaType: j.mediaType ?? MediaType.ociManifest, layers };
    } catch {
      /* not a manifest we can reuse */
    }
  }
  const cfg = await content.info(rec.id);
  const layers: LayerRef[] = [];
  for (const l of rec.layers) layers.push(await compressedForPush(content, l));
  const dockerTypes: Record<string, string> = {
    [MediaType.dockerLayer]: MediaType.dockerLayer,
    [MediaType.ociLayerGzip]: MediaType.dockerLayer,
    [MediaType.dockerForeignLayer]: MediaType.dockerForeignLayer,
  };
  const allDocker = layers.every((l) => dockerTypes[l.mediaType]);
  const m = allDocker
    ? {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, size: cfg!.size, digest: rec.id },
        layers: layers.map((l) => ({ mediaType: dockerTypes[l.mediaType]!, size: l.size, digest: l.digest })),
      }
    : {
        // zstd layers have no Docker media type: OCI then.
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: rec.id, size: cfg!.size },
        layers: layers.map((l) => ({
          mediaType: l.mediaType === MediaType.dockerLayer ? MediaType.ociLayerGzip : l.mediaType,
          digest: l.digest,
          size: l.size,
        })),
      };
  return { bytes: Buffer.from(JSON.stringify(m, null, 3)), mediaType: m.mediaType, layers };
}

/** A layer as it goes up: gzip-compressed into the content store when it is stored uncompressed. */
async function compressedForPush(content: import('../../content/store.js').ContentStore, l: LayerRef): Promise<LayerRef> {
  if (l.mediaType !== MediaType.dockerLayerTar && l.mediaType !== MediaType.ociLayer) return l;
  const src = content.createReadStream(l.digest);
  const gz = createGzip();
  src.on('error', (e) => gz.destroy(e));
  const info = await content.ingest(src.pipe(gz));
  return { ...l, digest: info.digest, size: info.size, mediaType: MediaType.dockerLayer };
}
