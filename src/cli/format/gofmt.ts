/**
 * Go-compatible value printing for the template engine and the size helpers:
 * fmt's %v (Sprint/Sprintln), a Sprintf subset, strconv-style float formatting
 * (exact, round-half-even on the binary value as Go does), strconv.Quote and
 * encoding/json output. JS values map onto Go's dynamic types as follows:
 * string → string, integer number/bigint → int, other number → float64,
 * boolean → bool, array → []interface {}, object → map[string]interface {},
 * null → nil, undefined → an invalid value ("<no value>").
 */

/** Go type name of a JS value, as fmt and text/template print it in messages. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'bigint':
      return 'int';
    case 'number':
      return isInt(v) ? 'int' : 'float64';
    case 'function':
      return 'func()';
  }
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Whether a value stands for a Go int (integral and within int64; larger ones are float64). */
export function isInt(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63);
}

const intText = (v: number | bigint): string => (typeof v === 'bigint' ? v.toString() : BigInt(v).toString());

/**
 * Whether an object stands for a Go struct rather than a map. JSON can't say, so guess as
 * the docker API's shapes suggest: struct fields are identifiers and (nearly always) some
 * start with a capital; map keys (labels, networks, ports, volumes) rarely look like that.
 * Structs keep their field order in JSON and print as {v1 v2}; maps sort and print map[k:v].
 */
export function isStructLike(o: object): boolean {
  const keys = Object.keys(o);
  return keys.length > 0 && keys.some((k) => /^[A-Z]/.test(k)) && keys.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
}

/** Keys of a JS object in the order Go's fmt/text/template sort map keys (bytewise). */
export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort(byteCompare);
}

export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  // Plain UTF-16 comparison equals UTF-8 byte order except around surrogates.
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// ---------------------------------------------------------------- floats

interface Digits {
  d: string;
  dp: number;
} // value = 0.d × 10^dp, d without trailing zeros ('' for zero)

function trimZeros(d: string): string {
  let n = d.length;
  while (n > 0 && d[n - 1] === '0') n--;
  return d.slice(0, n);
}

/** Shortest digits that round-trip (same as Go's shortest formatting). x ≥ 0, finite. */
function shortestDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const [mant, exp] = x.toExponential().split('e');
  return { d: trimZeros(mant.replace('.', '')), dp: Number(exp) + 1 };
}

/** x = m × 2^e exactly. */
function decompose(x: number): [bigint, number] {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e === 0) return [m, -1074];
  m |= 1n << 52n;
  return [m, e - 1075];
}

/** round(x × 10^k) to an integer, ties to even, computed exactly. x ≥ 0, finite. */
function roundScaled(x: number, k: number): bigint {
  const [m, e2] = decompose(x);
  let num = m;
  let den = 1n;
  if (e2 >= 0) num <<= BigInt(e2);
  else den <<= BigInt(-e2);
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  const q = num / den;
  const twice = 2n * (num - q * den);
  return twice > den || (twice === den && (q & 1n) === 1n) ? q + 1n : q;
}

/** n significant digits (n ≥ 1), rounded half-even on the exact value. */
function precDigits(x: number, n: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  let e = Math.floor(Math.log10(x));
  for (let tries = 0; tries < 4; tries++) {
    const q = roundScaled(x, n - 1 - e).toString();
    if (q.length > n) {
      if (q === '1' + '0'.repeat(n)) return { d: '1', dp: e + 2 };
      e++;
      continue;
    }
    if (q.length < n) {
      e--;
      continue;
    }
    return { d: trimZeros(q), dp: e + 1 };
  }
  const s = shortestDigits(x); // unreachable in practice
  return s;
}

/** Digits of x rounded to `frac` decimals. */
function fixedDigits(x: number, frac: number): Digits {
  const q = roundScaled(x, frac).toString();
  if (q === '0') return { d: '', dp: 0 };
  return { d: trimZeros(q), dp: q.length - frac };
}

function fmtE(g: Digits, prec: number, e = 'e'): string {
  const d = g.d || '0';
  let s = d[0];
  if (prec > 0) s += '.' + d.slice(1, prec + 1).padEnd(prec, '0');
  const exp = g.d ? g.dp - 1 : 0;
  const ae = Math.abs(exp);
  return s + e + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
}

function fmtF(g: Digits, prec: number): string {
  let s = g.dp > 0 ? g.d.slice(0, g.dp).padEnd(g.dp, '0') : '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = g.dp + i - 1;
      s += j >= 0 && j < g.d.length ? g.d[j] : '0';
    }
  }
  return s;
}

