/**
 * The distribution API (OCI distribution spec v1.1, Docker registry API v2):
 * one function per endpoint, each given a request context that has already
 * passed authentication, name validation and the read-only check.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RegistryError, errors } from './errors.js';
import { checkDigest, isSupportedAlgorithm, isTag, algorithmOf, digestOf, isName } from './names.js';
import { parseManifest, referrerDescriptor, isForeign } from './manifest.js';
import { MediaType } from '../core/wire/media-types.js';
import type { Descriptor } from '../core/wire/descriptor.js';
import { send, sendJson, readBody, hasBody, parseRange, parseContentRange, uploadRange } from './http.js';
import type { Storage, UploadInfo } from './storage.js';
import type { Principal, Need } from './auth/auth.js';
import type { ProxyCache } from './proxy/cache.js';
import type { Quotas } from './quota.js';
import type { EventTarget, RegistryEvents } from './events.js';

export const MAX_MANIFEST_SIZE = 4 << 20;

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  storage: Storage;
  /** Absolute base URL of this server as the client reached it (for Location headers). */
  base: string;
  deleteEnabled: boolean;
  principal: Principal;
  /** May the caller also do `need` (e.g. pull from the source of a mount)? */
  can(need: Need): boolean;
  /** May the caller pull this repository (catalog filtering)? */
  mayList(repo: string): boolean;
  /** Optional features: the pull-through cache, quotas, events (webhooks, replication). */
  ext?: { proxy?: ProxyCache; quotas?: Quotas; events?: RegistryEvents };
}

/** Tell subscribers (webhooks, replication) about a stored write; never fails the request. */
function notify(ctx: Ctx, action: 'push' | 'delete', kind: 'manifests' | 'blobs', target: EventTarget): void {
  ctx.ext?.events?.emit(action, target, { kind, req: ctx.req, user: ctx.principal.user, base: ctx.base });
}

/** Link a finished upload into the repository, within its quota (a refused upload is dropped whole). */
async function complete(ctx: Ctx, u: UploadInfo, digest: string): Promise<void> {
  const q = ctx.ext?.quotas;
  if (!q) await ctx.storage.completeUpload(u, digest);
  else
    await q.admit(
      u.name,
      digest,
      u.size,
      () => ctx.storage.completeUpload(u, digest),
      () => ctx.storage.cancelUpload(u.id),
    );
  notify(ctx, 'push', 'blobs', { repository: u.name, digest, size: u.size, mediaType: 'application/octet-stream' });
}

// ---- pagination -------------------------------------------------------------

/** `n` and `last` of tags/list and _catalog; with a Link to the next page when more remain. */
function paginate(ctx: Ctx, all: string[], path: string): { items: string[]; link?: string } {
  const nRaw = ctx.url.searchParams.get('n');
  const last = ctx.url.searchParams.get('last');
  let items = last !== null ? all.filter((t) => t > last) : all;
  if (nRaw === null || nRaw === '') return { items };
  if (!/^\d+$/.test(nRaw)) throw new RegistryError('UNSUPPORTED', 'the n parameter must be a non-negative integer', { n: nRaw }, 400);
  const n = Number(nRaw);
  if (n === 0) return { items: [] };
  if (items.length <= n) return { items };
  items = items.slice(0, n);
  const next = new URLSearchParams({ last: items[items.length - 1]!, n: String(n) });
  return { items, link: `<${path}?${next}>; rel="next"` };
}

export async function catalog(ctx: Ctx): Promise<void> {
  const repos = (await ctx.storage.repositories()).filter((r) => ctx.mayList(r));
  const { items, link } = paginate(ctx, repos, '/v2/_catalog');
  sendJson(ctx.res, 200, { repositories: items }, link ? { Link: link } : {});
}

export async function tagsList(ctx: Ctx, name: string): Promise<void> {
  const proxied = ctx.ext?.proxy ? await ctx.ext.proxy.tags(name) : undefined;
  if (!proxied && !(await ctx.storage.repoExists(name))) throw errors.nameUnknown(name);
  const tags = proxied ?? (await ctx.storage.tags(name)).map((t) => t.tag);
  const { items, link } = paginate(ctx, tags, `/v2/${name}/tags/list`);
  sendJson(ctx.res, 200, { name, tags: items }, link ? { Link: link } : {});
}

