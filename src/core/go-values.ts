/** Values as dockerd's Go code writes and reads them, which clients see. */

/** Go's zero time.Time as RFC 3339: a container never started or never finished. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's strconv.ParseBool: the spellings it takes, or undefined for anything else. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}
