/**
 * The far side of the registry's own clients (the pull-through cache and
 * replication): a remote registry named by URL with optional credentials,
 * reached through Berth's registry client (distribution/: token and Basic
 * auth answered on demand), and the mapping of its failures to what our
 * clients see.
 */
import { RepositoryClient } from '../../distribution/client.js';
import { RegistryError as UpstreamError, TransportError } from '../../distribution/errors.js';
import type { Endpoint } from '../../distribution/endpoints.js';
import { RegistryError } from '../errors.js';

export interface RemoteSettings {
  /** Base URL: scheme, host[:port] and an optional path prefix. */
  url: string;
  username?: string;
  password?: string;
  /** Skip TLS verification of the remote. */
  insecure?: boolean;
}

export class Remote {
  readonly endpoint: Endpoint;

  constructor(readonly settings: RemoteSettings) {
    const u = new URL(settings.url.includes('://') ? settings.url : `https://${settings.url}`);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.endpoint = { url: u, tls: { insecure: !!settings.insecure }, mirror: false, registry: u.host };
  }

  get host(): string {
    return this.endpoint.url.host;
  }

  client(repo: string, push = false): RepositoryClient {
    const s = this.settings;
    return new RepositoryClient(this.endpoint, repo, s.username ? { username: s.username, password: s.password ?? '' } : undefined, push);
  }
}

/** Check a remote URL from a flag or the config file. */
export function checkRemoteUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `https://${url}`);
  } catch {
    throw new Error(`${what}: invalid URL "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what}: the URL must be http or https`);
  return url;
}

/** The remote said the thing does not exist (404, or one of the spec's *_UNKNOWN codes). */
export function isNotFound(err: unknown): boolean {
  return err instanceof UpstreamError && (err.httpStatus === 404 || err.codes.some((c) => /_UNKNOWN$/.test(c)));
}

/** The remote could not be asked (down, unreachable, 5xx): a cache may answer from what it has. */
export function isUnavailable(err: unknown): boolean {
  return err instanceof TransportError || (err instanceof UpstreamError && err.httpStatus >= 500);
}

/** A remote failure as our client sees it: 502 UNKNOWN naming the remote, or the remote's own 401/403. */
export function upstreamFailure(remote: Remote, err: unknown): RegistryError {
  if (err instanceof RegistryError) return err;
  const msg = (err as Error).message;
  if (err instanceof UpstreamError && (err.httpStatus === 401 || err.httpStatus === 403)) {
    return new RegistryError('DENIED', `upstream ${remote.host} refused: ${msg}`, null, 403);
  }
  return new RegistryError('UNKNOWN', `upstream ${remote.host}: ${msg}`, null, 502);
}
