/**
 * Sign-in attempts per client address: at most `max` failures in a window;
 * past that, further attempts are refused (429) until the window rolls on.
 * Bounded: the table forgets the oldest addresses past `maxAddresses`.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max = 10,
    private readonly windowMs = 5 * 60_000,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Seconds until this address may try again, or 0. */
  retryAfter(addr: string): number {
    const now = Date.now();
    const list = (this.failures.get(addr) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(addr, list);
    else this.failures.delete(addr);
    if (list.length < this.max) return 0;
    return Math.ceil((list[0]! + this.windowMs - now) / 1000);
  }

  fail(addr: string): void {
    const list = this.failures.get(addr) ?? [];
    list.push(Date.now());
    this.failures.delete(addr);
    this.failures.set(addr, list);
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(addr: string): void {
    this.failures.delete(addr);
  }
}
