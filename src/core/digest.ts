import { createHash, type Hash } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/** A content digest in OCI form: "sha256:<64 hex>". */
export type Digest = string;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** Throws a 400 unless `s` is a sha256 digest; returns it typed. */
export function parseDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new InvalidArgumentError(`invalid digest format: ${JSON.stringify(s)}`);
  return s;
}

export function sha256Digest(data: string | Uint8Array): Digest {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function newHasher(): Hash {
  return createHash('sha256');
}

/** The hex part of a digest. */
export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** Docker's short ID: first 12 hex characters, no algorithm prefix. */
export function shortId(d: string): string {
  return hexOf(d).slice(0, 12);
}

/** OCI chain ID of a layer stack: chain(n) = sha256(chain(n-1) + " " + diffID(n)). */
export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : sha256Digest(`${out[out.length - 1]} ${d}`));
  }
  return out;
}
