/**
 * A client for one repository on one registry endpoint: the OCI
 * distribution API (manifests, blobs, uploads, mounts, tags), with
 * authentication answered on demand. It never touches local storage: blobs
 * come back as streams and go up from streams.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { sha256Digest, type Digest } from '../core/digest.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { SearchResult } from '../core/wire/search-result.js';
import { Authorizer, type AuthConfig, pullScope, pushScope } from './auth.js';
import { NoCredentialsError, RegistryError, TransportError, parseErrorBody } from './errors.js';
import { send, readBody } from './http.js';
import type { Endpoint } from './endpoints.js';
import { MANIFEST_ACCEPT } from './manifest.js';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** Per-endpoint authorizers, so challenges and refresh tokens are learned once per host and credentials. */
const authorizers = new Map<string, Authorizer>();
function authorizerFor(ep: Endpoint, creds: AuthConfig | undefined): Authorizer {
  const key = JSON.stringify([ep.url.origin, creds?.username ?? '', creds?.password ?? '', creds?.identitytoken ?? '', creds?.registrytoken ?? '']);
  let a = authorizers.get(key);
  if (!a) {
    a = new Authorizer(ep.url.host, creds, ep.tls);
    authorizers.set(key, a);
  }
  return a;
}

async function fail(res: IncomingMessage, what: string): Promise<never> {
  const body = (await readBody(res).catch(() => Buffer.alloc(0))).toString('utf8');
  const { items, text } = parseErrorBody(res.statusCode ?? 0, res.statusMessage ?? '', body);
  throw new RegistryError(
    what ? `${what}: ${text}` : text,
    res.statusCode ?? 500,
    items.map((i) => i.code ?? ''),
  );
}

export class RepositoryClient {
  readonly auth: Authorizer;
  private scopes: string[];

  constructor(
    readonly endpoint: Endpoint,
    readonly repo: string,
    creds: AuthConfig | undefined,
    readonly push = false,
  ) {
    this.auth = authorizerFor(endpoint, creds);
    this.scopes = [push ? pushScope(repo) : pullScope(repo)];
  }

