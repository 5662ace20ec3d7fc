/**
 * POST /build/prune: the build cache dockerd keeps apart from images
 * (BuildKit's) does not exist here — the classic builder's cache is the
 * intermediate images, which `image prune` takes. So the answer is dockerd's
 * for an empty cache, after the request is checked as dockerd checks it,
 * and `docker builder prune` / `docker system prune` succeed.
 */
import { InvalidArgumentError, SystemError } from '../../core/errors.js';
import type { Filters } from '../../core/filters.js';
import { parseGoDuration } from '../../core/go-time.js';

/** The filter keys dockerd 20.10 accepts for a build cache prune. */
const KEYS = ['until', 'unused-for', 'label', 'label!', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private'];

export interface BuildCachePruneReport { CachesDeleted: string[] | null; SpaceReclaimed: number }

export function pruneBuildCache(filters: Filters, keepStorage: string | undefined): BuildCachePruneReport {
  if (keepStorage !== undefined && keepStorage !== '' && !/^[+-]?\d+$/.test(keepStorage)) {
    throw new SystemError(`keep-storage is in bytes and expects an integer, got ${keepStorage}`);
  }
  const fail = (msg: string) => new InvalidArgumentError(`failed to prune build cache: ${msg}`);
  for (const k of Object.keys(filters)) if (!KEYS.includes(k)) throw fail(`Invalid filter '${k}'`);
  if (filters.until?.length && filters['unused-for']?.length) throw fail('conflicting filters: "until" and "unused-for"');
  const key = filters['unused-for']?.length ? 'unused-for' : 'until';
  const until = [...(filters.until ?? []), ...(filters['unused-for'] ?? [])];
  if (until.length > 1) throw fail('filters expect only one value');
  if (until.length === 1) {
    try { parseGoDuration(until[0]!); } catch (e) { throw fail(`"${key}" filter expects a duration (e.g., '24h'): ${(e as Error).message}`); }
  }
  for (const k of KEYS.slice(4)) if ((filters[k]?.length ?? 0) > 1) throw fail('filters expect only one value');
  return { CachesDeleted: null, SpaceReclaimed: 0 };
}
