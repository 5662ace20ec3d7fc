/**
 * Failed logins per client address, as a token bucket: each password that
 * has to be checked costs a token (returned if it was right), so a client
 * can try a burst of wrong passwords and then one every few seconds. Past
 * that it is refused before any bcrypt work, whatever it sends — even a
 * right password, or the refusal would tell a guesser when it hit.
 *
 * The refusal is 429 TOOMANYREQUESTS with Retry-After in the distribution
 * spec's error shape: Docker's registry client reports it as
 * "toomanyrequests: …" and `docker login` as "failed with status: 429 Too
 * Many Requests", where a 401 would claim the password was wrong.
 */
export interface LockoutOptions {
  /** Wrong passwords a client may send in a row. */
  burst: number;
  /** Seconds after which one more try is allowed. */
  refillSeconds: number;
}

export const DEFAULT_LOCKOUT: LockoutOptions = { burst: 10, refillSeconds: 6 };

export class FailedLogins {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: LockoutOptions = DEFAULT_LOCKOUT) {}

  private bucket(client: string, now: number): { tokens: number; at: number } {
    let b = this.buckets.get(client);
    if (!b) {
      // Full buckets carry no state worth keeping: drop them rather than grow without bound.
      if (this.buckets.size > 10_000) for (const [k, v] of this.buckets) if (this.refill(v, now) >= this.opts.burst) this.buckets.delete(k);
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(client, b);
    }
    b.tokens = this.refill(b, now);
    b.at = now;
    return b;
  }

  private refill(b: { tokens: number; at: number }, now: number): number {
    return Math.min(this.opts.burst, b.tokens + (now - b.at) / 1000 / this.opts.refillSeconds);
  }

  /** Seconds `client` must wait before its next try, or 0; reserves nothing. */
  retryAfter(client: string, now = Date.now()): number {
    const b = this.bucket(client, now);
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) * this.opts.refillSeconds));
  }

  /**
   * Reserve one try for `client`: 0 when it may check a password now (call
   * `succeeded` if it was right), else the seconds to wait.
   */
  attempt(client: string, now = Date.now()): number {
    const wait = this.retryAfter(client, now);
    if (!wait) this.buckets.get(client)!.tokens -= 1;
    return wait;
  }

  /** The reserved try was a right password: give it back. */
  succeeded(client: string, now = Date.now()): void {
    const b = this.bucket(client, now);
    b.tokens = Math.min(this.opts.burst, b.tokens + 1);
  }
}
