/**
 * Checked readers for the config file's feature sections (proxy, replication,
 * retention, quotas, notifications): each throws an Error naming the key, which
 * config.ts turns into a ConfigError. Durations are Go's (`168h`, `90s`) or a
 * number of seconds; sizes are docker's (`10mb`, `1g`) or a number of bytes.
 */
import { parseGoDuration } from '../core/go-time.js';
import { ramInBytes } from '../core/byte-sizes.js';

export type Obj = Record<string, unknown>;

export function obj(v: unknown, what: string): Obj {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be an object`);
  return v as Obj;
}

export function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what} must be a list`);
  return v;
}

export function onlyKeys(o: Obj, keys: string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${what}: unknown key "${k}"`);
}

export function optStr(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`${what} must be a string`);
  return v;
}

export function reqStr(v: unknown, what: string): string {
  const s = optStr(v, what);
  if (!s) throw new Error(`${what} is required`);
  return s;
}

export function optNum(v: unknown, what: string, min = 0): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${what} must be a number of at least ${min}`);
  return v;
}

export function optBool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new Error(`${what} must be true or false`);
  return v;
}

/** A duration in milliseconds. */
export function optDuration(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    let ns: bigint;
    try {
      ns = parseGoDuration(v);
    } catch {
      throw new Error(`${what}: invalid duration "${v}" (e.g. 30s, 15m, 168h)`);
    }
    if (ns < 0n) throw new Error(`${what} must not be negative`);
    return Number(ns / 1_000_000n);
  }
  throw new Error(`${what} must be a duration such as "168h" or a number of seconds`);
}

/** A size in bytes. */
export function optSize(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  if (typeof v === 'string') {
    try {
      return ramInBytes(v);
    } catch {
      throw new Error(`${what}: invalid size "${v}" (e.g. 500mb, 2g)`);
    }
  }
  throw new Error(`${what} must be a size such as "500mb" or a number of bytes`);
}

/** A repository pattern: `*` within a path component, `**` across, `?` one character. */
export function repoPattern(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
