/**
 * `berth registry serve`: the HTTP(S) server. It routes each request, checks
 * the repository name, authenticates and authorizes it for the actions the
 * endpoint needs (Distribution's mapping: GET/HEAD pull, POST/PUT/PATCH
 * pull+push, DELETE delete), refuses writes in read-only mode, and hands it to
 * its handler. It needs no berthd: storage is the registry's own root or bucket.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { log } from '../core/log.js';
import { RegistryError, errors, type ErrorCode } from './errors.js';
import { messageOf } from '../core/errors.js';
import { decodeSegment, parseTarget } from '../core/target.js';
import { checkName } from './names.js';
import { openStorage, type Storage } from './storage.js';
import { Authenticator, type Need, type Principal } from './auth/auth.js';
import { parseAddr, type RegistryConfig } from './config.js';
import { send, sendJson, sendError, readBody } from './http.js';
import { RateLimiter } from './ratelimit.js';
import { searchRepositories } from './search.js';
import * as h from './handlers.js';
import { Features } from './features.js';

type Handler = (ctx: h.Ctx, name: string, arg: string) => Promise<void>;
interface Route {
  re: RegExp;
  methods: Record<string, { handler: Handler; actions: string[]; write?: boolean }>;
}

const PULL = ['pull'];
const PUSH = ['pull', 'push'];
const DELETE = ['delete'];

/** Repository routes; the name is everything before the endpoint's fixed suffix. */
const ROUTES: Route[] = [
  { re: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: { handler: (c, n) => h.tagsList(c, n), actions: PULL } } },
  {
    re: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: {
      GET: { handler: h.getManifest, actions: PULL },
      HEAD: { handler: h.getManifest, actions: PULL },
      PUT: { handler: h.putManifest, actions: PUSH, write: true },
      DELETE: { handler: h.deleteManifest, actions: DELETE, write: true },
    },
  },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: { POST: { handler: (c, n) => h.startUpload(c, n), actions: PUSH, write: true } } },
  {
    re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: {
      GET: { handler: h.uploadStatus, actions: PUSH },
      PATCH: { handler: h.patchUpload, actions: PUSH, write: true },
      PUT: { handler: h.putUpload, actions: PUSH, write: true },
      DELETE: { handler: h.cancelUpload, actions: PUSH, write: true },
    },
  },
  {
    re: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    methods: {
      GET: { handler: h.getBlob, actions: PULL },
      HEAD: { handler: h.getBlob, actions: PULL },
      DELETE: { handler: h.deleteBlob, actions: DELETE, write: true },
    },
  },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: { handler: h.referrers, actions: PULL } } },
];

/**
 * The request target as a URL, its path kept as sent: a target starting with
 * `//` is a path, not a host, and a malformed escape is the client's error (400).
 */
function requestUrl(target: string): URL {
  try {
    const { path, query } = parseTarget(target);
    const url = new URL('http://registry/');
    url.pathname = path.replace(/^\/+/, '/');
    url.search = query.toString();
    return url;
  } catch (e) {
    throw new RegistryError('UNSUPPORTED', messageOf(e), { target }, 400);
  }
}

function unescape(s: string, code: ErrorCode): string {
  try {
    return decodeSegment(s);
  } catch (e) {
    throw new RegistryError(code, messageOf(e), { value: s }, 400);
  }
}

export class RegistryServer {
  readonly storage: Storage;
  readonly auth: Authenticator;
  private server?: Server;
  private readonly limiter?: RateLimiter;
  private purgeTimer?: NodeJS.Timeout;
  readonly features: Features;

  constructor(readonly cfg: RegistryConfig) {
    this.storage = openStorage(cfg.root, cfg.storage);
    this.auth = new Authenticator(cfg);
    this.features = new Features(cfg, this.storage);
    if (cfg.rateLimit) this.limiter = new RateLimiter(cfg.rateLimit.requestsPerSecond, cfg.rateLimit.burst);
  }

