/**
 * The grammar of the distribution spec: repository names, tags and digests.
 * Digests of sha256 and sha512 are accepted; anything else is refused with
 * DIGEST_INVALID before it reaches storage (digests become file names).
 */
import { createHash, type Hash } from 'node:crypto';
import { isDigest } from '../core/digest.js';
import { RegistryError } from './errors.js';

const NAME_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const ALGS: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

export const MAX_NAME_LENGTH = 255;

export function isName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME_RE.test(s);
}

export function checkName(s: string): string {
  if (s.length > MAX_NAME_LENGTH)
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: s, reason: 'repository name must not be more than 255 characters' });
  if (!NAME_RE.test(s)) throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: s, reason: 'invalid repository name' });
  return s;
}

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

/** A digest we can store: a supported algorithm and an encoding of the right length. */
export function isSupportedDigest(s: string): boolean {
  if (isDigest(s)) return true;
  const i = s.indexOf(':');
  const re = ALGS[s.slice(0, i)];
  return i > 0 && !!re && re.test(s.slice(i + 1));
}

/** Looks like a digest at all (`alg:encoded`), whether or not we support it. */
export function looksLikeDigest(s: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s);
}

export function checkDigest(s: string | null | undefined): string {
  if (!s) throw new RegistryError('DIGEST_INVALID', 'digest missing', null);
  if (!isSupportedDigest(s)) {
    const alg = s.split(':')[0];
    const msg = looksLikeDigest(s) && !(alg in ALGS) ? `unsupported digest algorithm ${alg}` : 'invalid digest';
    throw new RegistryError('DIGEST_INVALID', msg, { digest: s });
  }
  return s;
}

export function algorithmOf(d: string): string {
  return d.slice(0, d.indexOf(':'));
}

export function isSupportedAlgorithm(alg: string): boolean {
  return alg in ALGS;
}

export function hasherFor(alg: string): Hash {
  return createHash(alg);
}

export function digestOf(alg: string, data: Uint8Array | string): string {
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}
