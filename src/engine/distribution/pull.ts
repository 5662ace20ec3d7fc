/**
 * `docker pull`: resolve the name to a manifest (choosing a platform from an
 * index), fetch the config, then download layers a few at a time while each
 * unpacks, in order, as its bytes arrive. Every blob is checked against its
 * digest and size, every layer against its diffID; the image is recorded
 * (config, manifests byte for byte, RepoDigests) only when all of it is.
 */
import { type Digest, chainIds, sha256Digest } from '../../core/digest.js';
import { InvalidArgumentError, NotFoundError, messageOf } from '../../core/errors.js';
import { type Reference, parseReference, fullName, familiarName, familiarString, formatReference } from '../../core/reference.js';
import type { BlobFile } from '../../archive/blob-apply.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RepositoryClient, type FetchedManifest } from '../../distribution/client.js';
import { readBody } from '../../distribution/http.js';
import { type ImageManifest, parseManifest, selectPlatform, platformMatches, formatPlatform } from '../../distribution/manifest.js';
import type { Descriptor, Platform } from '../../core/wire/descriptor.js';
import type { LayerInfo } from '../../snapshots/snapshotter.js';
import { hostPlatform, parsePlatform } from '../platform.js';
import type { ImageConfig, ImageRecord, LayerRef } from '../images/types.js';
import type { DistributionService } from './service.js';
import { type Emit, progressMessage, shortDigest, Throttle } from './progress.js';
import type { Download } from './download.js';
import { abortable, CancelledError, isCancelled } from './cancel.js';
import { accessError, unreachable, verificationWords } from './pull-errors.js';

export interface PullRequest {
  /** fromImage: a name, possibly with a tag or digest. */
  image: string;
  /** tag: a tag or a digest; absent (with no tag in `image`) pulls every tag. */
  tag?: string;
  platform?: string;
  auth?: AuthConfig;
  emit: Emit;
  /** Aborts when the client has gone: the pull stops, stores nothing more, and undoes what only it made. */
  signal?: AbortSignal;
}

const MAX_CONCURRENT_DOWNLOADS = 3;