  /** Prepare storage (dropping stale uploads) and listen; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await this.storage.init();
    const maxAge = this.cfg.uploadPurgeAgeSeconds * 1000;
    await this.storage.purgeUploads(maxAge).catch((err) => log.warn(`registry: purging stale uploads failed: ${(err as Error).message}`));
    this.purgeTimer = setInterval(() => {
      this.storage.purgeUploads(maxAge).catch(() => {});
    }, 3600_000);
    this.purgeTimer.unref();
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    };
    const opts = { requestTimeout: 0, keepAliveTimeout: 30_000 };
    this.server = this.cfg.tls
      ? createHttpsServer({ ...opts, cert: readFileSync(this.cfg.tls.cert), key: readFileSync(this.cfg.tls.key) }, handler)
      : createHttpServer(opts, handler);
    const { host, port } = parseAddr(this.cfg.addr);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const bound = this.server.address() as AddressInfo;
    this.features.start(`${bound.address}:${bound.port}`);
    return bound;
  }

  async close(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.features.stop();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private baseUrl(req: IncomingMessage): string {
    const host = req.headers.host;
    if (!host) return '';
    const proto = (req.headers['x-forwarded-proto'] as string | undefined)?.split(',')[0]?.trim() || (this.cfg.tls ? 'https' : 'http');
    return `${proto}://${host}`;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    res.on('finish', () => log.debug('request', { method: req.method, path: req.url, status: res.statusCode, ms: Date.now() - started }));
    try {
      if (this.limiter) {
        const wait = this.limiter.take(req.socket.remoteAddress ?? '');
        if (wait) throw new RegistryError('TOOMANYREQUESTS', 'too many requests', null).withHeaders({ 'Retry-After': String(wait) });
      }
      await this.route(req, res);
    } catch (err) {
      if (err instanceof RegistryError) {
        await sendError(res, err);
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || req.destroyed) {
        // The client went away mid-body: nothing to answer.
        if (!res.headersSent) res.destroy();
        return;
      }
      log.error('request failed', { method: req.method, path: req.url, error: (err as Error).stack ?? String(err) });
      await sendError(res, new RegistryError('UNKNOWN', (err as Error).message, null, 500));
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req.url ?? '/');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/v2/' || path === '/v2') {
      if (method !== 'GET' && method !== 'HEAD') throw errors.unsupported();
      await this.auth.authorize(req, []);
      sendJson(res, 200, {});
      return;
    }
    if (path === '/token' && this.auth.mode === 'token') return this.token(req, res, url);
    if (path === '/v1/_ping') {
      sendJson(res, 200, {}, { 'X-Docker-Registry-Standalone': 'true' });
      return;
    }
    if (path === '/v1/search') return this.search(req, res, url);

    const ctxFor = (principal: Principal): h.Ctx => ({
      req,
      res,
      url,
      storage: this.storage,
      base: this.baseUrl(req),
      deleteEnabled: this.cfg.deleteEnabled,
      principal,
      can: (need: Need) => this.auth.can(principal, need),
      mayList: (repo: string) => this.auth.mayPull(principal.user, repo),
      ext: this.features.ext,
    });

    if (path === '/v2/_catalog') {
      if (method !== 'GET') throw errors.unsupported();
      const principal = await this.auth.authorize(req, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
      await h.catalog(ctxFor(principal));
      return;
    }

    for (const r of ROUTES) {
      const m = r.re.exec(path);
      if (!m) continue;
      const name = checkName(unescape(m[1]!, 'NAME_INVALID'));
      const arg = m[2] !== undefined ? unescape(m[2], path.includes('/manifests/') ? 'TAG_INVALID' : 'DIGEST_INVALID') : '';
      const spec = r.methods[method];
      if (!spec) throw new RegistryError('UNSUPPORTED', `method ${method} not allowed`, null, 405).withHeaders({ Allow: Object.keys(r.methods).join(', ') });
      const principal = await this.auth.authorize(req, [{ type: 'repository', name, actions: spec.actions }]);
      if (spec.write && this.features.readOnly) {
        throw errors.unsupported(this.features.proxy ? 'a pull-through cache takes no pushes or deletes' : 'the registry is in read-only mode');
      }
      if (spec.write) await this.features.gate.write(() => spec.handler(ctxFor(principal), name, arg));
      else await spec.handler(ctxFor(principal), name, arg);
      return;
    }
    if (path.startsWith('/v2/')) throw new RegistryError('NAME_UNKNOWN', 'no such endpoint', { path }, 404);
    send(res, 404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
  }

  /** The built-in token issuer (GET with Basic credentials, or the OAuth2 password grant by POST). */
  private async token(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const noStore = { 'Cache-Control': 'no-store' };
    if (req.method === 'GET') {
      const t = await this.auth.issueToken(req, url.searchParams.get('service'), url.searchParams.getAll('scope'));
      sendJson(res, 200, t, noStore);
      return;
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req, 64 << 10)).toString('utf8'));
      const grant = form.get('grant_type');
      if (grant !== 'password') {
        sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'only the password grant is supported' });
        return;
      }
      const t = await this.auth.issueToken(req, form.get('service'), (form.get('scope') ?? '').split(' '), {
        user: form.get('username') ?? '',
        password: form.get('password') ?? '',
      });
      sendJson(
        res,
        200,
        { access_token: t.access_token, token_type: 'Bearer', expires_in: t.expires_in, issued_at: t.issued_at, scope: form.get('scope') ?? '' },
        noStore,
      );
      return;
    }
    throw errors.unsupported();
  }

  private async search(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const principal = await this.auth.identify(req);
    const repos = (await this.storage.repositories()).filter((r) => this.auth.mayPull(principal.user, r));
    const q = url.searchParams;
    sendJson(res, 200, searchRepositories(repos, q.get('q') ?? '', Number(q.get('n') ?? 25), Number(q.get('page') ?? 1)));
  }
}
