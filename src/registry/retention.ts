/**
 * Retention (Harbor's tag retention): per repository pattern, keep the last N
 * tags by push time and/or the tags pushed within D days; every other tag of
 * the repository is deleted, then its manifests no kept tag reaches (directly,
 * as an index child, or as a referrer of a kept manifest), then gc sweeps the
 * blobs nothing references. The first rule matching a repository applies.
 *
 *   "retention": { "schedule": "24h", "rules": [ { "repositories": "team/**", "keepLast": 5, "keepDays": 30 } ] }
 *
 * A dry run reports what would go and changes nothing.
 */
import { parseManifest } from './manifest.js';
import type { Storage } from './storage.js';
import { list, obj, onlyKeys, optDuration, optNum, repoPattern, reqStr } from './settings.js';

export interface RetentionRule {
  repositories: string;
  re: RegExp;
  keepLast?: number;
  keepDays?: number;
}

export interface RetentionSettings {
  rules: RetentionRule[];
  /** Run this often inside `registry serve`. */
  scheduleMs?: number;
}

export function parseRetention(v: unknown): RetentionSettings | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, 'retention');
  onlyKeys(o, ['rules', 'schedule'], 'retention');
  const rules = list(o.rules, 'retention.rules').map((raw, i) => {
    const what = `retention.rules[${i}]`;
    const r = obj(raw, what);
    onlyKeys(r, ['repositories', 'keepLast', 'keepDays'], what);
    const keepLast = optNum(r.keepLast, `${what}.keepLast`);
    const keepDays = optNum(r.keepDays, `${what}.keepDays`);
    if (keepLast === undefined && keepDays === undefined) throw new Error(`${what} needs keepLast or keepDays`);
    if (keepLast !== undefined && !Number.isInteger(keepLast)) throw new Error(`${what}.keepLast must be a whole number`);
    const repositories = reqStr(r.repositories, `${what}.repositories`);
    return { repositories, re: repoPattern(repositories), keepLast, keepDays };
  });
  const scheduleMs = optDuration(o.schedule, 'retention.schedule');
  if (scheduleMs !== undefined && scheduleMs < 1000) throw new Error('retention.schedule must be at least 1s');
  return { rules, scheduleMs };
}

export interface RetentionResult {
  tagsDeleted: Array<{ repo: string; tag: string }>;
  manifestsDeleted: Array<{ repo: string; digest: string }>;
}

/** Which tags a rule keeps: the newest keepLast, and those younger than keepDays (either keeps a tag). */
export function keptTags(tags: Array<{ tag: string; time: number }>, rule: RetentionRule, now = Date.now()): Set<string> {
  const byTime = [...tags].sort((a, b) => b.time - a.time || a.tag.localeCompare(b.tag));
  const keep = new Set<string>();
  if (rule.keepLast !== undefined) for (const t of byTime.slice(0, rule.keepLast)) keep.add(t.tag);
  if (rule.keepDays !== undefined) for (const t of byTime) if (now - t.time <= rule.keepDays * 86_400_000) keep.add(t.tag);
  return keep;
}

/** Apply the rules: delete tags, then unreachable manifests, of every matching repository. */
export async function applyRetention(
  storage: Storage,
  rules: RetentionRule[],
  opts: { dryRun?: boolean; out?: (line: string) => void; now?: number } = {},
): Promise<RetentionResult> {
  const out = opts.out ?? (() => {});
  const result: RetentionResult = { tagsDeleted: [], manifestsDeleted: [] };
  for (const repo of await storage.repositories()) {
    const rule = rules.find((r) => r.re.test(repo));
    if (!rule) continue;
    const tags: Array<{ tag: string; digest: string; time: number }> = [];
    for (const t of await storage.tags(repo)) tags.push({ ...t, time: (await storage.tagTime(repo, t.tag))?.getTime() ?? 0 });
    const keep = keptTags(tags, rule, opts.now);
    for (const t of tags) {
      if (keep.has(t.tag)) continue;
      out(`${opts.dryRun ? 'would delete' : 'deleting'} tag ${repo}:${t.tag} (${t.digest})`);
      result.tagsDeleted.push({ repo, tag: t.tag });
      if (!opts.dryRun) await storage.deleteTag(repo, t.tag);
    }
    // Manifests the kept tags reach, closed over index children and referrers.
    const revisions = await storage.revisions(repo);
    const parsed = new Map<string, ReturnType<typeof parseManifest> | undefined>();
    for (const r of revisions) {
      const m = await storage.getManifest(repo, r.digest, true);
      let p;
      try {
        p = m ? parseManifest(m.body, m.mediaType) : undefined;
      } catch {
        p = undefined;
      }
      parsed.set(r.digest, p);
    }
    const reach = new Set(tags.filter((t) => keep.has(t.tag)).map((t) => t.digest));
    for (let changed = true; changed; ) {
      changed = false;
      for (const [digest, p] of parsed) {
        if (!p) continue;
        const add = (d: string) => {
          if (parsed.has(d) && !reach.has(d)) {
            reach.add(d);
            changed = true;
          }
        };
        if (reach.has(digest)) {
          for (const c of p.manifests) add(c.digest);
        } else if (p.subject && reach.has(p.subject.digest)) add(digest);
      }
    }
    for (const r of revisions) {
      if (reach.has(r.digest)) continue;
      out(`${opts.dryRun ? 'would delete' : 'deleting'} untagged manifest ${repo}@${r.digest}`);
      result.manifestsDeleted.push({ repo, digest: r.digest });
      if (!opts.dryRun) await storage.deleteManifest(repo, r.digest, parsed.get(r.digest)?.subject?.digest);
    }
  }
  out(`retention: ${result.tagsDeleted.length} tags and ${result.manifestsDeleted.length} manifests ${opts.dryRun ? 'would be deleted' : 'deleted'}`);
  return result;
}
