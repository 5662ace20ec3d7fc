/**
 * docker/go-units behaviour: human-readable sizes and durations, and size parsing.
 * Numbers are formatted with Go's %g rules (see gofmt.ts), so e.g. 999.9 kB at three
 * digits prints "1e+03kB" exactly as docker does.
 */
import { formatFloat } from './gofmt.js';

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]];
}

/** go-units HumanSizeWithPrecision: decimal units, `%.*g`. */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  const [s, u] = sizeAndUnit(bytes, 1000, DECIMAL);
  return formatFloat(s, 'g', precision) + u;
}

/**
 * Size as docker's tables print it: HumanSizeWithPrecision(bytes, 3), e.g. 4261052 → "4.26MB".
 * (go-units' own HumanSize uses 4 digits: use humanSize4 for fields docker prints that way.)
 */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 3);
}

/** go-units HumanSize: four significant digits, e.g. 123456789 → "123.5MB". */
export function humanSize4(bytes: number): string {
  return humanSizeWithPrecision(bytes, 4);
}

/** go-units BytesSize: binary units, `%.4g`, e.g. 2097152000 → "1.953GiB" (docker stats). */
export function bytesSize(bytes: number): string {
  const [s, u] = sizeAndUnit(bytes, 1024, BINARY);
  return formatFloat(s, 'g', 4) + u;
}

export { humanDuration } from '../../core/duration.js';
import { humanDuration } from '../../core/duration.js';

/** "N units ago" for a Unix time in seconds, as docker prints CREATED; `now` in ms. */
export function createdSince(unixSeconds: number, now: number = Date.now()): string {
  return humanDuration(now - unixSeconds * 1000) + ' ago';
}

const BINARY_MUL: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DECIMAL_MUL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

function parseSize(str: string, mul: Record<string, number>): number {
  let num: string;
  let sfx: string;
  const sp = str.indexOf(' ');
  if (sp >= 0) {
    num = str.slice(0, sp);
    sfx = str.slice(sp + 1);
  } else {
    let sep = -1;
    for (let i = str.length - 1; i >= 0; i--) if ('0123456789.'.includes(str[i])) { sep = i; break; }
    if (sep < 0) throw new Error(`invalid size: '${str}'`);
    num = str.slice(0, sep + 1);
    sfx = str.slice(sep + 1);
  }
  // strconv.ParseFloat syntax (decimal forms, inf/nan)
  if (!/^[+-]?((\d+(_\d+)*)?\.?\d*([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(num) || !/\d|inf|nan/i.test(num)) {
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  let size = /inf/i.test(num) ? (num.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(num) ? NaN : Number(num.replace(/_/g, ''));
  if (size < 0) throw new Error(`invalid size: '${str}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) throw bad();
    return Math.trunc(size);
  }
  const m = mul[sfx[0]];
  if (m === undefined) throw bad();
  size *= m;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size);
}

/**
 * go-units RAMInBytes: "2g", "512m", "100k", "1.5GB", "64 MiB" → bytes, binary multipliers,
 * case-insensitive, optional b / ib. Throws Error("invalid size: '…'" / "invalid suffix: '…'").
 */
export function parseBytes(str: string): number {
  return parseSize(str, BINARY_MUL);
}

/** go-units FromHumanSize: like parseBytes with decimal multipliers ("1kB" → 1000). */
export function fromHumanSize(str: string): number {
  return parseSize(str, DECIMAL_MUL);
}
