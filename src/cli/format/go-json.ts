/** encoding/json output as Go writes it (struct order or sorted map keys, optional HTML escaping): `{{json .}}` and `--format json`. */
import { byteCompare, intText, isStructLike } from './gofmt.js';

export interface JsonOptions {
  /** Escape <, > and & as \u003c, \u003e, \u0026 (json.Marshal's default). */
  escapeHTML?: boolean;
  /** Sort the keys of every object; by default only map-like ones are (see isStructLike). */
  sortKeys?: boolean;
}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = JSON.stringify(s);
  out = out
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
    .replace(/\\ud[89a-f][0-9a-f]{2}/g, '\\ufffd');
  if (escapeHTML) out = out.replace(/[<>&]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16));
  return out;
}

/** encoding/json output (compact, as json.Encoder writes it, without the newline). */
export function goJson(v: unknown, opts: JsonOptions = {}): string {
  const esc = opts.escapeHTML ?? false;
  const enc = (x: unknown): string => {
    if (x === null || x === undefined) return 'null';
    switch (typeof x) {
      case 'string':
        return jsonString(x, esc);
      case 'number':
        return Number.isFinite(x) ? (Number.isInteger(x) && Math.abs(x) < 1e21 ? intText(x) : JSON.stringify(x)) : 'null';
      case 'bigint':
        return x.toString();
      case 'boolean':
        return x ? 'true' : 'false';
      case 'function':
        return 'null';
    }
    const obj = x as { toJSON?: () => unknown };
    if (typeof obj.toJSON === 'function') return enc(obj.toJSON());
    if (Array.isArray(x)) return '[' + x.map(enc).join(',') + ']';
    const o = x as Record<string, unknown>;
    let keys = Object.keys(o).filter((k) => o[k] !== undefined && typeof o[k] !== 'function');
    if (opts.sortKeys || !isStructLike(o)) keys = keys.sort(byteCompare);
    return '{' + keys.map((k) => jsonString(k, esc) + ':' + enc(o[k])).join(',') + '}';
  };
  return enc(v);
}
