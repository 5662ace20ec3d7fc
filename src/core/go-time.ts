/**
 * Times and durations as Docker's flags, query parameters and filters take them, parsed
 * once for every object: Go's time.ParseDuration (a duration alone, e.g. HEALTHCHECK
 * --interval, build cache `until`), and moby's timetypes.GetTimestamp (a duration ago, a
 * date, or a Unix timestamp: `until` filters, events and logs --since/--until).
 */
import { InvalidArgumentError } from './errors.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.ParseDuration ("1h30m", "1.5s", "-2m", "300ms") in nanoseconds; Go's error words. */
export function parseGoDuration(value: string): bigint {
  const bad = () => new Error(`time: invalid duration "${value}"`);
  let s = value;
  let sign = 1n;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1n;
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw bad();
  let total = 0n;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s) {
    const m = re.exec(s);
    if (!m || (m[1] === '' && !m[2])) throw bad();
    const unit = UNIT_NS[m[3]];
    const frac = m[2] ?? '';
    const scale = 10n ** BigInt(frac.length);
    total += BigInt(m[1] || '0') * unit + (BigInt(frac || '0') * unit) / scale;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Days in a month (1-12) of a year, leap years counted. */
export function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * moby's timetypes.GetTimestamp then ParseTimestamps, in ns since the epoch: a Go duration
 * (before `now`, in whole seconds as Docker sends it), an RFC3339-like date (`2006-01-02`,
 * `2006-01-02T15`, `…T15:04`, `…T15:04:05[.nanos]`, each with an optional `Z`/`±07:00`;
 * without a zone it means `now`'s local zone), or a Unix timestamp `seconds[.nanos]`.
 */
export function parseTimestampOrDuration(value: string, now: Date): bigint {
  if (value !== '0') {
    let d: bigint | undefined;
    try {
      d = parseGoDuration(value);
    } catch {
      /* not a duration */
    }
    if (d !== undefined) {
      const t = BigInt(now.getTime()) * 1_000_000n - d;
      // Docker sends `now - d` truncated to whole seconds.
      return t - (((t % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
    }
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?([Zz]|[+-]\d{2}:\d{2})?$/.exec(value);
  if (m) {
    const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number);
    if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || se > 59) {
      throw new Error(`parsing time "${value}": value out of range`);
    }
    let offsetMin: number;
    if (m[8] === undefined) {
      // No zone: local time, using the offset in force at `now` as Docker does.
      offsetMin = -now.getTimezoneOffset();
    } else if (m[8] === 'Z' || m[8] === 'z') {
      offsetMin = 0;
    } else {
      const sign = m[8][0] === '-' ? -1 : 1;
      offsetMin = sign * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4, 6)));
    }
    const sec = BigInt(Date.UTC(y, mo - 1, d, h, mi, se) / 1000 - offsetMin * 60);
    return sec * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  }
  // A '-' means it was meant as a date, just a malformed one.
  if (value.includes('-') && !/^-\d+(\.\d*)?$/.test(value)) {
    throw new Error(`parsing time "${value}": cannot parse as RFC3339 timestamp`);
  }
  const u = /^(-?\d+)(?:\.(\d*))?$/.exec(value);
  if (!u) throw new Error(`failed to parse value as time or duration: "${value}"`);
  return BigInt(u[1]) * 1_000_000_000n + BigInt((u[2] ?? '').slice(0, 9).padEnd(9, '0'));
}

/** A prune or list `until` filter value (see parseTimestampOrDuration) as Unix seconds, now being the clock's. */
export function untilSeconds(value: string): number {
  try {
    return Number(parseTimestampOrDuration(value, new Date())) / 1e9;
  } catch {
    throw new InvalidArgumentError(`invalid filter 'until=${value}'`);
  }
}

/** ns since the epoch as the `seconds.nanoseconds` string dockerd's ParseTimestamps reads. */
export function timestampString(ns: bigint): string {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return `${sec}.${String(ns - sec * 1_000_000_000n).padStart(9, '0')}`;
}
