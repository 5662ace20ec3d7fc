/**
 * The distribution service: pulls, pushes, logins and searches, holding the
 * daemon's registry settings (mirrors, insecure registries, certs.d) and the
 * downloads and unpacks in flight, so two pulls that need the same layer at
 * the same time fetch and unpack it once.
 */
import type { Digest } from '../../core/digest.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { checkFilterKeys, type Filters } from '../../core/filters.js';
import { DEFAULT_DOMAIN } from '../../core/reference.js';
import type { LayerInfo } from '../../snapshots/snapshotter.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { checkLogin, searchRegistry, type RepositoryClient, type SearchResult } from '../../distribution/client.js';
import { RegistryHosts, DOCKER_HUB_INDEX, type Endpoint, type RegistrySettings } from '../../distribution/endpoints.js';
import { TransportError, RegistryError } from '../../distribution/errors.js';
import type { ContentStore } from '../../content/store.js';
import type { Snapshotter } from '../../snapshots/snapshotter.js';
import type { EventBus } from '../events.js';
import type { ImageService } from '../images/service.js';
import type { Leases } from '../images/storage.js';
import type { ImageStore } from '../images/store.js';
import { Download } from './download.js';
import { abortable, SharedWork } from './cancel.js';

/**
 * What a pull and a push work with: the stores blobs, layers and image
 * records go into, the leases that keep them while they are not yet
 * referenced, and the image service that registers an image and takes back
 * what a cancelled pull left.
 */
export interface DistributionStores {
  images: ImageService;
  content: ContentStore;
  snapshotter: Snapshotter;
  store: ImageStore;
  leases: Leases;
  events: EventBus;
}

export class DistributionService {
  readonly images: ImageService;
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly store: ImageStore;
  readonly leases: Leases;
  readonly events: EventBus;
  readonly hosts: RegistryHosts;
  private downloads = new Map<Digest, Download>();
  private unpacks = new Map<Digest, { p: Promise<LayerInfo>; work: SharedWork }>();
  /** The endpoint of each registry that answered last (https or plain http for an insecure one). */
  private preferred = new Map<string, string>();

  constructor(stores: DistributionStores, settings: RegistrySettings) {
    this.images = stores.images;
    this.content = stores.content;
    this.snapshotter = stores.snapshotter;
    this.store = stores.store;
    this.leases = stores.leases;
    this.events = stores.events;
    this.hosts = new RegistryHosts(settings);
  }

  /** The shared download of a blob (started if none runs), joined until `signal` aborts. */
  download(client: RepositoryClient, digest: Digest, size: number, signal: AbortSignal): Download {
    let d = this.downloads.get(digest);
    if (!d || d.cancelled) {
      // A cancelled one is still closing its ingest file: the new one starts after it.
      d = new Download(this.content, digest, size, client, d?.done);
      this.downloads.set(digest, d);
      const forget = () => {
        if (this.downloads.get(digest) === d) this.downloads.delete(digest);
      };
      d.done.then(forget, forget);
    }
    d.join(signal);
    return d;
  }

  /**
   * Run one unpack per chain ID at a time; a second caller waits for the
   * first. `fn` gets a signal that aborts once no caller waits any more; each
   * caller stops waiting when its own `signal` aborts.
   */
  unpack(chainId: Digest, signal: AbortSignal, fn: (stop: AbortSignal) => Promise<LayerInfo>): Promise<LayerInfo> {
    let u = this.unpacks.get(chainId);
    if (!u || u.work.stop.aborted) {
      const work = new SharedWork();
      const p = fn(work.stop);
      const entry = { p, work };
      u = entry;
      this.unpacks.set(chainId, entry);
      const forget = () => {
        work.settle();
        if (this.unpacks.get(chainId) === entry) this.unpacks.delete(chainId);
      };
      p.then(forget, forget);
    }
    u.work.join(signal);
    return abortable(u.p, signal);
  }

  /**
   * Settles once the cancelled downloads of `digests` and unpacks of `chains`
   * (those nobody waits for any more) have stopped, so what they leave can be judged.
   */
  async cancelledWorkDone(digests: Digest[], chains: Digest[]): Promise<void> {
    const dls = digests
      .map((d) => this.downloads.get(d))
      .filter((d): d is Download => !!d && d.cancelled)
      .map((d) => d.done);
    const ups = chains
      .map((c) => this.unpacks.get(c))
      .filter((u) => !!u && u.work.stop.aborted)
      .map((u) => u!.p);
    await Promise.allSettled([...dls, ...ups]);
  }

  /** Endpoints for a registry, the one that worked last time first. */
  async endpoints(domain: string, withMirrors = true): Promise<Endpoint[]> {
    const eps = (await this.hosts.endpoints(domain)).filter((e) => withMirrors || !e.mirror);
    const pref = this.preferred.get(domain);
    const direct = eps.filter((e) => !e.mirror);
    if (pref) direct.sort((a, b) => Number(b.url.href === pref) - Number(a.url.href === pref));
    return [...eps.filter((e) => e.mirror), ...direct];
  }

