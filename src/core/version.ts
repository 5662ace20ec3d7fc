/** Berth's own version and the Engine API versions it speaks. */
export const BERTH_VERSION = '0.1.0';
/** Newest Engine API version served; the current docker CLI negotiates down to it silently. */
export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

/** Compare dotted API versions: negative when a < b. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
