/**
 * bcrypt comparisons on worker threads, so a storm of wrong passwords costs
 * CPU but never the event loop's time. bcryptjs's own async API is no help:
 * it slices the work with process.nextTick, which runs before the loop turns
 * again, so eight parallel `compare` calls held the loop for 0.6 s straight
 * (measured: not one 1 ms timer fired meanwhile).
 *
 * The worker is its own module beside this one; the CLI's bundle, from which
 * `berth registry serve` runs, carries a bundled copy beside itself
 * (scripts/bundle-cli.js).
 *
 * Workers start on demand, up to a small number (comparisons beyond that
 * queue, first come first served), and exit when idle so an idle registry
 * holds none.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface CompareJob {
  id: number;
  password: string;
  hash: string;
}
export interface CompareResult {
  id: number;
  ok: boolean;
}

const MAX_WORKERS = Math.max(1, Math.min(4, availableParallelism()));
const IDLE_MS = 10_000;

interface Slot {
  worker: Worker;
  idleTimer?: NodeJS.Timeout;
  pending?: { id: number; resolve: (ok: boolean) => void; reject: (e: Error) => void };
}

class BcryptPool {
  private slots: Slot[] = [];
  private queue: { job: CompareJob; resolve: (ok: boolean) => void; reject: (e: Error) => void }[] = [];
  private nextId = 1;

  compare(password: string, hash: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, password, hash }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.pending);
      if (!slot) {
        if (this.slots.length >= MAX_WORKERS) return;
        slot = this.spawn();
      }
      const { job, resolve, reject } = this.queue.shift()!;
      clearTimeout(slot.idleTimer);
      slot.worker.ref();
      slot.pending = { id: job.id, resolve, reject };
      slot.worker.postMessage(job);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    const slot: Slot = { worker };
    worker.on('message', (m: CompareResult) => {
      const p = slot.pending;
      if (!p || p.id !== m.id) return;
      slot.pending = undefined;
      this.idle(slot);
      p.resolve(m.ok);
      this.pump();
    });
    const dead = (err: Error) => {
      this.slots = this.slots.filter((s) => s !== slot);
      clearTimeout(slot.idleTimer);
      const p = slot.pending;
      slot.pending = undefined;
      p?.reject(err);
      this.pump();
    };
    worker.on('error', dead);
    worker.on('exit', (code) => dead(new Error(`bcrypt worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private idle(slot: Slot): void {
    slot.worker.unref(); // an idle worker keeps no process alive
    slot.idleTimer = setTimeout(() => {
      void slot.worker.terminate();
    }, IDLE_MS);
    slot.idleTimer.unref();
  }
}

const pool = new BcryptPool();

/** Does `password` match the bcrypt `hash`? Computed off the event loop. */
export function bcryptCompare(password: string, hash: string): Promise<boolean> {
  return pool.compare(password, hash);
}
