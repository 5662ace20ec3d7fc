/**
 * The pull-through cache (`--proxy-remote`, Distribution's `proxy` section): a
 * read-only mirror of one upstream registry, so `registry-mirrors` of berthd
 * or dockerd can point at it. A manifest or blob we lack is fetched from the
 * upstream, checked against its digest and only then stored; a lying upstream
 * gets our client a 502 and leaves nothing behind. Manifests by digest are
 * kept for good; a tag is trusted for the TTL (default 168h, as Distribution),
 * then re-checked with the upstream. When the upstream cannot be reached,
 * whatever is cached is still served.
 *
 * Tag freshness lives in memory: after a restart the first request for a tag
 * asks the upstream again (and falls back to the cached one if it is down).
 */
import { log } from '../../core/log.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { RegistryError } from '../errors.js';
import { parseManifest, referrerDescriptor } from '../manifest.js';
import type { Storage, StoredManifest } from '../storage.js';
import { obj, onlyKeys, optDuration, optStr } from '../settings.js';
import { Remote, checkRemoteUrl, isNotFound, isUnavailable, upstreamFailure } from './upstream.js';

export const DEFAULT_PROXY_TTL_MS = 168 * 3600_000;

export interface ProxySettings {
  remoteurl: string;
  username?: string;
  password?: string;
  ttlMs: number;
}

export interface ProxyFlags {
  proxyRemote?: string;
  proxyUsername?: string;
  proxyPassword?: string;
  proxyTtl?: string;
}

/** The `proxy` section of the config file, with flags over it; undefined when no remote is set. */
export function parseProxy(v: unknown, flags: ProxyFlags): ProxySettings | undefined {
  const o = v === undefined || v === null ? {} : obj(v, 'proxy');
  onlyKeys(o, ['remoteurl', 'username', 'password', 'ttl'], 'proxy');
  const remoteurl = flags.proxyRemote ?? optStr(o.remoteurl, 'proxy.remoteurl');
  if (!remoteurl) {
    if (flags.proxyUsername || flags.proxyPassword || flags.proxyTtl) throw new Error('--proxy-username, --proxy-password and --proxy-ttl need --proxy-remote');
    return undefined;
  }
  checkRemoteUrl(remoteurl, 'proxy.remoteurl');
  const ttl = flags.proxyTtl !== undefined ? optDuration(flags.proxyTtl, '--proxy-ttl') : optDuration(o.ttl, 'proxy.ttl');
  return {
    remoteurl,
    username: flags.proxyUsername ?? optStr(o.username, 'proxy.username'),
    password: flags.proxyPassword ?? optStr(o.password, 'proxy.password'),
    ttlMs: ttl ?? DEFAULT_PROXY_TTL_MS,
  };
}

export class ProxyCache {
  readonly remote: Remote;
  /** `repo:tag` → when the tag was last confirmed with the upstream. */
  private readonly checked = new Map<string, number>();
  /** Fetches in flight, so concurrent pulls of one blob or manifest download it once. */
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    readonly settings: ProxySettings,
    private readonly storage: Storage,
  ) {
    this.remote = new Remote({ url: settings.remoteurl, username: settings.username, password: settings.password });
  }

  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running as Promise<T>;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** A manifest by tag or digest: from the cache when it is good, else from the upstream (then cached). */
  async manifest(name: string, ref: string, isDigest: boolean): Promise<StoredManifest | undefined> {
    const local = await this.storage.getManifest(name, ref, isDigest);
    if (local && isDigest) return local;
    const key = `${name}:${ref}`;
    if (local && Date.now() - (this.checked.get(key) ?? 0) < this.settings.ttlMs) return local;
    return this.once(`m ${key}`, async () => {
      const client = this.remote.client(name);
      try {
        if (local) {
          // Still the same manifest upstream? A HEAD costs less than the body.
          const now = await client.headManifest(ref);
          if (now === local.digest) {
            this.checked.set(key, Date.now());
            return local;
          }
          if (now === undefined) return undefined;
        }
        const m = await client.getManifest(ref);
        const parsed = parseManifest(m.bytes, m.mediaType);
        const referrer = parsed.subject ? referrerDescriptor(parsed, m.digest, m.bytes.length) : undefined;
        await this.storage.putManifest(name, m.bytes, m.digest, parsed, isDigest ? [] : [ref], referrer);
        if (!isDigest) this.checked.set(key, Date.now());
        log.debug('proxy: cached manifest', { repository: name, ref, digest: m.digest });
        return { digest: m.digest, mediaType: parsed.mediaType, size: m.bytes.length, body: m.bytes };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (local && isUnavailable(err)) {
          log.warn('proxy: upstream unavailable, serving the cached manifest', { repository: name, ref, error: (err as Error).message });
          return local;
        }
        if (err instanceof RegistryError && err.code === 'MANIFEST_INVALID') {
          throw new RegistryError('UNKNOWN', `upstream ${this.remote.host} sent an invalid manifest for ${ref}: ${err.message}`, null, 502);
        }
        if (err instanceof RegistryError) throw err;
        if (err instanceof InvalidArgumentError) {
          throw new RegistryError('UNKNOWN', `upstream ${this.remote.host} sent a manifest that does not match ${ref}`, { digest: ref }, 502);
        }
        throw upstreamFailure(this.remote, err);
      }
    });
  }

  /** Make sure blob `digest` of `name` is cached; its size, or undefined when the upstream lacks it. */
  async blob(name: string, digest: string): Promise<number | undefined> {
    const have = await this.storage.repoBlobSize(name, digest);
    if (have !== undefined) return have;
    return this.once(`b ${name}@${digest}`, async () => {
      const client = this.remote.client(name);
      let body;
      try {
        ({ body } = await client.fetchBlob(digest));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw upstreamFailure(this.remote, err);
      }
      const u = await this.storage.startUpload(name, digest.slice(0, digest.indexOf(':')));
      try {
        await this.storage.lockUpload(u.id, async () => {
          await this.storage.appendUpload(u, body);
          await this.storage.completeUpload(u, digest);
        });
      } catch (err) {
        body.destroy();
        await this.storage.cancelUpload(u.id).catch(() => {});
        if (err instanceof RegistryError && err.code === 'DIGEST_INVALID') {
          log.warn('proxy: upstream blob does not match its digest; nothing stored', { repository: name, digest, upstream: this.remote.host });
          throw new RegistryError('UNKNOWN', `upstream ${this.remote.host} sent content that does not match ${digest}`, { digest }, 502);
        }
        throw upstreamFailure(this.remote, err);
      }
      log.debug('proxy: cached blob', { repository: name, digest });
      return this.storage.repoBlobSize(name, digest);
    });
  }

  /** tags/list from the upstream, or from the cache when it is down. */
  async tags(name: string): Promise<string[] | undefined> {
    try {
      return await this.remote.client(name).tags();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isUnavailable(err)) return (await this.storage.tags(name)).map((t) => t.tag);
      throw upstreamFailure(this.remote, err);
    }
  }
}
