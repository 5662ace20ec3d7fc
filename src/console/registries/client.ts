/**
 * The console server's small registry client (the browser cannot call
 * another origin: no CORS, a strict CSP). It speaks the distribution API
 * over node:http/https as Docker does: an unauthenticated try first, then
 * the challenge's Basic credentials or a Bearer token fetched from the
 * challenge's realm (with the user's credentials when set), cached per
 * scope until it expires. Every call has a deadline and a size cap, so an
 * unreachable or endless registry gives a clear error, never a hang.
 * (src/distribution/ has the engine's client, but the layer table keeps
 * console/ to core/ and client/.)
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { HttpError } from '../http.js';
import type { Registry } from './store.js';

/** How long one registry call may take in all (BERTH_CONSOLE_REGISTRY_TIMEOUT_MS for tests). */
const TIMEOUT_MS = Number(process.env.BERTH_CONSOLE_REGISTRY_TIMEOUT_MS) > 0 ? Number(process.env.BERTH_CONSOLE_REGISTRY_TIMEOUT_MS) : 10_000;
/** Manifests, indexes, configs, lists: all small JSON. */
const BODY_LIMIT = 8 << 20;

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function once(url: URL, method: string, headers: Record<string, string>, insecure: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = fn(url, { method, headers: { 'User-Agent': 'berth-console', ...headers }, rejectUnauthorized: !insecure, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > BODY_LIMIT) {
          req.destroy(new Error(`the answer is larger than ${BODY_LIMIT} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    const timeout = () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    // Silent for TIMEOUT_MS, or still trickling after three times that: either way, a timeout.
    req.setTimeout(TIMEOUT_MS, timeout);
    const hard = setTimeout(timeout, TIMEOUT_MS * 3);
    req.on('close', () => clearTimeout(hard));
    req.on('error', reject);
    req.end();
  });
}

/** A transport failure in words a user can act on (504 for a timeout, 502 otherwise). */
function unreachable(base: string, err: NodeJS.ErrnoException): HttpError {
  if (err.code === 'ETIMEDOUT') return new HttpError(504, `the registry at ${base} did not answer within ${TIMEOUT_MS / 1000} s`);
  const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'no such host' : err.message;
  return new HttpError(502, `cannot reach the registry at ${base}: ${why}`);
}

/** A challenge's parameters: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(h: string | undefined): { scheme: string; params: Record<string, string> } | undefined {
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

export class RegistryClient {
  private readonly tokens = new Map<string, { token: string; until: number }>();

  constructor(private readonly r: Registry) {}

  private basic(): string | undefined {
    if (this.r.username === undefined) return undefined;
    return `Basic ${Buffer.from(`${this.r.username}:${this.r.password ?? ''}`).toString('base64')}`;
  }

  /** GET/HEAD/DELETE a path of the registry, signing in when it asks; `scope` is the token scope this call needs. */
  async call(method: string, path: string, scope: string, accept?: string): Promise<Answer> {
    const headers: Record<string, string> = accept ? { Accept: accept } : {};
    const cached = this.tokens.get(scope);
    if (cached && cached.until > Date.now()) headers.Authorization = `Bearer ${cached.token}`;
    let a = await this.send(method, path, headers);
    if (a.status !== 401) return a;
    const ch = parseChallenge(a.headers['www-authenticate'] as string | undefined);
    if (ch?.scheme === 'basic' && this.basic()) a = await this.send(method, path, { ...headers, Authorization: this.basic()! });
    else if (ch?.scheme === 'bearer' && ch.params.realm) {
      const token = await this.token(ch.params, ch.params.scope || scope);
      if (token) a = await this.send(method, path, { ...headers, Authorization: `Bearer ${token}` });
    }
    return a;
  }

  /** A Bearer token from the realm (Docker's token protocol), with the user's credentials when set. */
  private async token(p: Record<string, string>, scope: string): Promise<string | undefined> {
    let realm: URL;
    try {
      realm = new URL(p.realm!);
    } catch {
      throw new HttpError(502, `the registry at ${this.r.url} named an invalid token realm ${JSON.stringify(p.realm)}`);
    }
    if (realm.protocol !== 'http:' && realm.protocol !== 'https:')
      throw new HttpError(502, `the registry at ${this.r.url} named a token realm that is not http(s)`);
    if (p.service) realm.searchParams.set('service', p.service);
    for (const s of scope.split(' ').filter(Boolean)) realm.searchParams.append('scope', s);
    const auth = this.basic();
    let a: Answer;
    try {
      a = await once(realm, 'GET', auth ? { Authorization: auth } : {}, !!this.r.insecure);
    } catch (err) {
      throw unreachable(realm.origin, err as NodeJS.ErrnoException);
    }
    if (a.status === 401 || a.status === 403)
      throw new HttpError(403, `the registry at ${this.r.url} refused the credentials: unauthorized: incorrect username or password`);
    if (a.status !== 200) return undefined;
    try {
      const v = JSON.parse(a.body.toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
      const token = v.token ?? v.access_token;
      if (!token) return undefined;
      this.tokens.set(scope, { token, until: Date.now() + Math.max(30, Math.min(v.expires_in ?? 60, 3600) - 10) * 1000 });
      return token;
    } catch {
      return undefined;
    }
  }

  /** One request, following a GET's redirects (blobs may live elsewhere), without credentials to another host. */
  private async send(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    let url = new URL(path, this.r.url);
    for (let hop = 0; ; hop++) {
      let a: Answer;
      try {
        a = await once(url, method, headers, !!this.r.insecure);
      } catch (err) {
        throw unreachable(this.r.url, err as NodeJS.ErrnoException);
      }
      const loc = a.headers.location;
      if (method !== 'GET' || hop >= 3 || ![301, 302, 303, 307, 308].includes(a.status) || !loc) return a;
      const next = new URL(loc, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return a;
      if (next.origin !== url.origin) delete headers.Authorization;
      url = next;
    }
  }
}

/** The registry's error in its own words: `CODE: message` from a distribution error body, else the status. */
export function registryError(a: Answer): { code?: string; message: string } {
  try {
    const v = JSON.parse(a.body.toString('utf8')) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const e = v.errors?.[0];
    if (e) return { code: e.code, message: `${e.code ?? 'error'}: ${e.message ?? ''}`.trim() };
  } catch {
    /* not JSON */
  }
  return { message: `${a.status} ${a.body.toString('utf8').trim().slice(0, 200) || 'error'}` };
}
