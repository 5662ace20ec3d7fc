import { InvalidArgumentError } from './errors.js';

/** Docker's filter map: key → accepted values (`--filter key=value`, repeated). */
export type Filters = Record<string, string[]>;

/**
 * Decode the Engine API's `filters` query value. Accepts both the current
 * form `{"key":{"value":true}}` and the legacy `{"key":["value"]}`.
 */
export function parseFilters(raw: string | null | undefined): Filters {
  if (!raw) return {};
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidArgumentError(`invalid filter: ${raw}`);
  const out: Filters = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object')
      out[k] = Object.entries(v as Record<string, unknown>)
        .filter(([, on]) => on)
        .map(([s]) => s);
    else throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  return out;
}

/** Reject filter keys a route does not know, in Docker's words. */
export function checkFilterKeys(f: Filters, allowed: string[]): void {
  for (const k of Object.keys(f)) {
    if (!allowed.includes(k)) throw new InvalidArgumentError(`Invalid filter '${k}'`); // dockerd 20.10's words
  }
}

/** Encode `key=value` strings (CLI side) into the API's JSON form. */
export function encodeFilters(pairs: string[]): string {
  const out: Record<string, Record<string, boolean>> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`bad format of filter (expected name=value)`);
    const k = p.slice(0, eq).trim().toLowerCase();
    (out[k] ??= {})[p.slice(eq + 1)] = true;
  }
  return JSON.stringify(out);
}

/** Does `labels` satisfy every `label=k` / `label=k=v` filter value? */
export function matchLabels(labels: Record<string, string> | null | undefined, values: string[] | undefined): boolean {
  if (!values || values.length === 0) return true;
  const l = labels ?? {};
  return values.every((v) => {
    const eq = v.indexOf('=');
    return eq === -1 ? v in l : l[v.slice(0, eq)] === v.slice(eq + 1);
  });
}
