/**
 * Authentication and authorization of registry requests, in the three modes
 * Docker's clients know: none, Basic (htpasswd) and Bearer tokens from the
 * registry's own issuer (`/token`). Challenges are written exactly as
 * Distribution writes them, since the docker daemon parses them to decide
 * how to log in and which scopes to ask for.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';
import type { RegistryConfig } from '../config.js';
import { AccessPolicy, ACTIONS, type Action } from './access.js';
import { Htpasswd } from './htpasswd.js';
import { FailedLogins } from './lockout.js';
import { TokenSigner, loadOrCreateKey, type ResourceAccess } from './jwt.js';

/** What a request needs: actions on a repository, or `registry:catalog:*`. */
export interface Need {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

/** Who is asking, as far as the credentials tell. */
export interface Principal {
  user?: string;
  token?: ResourceAccess[];
}

export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

export function scopeString(n: Need): string {
  return `${n.type}:${n.name}:${n.actions.join(',')}`;
}

/** Parse `type[(class)]:name:actions`; the name may itself hold colons (a registry host with a port). */
export function parseScope(s: string): Need | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = s.slice(0, first).replace(/\(.*\)$/, '');
  if (type !== 'repository' && type !== 'registry') return undefined;
  const actions = s
    .slice(last + 1)
    .split(',')
    .filter(Boolean);
  return { type, name: s.slice(first + 1, last), actions };
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return undefined;
  const text = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h || !/^bearer /i.test(h)) return undefined;
  return h.slice(7).trim();
}

export class Authenticator {
  readonly mode: RegistryConfig['auth']['type'];
  private readonly htpasswd?: Htpasswd;
  private readonly policy: AccessPolicy;
  private readonly failed = new FailedLogins();
  readonly signer?: TokenSigner;

  constructor(private readonly cfg: RegistryConfig) {
    this.mode = cfg.auth.type;
    this.policy = new AccessPolicy(cfg.access);
    if (this.mode !== 'none') this.htpasswd = new Htpasswd(cfg.auth.htpasswd!);
    if (this.mode === 'token') {
      const key = loadOrCreateKey(cfg.auth.key ?? join(cfg.root, 'token', 'issuer-key.pem'));
      this.signer = new TokenSigner(key, cfg.auth.issuer);
    }
  }

  private realmUrl(req: IncomingMessage): string {
    if (this.cfg.auth.realm) return this.cfg.auth.realm;
    const proto = this.cfg.tls ? 'https' : 'http';
    return `${proto}://${req.headers.host ?? 'localhost'}/token`;
  }

  /**
   * Check Basic credentials, counting the ones that need a bcrypt comparison
   * against the client's address: past its allowance the request is refused
   * with 429 before anything is looked at. Credentials verified a moment ago,
   * or being verified for a parallel request, cost nothing (a push sends the
   * same ones on every request).
   */
  private async password(req: IncomingMessage, c: { user: string; password: string }): Promise<boolean> {
    const client = req.socket.remoteAddress ?? '';
    const tooMany = (wait: number) =>
      new RegistryError('TOOMANYREQUESTS', `too many failed login attempts, retry after ${wait} seconds`, null).withHeaders({ 'Retry-After': String(wait) });
    let wait = this.failed.retryAfter(client);
    if (wait) throw tooMany(wait);
    const known = this.htpasswd!.settled(c.user, c.password);
    if (known !== undefined) return known;
    wait = this.failed.attempt(client);
    if (wait) throw tooMany(wait);
    const ok = await this.htpasswd!.verify(c.user, c.password);
    if (ok) this.failed.succeeded(client);
    return ok;
  }

  /** The WWW-Authenticate value for a refused request. */
  challenge(req: IncomingMessage, needs: Need[], error?: string): string {
    if (this.mode === 'htpasswd') return `Basic realm="${this.cfg.auth.realm ?? 'Berth Registry'}"`;
    let c = `Bearer realm="${this.realmUrl(req)}",service="${this.cfg.auth.service}"`;
    if (needs.length) c += `,scope="${needs.map(scopeString).join(' ')}"`;
    if (error) c += `,error="${error}"`;
    return c;
  }

  private unauthorized(req: IncomingMessage, needs: Need[], message: string, error?: string): RegistryError {
    const detail = needs.length ? needs.map((n) => ({ Type: n.type, Name: n.name, Action: n.actions.join(',') })) : null;
    return new RegistryError('UNAUTHORIZED', message, detail).withHeaders({ 'WWW-Authenticate': this.challenge(req, needs, error) });
  }