  url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.endpoint.url);
  }

  /** Send with credentials; on a 401 learn the challenge and try once more (bodies that are streams are not retried). */
  async request(
    method: string,
    target: string | URL,
    opts: {
      headers?: OutgoingHttpHeaders;
      body?: Buffer | Readable;
      scopes?: string[];
      idleTimeoutMs?: number;
      signal?: AbortSignal;
      shownMethod?: string;
    } = {},
  ): Promise<IncomingMessage> {
    const url = typeof target === 'string' ? this.url(target) : target;
    const scopes = opts.scopes ?? this.scopes;
    for (let attempt = 0; ; attempt++) {
      const headers: OutgoingHttpHeaders = { ...(opts.headers ?? {}) };
      const a = await this.auth.header(scopes);
      if (a) headers.Authorization = a;
      const res = await send(url, this.endpoint.tls, { method, headers, body: opts.body, idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, signal: opts.signal });
      const replayable = opts.body === undefined || Buffer.isBuffer(opts.body);
      if (res.statusCode === 401 && attempt === 0 && replayable) {
        const knew = this.auth.known;
        const learned = this.auth.learn(res);
        if (learned && (!knew || !a)) {
          res.resume();
          // Basic auth and nothing to answer it with: Docker's words, naming the request.
          if (this.auth.wantsBasic && !this.auth.canBasic && scopes.length > 0) {
            throw new NoCredentialsError(
              `${opts.shownMethod ?? method[0] + method.slice(1).toLowerCase()} "${url.href}": no basic auth credentials`,
              401,
              [],
              500,
            );
          }
          continue;
        }
      }
      return res;
    }
  }

  /** GET /v2/: reachability and the auth scheme, without any scope. */
  async ping(): Promise<IncomingMessage> {
    return this.request('GET', 'v2/', { scopes: [] });
  }

  async getManifest(ref: string): Promise<FetchedManifest> {
    // dockerd resolves a tag with a HEAD first, so its errors name a HEAD.
    const res = await this.request('GET', `v2/${this.repo}/manifests/${ref}`, {
      headers: { Accept: MANIFEST_ACCEPT },
      shownMethod: ref.startsWith('sha256:') ? 'Get' : 'Head',
    });
    if (res.statusCode !== 200) await fail(res, '');
    const bytes = await readBody(res, 4 << 20);
    const digest = sha256Digest(bytes);
    if (ref.startsWith('sha256:') && ref !== digest) {
      throw new InvalidArgumentError(`manifest verification failed for digest ${ref}`);
    }
    const mediaType = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    return { bytes, mediaType, digest };
  }

  /** HEAD a manifest: its digest, or undefined when the registry does not have it. */
  async headManifest(ref: string): Promise<Digest | undefined> {
    const res = await this.request('HEAD', `v2/${this.repo}/manifests/${ref}`, { headers: { Accept: MANIFEST_ACCEPT } });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if ((res.statusCode ?? 0) >= 400) await fail(res, '');
    return String(res.headers['docker-content-digest'] ?? '') || undefined;
  }

  async putManifest(ref: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const res = await this.request('PUT', `v2/${this.repo}/manifests/${ref}`, { headers: { 'Content-Type': mediaType }, body: bytes });
    if (res.statusCode !== 201 && res.statusCode !== 200) await fail(res, '');
    res.resume();
    const d = String(res.headers['docker-content-digest'] ?? '');
    return d || sha256Digest(bytes);
  }

  /**
   * GET a blob from `offset` on. Resolves with the response body and the
   * offset it actually starts at (0 if the server ignored the Range).
   * `signal` aborts the request and the body's transfer.
   */
  async fetchBlob(digest: Digest, offset = 0, signal?: AbortSignal): Promise<{ body: IncomingMessage; start: number }> {
    const headers: OutgoingHttpHeaders = offset > 0 ? { Range: `bytes=${offset}-` } : {};
    const res = await this.request('GET', `v2/${this.repo}/blobs/${digest}`, { headers, signal });
    if (res.statusCode === 206) {
      const m = /bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
      return { body: res, start: m ? Number(m[1]) : offset };
    }
    if (res.statusCode === 200) return { body: res, start: 0 };
    if (res.statusCode === 416 && offset > 0) {
      res.resume();
      return this.fetchBlob(digest, 0, signal);
    }
    return fail(res, '');
  }

  async blobExists(digest: Digest): Promise<boolean> {
    const res = await this.request('HEAD', `v2/${this.repo}/blobs/${digest}`);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    return fail(res, '');
  }

  /**
   * Ask the registry to mount `digest` from another repository of the same
   * registry. True when mounted; otherwise the upload session it opened.
   */
  async mountBlob(digest: Digest, from: string): Promise<true | URL> {
    const u = this.url(`v2/${this.repo}/blobs/uploads/`);
    u.searchParams.set('mount', digest);
    u.searchParams.set('from', from);
    const res = await this.request('POST', u, { body: Buffer.alloc(0), scopes: [...this.scopes, pullScope(from)] });
    res.resume();
    if (res.statusCode === 201) return true;
    if (res.statusCode === 202) return this.location(res);
    return fail(res, '');
  }

  async startUpload(): Promise<URL> {
    const res = await this.request('POST', `v2/${this.repo}/blobs/uploads/`, { body: Buffer.alloc(0) });
    res.resume();
    if (res.statusCode !== 202) await fail(res, '');
    return this.location(res);
  }

  /** Finish an upload session in one PUT carrying the whole blob. */
  async putBlob(session: URL, digest: Digest, size: number, body: Readable | Buffer): Promise<void> {
    const u = new URL(session);
    u.searchParams.set('digest', digest);
    const res = await this.request('PUT', u, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size }, body, idleTimeoutMs: 300_000 });
    if (res.statusCode !== 201 && res.statusCode !== 204) await fail(res, '');
    res.resume();
  }

  async tags(): Promise<string[]> {
    const out: string[] = [];
    let next: URL | undefined = this.url(`v2/${this.repo}/tags/list`);
    while (next) {
      const res: IncomingMessage = await this.request('GET', next);
      if (res.statusCode !== 200) await fail(res, '');
      const j = JSON.parse((await readBody(res)).toString('utf8')) as { tags?: string[] | null };
      out.push(...(j.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      next = link ? new URL(link[1]!, this.endpoint.url) : undefined;
    }
    return out;
  }

  private location(res: IncomingMessage): URL {
    const loc = res.headers.location;
    if (!loc) throw new TransportError(`registry ${this.endpoint.url.host} started an upload without a Location`);
    return new URL(loc, this.endpoint.url);
  }
}

/** The result of GET /v2/ with credentials: Docker's login check. */
export async function checkLogin(ep: Endpoint, creds: AuthConfig): Promise<{ identityToken?: string }> {
  const client = new RepositoryClient(ep, '', creds);
  const res = await client.ping();
  res.resume();
  if (res.statusCode === 401) {
    throw new RegistryError(`login attempt to ${ep.url.href}v2/ failed with status: 401 Unauthorized`, 401, [], 500);
  }
  if ((res.statusCode ?? 0) >= 400) await fail(res, `login attempt to ${ep.url.href}v2/ failed`);
  return client.auth.refreshToken ? { identityToken: client.auth.refreshToken } : {};
}

export type { SearchResult };

/** The registry's v1 search endpoint (Docker Hub's index, or any registry that offers it). */
export async function searchRegistry(ep: Endpoint, term: string, limit: number, creds: AuthConfig | undefined): Promise<SearchResult[]> {
  const client = new RepositoryClient(ep, '', creds);
  const u = client.url('v1/search');
  u.searchParams.set('q', term);
  u.searchParams.set('n', String(limit));
  const res = await client.request('GET', u, { scopes: [] });
  if (res.statusCode !== 200) await fail(res, `Unexpected status code ${res.statusCode}`);
  const j = JSON.parse((await readBody(res)).toString('utf8')) as { results?: SearchResult[] };
  return j.results ?? [];
}