/**
 * strconv.FormatFloat(x, fmt, prec, 64) for fmt in e, E, f, F, g, G (prec -1 = shortest).
 * Returns the text without sign handling for NaN/Inf beyond Go's "+Inf"/"-Inf"/"NaN".
 */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const shortest = prec < 0;
  let out: string;
  switch (fmt) {
    case 'e':
    case 'E': {
      const g = shortest ? shortestDigits(a) : precDigits(a, prec + 1);
      out = fmtE(g, shortest ? Math.max(g.d.length - 1, 0) : prec, fmt);
      break;
    }
    case 'f':
    case 'F': {
      if (shortest) {
        const g = shortestDigits(a);
        out = fmtF(g, Math.max(g.d.length - g.dp, 0));
      } else out = fmtF(fixedDigits(a, prec), prec);
      break;
    }
    default: {
      // g, G
      let p = prec;
      if (p === 0) p = 1;
      const g = shortest ? shortestDigits(a) : precDigits(a, p);
      const nd = g.d.length;
      if (shortest) p = nd;
      let eprec = p;
      if (eprec > nd && nd >= g.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = g.dp - 1;
      if (g.d && (exp < -4 || exp >= eprec)) {
        out = fmtE(g, Math.max(Math.min(p, nd) - 1, 0), fmt === 'G' ? 'E' : 'e');
      } else {
        if (p > g.dp) p = nd;
        out = fmtF(g, Math.max(p - g.dp, 0));
      }
    }
  }
  return neg ? '-' + out : out;
}

// ---------------------------------------------------------------- %v

/** A number as Go's %v prints it: integers plainly, other floats like %g shortest. */
export function formatNumber(n: number | bigint): string {
  if (isInt(n)) return intText(n);
  return formatFloat(n, 'g', -1);
}

/** fmt's %v of a value (top-level undefined is handled by the caller). */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
    case 'bigint':
      return formatNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'function':
      return '0x0';
  }
  if (Array.isArray(v)) return '[' + v.map(formatValue).join(' ') + ']';
  if (v instanceof Date) return formatValue(v.toISOString());
  const o = v as Record<string, unknown>;
  if (isStructLike(o))
    return (
      '{' +
      Object.keys(o)
        .map((k) => formatValue(o[k]))
        .join(' ') +
      '}'
    );
  return (
    'map[' +
    sortedKeys(o)
      .map((k) => k + ':' + formatValue(o[k]))
      .join(' ') +
    ']'
  );
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatValue(a);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: always spaces, plus a trailing newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

// ---------------------------------------------------------------- quoting

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote (or QuoteToASCII). */
export function goQuote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += quoteRune(ch, '"', asciiOnly);
  return out + '"';
}

function quoteRune(ch: string, q: string, asciiOnly: boolean): string {
  const cp = ch.codePointAt(0)!;
  if (ch === q || ch === '\\') return '\\' + ch;
  if (cp >= 0xd800 && cp <= 0xdfff) return asciiOnly ? '\\ufffd' : '\ufffd';
  if (asciiOnly ? cp >= 0x20 && cp < 0x7f : PRINTABLE.test(ch)) return ch;
  switch (ch) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
  }
  const hex = cp.toString(16);
  if (cp < 0x20 || cp === 0x7f) return '\\x' + hex.padStart(2, '0');
  if (cp < 0x10000) return '\\u' + hex.padStart(4, '0');
  return '\\U' + hex.padStart(8, '0');
}

// ---------------------------------------------------------------- Sprintf

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number;
  prec: number;
}

function pad(s: string, sp: Spec, numeric: boolean): string {
  const len = [...s].length;
  if (sp.width <= len) return s;
  const n = sp.width - len;
  if (sp.minus) return s + ' '.repeat(n);
  if (sp.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(n) + s.slice(sign.length);
  }
  return ' '.repeat(n) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function signed(s: string, neg: boolean, sp: Spec): string {
  if (neg) return '-' + s;
  if (sp.plus) return '+' + s;
  if (sp.space) return ' ' + s;
  return s;
}

function fmtInt(v: number | bigint, verb: string, sp: Spec): string | undefined {
  const b = typeof v === 'bigint' ? v : BigInt(v);
  const neg = b < 0n;
  const a = neg ? -b : b;
  let s: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      s = a.toString();
      break;
    case 'b':
      s = a.toString(2);
      break;
    case 'o':
      s = a.toString(8);
      if (sp.sharp) prefix = '0';
      break;
    case 'O':
      s = a.toString(8);
      prefix = '0o';
      break;
    case 'x':
      s = a.toString(16);
      if (sp.sharp) prefix = '0x';
      break;
    case 'X':
      s = a.toString(16).toUpperCase();
      if (sp.sharp) prefix = '0X';
      break;
    case 'c':
      return pad(String.fromCodePoint(Number(b)), sp, false);
    case 'q':
      return pad("'" + quoteRune(String.fromCodePoint(Number(b)), "'", sp.plus) + "'", sp, false);
    case 'U':
      return pad('U+' + a.toString(16).toUpperCase().padStart(4, '0'), sp, false);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return fmtFloatVerb(Number(v), verb, sp);
    default:
      return undefined;
  }
  if (sp.prec >= 0) s = sp.prec === 0 && a === 0n ? '' : s.padStart(sp.prec, '0');
  if (prefix === '0' && s.startsWith('0')) prefix = '';
  return pad(signed(prefix + s, neg, sp), sp, sp.prec < 0);
}

