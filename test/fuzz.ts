/**
 * Pieces of the hostile-client fuzzers (api-fuzz.test.ts): a seeded PRNG, so
 * a failing run replays from its seed, mutation of valid requests, and a raw
 * socket sender that gives back only the status line — a request may be any
 * bytes at all, which no HTTP client library will send.
 */
import { connect, type Socket } from 'node:net';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Path segments a hostile client sends: escapes good and bad, traversal, huge, empty, control bytes. */
export const HOSTILE_SEGMENTS = [
  '%ff',
  '%zz',
  '%',
  '%2',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '.',
  '',
  '%c3%28',
  '%e2%82',
  'a%20b',
  'x'.repeat(5000),
  '\u00e9',
  '*',
  '{id}',
  '$(id)',
  ';',
  "'",
  '"',
  '<script>',
  '%25',
  '%%',
  'con%0d%0aX-Injected:%201',
];

/** Values of every JSON type, including the ones Go's decoder refuses for a typed field. */
export const HOSTILE_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e20,
  // biome-ignore lint/correctness/noPrecisionLoss: the int64 upper edge just past its range, as a client would write it (float64 holds it as 2^63).
  9223372036854775808,
  // biome-ignore lint/correctness/noPrecisionLoss: the int64 lower edge just past its range, as a client would write it (float64 holds it as -2^63).
  -9223372036854775809,
  2 ** 53,
  '',
  'str',
  'x'.repeat(5000),
  true,
  false,
  [],
  [null],
  [1],
  ['a'],
  [[]],
  {},
  { a: 1 },
  { '': null },
  '\u0000',
  '../../etc/passwd',
  '/',
  'abc/xyz',
  -0,
  65536,
];

/** A valid JSON value with one leaf replaced, a key dropped or added, or the whole thing rewrapped. */
export function mutateJson(rng: Rng, v: unknown, depth = 0): unknown {
  if (depth > 0 && rng.chance(0.25)) return rng.pick(HOSTILE_VALUES);
  if (Array.isArray(v)) {
    if (v.length === 0 || rng.chance(0.2)) return [...v, rng.pick(HOSTILE_VALUES)];
    const i = rng.int(v.length);
    return v.map((x, j) => (j === i ? mutateJson(rng, x, depth + 1) : x));
  }
  if (v && typeof v === 'object') {
    const o = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    const r = rng.next();
    if (keys.length === 0 || r < 0.15) o[rng.pick(['Bogus', 'image', 'HOSTCONFIG', ...keys])] = rng.pick(HOSTILE_VALUES);
    else if (r < 0.3) delete o[rng.pick(keys)];
    else {
      const k = rng.pick(keys);
      o[k] = mutateJson(rng, o[k], depth + 1);
    }
    return o;
  }
  return rng.pick(HOSTILE_VALUES);
}

export interface RawReply {
  status: number | null;
  head: string;
}

/**
 * Send raw bytes, read until the server closes or `timeoutMs` passes; the
 * status of the first response, or null when none came (a stream that stays
 * open, a request the server still waits on).
 */
export function sendRaw(target: { path: string } | { host: string; port: number }, bytes: Buffer, timeoutMs: number): Promise<RawReply> {
  return new Promise((resolve) => {
    const sock: Socket = connect(target as never);
    let data = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      // The whole answer as read (up to 64 KiB): an error's cause can come after a long echoed name.
      const head = data.subarray(0, 64 * 1024).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : null, head });
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('data', (b: Buffer) => {
      data = Buffer.concat([data, b]);
      // One status line is all the fuzzer needs; a stream may never end.
      if (data.includes('\r\n\r\n') && data.length > 64 * 1024) finish();
    });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.write(bytes, () => {});
  });
}

/** An HTTP/1.1 request as bytes; the body's length is declared honestly unless `contentLength` says otherwise. */
export function rawRequest(method: string, target: string, headers: Record<string, string>, body?: Buffer, contentLength?: string): Buffer {
  const h: Record<string, string> = { Host: 'fuzz', Connection: 'close', ...headers };
  if (body !== undefined || contentLength !== undefined) h['Content-Length'] = contentLength ?? String(body!.length);
  const head =
    `${method} ${target} HTTP/1.1\r\n` +
    Object.entries(h)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body ?? Buffer.alloc(0)]);
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
