/**
 * Registry authentication as Docker does it: send a request; on 401 read the
 * `WWW-Authenticate` challenge, then either Basic credentials or a Bearer
 * token fetched from the challenge's realm for the scopes the operation
 * needs (`repository:library/busybox:pull`, `…:pull,push`). Tokens are kept
 * per realm, service and scope set until they expire.
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { send, readBody, type TlsSettings } from './http.js';
import { RegistryError, parseErrorBody } from './errors.js';

/** What the daemon gets in X-Registry-Auth or /auth. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** A refresh token from an earlier login (OAuth2 refresh_token grant). */
  identitytoken?: string;
  /** A bearer token to send as-is. */
  registrytoken?: string;
  serveraddress?: string;
  auth?: string;
  email?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="…",service="…",scope="…", Basic realm="…"` into challenges. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(header) ? header : header ? [header] : []) {
    let i = 0;
    let cur: Challenge | undefined;
    while (i < h.length) {
      while (i < h.length && /[\s,]/.test(h[i]!)) i++;
      const tok = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(h.slice(i));
      if (!tok) break;
      i += tok[0].length;
      let j = i;
      while (j < h.length && h[j] === ' ') j++;
      if (h[j] === '=') {
        // a parameter of the current challenge
        j++;
        while (j < h.length && h[j] === ' ') j++;
        let value = '';
        if (h[j] === '"') {
          j++;
          while (j < h.length && h[j] !== '"') {
            if (h[j] === '\\' && j + 1 < h.length) j++;
            value += h[j];
            j++;
          }
          j++;
        } else {
          const m = /^[^,\s]*/.exec(h.slice(j))!;
          value = m[0];
          j += value.length;
        }
        if (cur) cur.params[tok[0].toLowerCase()] = value;
        i = j;
      } else {
        cur = { scheme: tok[0].toLowerCase(), params: {} };
        out.push(cur);
      }
    }
  }
  return out;
}

export function basicHeader(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

/** Decode X-Registry-Auth (base64url JSON; padding optional; legacy standard base64 too). */
export function decodeAuthHeader(v: string | undefined): AuthConfig | undefined {
  if (!v) return undefined;
  try {
    const json = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const cfg = JSON.parse(json) as AuthConfig;
    if (!cfg || typeof cfg !== 'object') return undefined;
    if (cfg.auth && !cfg.username) {
      const plain = Buffer.from(cfg.auth, 'base64').toString('utf8');
      const c = plain.indexOf(':');
      if (c > 0) {
        cfg.username = plain.slice(0, c);
        cfg.password = plain.slice(c + 1);
      }
    }
    return cfg;
  } catch {
    return undefined;
  }
}

interface CachedToken {
  token: string;
  expires: number;
}

/** Tokens shared by every pull and push of the daemon, keyed by credentials, realm, service and scopes. */
const tokenCache = new Map<string, CachedToken>();

/** Authenticates requests to one registry host with one set of credentials. */
export class Authorizer {
  private challenge?: Challenge;
  /** A refresh token the token service handed back (logins that ask for one). */
  refreshToken?: string;

  constructor(
    readonly host: string,
    readonly creds: AuthConfig | undefined,
    private readonly tls: TlsSettings,
  ) {}

  /** Learn the registry's scheme from a 401 answer. Returns false if it offers nothing we can answer. */
  learn(res: IncomingMessage): boolean {
    const cs = parseChallenges(res.headers['www-authenticate']);
    const pick = cs.find((c) => c.scheme === 'bearer') ?? cs.find((c) => c.scheme === 'basic');
    if (!pick) return false;
    this.challenge = pick;
    return true;
  }

  get known(): boolean {
    return this.challenge !== undefined;
  }

  /** The registry asked for Basic credentials (it offered no token service). */
  get wantsBasic(): boolean {
    return this.challenge?.scheme === 'basic';
  }

  /** There are credentials to answer a Basic challenge with. */
  get canBasic(): boolean {
    return !!this.creds?.username;
  }

  /** The Authorization header for a request needing `scopes`, or none before any challenge. */
  async header(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (this.creds?.username) return basicHeader(this.creds.username, this.creds.password ?? '');
      return undefined;
    }
    if (this.creds?.registrytoken) return 'Bearer ' + this.creds.registrytoken;
    return 'Bearer ' + (await this.token(c, scopes));
  }

  private async token(c: Challenge, scopes: string[]): Promise<string> {
    const realm = c.params.realm;
    if (!realm) throw new RegistryError(`unauthorized: authentication challenge from ${this.host} has no realm`, 401);
    const sorted = [...new Set(scopes)].sort();
    const secret = createHash('sha256')
      .update(`${this.creds?.password ?? ''}\0${this.creds?.identitytoken ?? ''}`)
      .digest('hex');
    const key = JSON.stringify([this.creds?.username ?? '', secret, realm, c.params.service ?? '', sorted]);
    const hit = tokenCache.get(key);
    if (hit && hit.expires > Date.now()) return hit.token;
    const url = new URL(realm);
    const tls: TlsSettings = url.host === this.host ? this.tls : {};
    let res: IncomingMessage;
    const refresh = this.creds?.identitytoken;
    if (refresh) {
      // OAuth2 refresh-token grant (what a stored identity token is for).
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refresh,
        service: c.params.service ?? '',
        client_id: 'berth',
        scope: sorted.join(' '),
      });
      res = await send(url, tls, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      if (c.params.service) url.searchParams.set('service', c.params.service);
      for (const s of sorted) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.creds?.username) {
        headers.Authorization = basicHeader(this.creds.username, this.creds.password ?? '');
        url.searchParams.set('account', this.creds.username);
      }
      res = await send(url, tls, { headers });
    }
    const body = (await readBody(res)).toString('utf8');
    if ((res.statusCode ?? 0) >= 400) {
      const { text } = parseErrorBody(res.statusCode ?? 0, res.statusMessage ?? '', body);
      if (res.statusCode === 401) throw new RegistryError(`unauthorized: incorrect username or password`, 401, ['UNAUTHORIZED']);
      throw new RegistryError(`getting a token from ${realm}: ${text}`, res.statusCode ?? 500);
    }
    let j: { token?: string; access_token?: string; expires_in?: number; issued_at?: string; refresh_token?: string };
    try {
      j = JSON.parse(body);
    } catch {
      throw new RegistryError(`token service ${realm} answered with something that is not JSON`, 502);
    }
    const token = j.token ?? j.access_token;
    if (!token) throw new RegistryError(`token service ${realm} returned no token`, 502);
    if (j.refresh_token) this.refreshToken = j.refresh_token;
    const issued = j.issued_at ? Date.parse(j.issued_at) : Date.now();
    // Docker's minimum lifetime is 60 s; keep a margin so a token never expires in flight.
    const life = Math.max(60, j.expires_in ?? 60) * 1000;
    tokenCache.set(key, { token, expires: (Number.isNaN(issued) ? Date.now() : issued) + life - 10_000 });
    return token;
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}
export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}
