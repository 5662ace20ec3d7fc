/**
 * The one-time setup link: with no htpasswd file and no user yet, berthd's
 * log gets `…/setup?token=…` (32 random bytes), good once and for one hour,
 * where the first user chooses a name and password.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export class SetupToken {
  private token: string | undefined;
  private expires = 0;

  issue(ttlMs = 3600_000): string {
    this.token = randomBytes(32).toString('base64url');
    this.expires = Date.now() + ttlMs;
    return this.token;
  }

  /** Whether `t` is the live token; `consume` spends it. */
  check(t: string | undefined, consume = false): boolean {
    if (!this.token || !t || Date.now() > this.expires) return false;
    const a = Buffer.from(this.token);
    const b = Buffer.from(t);
    const ok = a.length === b.length && timingSafeEqual(a, b);
    if (ok && consume) this.token = undefined;
    return ok;
  }
}