// ---- manifests --------------------------------------------------------------

function manifestRef(ref: string, forWrite: boolean): { isDigest: boolean; ref: string } {
  if (ref.includes(':')) return { isDigest: true, ref: checkDigest(ref) };
  if (!isTag(ref)) {
    if (forWrite) throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: ref });
    throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', { Tag: ref });
  }
  return { isDigest: false, ref };
}

export async function getManifest(ctx: Ctx, name: string, rawRef: string): Promise<void> {
  const { isDigest, ref } = manifestRef(rawRef, false);
  const m = ctx.ext?.proxy ? await ctx.ext.proxy.manifest(name, ref, isDigest) : await ctx.storage.getManifest(name, ref, isDigest);
  if (!m) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', isDigest ? { Digest: ref } : { Tag: ref });
  send(
    ctx.res,
    200,
    {
      'Content-Type': m.mediaType,
      'Content-Length': m.size,
      'Docker-Content-Digest': m.digest,
      ETag: `"${m.digest}"`,
    },
    m.body,
  );
}

export async function putManifest(ctx: Ctx, name: string, rawRef: string): Promise<void> {
  const { isDigest, ref } = manifestRef(rawRef, true);
  const body = await readBody(ctx.req, MAX_MANIFEST_SIZE);
  const parsed = parseManifest(body, ctx.req.headers['content-type']);
  const digest = digestOf(isDigest ? algorithmOf(ref) : 'sha256', body);
  if (isDigest && digest !== ref) throw errors.digestInvalid('provided digest did not match uploaded content', { digest: ref, actual: digest });

  const tags = isDigest ? ctx.url.searchParams.getAll('tag') : [ref];
  for (const t of tags) if (!isTag(t)) throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: t });

  // Everything the manifest names must be in this repository; the subject need not be (spec 1.1).
  const missing: Descriptor[] = [];
  for (const d of parsed.blobs) {
    if (isForeign(d)) continue;
    if ((await ctx.storage.repoBlobSize(name, d.digest)) === undefined) missing.push(d);
  }
  for (const d of parsed.manifests) if (!(await ctx.storage.hasManifest(name, d.digest))) missing.push(d);
  if (missing.length) {
    const e = new RegistryError('MANIFEST_BLOB_UNKNOWN', 'blob unknown to registry', missing[0]!.digest);
    for (const d of missing.slice(1)) e.more.push({ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: d.digest });
    throw e;
  }
  const referrer = parsed.subject ? referrerDescriptor(parsed, digest, body.length) : undefined;
  await ctx.storage.putManifest(name, body, digest, parsed, tags, referrer);
  const headers: Record<string, string | string[]> = {
    Location: `${ctx.base}/v2/${name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
  if (isDigest && tags.length) headers['OCI-Tag'] = tags;
  send(ctx.res, 201, headers);
  const target = { repository: name, digest, size: body.length, mediaType: parsed.mediaType };
  if (!tags.length) notify(ctx, 'push', 'manifests', target);
  for (const tag of tags) notify(ctx, 'push', 'manifests', { ...target, tag });
}

export async function deleteManifest(ctx: Ctx, name: string, rawRef: string): Promise<void> {
  if (!ctx.deleteEnabled) throw errors.unsupported();
  const { isDigest, ref } = manifestRef(rawRef, false);
  if (!isDigest) {
    if (!(await ctx.storage.deleteTag(name, ref))) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', { Tag: ref });
    send(ctx.res, 202);
    notify(ctx, 'delete', 'manifests', { repository: name, tag: ref });
    return;
  }
  const m = await ctx.storage.getManifest(name, ref, true);
  if (!m) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown', { Digest: ref });
  let subject: string | undefined;
  try {
    subject = parseManifest(m.body, m.mediaType).subject?.digest;
  } catch {
    /* stored before validation existed: no subject */
  }
  await ctx.storage.deleteManifest(name, ref, subject);
  send(ctx.res, 202);
  notify(ctx, 'delete', 'manifests', { repository: name, digest: ref, mediaType: m.mediaType, size: m.size });
}

// ---- blobs ------------------------------------------------------------------

export async function getBlob(ctx: Ctx, name: string, rawDigest: string): Promise<void> {
  const digest = checkDigest(rawDigest);
  let size = await ctx.storage.repoBlobSize(name, digest);
  if (size === undefined && ctx.ext?.proxy) size = await ctx.ext.proxy.blob(name, digest);
  if (size === undefined) throw errors.blobUnknown(digest);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  // With a redirecting driver a GET goes to a short-lived URL of the storage itself (HEAD is answered here).
  const redirect = ctx.req.method === 'GET' ? await ctx.storage.blobRedirectUrl?.(digest) : undefined;
  if (redirect) {
    send(ctx.res, 307, { Location: redirect, 'Docker-Content-Digest': digest });
    return;
  }
  const range = parseRange(ctx.req.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', { digest, size }, 416).withHeaders({ 'Content-Range': `bytes */${size}` });
  }
  const { res } = ctx;
  if (ctx.req.method === 'HEAD') {
    send(res, 200, { ...headers, 'Content-Length': size });
    return;
  }
  if (range) {
    res.writeHead(206, {
      'Docker-Distribution-API-Version': 'registry/2.0',
      ...headers,
      'Content-Length': range.end - range.start + 1,
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
    });
    await pipeline(ctx.storage.openBlob(digest, range.start, range.end), res);
    return;
  }
  res.writeHead(200, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers, 'Content-Length': size });
  if (size === 0) {
    res.end();
    return;
  }
  await pipeline(ctx.storage.openBlob(digest), res);
}

export async function deleteBlob(ctx: Ctx, name: string, rawDigest: string): Promise<void> {
  if (!ctx.deleteEnabled) throw errors.unsupported();
  const digest = checkDigest(rawDigest);
  if (!(await ctx.storage.unlinkLayer(name, digest))) throw errors.blobUnknown(digest);
  send(ctx.res, 202, { 'Docker-Content-Digest': digest });
  notify(ctx, 'delete', 'blobs', { repository: name, digest });
}

// ---- uploads ----------------------------------------------------------------

function uploadHeaders(ctx: Ctx, u: UploadInfo): Record<string, string> {
  return {
    Location: `${ctx.base}/v2/${u.name}/blobs/uploads/${u.id}`,
    Range: uploadRange(u.size),
    'Docker-Upload-UUID': u.id,
  };
}

function blobCreated(ctx: Ctx, name: string, digest: string): void {
  send(ctx.res, 201, { Location: `${ctx.base}/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

/** Append the body to an upload, honouring a Content-Range (416 when it does not continue the upload). */
async function appendChunk(ctx: Ctx, u: UploadInfo): Promise<void> {
  const cr = parseContentRange(ctx.req.headers['content-range'] as string | undefined);
  if (cr === 'invalid') throw new RegistryError('BLOB_UPLOAD_INVALID', 'invalid Content-Range', null, 416).withHeaders(uploadHeaders(ctx, u));
  if (cr) {
    const len = ctx.req.headers['content-length'];
    if (cr.start !== u.size || (len !== undefined && Number(len) !== cr.end - cr.start + 1)) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `chunk out of order: the upload holds ${u.size} bytes`, { offset: u.size }, 416).withHeaders(
        uploadHeaders(ctx, u),
      );
    }
  }
  const before = u.size;
  await ctx.storage.appendUpload(u, ctx.req);
  if (cr && u.size - before !== cr.end - cr.start + 1) {
    throw new RegistryError('SIZE_INVALID', 'chunk length does not match Content-Range', null).withHeaders(uploadHeaders(ctx, u));
  }
  const over = await ctx.ext?.quotas?.checkGrowth(u.name, u.size);
  if (over) {
    await ctx.storage.cancelUpload(u.id);
    throw over;
  }
}

