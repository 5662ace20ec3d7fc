/**
 * Quotas: the bytes of unique blobs (layers and configs) linked into a
 * repository, capped per repository pattern. A blob that would take its
 * repository over the cap is refused when its upload completes (or earlier,
 * as soon as a chunked upload alone passes what is left) with the
 * distribution spec's DENIED (403) naming the quota; the upload is dropped, so
 * nothing of it becomes visible. Admission and linking run under one lock per
 * repository, so parallel layer uploads cannot overshoot together. Manifests
 * are not counted.
 *
 * Config:  "quotas": [ { "repositories": "team/**", "limit": "500mb" } ]   (first match wins)
 */
import { KeyedMutex } from '../core/mutex.js';
import { RegistryError } from './errors.js';
import type { Storage } from './storage.js';
import { list, obj, onlyKeys, optSize, repoPattern, reqStr } from './settings.js';

export interface QuotaRule {
  repositories: string;
  bytes: number;
  re: RegExp;
}

export function parseQuotas(v: unknown): QuotaRule[] {
  return list(v, 'quotas').map((raw, i) => {
    const what = `quotas[${i}]`;
    const o = obj(raw, what);
    onlyKeys(o, ['repositories', 'limit'], what);
    const repositories = reqStr(o.repositories, `${what}.repositories`);
    const bytes = optSize(o.limit, `${what}.limit`);
    if (bytes === undefined) throw new Error(`${what}.limit is required`);
    return { repositories, bytes, re: repoPattern(repositories) };
  });
}

function mb(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`;
}

export class Quotas {
  private readonly locks = new KeyedMutex();

  constructor(
    readonly rules: QuotaRule[],
    private readonly storage: Storage,
  ) {}

  ruleFor(name: string): QuotaRule | undefined {
    return this.rules.find((r) => r.re.test(name));
  }

  /** Bytes of the blobs linked into `name`. */
  async usage(name: string): Promise<number> {
    let n = 0;
    for (const d of await this.storage.layers(name)) n += (await this.storage.blobSize(d)) ?? 0;
    return n;
  }

  private denied(name: string, rule: QuotaRule, would: number): RegistryError {
    return new RegistryError(
      'DENIED',
      `quota exceeded: repository ${name} would use ${mb(would)} of its ${mb(rule.bytes)} quota (rule "${rule.repositories}")`,
      { repository: name, quota: rule.bytes, pattern: rule.repositories, wouldUse: would },
      403,
    );
  }

  /**
   * Run `link` (which makes blob `digest` of `size` bytes part of `name`) if the
   * repository stays within its quota; otherwise run `drop` and throw DENIED.
   */
  async admit(name: string, digest: string, size: number, link: () => Promise<void>, drop: () => Promise<void>): Promise<void> {
    const rule = this.ruleFor(name);
    if (!rule) return link();
    await this.locks.run(name, async () => {
      if ((await this.storage.layers(name)).includes(digest)) return link();
      const would = (await this.usage(name)) + size;
      if (would > rule.bytes) {
        await drop();
        throw this.denied(name, rule, would);
      }
      await link();
    });
  }

  /** An upload (of `digest`, when known) that no longer fits beside what is stored: refuse it early (the caller drops it). */
  async checkGrowth(name: string, uploaded: number, digest?: string): Promise<RegistryError | undefined> {
    const rule = this.ruleFor(name);
    if (!rule) return undefined;
    if (digest && (await this.storage.layers(name)).includes(digest)) return undefined;
    const would = (await this.usage(name)) + uploaded;
    return would > rule.bytes ? this.denied(name, rule, would) : undefined;
  }
}
