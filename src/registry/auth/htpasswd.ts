/**
 * Users from an Apache htpasswd file with bcrypt hashes (`htpasswd -B`), the
 * only kind Distribution accepts. bcrypt is slow by design and Docker sends
 * Basic credentials on every request, so a verified password is remembered
 * (as a salted hash of user and password, never the password) for a few
 * minutes or until the file changes, and the comparisons themselves run on
 * worker threads (bcrypt-pool.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { bcryptCompare } from './bcrypt-pool.js';

/** How long a verified password is taken on trust; a changed file ends it sooner. */
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;

export class Htpasswd {
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  /** Salted hash of user and password → when the trust ends. */
  private verified = new Map<string, number>();
  /** Comparisons under way, so parallel requests with the same credentials (a push) share one. */
  private inflight = new Map<string, Promise<boolean>>();
  private readonly salt = randomBytes(16);

  constructor(readonly path: string) {
    this.reload();
  }

  /** Re-read the file when it changed (checked at most once a second). */
  private reload(): void {
    const now = Date.now();
    if (now - this.checkedAt < 1000 && this.mtimeMs >= 0) return;
    this.checkedAt = now;
    const st = statSync(this.path);
    if (st.mtimeMs === this.mtimeMs) return;
    this.mtimeMs = st.mtimeMs;
    this.users = parseHtpasswd(readFileSync(this.path, 'utf8'));
    this.verified.clear();
  }

  has(user: string): boolean {
    this.reload();
    return this.users.has(user);
  }

  private key(user: string, password: string): string {
    return createHash('sha256').update(this.salt).update(user).update('\0').update(password).digest('hex');
  }

  /** Were these credentials verified a short while ago (and the file has not changed since)? */
  remembered(user: string, password: string, now = Date.now()): boolean {
    this.reload();
    const k = this.key(user, password);
    const until = this.verified.get(k);
    if (until === undefined) return false;
    if (until > now) return true;
    this.verified.delete(k);
    return false;
  }

  /**
   * The verdict on these credentials if it needs no new bcrypt work: true
   * when remembered, the comparison already under way for the same ones, else
   * undefined.
   */
  settled(user: string, password: string): boolean | Promise<boolean> | undefined {
    if (this.remembered(user, password)) return true;
    return this.inflight.get(this.key(user, password));
  }

  /** Check a password; the bcrypt work runs off the event loop. */
  async verify(user: string, password: string): Promise<boolean> {
    const known = this.settled(user, password);
    if (known !== undefined) return known;
    const k = this.key(user, password);
    let p = this.inflight.get(k);
    if (!p) {
      const hash = this.users.get(user);
      const mtime = this.mtimeMs;
      // An unknown user costs the same comparison as a known one, so names cannot be probed by timing.
      p = bcryptCompare(password, hash ?? '$2y$10$abcdefghijklmnopqrstuu2Cwz8bKxsCNvB.0xQ8GeGhAIXe0ygWC')
        .then((ok) => ok && hash !== undefined)
        .then((ok) => {
          if (ok && this.mtimeMs === mtime) this.remember(k);
          return ok;
        })
        .finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return p;
  }

  private remember(k: string): void {
    if (this.verified.size >= VERIFIED_MAX) {
      const now = Date.now();
      for (const [key, until] of this.verified) if (until <= now) this.verified.delete(key);
      if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(k, Date.now() + VERIFIED_TTL_MS);
  }
}

/** `user:hash` lines; blank lines and comments skipped; entries that are not bcrypt are ignored. */
export function parseHtpasswd(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const hash = line.slice(i + 1);
    if (!/^\$2[abxy]?\$\d\d\$/.test(hash)) continue;
    out.set(line.slice(0, i), hash);
  }
  return out;
}
