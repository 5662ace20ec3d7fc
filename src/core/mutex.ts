/** An in-process async mutex: serialises read-modify-write of shared state. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** One mutex per key, created on demand and dropped when idle. */
export class KeyedMutex {
  private locks = new Map<string, { m: Mutex; users: number }>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let e = this.locks.get(key);
    if (!e) {
      e = { m: new Mutex(), users: 0 };
      this.locks.set(key, e);
    }
    e.users++;
    try {
      return await e.m.run(fn);
    } finally {
      if (--e.users === 0) this.locks.delete(key);
    }
  }
}