function fmtFloatVerb(x: number, verb: string, sp: Spec): string | undefined {
  let s: string;
  switch (verb) {
    case 'v':
      s = formatFloat(x, 'g', sp.prec);
      break;
    case 'g':
    case 'G':
      s = formatFloat(x, verb, sp.prec);
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      s = formatFloat(x, verb, sp.prec < 0 ? 6 : sp.prec);
      break;
    default:
      return undefined;
  }
  if (s === 'NaN' || s.endsWith('Inf')) {
    const neg = s.startsWith('-');
    const t = s.replace(/^[+-]/, '');
    return pad(signed(t, neg, sp), { ...sp, zero: false }, false);
  }
  const neg = s.startsWith('-');
  return pad(signed(neg ? s.slice(1) : s, neg, sp), sp, true);
}

function hexString(s: string, upper: boolean, sp: Spec): string {
  const bytes = [...Buffer.from(s, 'utf8')].map((b) => b.toString(16).padStart(2, '0'));
  let out = sp.space ? bytes.map((b) => (sp.sharp ? '0x' + b : b)).join(' ') : (sp.sharp && bytes.length ? '0x' : '') + bytes.join('');
  if (upper) out = out.toUpperCase();
  return out;
}

function fmtOne(v: unknown, verb: string, sp: Spec): string {
  if (verb === 'T') return pad(goTypeName(v), sp, false);
  if (v === null || v === undefined) return verb === 'v' ? pad('<nil>', sp, false) : badVerb(verb, v);
  if (typeof v === 'string') {
    let s = v;
    switch (verb) {
      case 'v':
      case 's':
        if (sp.prec >= 0) s = [...s].slice(0, sp.prec).join('');
        return pad(s, sp, false);
      case 'q':
        if (sp.prec >= 0) s = [...s].slice(0, sp.prec).join('');
        if (sp.sharp && !/[`\x00-\x08\x0a-\x1f\x7f]/.test(s)) return pad('`' + s + '`', sp, false);
        return pad(goQuote(s, sp.plus), sp, false);
      case 'x':
      case 'X':
        return pad(hexString(s, verb === 'X', sp), sp, false);
    }
    return badVerb(verb, v);
  }
  if (typeof v === 'boolean') return verb === 'v' || verb === 't' ? pad(String(v), sp, false) : badVerb(verb, v);
  if (isInt(v)) return fmtInt(v, verb, sp) ?? badVerb(verb, v);
  if (typeof v === 'number') return fmtFloatVerb(v, verb, sp) ?? badVerb(verb, v);
  if (Array.isArray(v)) return '[' + v.map((e) => fmtOne(e, verb, sp)).join(' ') + ']';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isStructLike(o))
      return (
        '{' +
        Object.keys(o)
          .map((k) => (sp.plus ? k + ':' : '') + fmtOne(o[k], verb, sp))
          .join(' ') +
        '}'
      );
    return (
      'map[' +
      sortedKeys(o)
        .map((k) => fmtOne(k, verb, sp) + ':' + fmtOne(o[k], verb, sp))
        .join(' ') +
      ']'
    );
  }
  return badVerb(verb, v);
}

/** fmt.Sprintf for the verbs people use in templates (no explicit argument indexes). */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const n = format.length;
  let i = 0;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const sp: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, width: -1, prec: -1 };
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '-':
          sp.minus = true;
          sp.zero = false;
          break;
        case '+':
          sp.plus = true;
          break;
        case '#':
          sp.sharp = true;
          break;
        case ' ':
          sp.space = true;
          break;
        case '0':
          sp.zero = !sp.minus;
          break;
        default:
          break flags;
      }
    }
    let badWidth = false;
    let badPrec = false;
    if (format[i] === '*') {
      i++;
      const a = args[argi++];
      if (isInt(a) && Math.abs(Number(a)) < 1e6) {
        sp.width = Number(a);
        if (sp.width < 0) {
          sp.minus = true;
          sp.zero = false;
          sp.width = -sp.width;
        }
      } else badWidth = true;
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        sp.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const a = args[argi++];
        if (isInt(a) && Number(a) >= 0 && Number(a) < 1e6) sp.prec = Number(a);
        else badPrec = true;
      } else {
        const m = /^\d+/.exec(format.slice(i));
        sp.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (badWidth) out += '%!(BADWIDTH)';
    if (badPrec) out += '%!(BADPREC)';
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += fmtOne(args[argi++], verb, sp);
  }
  if (argi < args.length) {
    out +=
      '%!(EXTRA ' +
      args
        .slice(argi)
        .map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`))
        .join(', ') +
      ')';
  }
  return out;
}

// ---------------------------------------------------------------- JSON

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
