import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
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

/**
 * A pass-through that hashes what flows by. `digest` settles when the stream
 * ends; it rejects when `expected` is given and differs, which makes the
 * snapshotter throw its temp dir away.
 */
export function hashingTap(expected?: Digest, what = 'layer'): { tap: Transform; digest: Promise<Digest> } {
  const h = newHasher();
  let settle!: (d: Digest) => void;
  let fail!: (e: Error) => void;
  const digest = new Promise<Digest>((res, rej) => {
    settle = res;
    fail = rej;
  });
  digest.catch(() => {}); // observed by the snapshotter; avoid unhandled rejections on early errors
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const d = 'sha256:' + h.digest('hex');
      if (expected && d !== expected) fail(new InvalidArgumentError(`invalid diffID for ${what}: expected ${expected}, got ${d}`));
      else settle(d);
      cb();
    },
  });
  tap.on('error', (e) => fail(e));
  return { tap, digest };
}
