/**
 * Byte counts as Docker's progress bars print them, shared by the daemon's
 * `progress` strings (engine/distribution) and the CLI's own bars (cli/format),
 * which must read alike.
 */

/** Docker's HumanSize: decimal units (kB, MB, …), four significant digits, trailing zeros dropped. */
export function progressSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}
