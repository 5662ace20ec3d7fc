/**
 * Apply a compressed layer blob to a directory on a worker thread.
 *
 * Unpacking is the heavy part of a pull — inflate, hash, and thousands of
 * file creations — and on the event loop it runs one layer at a time and
 * stalls every other request. Here each layer gets a worker from a small
 * pool: the worker reads the blob file itself (following it while the
 * download still writes it), so the event loop only passes it byte counts.
 * The result counts only once the blob itself is verified.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digest } from '../core/digest.js';
import { BerthError, InvalidArgumentError } from '../core/errors.js';
import type { WhiteoutMode } from './apply.js';

/** A compressed layer blob on disk, possibly still being written. */
export interface BlobFile {
  /** What to call it in messages (its digest). */
  name: string;
  /** Where its bytes are, in the order to try (an ingest file is renamed into the store when complete). */
  paths: string[];
  size: number;
  /** Bytes on disk now. */
  available(): number;
  /** Call `onChange` as bytes arrive or the download fails; returns a function that stops it. */
  watch(onChange: (available: number, error?: Error) => void): () => void;
  /** Settles when the blob is complete and verified against its digest (rejects if it is not). */
  verified: Promise<unknown>;
}

export interface BlobApplyOptions {
  whiteouts: WhiteoutMode;
  /** Compressed bytes consumed so far, for progress. */
  onRead?: (bytes: number) => void;
}

export interface BlobApplyResult {
  size: number;
  diffId: Digest;
}

// Messages between the pool and its workers.
export interface Job {
  type: 'job';
  id: number;
  paths: string[];
  size: number;
  avail: number;
  root: string;
  whiteouts: WhiteoutMode;
  umask: number;
}
export type ToWorker = Job | { type: 'avail'; id: number; bytes: number } | { type: 'fail'; id: number; message: string };
export type FromWorker =
  | { type: 'read'; id: number; bytes: number }
  | { type: 'done'; id: number; size: number; diffId: Digest }
  | { type: 'error'; id: number; message: string; status: number };

/** Idle workers exit after this long, so an idle daemon holds none. */
const IDLE_MS = 10_000;
const MAX_WORKERS = Math.max(2, Math.min(4, availableParallelism()));

interface PooledWorker {
  worker: Worker;
  idleTimer?: NodeJS.Timeout;
}

class WorkerPool {
  private idle: PooledWorker[] = [];
  private busy = 0;
  private waiters: ((w: PooledWorker) => void)[] = [];

  async take(): Promise<PooledWorker> {
    const w = this.idle.pop();
    if (w) {
      clearTimeout(w.idleTimer);
      w.worker.ref();
      this.busy++;
      return w;
    }
    if (this.busy < MAX_WORKERS) {
      this.busy++;
      return this.spawn();
    }
    return new Promise((res) => this.waiters.push(res));
  }

  give(w: PooledWorker): void {
    const next = this.waiters.shift();
    if (next) {
      next(w);
      return;
    }
    this.busy--;
    w.worker.unref(); // an idle worker keeps no process alive
    w.idleTimer = setTimeout(() => {
      this.idle = this.idle.filter((x) => x !== w);
      void w.worker.terminate();
    }, IDLE_MS);
    w.idleTimer.unref();
    this.idle.push(w);
  }

  /** A worker that died mid-job is not reused. */
  discard(w: PooledWorker): void {
    void w.worker.terminate();
    const next = this.waiters.shift();
    if (next) next(this.spawn());
    else this.busy--;
  }

  private spawn(): PooledWorker {
    const worker = new Worker(new URL('./apply-worker.js', import.meta.url));
    // A job listens for its own worker's errors; between jobs one must not go unhandled (it would end the daemon).
    worker.on('error', () => {});
    worker.on('exit', () => {
      this.idle = this.idle.filter((x) => x.worker !== worker);
    });
    return { worker };
  }
}

const pool = new WorkerPool();
let nextId = 1;

/** Unpack `blob` (gzip, zstd, … or plain tar) into `root`, which must exist. */
export async function applyBlob(root: string, blob: BlobFile, opts: BlobApplyOptions): Promise<BlobApplyResult> {
  const pw = await pool.take();
  const id = nextId++;
  let settled = false;
  let unwatch = () => {};
  const result = new Promise<BlobApplyResult>((resolve, reject) => {
    const onMessage = (m: FromWorker) => {
      if (m.id !== id) return;
      if (m.type === 'read') {
        opts.onRead?.(m.bytes);
        return;
      }
      finish();
      if (m.type === 'done') resolve({ size: m.size, diffId: m.diffId });
      else reject(m.status === 400 ? new InvalidArgumentError(m.message) : new BerthError(m.message, m.status));
    };
    const onError = (e: Error) => {
      finish(true);
      reject(e);
    };
    const onExit = (code: number) => {
      finish(true);
      reject(new BerthError(`unpack worker exited with code ${code}`));
    };
    const finish = (dead = false) => {
      if (settled) return;
      settled = true;
      unwatch();
      pw.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (dead) pool.discard(pw);
      else pool.give(pw);
    };
    pw.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    const job: Job = { type: 'job', id, paths: blob.paths, size: blob.size, avail: blob.available(), root, whiteouts: opts.whiteouts, umask: process.umask() };
    pw.worker.postMessage(job satisfies ToWorker);
    unwatch = blob.watch((bytes, error) => {
      if (settled) return;
      pw.worker.postMessage((error ? { type: 'fail', id, message: error.message } : { type: 'avail', id, bytes }) satisfies ToWorker);
    });
  });
  // Wait for both, so nothing writes into `root` once we return. A blob that fails
  // verification fails the unpack with its own error, whatever the worker made of its bytes.
  const [r, v] = await Promise.allSettled([result, blob.verified]);
  if (v.status === 'rejected') throw v.reason;
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}
