/**
 * docker/go-units behaviour: human-readable sizes and durations, and size parsing.
 * Numbers are formatted with Go's %g rules (see go-float.ts), so e.g. 999.9 kB at three
 * digits prints "1e+03kB" exactly as docker does.
 */
import { formatFloat } from './go-float.js';

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
