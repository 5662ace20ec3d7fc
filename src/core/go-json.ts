/** JSON as dockerd writes it: Go's encoder puts a map's keys in byte order, whatever order they were set in. */
export function sortedKeys<T>(m: Record<string, T> | null): Record<string, T> | null {
  return m && Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
