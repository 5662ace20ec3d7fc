/**
 * Runs replication rules: all of them once (`berth registry replicate
 * --once`), each on its interval, and push rules with `onPush` when this
 * server stores a tag of a matching repository. Runs of one rule never
 * overlap; a failed run is logged and the next one resumes it.
 */
import { log } from '../../core/log.js';
import { readBody } from '../../distribution/http.js';
import type { RegistryEvents } from '../events.js';
import type { Storage } from '../storage.js';
import { Mutex } from '../../core/mutex.js';
import { Remote, upstreamFailure } from '../proxy/upstream.js';
import { addStats, copyTags, emptyStats, localSide, remoteSide, type CopyStats, type Progress } from './copy.js';
import type { ReplicationRule } from './rules.js';

export interface RuleResult {
  rule: string;
  repositories: number;
  stats: CopyStats;
  errors: string[];
}

/** Repositories of a remote matching a pattern: the pattern itself when it has no wildcard, else the remote's catalog. */
async function remoteRepositories(remote: Remote, re: RegExp, pattern: string): Promise<string[]> {
  if (!/[*?]/.test(pattern)) return [pattern];
  const client = remote.client('');
  const out: string[] = [];
  let next: URL | undefined = client.url('v2/_catalog');
  while (next) {
    const res = await client.request('GET', next, { scopes: ['registry:catalog:*'] });
    const body = (await readBody(res)).toString('utf8');
    if (res.statusCode !== 200) throw new Error(`listing the repositories of ${remote.host}: HTTP ${res.statusCode} ${body.slice(0, 200)}`);
    out.push(...((JSON.parse(body) as { repositories?: string[] }).repositories ?? []));
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
    next = link ? new URL(link[1]!, remote.endpoint.url) : undefined;
  }
  return out.filter((r) => re.test(r));
}

export class Replicator {
  private readonly locks = new Map<string, Mutex>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly rules: ReplicationRule[],
    private readonly storage: Storage,
  ) {
    for (const r of rules) this.locks.set(r.name, new Mutex());
  }

  /** Copy `tags` (all tags when undefined) of one repository under one rule. */
  private async copyRepo(rule: ReplicationRule, remote: Remote, repo: string, tags: string[] | undefined, out: Progress): Promise<CopyStats> {
    const dest = rule.prefix + repo;
    if (rule.direction === 'push') {
      const src = localSide(this.storage, repo);
      const dst = remoteSide(remote.client(dest, true));
      const list = tags ?? (await this.storage.tags(repo)).map((t) => t.tag);
      out(`${rule.name}: ${repo} → ${remote.host}/${dest} (${list.length} tags)`);
      return copyTags(src, dst, list, out);
    }
    const client = remote.client(repo);
    const list = tags ?? (await client.tags());
    out(`${rule.name}: ${remote.host}/${repo} → ${dest} (${list.length} tags)`);
    return copyTags(remoteSide(client), localSide(this.storage, dest), list, out);
  }

  /** Run one rule over every matching repository (or only `only`: repository and tag of a push event). */
  async runRule(rule: ReplicationRule, out: Progress = () => {}, only?: { repo: string; tag: string }): Promise<RuleResult> {
    return this.locks.get(rule.name)!.run(async () => {
      const remote = new Remote(rule.remote);
      const result: RuleResult = { rule: rule.name, repositories: 0, stats: emptyStats(), errors: [] };
      let repos: string[];
      try {
        if (only) repos = [only.repo];
        else if (rule.direction === 'push') repos = (await this.storage.repositories()).filter((r) => rule.re.test(r));
        else repos = await remoteRepositories(remote, rule.re, rule.repositories);
      } catch (err) {
        result.errors.push(upstreamFailure(remote, err).message);
        out(`${rule.name}: error: ${result.errors[0]}`);
        return result;
      }
      for (const repo of repos) {
        result.repositories++;
        try {
          addStats(result.stats, await this.copyRepo(rule, remote, repo, only ? [only.tag] : undefined, out));
        } catch (err) {
          const msg = `${repo}: ${(err as Error).message}`;
          result.errors.push(msg);
          out(`${rule.name}: error: ${msg}`);
        }
      }
      const s = result.stats;
      out(
        `${rule.name}: ${result.repositories} repositories, ${s.tagsCopied} tags copied (${s.tagsSkipped} up to date), ` +
          `${s.manifestsCopied} manifests, ${s.blobsCopied} blobs copied (${s.bytes} bytes), ${s.blobsSkipped} blobs already there` +
          (result.errors.length ? `, ${result.errors.length} errors` : ''),
      );
      return result;
    });
  }

  async runAll(out: Progress = () => {}): Promise<RuleResult[]> {
    const results: RuleResult[] = [];
    for (const r of this.rules) results.push(await this.runRule(r, out));
    return results;
  }

  /** Start the interval timers, and follow push events for `onPush` rules. */
  start(events: RegistryEvents): void {
    const logged: Progress = (line) => log.info('replication', { line });
    for (const rule of this.rules) {
      if (rule.intervalMs) {
        const t = setInterval(() => {
          this.runRule(rule, logged).catch((err) => log.error('replication failed', { rule: rule.name, error: (err as Error).message }));
        }, rule.intervalMs);
        t.unref();
        this.timers.push(t);
      }
    }
    const onPush = this.rules.filter((r) => r.onPush && r.direction === 'push');
    if (!onPush.length) return;
    events.on((e) => {
      if (e.action !== 'push' || !e.target.tag) return;
      const { repository: repo, tag } = e.target;
      for (const rule of onPush) if (rule.re.test(repo)) this.onEvent(rule, { repo, tag }, logged, 0);
    });
  }

  /** Copy one pushed tag; a failed copy is tried again after 2, 4 and 8 seconds. */
  private onEvent(rule: ReplicationRule, only: { repo: string; tag: string }, out: Progress, attempt: number): void {
    this.runRule(rule, out, only).then(
      (r) => {
        if (!r.errors.length || attempt >= 3) return;
        setTimeout(() => this.onEvent(rule, only, out, attempt + 1), 2000 * 2 ** attempt).unref();
      },
      (err) => log.error('replication failed', { rule: rule.name, error: (err as Error).message }),
    );
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }
}