  /**
   * Run `fn` against each endpoint in turn until one works: connection
   * failures move on (https → http for an insecure registry), and so does any
   * error from a mirror (Docker falls back to the registry itself).
   */
  async withEndpoint<T>(domain: string, fn: (ep: Endpoint) => Promise<T>, withMirrors = true): Promise<T> {
    let last: unknown;
    for (const ep of await this.endpoints(domain, withMirrors)) {
      try {
        const out = await fn(ep);
        if (!ep.mirror) this.preferred.set(domain, ep.url.href);
        return out;
      } catch (err) {
        last = err;
        if (err instanceof TransportError || ep.mirror) continue;
        throw err;
      }
    }
    throw last;
  }

  /** POST /auth: check credentials against the registry. */
  async login(auth: AuthConfig): Promise<{ Status: string; IdentityToken: string }> {
    const domain = registryFromServerAddress(auth.serveraddress);
    const out = await this.withEndpoint(domain, (ep) => checkLogin(ep, auth), false);
    return { Status: 'Login Succeeded', IdentityToken: out.identityToken ?? '' };
  }

  /**
   * GET /images/search: the registry's results that pass `filters`
   * (is-official, is-automated, stars: at least that many), checked as dockerd checks them.
   */
  async search(term: string, limit: number, filters: Filters, auth: AuthConfig | undefined): Promise<SearchResult[]> {
    const keep = searchFilter(filters);
    return (await this.searchRegistries(term, limit, auth)).filter(keep);
  }

  private async searchRegistries(term: string, limit: number, auth: AuthConfig | undefined): Promise<SearchResult[]> {
    if (limit < 1 || limit > 100) throw new InvalidArgumentError(`Limit ${limit} is outside the range of [1, 100]`);
    const { domain, query } = splitSearchTerm(term);
    if (domain === DEFAULT_DOMAIN) {
      const ep: Endpoint = { url: new URL(`https://${DOCKER_HUB_INDEX}/`), tls: await this.hosts.tlsFor(DOCKER_HUB_INDEX), mirror: false, registry: domain };
      return searchRegistry(ep, query, limit, auth);
    }
    // dockerd tries the v1 endpoint over HTTPS, then (insecure registries) HTTP, and names both attempts when neither answers.
    const eps = await this.endpoints(domain, false);
    const failures: string[] = [];
    let lastErr: unknown;
    for (const ep of eps) {
      try {
        return await searchRegistry(ep, query, limit, auth);
      } catch (err) {
        if (err instanceof RegistryError && err.httpStatus === 404) throw new RegistryError(`Unexpected status code 404`, 404, [], 500);
        if (!(err instanceof TransportError)) throw err;
        lastErr = err;
        const ping = new URL('v1/_ping', ep.url).href;
        failures.push(`${ep.url.protocol === 'https:' ? 'HTTPS' : 'HTTP'} attempt: ${err.message.replace(/^(\w+) "[^"]*"/, `$1 "${ping}"`)}`);
      }
    }
    const last = eps[eps.length - 1]!;
    if (failures.length === 1) throw lastErr;
    throw new TransportError(`invalid registry endpoint "${new URL('v1/', last.url).href}". ${failures.join('. ')}`);
  }
}

/** The test a search result passes for `f`; bad filters are the client's error. */
function searchFilter(f: Filters): (x: SearchResult) => boolean {
  checkFilterKeys(f, ['is-automated', 'is-official', 'stars']);
  const boolFilter = (k: string) => {
    const v = f[k]?.[0];
    if (v === undefined) return undefined;
    if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidArgumentError(`Invalid filter '${k}=[${f[k]!.join(' ')}]'`);
    return v === 'true' || v === '1';
  };
  const official = boolFilter('is-official');
  const automated = boolFilter('is-automated');
  let stars = 0;
  if (f.stars?.length) {
    for (const s of f.stars) {
      if (!/^\d+$/.test(s)) throw new InvalidArgumentError(`Invalid filter 'stars=${s}'`);
      stars = Math.max(stars, Number(s));
    }
  }
  return (x) =>
    (official === undefined || x.is_official === official) && (automated === undefined || x.is_automated === automated) && (x.star_count ?? 0) >= stars;
}

/** `https://index.docker.io/v1/`, `docker.io`, `localhost:5000` → the registry domain. */
export function registryFromServerAddress(addr: string | undefined): string {
  if (!addr) return DEFAULT_DOMAIN;
  let host = addr.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io' || host === 'registry.hub.docker.com') host = DEFAULT_DOMAIN;
  // A client's address that is no host[:port] at all is its error, not a failed connection.
  if (!URL.canParse(`https://${host}/`)) throw new InvalidArgumentError(`invalid registry address: ${JSON.stringify(addr)}`);
  return host;
}

/** Docker's split of a search term: "localhost:5000/busybox" searches that registry for "busybox". */
export function splitSearchTerm(term: string): { domain: string; query: string } {
  const i = term.indexOf('/');
  if (i > 0) {
    const first = term.slice(0, i);
    if (/[.:]/.test(first) || first === 'localhost') return { domain: registryFromServerAddress(first), query: term.slice(i + 1) };
  }
  return { domain: DEFAULT_DOMAIN, query: term };
}
