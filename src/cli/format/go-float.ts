/**
 * strconv.FormatFloat for the template engine and the size helpers: exact digits,
 * round-half-even on the binary value as Go does. Apart from gofmt.ts because it is
 * pure number formatting that units.ts and stats.ts use without the rest of fmt.
 */

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