export async function startUpload(ctx: Ctx, name: string): Promise<void> {
  const q = ctx.url.searchParams;
  const mount = q.get('mount');
  const from = q.get('from');
  if (mount && from) {
    const digest = checkDigest(mount);
    // Mount only what the caller may read in the source repository; otherwise fall back to an upload.
    const size = isName(from) && ctx.can({ type: 'repository', name: from, actions: ['pull'] }) ? await ctx.storage.repoBlobSize(from, digest) : undefined;
    if (size !== undefined) {
      const link = () => ctx.storage.linkLayer(name, digest);
      if (ctx.ext?.quotas) await ctx.ext.quotas.admit(name, digest, size, link, async () => {});
      else await link();
      blobCreated(ctx, name, digest);
      notify(ctx, 'push', 'blobs', { repository: name, digest, size, mediaType: 'application/octet-stream' });
      return;
    }
  }
  const digestParam = q.get('digest');
  const algParam = q.get('digest-algorithm');
  if (algParam && !isSupportedAlgorithm(algParam)) throw errors.digestInvalid(`unsupported digest algorithm ${algParam}`, { algorithm: algParam });
  const digest = digestParam ? checkDigest(digestParam) : undefined;
  const u = await ctx.storage.startUpload(name, digest ? algorithmOf(digest) : (algParam ?? 'sha256'));
  if (!digest) {
    send(ctx.res, 202, uploadHeaders(ctx, u));
    return;
  }
  // A single POST carrying the whole blob (refused before reading when its length alone passes a quota).
  const over = await ctx.ext?.quotas?.checkGrowth(name, Number(ctx.req.headers['content-length'] ?? 0), digest);
  if (over) {
    await ctx.storage.cancelUpload(u.id);
    throw over;
  }
  await ctx.storage.lockUpload(u.id, async () => {
    try {
      await ctx.storage.appendUpload(u, ctx.req);
      await complete(ctx, u, digest);
    } catch (err) {
      await ctx.storage.cancelUpload(u.id);
      throw err;
    }
  });
  blobCreated(ctx, name, digest);
}

