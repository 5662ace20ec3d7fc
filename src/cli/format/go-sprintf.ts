/** fmt.Sprintf for templates' printf: flags, width, precision and the verbs people use, with Go's %!verb(...) errors. */
import { formatValue, goTypeName, isInt, isStructLike, sortedKeys } from './gofmt.js';
import { formatFloat } from './go-float.js';
import { goQuote, quoteRune } from './go-quote.js';

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
