/**
 * A container's capabilities from --cap-add, --cap-drop and --privileged, with
 * Docker's names, default set and precedence.
 */
import { InvalidArgumentError } from '../../../core/errors.js';
import { KNOWN_CAPS, allCaps } from '../../../runtime/spec/capabilities.js';

/** Docker's default set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPS: string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** --cap-add/--cap-drop checked at create, refused in dockerd's words ("invalid CapAdd: unknown capability: …"). */
export function checkCaps(add: string[] | null | undefined, drop: string[] | null | undefined): void {
  for (const [field, caps] of [
    ['CapAdd', add],
    ['CapDrop', drop],
  ] as const) {
    try {
      normalizeCaps(caps ?? []);
    } catch (e) {
      throw new InvalidArgumentError(`invalid ${field}: ${(e as Error).message}`);
    }
  }
}

/** 'net_admin' → 'CAP_NET_ADMIN'; 'ALL' stays; unknown names are refused like dockerd. */
function normalizeCaps(caps: string[]): string[] {
  return caps.map((c) => {
    let n = c.trim().toUpperCase();
    if (n === 'ALL') return n;
    if (!n.startsWith('CAP_')) n = `CAP_${n}`;
    if (!KNOWN_CAPS.includes(n)) throw new InvalidArgumentError(`unknown capability: "${n}"`);
    return n;
  });
}

/**
 * The process's capability set from --cap-add/--cap-drop/--privileged, with
 * dockerd's precedence: privileged wins; add ALL keeps all but the drops;
 * drop ALL keeps only the adds; otherwise defaults minus drops plus adds.
 */
export function resolveCaps(add: string[] | null | undefined, drop: string[] | null | undefined, privileged: boolean): string[] {
  if (privileged) return [...allCaps()];
  const adds = normalizeCaps(add ?? []);
  const drops = normalizeCaps(drop ?? []);
  let caps: string[];
  if (adds.includes('ALL')) caps = allCaps().filter((c) => !drops.includes(c));
  else if (drops.includes('ALL')) caps = adds;
  else caps = [...DEFAULT_CAPS.filter((c) => !drops.includes(c)), ...adds];
  return [...new Set(caps)];
}
