/**
 * The registry browser's server side (`/console/registries…`, signed in,
 * actions CSRF-checked by server.ts): the user's registries (add with a
 * reachability check, remove), and, through client.ts, a registry's
 * catalog, a repository's tags, a manifest (media type, digest, layers with
 * sizes and their total; an index's platforms) and deletes, with the
 * registry's own refusal (405 UNSUPPORTED when deletes are off) passed on.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, SMALL_BODY, sendJson } from '../http.js';
import { type Answer, RegistryClient, registryError } from './client.js';
import { publicView, type Registry, RegistryStore, registryUrl } from './store.js';

const REPO = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export class RegistryRoutes {
  private readonly store: RegistryStore;
  private readonly clients = new Map<string, { r: Registry; c: RegistryClient }>();

  constructor(file: string) {
    this.store = new RegistryStore(file);
  }

  /** `path` is below /console/registries. */
  async handle(user: string, method: string, path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0) {
      if (method === 'GET') return sendJson(res, 200, (await this.store.list(user)).map(publicView));
      if (method === 'POST') return sendJson(res, 201, publicView(await this.add(user, req)));
      throw new HttpError(405, 'method not allowed');
    }
    const reg = await this.store.get(user, parts[0]!);
    if (parts.length === 1 && method === 'DELETE') {
      await this.store.remove(user, reg.id);
      this.clients.delete(reg.id);
      return sendJson(res, 200, { message: `removed ${reg.name}` });
    }
    const c = this.client(reg);
    const what = parts.slice(1).join('/');
    if (what === 'catalog' && method === 'GET') return sendJson(res, 200, await this.catalog(reg, c, query.get('last') ?? ''));
    const repo = query.get('repo') ?? '';
    if (!REPO.test(repo) || repo.length > 255) throw new HttpError(400, `invalid repository name ${JSON.stringify(repo)}`);
    if (what === 'tags' && method === 'GET') return sendJson(res, 200, await this.tags(reg, c, repo, query.get('last') ?? ''));
    const ref = query.get('ref') ?? '';
    if (!TAG.test(ref) && !DIGEST.test(ref)) throw new HttpError(400, `invalid reference ${JSON.stringify(ref)}: a tag or a digest`);
    if (what === 'manifest' && method === 'GET') return sendJson(res, 200, await this.manifest(reg, c, repo, ref));
    if (what === 'manifest' && method === 'DELETE') return sendJson(res, 200, await this.remove(reg, c, repo, ref));
    throw new HttpError(404, 'page not found');
  }

  private client(r: Registry): RegistryClient {
    const had = this.clients.get(r.id);
    if (had && had.r === r) return had.c;
    const c = new RegistryClient(r);
    this.clients.set(r.id, { r, c });
    return c;
  }

  private async add(user: string, req: IncomingMessage): Promise<Registry> {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse((await readBody(req, SMALL_BODY)).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'invalid JSON body');
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'a JSON object is expected');
    const str = (k: string, max: number): string | undefined => {
      const x = v[k];
      if (x === undefined || x === null || x === '') return undefined;
      if (typeof x !== 'string' || x.length > max) throw new HttpError(400, `${k} must be a string of at most ${max} characters`);
      return x;
    };
    const url = registryUrl(str('url', 2048) ?? '');
    const username = str('username', 256);
    const password = str('password', 4096);
    if (password !== undefined && username === undefined) throw new HttpError(400, 'a password needs a user name');
    const r: Registry = { id: 'new', name: str('name', 100)?.trim() || new URL(url).host, url, username, password, insecure: v.insecure === true };
    // Reachable, and speaks the distribution API (a 401 is an answer: credentials are checked on first use).
    const ping = await new RegistryClient(r).call('GET', '/v2/', 'registry:catalog:*');
    if (ping.status !== 200 && ping.status !== 401)
      throw new HttpError(502, `${url} does not look like a registry: GET /v2/ answered ${ping.status} (${registryError(ping).message})`);
    if (ping.status === 401) throw new HttpError(403, `the registry at ${url} refused the credentials: unauthorized: authentication required`);
    const { id: _, ...rest } = r;
    return this.store.add(user, rest);
  }

  private async catalog(reg: Registry, c: RegistryClient, last: string): Promise<{ repositories: string[]; next?: string }> {
    const q = new URLSearchParams({ n: '100', ...(last ? { last } : {}) });
    const a = await c.call('GET', `/v2/_catalog?${q}`, 'registry:catalog:*');
    this.check(reg, a, 'list the catalog');
    const v = json<{ repositories?: string[] }>(a);
    const repositories = (v.repositories ?? []).filter((x) => typeof x === 'string');
    return { repositories, ...(a.headers.link && repositories.length ? { next: repositories.at(-1) } : {}) };
  }

  private async tags(reg: Registry, c: RegistryClient, repo: string, last: string): Promise<{ name: string; tags: string[]; next?: string }> {
    const q = new URLSearchParams({ n: '100', ...(last ? { last } : {}) });
    const a = await c.call('GET', `/v2/${repo}/tags/list?${q}`, `repository:${repo}:pull`);
    this.check(reg, a, `list the tags of ${repo}`);
    const tags = (json<{ tags?: string[] | null }>(a).tags ?? []).filter((x) => typeof x === 'string');
    return { name: repo, tags, ...(a.headers.link && tags.length ? { next: tags.at(-1) } : {}) };
  }

  private async manifest(reg: Registry, c: RegistryClient, repo: string, ref: string): Promise<Record<string, unknown>> {
    const a = await c.call('GET', `/v2/${repo}/manifests/${ref}`, `repository:${repo}:pull`, MANIFEST_TYPES);
    this.check(reg, a, `get the manifest ${repo}:${ref}`);
    const m = json<{ mediaType?: string; schemaVersion?: number; config?: Descriptor; layers?: Descriptor[]; manifests?: Descriptor[]; subject?: Descriptor }>(
      a,
    );
    const mediaType = m.mediaType ?? String(a.headers['content-type'] ?? '').split(';')[0]!;
    const digest = String(a.headers['docker-content-digest'] ?? '') || `sha256:${createHash('sha256').update(a.body).digest('hex')}`;
    const base = { repo, ref, mediaType, digest, size: a.body.length, schemaVersion: m.schemaVersion };
    if (INDEX_TYPES.has(mediaType) || Array.isArray(m.manifests)) {
      // Each platform's image size (its layers and config), and the index's total: every distinct blob once.
      const blobs = new Map<string, number>();
      const manifests = await Promise.all(
        (m.manifests ?? []).slice(0, MAX_PLATFORMS).map(async (d) => {
          const out = {
            mediaType: d.mediaType,
            digest: d.digest,
            size: Number(d.size) || 0,
            platform: d.platform,
            annotations: d.annotations,
            imageSize: undefined as number | undefined,
          };
          if (!DIGEST.test(String(d.digest))) return out;
          const child = await c.call('GET', `/v2/${repo}/manifests/${d.digest}`, `repository:${repo}:pull`, MANIFEST_TYPES).catch(() => undefined);
          if (child?.status !== 200) return out;
          try {
            const cm = JSON.parse(child.body.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
            const parts = [...(cm.config ? [cm.config] : []), ...(cm.layers ?? [])];
            out.imageSize = parts.reduce((s, x) => s + (Number(x.size) || 0), 0);
            for (const x of parts) blobs.set(x.digest, Number(x.size) || 0);
          } catch {
            /* not an image manifest: no size */
          }
          return out;
        }),
      );
      const total = [...blobs.values()].reduce((s, n) => s + n, 0);
      return { ...base, kind: 'index', manifests, total };
    }
    if (!m.config || !Array.isArray(m.layers)) return { ...base, kind: 'other', raw: a.body.toString('utf8').slice(0, 65536) };
    const layers = m.layers.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: Number(d.size) || 0 }));
    const config: Record<string, unknown> = { mediaType: m.config.mediaType, digest: m.config.digest, size: Number(m.config.size) || 0 };
    // The config says what the image is (platform, when it was made); best effort: a missing blob leaves it out.
    if (DIGEST.test(m.config.digest) && config.size !== undefined && (config.size as number) < BODY_CONFIG_LIMIT) {
      try {
        const b = await c.call('GET', `/v2/${repo}/blobs/${m.config.digest}`, `repository:${repo}:pull`);
        if (b.status === 200) {
          const cfg = JSON.parse(b.body.toString('utf8')) as { created?: string; os?: string; architecture?: string; variant?: string; history?: unknown[] };
          Object.assign(config, { created: cfg.created, os: cfg.os, architecture: cfg.architecture, variant: cfg.variant, history: cfg.history?.length });
        }
      } catch {
        /* the manifest alone is still worth showing */
      }
    }
    const total = layers.reduce((s, l) => s + l.size, 0) + (config.size as number);
    return { ...base, kind: 'image', config, layers, total, subject: m.subject?.digest };
  }

  private async remove(reg: Registry, c: RegistryClient, repo: string, ref: string): Promise<{ message: string }> {
    const a = await c.call('DELETE', `/v2/${repo}/manifests/${ref}`, `repository:${repo}:pull,delete`, MANIFEST_TYPES);
    if (a.status === 202 || a.status === 200) return { message: `deleted ${repo}${ref.includes(':') ? '@' : ':'}${ref}` };
    const e = registryError(a);
    if (a.status === 405 || e.code === 'UNSUPPORTED')
      throw new HttpError(
        405,
        `${reg.name} does not allow this delete (${e.message}): ${DIGEST.test(ref) ? 'deletes are disabled on this registry' : 'this registry deletes by digest only, or has deletes disabled'}`,
      );
    // Distribution 2.8 takes a tag for a digest and refuses it: it deletes manifests by digest only.
    if (!DIGEST.test(ref) && e.code === 'DIGEST_INVALID')
      throw new HttpError(405, `${reg.name} does not allow this delete (${e.message}): this registry deletes by digest only; delete the manifest instead`);
    this.check(reg, a, `delete ${repo}:${ref}`);
    return { message: `deleted ${repo}:${ref}` };
  }

  /** A registry's refusal in its own words, with its status (401/403/404 pass; others become 502). */
  private check(reg: Registry, a: Answer, doing: string): void {
    if (a.status >= 200 && a.status < 300) return;
    const e = registryError(a);
    // A registry's 401 goes out as a 403: the console's own 401 means "your console session ended".
    const status = a.status === 401 ? 403 : [400, 403, 404, 405, 429].includes(a.status) ? a.status : 502;
    throw new HttpError(status, `${reg.name}: cannot ${doing}: ${e.message}`);
  }
}

const BODY_CONFIG_LIMIT = 4 << 20;
/** An index's platforms whose manifests are fetched for their sizes. */
const MAX_PLATFORMS = 32;

function json<T>(a: Answer): T {
  try {
    return JSON.parse(a.body.toString('utf8')) as T;
  } catch {
    throw new HttpError(502, 'the registry answered with something that is not JSON');
  }
}