export async function uploadStatus(ctx: Ctx, name: string, id: string): Promise<void> {
  const u = await ctx.storage.upload(name, id);
  send(ctx.res, 204, uploadHeaders(ctx, u));
}

export async function patchUpload(ctx: Ctx, name: string, id: string): Promise<void> {
  await ctx.storage.lockUpload(id, async () => {
    const u = await ctx.storage.upload(name, id);
    await ctx.storage.touchUpload(id);
    await appendChunk(ctx, u);
    send(ctx.res, 202, uploadHeaders(ctx, u));
  });
}

export async function putUpload(ctx: Ctx, name: string, id: string): Promise<void> {
  const raw = ctx.url.searchParams.get('digest');
  await ctx.storage.lockUpload(id, async () => {
    const u = await ctx.storage.upload(name, id);
    const digest = checkDigest(raw);
    if (hasBody(ctx.req) || ctx.req.headers['content-range']) await appendChunk(ctx, u);
    await complete(ctx, u, digest);
    blobCreated(ctx, name, digest);
  });
}

export async function cancelUpload(ctx: Ctx, name: string, id: string): Promise<void> {
  await ctx.storage.lockUpload(id, async () => {
    await ctx.storage.upload(name, id);
    await ctx.storage.cancelUpload(id);
  });
  send(ctx.res, 204);
}

// ---- referrers --------------------------------------------------------------

export async function referrers(ctx: Ctx, name: string, rawDigest: string): Promise<void> {
  const digest = checkDigest(rawDigest);
  let list = await ctx.storage.referrers(name, digest);
  const headers: Record<string, string> = { 'Content-Type': MediaType.ociIndex };
  const artifactType = ctx.url.searchParams.get('artifactType');
  if (artifactType) {
    list = list.filter((d) => d.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: list });
  send(ctx.res, 200, headers, body);
}
