/**
 * The registry's optional features beside the distribution API, wired in one
 * place so the server keeps three small hooks (the handler context, the
 * read-only check, start/stop): the pull-through cache, quotas, events with
 * their webhooks, replication and scheduled retention.
 */
import { log } from '../core/log.js';
import type { RegistryConfig } from './config.js';
import { RegistryEvents, type RegistryEvent } from './events.js';
import { parseManifest, referencedDigests } from './manifest.js';
import { collectGarbage } from './gc.js';
import { ProxyCache } from './proxy/cache.js';
import { Quotas } from './quota.js';
import { Replicator } from './replication/runner.js';
import { applyRetention } from './retention.js';
import type { Storage } from './storage.js';
import { Webhooks } from './webhooks.js';
import { WriteGate } from './write-gate.js';

/** How long a blob upload is spared by a live gc while its manifest may still be on the way. */
const SPARE_MS = 3600_000;

export class Features {
  readonly events = new RegistryEvents();
  readonly gate = new WriteGate();
  readonly proxy?: ProxyCache;
  readonly quotas?: Quotas;
  readonly webhooks?: Webhooks;
  readonly replicator?: Replicator;
  private readonly recentBlobs = new Map<string, number>();
  private retentionTimer?: NodeJS.Timeout;

  constructor(
    private readonly cfg: RegistryConfig,
    private readonly storage: Storage,
  ) {
    if (cfg.proxy) this.proxy = new ProxyCache(cfg.proxy, storage);
    if (cfg.quotas.length) this.quotas = new Quotas(cfg.quotas, storage);
    if (cfg.notifications.length) this.webhooks = new Webhooks(cfg.notifications, this.events);
    if (cfg.replication.length) this.replicator = new Replicator(cfg.replication, storage);
  }

  /** What handlers see (Ctx.ext). */
  get ext(): { proxy?: ProxyCache; quotas?: Quotas; events: RegistryEvents } {
    return { proxy: this.proxy, quotas: this.quotas, events: this.events };
  }

  /** A proxy is a mirror: it takes no pushes or deletes (UNSUPPORTED, as Distribution's). */
  get readOnly(): boolean {
    return this.cfg.readOnly || !!this.proxy;
  }

  start(addr: string): void {
    this.events.sourceAddr = addr;
    this.replicator?.start(this.events);
    const ret = this.cfg.retention;
    if (ret?.scheduleMs && ret.rules.length) {
      this.events.on((e) => this.trackUpload(e));
      this.retentionTimer = setInterval(() => {
        this.runRetention().catch((err) => log.error('retention failed', { error: (err as Error).message }));
      }, ret.scheduleMs);
      this.retentionTimer.unref();
    }
  }

  /**
   * Blobs uploaded but not yet named by a manifest are spared by a live gc: a
   * blob push adds one, the manifest push that names it takes it out again.
   */
  private trackUpload(e: RegistryEvent): void {
    const { digest, repository } = e.target;
    if (e.action !== 'push' || !digest) return;
    if (e.target.url?.includes('/blobs/')) {
      this.recentBlobs.set(digest, Date.now());
      return;
    }
    this.storage
      .getManifest(repository, digest, true)
      .then((m) => {
        if (m) for (const d of referencedDigests(parseManifest(m.body, m.mediaType))) this.recentBlobs.delete(d);
      })
      .catch(() => {});
  }

  /** One scheduled retention run: tags, manifests, then a gc sweep, with writes held. */
  async runRetention(): Promise<void> {
    const rules = this.cfg.retention?.rules ?? [];
    const now = Date.now();
    for (const [d, t] of this.recentBlobs) if (now - t > SPARE_MS) this.recentBlobs.delete(d);
    // Writes wait meanwhile: a tag pushed again while its old push time is judged must not be lost.
    const { r, gc } = await this.gate.exclusive(async () => {
      const r = await applyRetention(this.storage, rules, { out: (line) => log.info('retention', { line }) });
      // On a shared bucket other replicas may be finishing uploads no manifest names yet: sweep only when read-only.
      if (this.cfg.storage.driver === 's3' && !this.cfg.readOnly) return { r, gc: { blobsDeleted: [] as string[] } };
      return { r, gc: await collectGarbage(this.storage, { spare: (d) => this.recentBlobs.has(d) }) };
    });
    log.info('retention done', { tags: r.tagsDeleted.length, manifests: r.manifestsDeleted.length, blobs: gc.blobsDeleted.length });
  }

  async stop(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.replicator?.stop();
    await this.webhooks?.stop();
  }
}
