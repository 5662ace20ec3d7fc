/**
 * A gate between writes and a live garbage collection: writes hold it shared
 * (any number at once); a sweep holds it alone, waiting for the writes in
 * flight to end and holding new ones until it is done. Distribution says gc
 * must run with the registry stopped or read-only; this is how a scheduled
 * retention run in `registry serve` gets the same guarantee without refusing
 * pushes (they wait).
 */
export class WriteGate {
  private writers = 0;
  private sweeping?: Promise<void>;
  private drained?: () => void;

  async write<T>(fn: () => Promise<T>): Promise<T> {
    while (this.sweeping) await this.sweeping;
    this.writers++;
    try {
      return await fn();
    } finally {
      if (--this.writers === 0) this.drained?.();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.sweeping) await this.sweeping;
    let done!: () => void;
    this.sweeping = new Promise<void>((r) => (done = r));
    try {
      if (this.writers > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.sweeping = undefined;
      done();
    }
  }
}