  /**
   * Check a request against what it needs; returns who asked. Throws 401
   * with a challenge when credentials are missing, wrong or lack the scope
   * (token mode), 403 DENIED when an htpasswd user lacks the access.
   */
  async authorize(req: IncomingMessage, needs: Need[]): Promise<Principal> {
    if (this.mode === 'none') return {};
    if (this.mode === 'htpasswd') {
      const c = basicCredentials(req);
      if (!c) throw this.unauthorized(req, needs, 'authentication required');
      if (!(await this.password(req, c))) throw this.unauthorized(req, needs, 'authentication required');
      const p: Principal = { user: c.user };
      const missing = needs.filter((n) => !this.can(p, n));
      if (missing.length) throw new RegistryError('DENIED', 'requested access to the resource is denied', null);
      return p;
    }
    const t = bearerToken(req);
    if (!t) throw this.unauthorized(req, needs, 'authentication required');
    const claims = this.signer!.verify(t, this.cfg.auth.service);
    if (claims instanceof Error) throw this.unauthorized(req, needs, claims.message, 'invalid_token');
    const p: Principal = { user: claims.sub || undefined, token: claims.access };
    const missing = needs.filter((n) => !this.can(p, n));
    // As Distribution does: 401 with an insufficient_scope challenge, which Docker reports without retrying.
    if (missing.length) throw this.unauthorized(req, missing, 'authentication required', 'insufficient_scope');
    return p;
  }

  /** May this principal do all of `need`? */
  can(p: Principal, need: Need): boolean {
    if (this.mode === 'none') return true;
    if (p.token) {
      return need.actions.every((a) =>
        p.token!.some((g) => g.type === need.type && g.name === need.name && (g.actions.includes(a) || g.actions.includes('*'))),
      );
    }
    if (need.type === 'registry') return p.user !== undefined;
    const allowed = this.policy.allowed(p.user, need.name);
    return need.actions.every((a) => allowed.has(a as Action));
  }

  /** Whether a user (undefined: anonymous) may pull a repository under the access rules (search, catalog). */
  mayPull(user: string | undefined, repo: string): boolean {
    return this.mode === 'none' || this.policy.allowed(user, repo).has('pull');
  }

  /** Identify a caller who sent Basic credentials (or a token) without requiring any access; 401 on bad ones. */
  async identify(req: IncomingMessage): Promise<Principal> {
    if (this.mode === 'none') return {};
    const c = basicCredentials(req);
    if (c) {
      if (!(await this.password(req, c))) throw this.unauthorized(req, [], 'authentication required');
      return { user: c.user };
    }
    const t = bearerToken(req);
    if (t && this.signer) {
      const claims = this.signer.verify(t, this.cfg.auth.service);
      if (claims instanceof Error) throw this.unauthorized(req, [], claims.message, 'invalid_token');
      return { user: claims.sub || undefined };
    }
    return {};
  }

  /**
   * The token endpoint: authenticate the caller (Basic, or none for
   * anonymous), grant the requested scopes the access rules allow.
   */
  async issueToken(req: IncomingMessage, service: string | null, scopes: string[], creds?: { user: string; password: string }): Promise<TokenResponse> {
    if (this.mode !== 'token') throw new RegistryError('UNSUPPORTED', 'token authentication is not enabled');
    if (service && service !== this.cfg.auth.service) throw new RegistryError('DENIED', `unknown service "${service}"`, null, 400);
    const c = creds ?? basicCredentials(req);
    let user: string | undefined;
    if (c) {
      if (!(await this.password(req, c))) {
        throw new RegistryError('UNAUTHORIZED', 'authentication required', null).withHeaders({ 'WWW-Authenticate': `Basic realm="${this.cfg.auth.service}"` });
      }
      user = c.user;
    }
    const access: ResourceAccess[] = [];
    for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
      const need = parseScope(s);
      if (!need) continue;
      let granted: string[];
      if (need.type === 'registry') granted = user !== undefined && need.name === 'catalog' ? need.actions : [];
      else {
        const allowed = this.policy.allowed(user, need.name);
        granted = need.actions.includes('*') ? ACTIONS.filter((a) => allowed.has(a)) : need.actions.filter((a) => allowed.has(a as Action));
      }
      const prev = access.find((a) => a.type === need.type && a.name === need.name);
      if (prev) prev.actions = [...new Set([...prev.actions, ...granted])];
      else access.push({ type: need.type, name: need.name, actions: granted });
    }
    const ttl = this.cfg.auth.expiry;
    const token = this.signer!.sign(user ?? '', this.cfg.auth.service, access, ttl);
    return { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
  }
}