/** A counting semaphore for download slots. */
class Slots {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  get available(): boolean {
    return this.free > 0;
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  give(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

export function pullTarget(image: string, tag: string | undefined): { ref: Reference; all: boolean } {
  const ref = parseReference(image);
  if (tag) {
    if (/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(tag)) ref.digest = tag;
    else if (/^[\w][\w.-]{0,127}$/.test(tag)) ref.tag = tag;
    else throw new InvalidArgumentError('invalid tag format');
  }
  return { ref, all: ref.tag === undefined && ref.digest === undefined };
}

export async function pull(svc: DistributionService, req: PullRequest): Promise<void> {
  const { ref, all } = pullTarget(req.image, req.tag);
  let platform: Platform;
  try {
    platform = req.platform ? parsePlatform(req.platform) : hostPlatform();
  } catch (e) {
    throw new InvalidArgumentError(messageOf(e));
  }
  const explicit = !!req.platform;
  const repo = ref.path;
  // Resolve the first manifest on whichever endpoint answers (mirrors first); the rest of the pull stays there.
  const first = all ? undefined : (ref.digest ?? ref.tag)!;
  const { client, tags, manifest } = await svc.withEndpoint(ref.domain, async (ep) => {
    const client = new RepositoryClient(ep, repo, req.auth);
    try {
      if (all) return { client, tags: await client.tags(), manifest: undefined };
      return { client, tags: [first!], manifest: await client.getManifest(first!) };
    } catch (err) {
      throw unreachable(ep, accessError(ref, err));
    }
  });
  if (all && tags.length === 0) throw new NotFoundError(`no tags found for ${familiarName(ref)}`);
  let changed = false;
  for (const t of tags) {
    if (req.signal?.aborted) throw new CancelledError();
    const one: Reference = t.startsWith('sha256:') ? { ...ref, tag: undefined, digest: t } : { ...ref, tag: t, digest: undefined };
    const top =
      manifest && t === first
        ? manifest
        : await client.getManifest(t).catch((e) => {
            throw accessError(one, e);
          });
    if (await pullOne({ svc, client, ref: one, top, platform, explicit, emit: req.emit }, req.signal)) changed = true;
  }
  const shown = all ? familiarName(ref) : familiarString(ref);
  req.emit({ status: changed ? `Status: Downloaded newer image for ${shown}` : `Status: Image is up to date for ${shown}` });
}

/** One tag or digest of a pull: where it comes from, what its name resolved to, and where its progress goes. */
interface PullJob {
  svc: DistributionService;
  client: RepositoryClient;
  ref: Reference;
  /** The manifest (or index) the tag or digest names, as fetched. */
  top: FetchedManifest;
  platform: Platform;
  /** The platform was asked for (--platform): an image for another one is an error. */
  explicit: boolean;
  emit: Emit;
}

/** Fetch a small blob (a config) whole, verified. */
async function fetchVerified(client: RepositoryClient, d: Descriptor, what: string): Promise<Buffer> {
  const { body } = await client.fetchBlob(d.digest);
  const bytes = await readBody(body, 64 << 20);
  if (sha256Digest(bytes) !== d.digest || (d.size !== undefined && bytes.length !== d.size)) {
    throw new InvalidArgumentError(`${what} verification failed for digest ${d.digest}`);
  }
  return bytes;
}

/**
 * Pull one tag or digest; true when the image is new or the tag moved.
 *
 * `cancel` aborting (the client went away) stops this pull: it leaves the
 * downloads and unpacks it shared with other pulls to them, stops those only
 * it waited for, records nothing, and removes the layers and blobs it stored
 * that nothing else uses or holds. Partial downloads stay in their resumable
 * ingest files, for the next pull of the same blobs to continue.
 */
async function pullOne(job: PullJob, cancel?: AbortSignal): Promise<boolean> {
  // This pull's own signal: aborts on cancel, and when the pull ends (leaving the shared work it joined).
  const own = new AbortController();
  const signal = own.signal;
  const onCancel = () => own.abort();
  if (cancel?.aborted) own.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    return await pullOneSignalled(job, signal);
  } catch (err) {
    if (!cancel?.aborted) throw err;
    own.abort();
    throw new CancelledError();
  } finally {
    cancel?.removeEventListener('abort', onCancel);
    own.abort();
  }
}

async function pullOneSignalled(job: PullJob, signal: AbortSignal): Promise<boolean> {
  const { svc, client, ref, top, platform, explicit, emit } = job;
  const images = svc.images;
  const name = fullName(ref);
  let parsed = parseManifest(top.bytes, top.mediaType, name);
  // Output starts once the first manifest is here (a bad name or tag is an HTTP error with Docker's
  // status); what goes wrong after it — no image for the platform — is an error in the stream, as in dockerd.
  emit({ status: `Pulling from ${ref.path}`, id: ref.digest ? formatReference(ref) : ref.tag });
  let child: FetchedManifest | undefined;
  if (parsed.kind === 'index') {
    const desc = selectPlatform(parsed.index, platform);
    child = await client.getManifest(desc.digest);
    parsed = parseManifest(child.bytes, child.mediaType, name);
    if (parsed.kind === 'index') throw new InvalidArgumentError(`invalid manifest list for ${name}: nested index ${desc.digest}`);
  }
  const m: ImageManifest = parsed.manifest;
  // An image whose config is here already is not pulled again (nor checked against the platform), as dockerd does.
  if (svc.store.has(m.config.digest)) {
    return record(job, child, m.config.digest, undefined, false);
  }
  const release: (() => void)[] = [];
  // What this pull may have stored, to take back if it is cancelled.
  const touched = { blobs: m.layers.map((l) => l.digest), chains: [] as Digest[] };
  try {
    release.push(svc.leases.hold([top.digest, ...(child ? [child.digest] : []), m.config.digest, ...m.layers.map((l) => l.digest)]));
    let cfgBytes: Buffer;
    if (await svc.content.has(m.config.digest)) cfgBytes = await svc.content.read(m.config.digest);
    else cfgBytes = await fetchVerified(client, m.config, 'image config');
    const config = JSON.parse(cfgBytes.toString('utf8')) as ImageConfig;
    if (explicit && !platformMatches(platform, { os: config.os, architecture: config.architecture, variant: config.variant })) {
      throw new NotFoundError(
        `image with reference ${familiarString(ref)} was found but does not match the specified platform: wanted ${formatPlatform(platform)}, actual: ${formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant })}`,
      );
    }
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== m.layers.length)
      throw new InvalidArgumentError(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${m.layers.length}`);
    const chains = chainIds(diffIds);
    touched.chains = chains;
    release.push(svc.leases.hold(chains));

    // What is here already: a layer counts only with both its snapshot and its blob.
    const haveLayer: boolean[] = [];
    const haveBlob: boolean[] = [];
    for (let i = 0; i < m.layers.length; i++) {
      haveLayer.push(await svc.snapshotter.hasLayer(chains[i]!));
      haveBlob.push(await svc.content.has(m.layers[i]!.digest));
    }
    const seen = new Set<string>();
    for (let i = 0; i < m.layers.length; i++) {
      const id = shortDigest(m.layers[i]!.digest);
      if (seen.has(id)) continue;
      seen.add(id);
      emit({ status: haveLayer[i] && haveBlob[i] ? 'Already exists' : 'Pulling fs layer', progressDetail: {}, id });
    }

    const slots = new Slots(MAX_CONCURRENT_DOWNLOADS);
    // Each download's "Download complete" message, which comes before its layer's last Extracting and Pull complete.
    const announced = new Map<number, Promise<void>>();
    const throttle = new Throttle();
    const downloads: Promise<Download | undefined>[] = m.layers.map((l, i) => {
      if (haveBlob[i]) return Promise.resolve(undefined);
      const id = shortDigest(l.digest);
      return (async () => {
        if (!slots.available) emit({ status: 'Waiting', progressDetail: {}, id });
        await abortable(slots.take(), signal);
        const dl = svc.download(client, l.digest, l.size, signal);
        const onProgress = () => {
          if (dl.written > 0 && throttle.due(id, dl.written, l.size)) emit(progressMessage(id, 'Downloading', dl.written, l.size));
        };
        const onRetry = (_attempt: number, ms: number) =>
          emit({ status: `Retrying in ${Math.ceil(ms / 1000)} second${ms > 1000 ? 's' : ''}`, progressDetail: {}, id });
        dl.on('progress', onProgress);
        dl.on('retry', onRetry);
        announced.set(
          i,
          dl.done
            .finally(() => {
              dl.off('progress', onProgress);
              dl.off('retry', onRetry);
              slots.give();
            })
            .then(
              () => {
                emit({ status: 'Verifying Checksum', progressDetail: {}, id });
                emit({ status: 'Download complete', progressDetail: {}, id });
              },
              () => {},
            ),
        );
        return dl;
      })();
    });
    for (const p of downloads) p.catch(() => {});

    // Unpack every layer as its bytes arrive, each on a worker thread; a layer commits once its parent has.
    const unpacked: Promise<LayerInfo | undefined>[] = [];
    for (let i = 0; i < m.layers.length; i++) {
      const l = m.layers[i]!;
      const id = shortDigest(l.digest);
      const parentReady = i === 0 ? Promise.resolve(undefined) : unpacked[i - 1]!;
      unpacked.push(
        (async () => {
          const dlp = downloads[i]!;
          if (haveLayer[i]) {
            const dl = await dlp;
            if (dl) {
              await dl.done;
              await announced.get(i);
              emit({ status: 'Pull complete', progressDetail: {}, id });
            }
            return svc.snapshotter.layerInfo(chains[i]!) as Promise<LayerInfo>;
          }
          // Shared with other pulls of this layer; `stop` aborts once none of them waits for it.
          const info = await unpackShared(svc, chains[i]!, signal, async (stop) => {
            const dl = await abortable(dlp, stop);
            if (await svc.snapshotter.hasLayer(chains[i]!)) {
              await abortable<unknown>(dl?.done ?? Promise.resolve(), stop);
              return (await svc.snapshotter.layerInfo(chains[i]!))!;
            }
            const blob: BlobFile = dl ? await abortable(dl.file(), stop) : storedBlob(l.digest, svc.content.path(l.digest), l.size);
            const parent = i === 0 ? undefined : chains[i - 1];
            return svc.snapshotter.applyLayer({
              parent,
              parentReady,
              diffId: diffIds[i],
              blob: cancellableBlob(blob, stop),
              onRead: (read) => {
                if ((!dl || dl.finished) && read < l.size && throttle.due(id + 'x', read, l.size)) emit(progressMessage(id, 'Extracting', read, l.size));
              },
            });
          });
          // The layer unpacked while it downloaded: its messages still read as dockerd's, download first, then extraction.
          await downloads[i]!.catch(() => undefined);
          await announced.get(i);
          emit(progressMessage(id, 'Extracting', l.size, l.size));
          emit({ status: 'Pull complete', progressDetail: {}, id });
          return info;
        })(),
      );
    }
    const results = await Promise.allSettled([...downloads.map((p) => p.then((d) => d && abortable(d.done, signal))), ...unpacked]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (signal.aborted) throw new CancelledError();
    if (failed) throw verificationWords(failed.reason);

    // Everything verified: store config and manifests byte for byte, then record the image.
    await svc.content.put(cfgBytes, { digest: m.config.digest, size: cfgBytes.length });
    const layers: LayerRef[] = m.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i]! }));
    return await record(
      job,
      child,
      m.config.digest,
      layers,
      haveBlob.some((h) => !h),
    );
  } catch (err) {
    if (signal.aborted) {
      // Cancelled: take back what only this pull stored, once its leases no longer protect it.
      await svc.cancelledWorkDone(touched.blobs, touched.chains);
      for (const r of release.splice(0)) r();
      await images.collectUnused(touched.chains, touched.blobs).catch(() => {});
    }
    throw accessError(ref, err);
  } finally {
    for (const r of release) r();
  }
}

/**
 * Store the manifests byte for byte and record the image (new, or one here
 * already: `layers` undefined) under the tag and the digest; true when the
 * image is new, layers came, or the tag moved.
 */
async function record(job: PullJob, child: FetchedManifest | undefined, id: Digest, layers: LayerRef[] | undefined, downloaded: boolean): Promise<boolean> {
  const { svc, ref, top, emit } = job;
  const images = svc.images;
  await svc.content.put(top.bytes, { digest: top.digest });
  if (child) await svc.content.put(child.bytes, { digest: child.digest });
  const before = ref.tag !== undefined ? svc.store.resolveRef(formatReference(ref)) : undefined;
  const existing = svc.store.get(id);
  const rec: ImageRecord = {
    ...(existing ?? { id, layers: layers!, addedAt: new Date().toISOString() }),
    repoDigests: [`${fullName(ref)}@${top.digest}`],
    manifests: [child?.digest ?? top.digest],
  };
  await images.register(rec, ref.tag !== undefined ? [ref] : []);
  emit({ status: `Digest: ${top.digest}` });
  svc.events.publish('image', 'pull', familiarString(ref), { name: familiarString(ref) });
  return !existing || downloaded || (ref.tag !== undefined && before !== id);
}

/** An unpack shared with other pulls; started anew if the one joined was cancelled for another pull's sake. */
async function unpackShared(svc: DistributionService, chainId: Digest, signal: AbortSignal, fn: (stop: AbortSignal) => Promise<LayerInfo>): Promise<LayerInfo> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await svc.unpack(chainId, signal, fn);
    } catch (err) {
      if (!isCancelled(err) || signal.aborted || attempt >= 3) throw err;
    }
  }
}

/** A blob whose unpack stops (and whose verification fails) once `stop` aborts. */
function cancellableBlob(blob: BlobFile, stop: AbortSignal): BlobFile {
  // Awaited only once the unpack has a worker: until then a cancellation must not go unhandled.
  const verified = abortable(blob.verified, stop);
  verified.catch(() => {});
  return {
    ...blob,
    watch: (onChange) => {
      const unwatch = blob.watch(onChange);
      const onAbort = () => onChange(blob.available(), new CancelledError('unpack'));
      if (stop.aborted) onAbort();
      else stop.addEventListener('abort', onAbort, { once: true });
      return () => {
        unwatch();
        stop.removeEventListener('abort', onAbort);
      };
    },
    verified,
  };
}

/** A blob already in the content store, as a file to unpack. */
function storedBlob(name: string, path: string, size: number): BlobFile {
  return { name, paths: [path], size, available: () => size, watch: () => () => {}, verified: Promise.resolve() };
}

export type { Digest };
