/** Cell text the list commands share (ps, images, network ls, volume ls, search, history, system df -v), as docker's formatter writes it. */

/** docker's Ellipsis: cut to `max` code points with "…". */
export function ellipsis(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
}

/** A time as Go prints a UTC time.Time: "2006-01-02 15:04:05 +0000 UTC". */
export function goTimeUTC(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' +0000 UTC');
}

/** Labels as one cell: "k=v,k2=v2" in the object's order. */
export function labelsText(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
