/**
 * The functions a template can call: Go's builtins (and, or, not, len, index,
 * slice, print*, html, js, urlquery, call, eq/ne/lt/le/gt/ge) and docker's
 * extras from cli/templates (json, split, join, title, lower, upper, pad,
 * truncate), plus docker's header functions for table headings. Each builtin
 * carries its parameter kinds so the executor can check arguments as Go does.
 */
import { byteCompare, formatValue, goTypeName, isInt, sprint, sprintln } from '../gofmt.js';
import { goJson } from '../go-json.js';
import { sprintf } from '../go-sprintf.js';

// biome-ignore lint/suspicious/noExplicitAny: a template calls a function with whatever values it holds; each function checks its own arguments, as Go's reflect call does.
export type TemplateFunc = (...args: any[]) => unknown;

/** An invalid reflect.Value: what a missing map key yields. */
export const MISSING: undefined = undefined;
/** An error raised inside a function body; wrapped as "error calling NAME: …". */
export class FuncError extends Error {}

interface BuiltinSpec {
  /** parameter kinds: s string, i int, a any, S []string; a trailing '*' makes the last one variadic */
  params: string;
  fn: TemplateFunc;
}

export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Date) return true;
  return Object.keys(v as object).length > 0;
}

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';
function basicKind(v: unknown): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (isInt(v)) return 'int';
  if (typeof v === 'number') return 'float';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function eqFn(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let t = false;
    if (k1 === 'invalid' || k2 === 'invalid') {
      t = (a === null || a === undefined) && (b === null || b === undefined);
    } else if (k1 === 'other' || k2 === 'other') {
      if (k1 !== k2) throw new FuncError('incompatible types for comparison');
      throw new FuncError(`non-comparable type ${formatValue(b)}: ${goTypeName(b)}`);
    } else if ((k1 === 'int' || k1 === 'float') && (k2 === 'int' || k2 === 'float')) {
      t = Number(a) === Number(b);
    } else if (k1 !== k2) {
      throw new FuncError('incompatible types for comparison');
    } else {
      t = a === b;
    }
    if (t) return true;
  }
  return false;
}

function ltFn(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'other' || k1 === 'invalid' || k2 === 'other' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  const n1 = k1 === 'int' || k1 === 'float';
  const n2 = k2 === 'int' || k2 === 'float';
  if (k1 !== k2 && !(n1 && n2)) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (n1) return Number(a) < Number(b);
  return byteCompare(a as string, b as string) < 0;
}

function lenFn(v: unknown): number {
  if (v === null || v === undefined) throw new FuncError('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && !(v instanceof Date)) return Object.keys(v).length;
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

function indexArg(idx: unknown, cap: number): number {
  if (idx === null || idx === undefined) throw new FuncError('cannot index slice/array with nil');
  if (!isInt(idx)) throw new FuncError(`cannot index slice/array with type ${goTypeName(idx)}`);
  const x = Number(idx);
  if (x < 0 || x >= cap) throw new FuncError(`index out of range: ${x}`);
  return x;
}

function indexFn(item: unknown, ...indexes: unknown[]): unknown {
  let v = item;
  if (v === undefined) throw new FuncError('index of untyped nil');
  for (const idx of indexes) {
    if (v === null) {
      // a nil map yields the zero value; a nil slice is out of range
      if (typeof idx === 'string') {
        v = '';
        continue;
      }
      throw new FuncError('index of nil pointer');
    }
    if (Array.isArray(v)) {
      v = v[indexArg(idx, v.length)];
      continue;
    }
    if (typeof v === 'string') {
      v = Buffer.from(v, 'utf8')[indexArg(idx, Buffer.byteLength(v, 'utf8'))];
      continue;
    }
    if (typeof v === 'object' && !(v instanceof Date)) {
      if (typeof idx !== 'string') throw new FuncError(`value has type ${goTypeName(idx)}; should be string`);
      const o = v as Record<string, unknown>;
      if (Object.hasOwn(o, idx)) {
        v = o[idx];
        continue;
      }
      // zero value of the element type: "" for string maps (labels), <no value> otherwise
      const vals = Object.values(o);
      v = vals.every((x) => typeof x === 'string') ? '' : MISSING;
      continue;
    }
    throw new FuncError(`can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

function sliceFn(item: unknown, ...indexes: unknown[]): unknown {
  if (item === undefined || item === null) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = Buffer.byteLength(item, 'utf8');
  } else if (Array.isArray(item)) len = item.length;
  else throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  const idx = [0, len];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(x, len + 1);
  });
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (typeof item === 'string') return Buffer.from(item, 'utf8').subarray(idx[0], idx[1]).toString('utf8');
  return item.slice(idx[0], idx[1]);
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

function jsEscape(s: string): string {
  let out = '';
  for (const c of s) {
    switch (c) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '<':
        out += '\\u003C';
        break;
      case '>':
        out += '\\u003E';
        break;
      case '&':
        out += '\\u0026';
        break;
      case '=':
        out += '\\u003D';
        break;
      default: {
        const cp = c.codePointAt(0)!;
        if (cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
        else out += c;
      }
    }
  }
  return out;
}

function urlQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

// docker's template helpers (cli/templates): Go semantics, byte-based where Go is.
const upperRune = (c: string) => {
  const u = c.toUpperCase();
  return [...u].length === 1 ? u : c;
};
const lowerRune = (c: string) => {
  const u = c.toLowerCase();
  return [...u].length === 1 ? u : c;
};
function titleCase(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    out += isSeparator(prev) ? upperRune(c) : c;
    prev = c;
  }
  return out;
}
function isSeparator(c: string): boolean {
  const cp = c.codePointAt(0)!;
  if (cp <= 0x7f) return !/[0-9A-Za-z_]/.test(c);
  if (/[\p{L}\p{Nd}]/u.test(c)) return false;
  return /\s/u.test(c);
}
function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}
function truncateBytes(s: string, n: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length < n) return s;
  return b.subarray(0, Math.max(0, n)).toString('utf8');
}

export const BUILTINS: Record<string, BuiltinSpec> = {
  and: { params: 'aa*', fn: () => undefined }, // evaluated lazily
  or: { params: 'aa*', fn: () => undefined },
  not: { params: 'a', fn: (v: unknown) => !truth(v) },
  len: { params: 'a', fn: lenFn },
  index: { params: 'aa*', fn: indexFn },
  slice: { params: 'aa*', fn: sliceFn },
  print: { params: 'a*', fn: (...a: unknown[]) => sprint(a) },
  printf: { params: 'sa*', fn: (f: string, ...a: unknown[]) => sprintf(f, a) },
  println: { params: 'a*', fn: (...a: unknown[]) => sprintln(a) },
  html: { params: 'a*', fn: (...a: unknown[]) => htmlEscape(evalArgsString(a)) },
  js: { params: 'a*', fn: (...a: unknown[]) => jsEscape(evalArgsString(a)) },
  urlquery: { params: 'a*', fn: (...a: unknown[]) => urlQueryEscape(evalArgsString(a)) },
  call: {
    params: 'aa*',
    fn: (f: unknown, ...a: unknown[]) => {
      if (typeof f !== 'function') throw new FuncError(`non-function of type ${goTypeName(f)}`);
      return f(...a);
    },
  },
  eq: { params: 'aa*', fn: eqFn },
  ne: { params: 'aa', fn: (a: unknown, b: unknown) => !eqFn(a, b) },
  lt: { params: 'aa', fn: ltFn },
  le: { params: 'aa', fn: (a: unknown, b: unknown) => ltFn(a, b) || eqFn(a, b) },
  gt: { params: 'aa', fn: (a: unknown, b: unknown) => !(ltFn(a, b) || eqFn(a, b)) },
  ge: { params: 'aa', fn: (a: unknown, b: unknown) => !ltFn(a, b) },
  // docker
  json: { params: 'a', fn: (v: unknown) => goJson(v) },
  split: { params: 'ss', fn: goSplit },
  join: { params: 'Ss', fn: (a: string[], sep: string) => a.join(sep) },
  title: { params: 's', fn: titleCase },
  lower: { params: 's', fn: (s: string) => [...s].map(lowerRune).join('') },
  upper: { params: 's', fn: (s: string) => [...s].map(upperRune).join('') },
  pad: { params: 'sii', fn: (s: string, pre: number, suf: number) => (s === '' ? s : ' '.repeat(Math.max(0, pre)) + s + ' '.repeat(Math.max(0, suf))) },
  truncate: { params: 'si', fn: truncateBytes },
};

/** docker's HeaderFunctions: for the table header, these return their (string) argument unchanged. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  json: (v: string) => v,
  split: (v: string, _sep: string) => v,
  join: (v: string, _sep: string) => v,
  title: (v: string) => v,
  lower: (v: string) => v,
  upper: (v: string) => v,
  truncate: (v: string, _n: number) => v,
};
export const HEADER_PARAMS: Record<string, string> = { json: 's', split: 'ss', join: 'ss', title: 's', lower: 's', upper: 's', truncate: 'si' };
