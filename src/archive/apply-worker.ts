/**
 * The body of an unpack worker thread (see blob-apply.ts). One job at a
 * time: follow a compressed layer blob on disk while its download grows,
 * decompress it, hash the tar (the diffID) and apply it — all off the
 * daemon's event loop, so several layers unpack at once on several cores.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { hashingTap } from '../core/digest.js';
import { messageOf, statusOf } from '../core/errors.js';
import { applyTar } from './apply.js';
import { decompressStream } from './compression.js';
import type { FromWorker, Job, ToWorker } from './blob-apply.js';

const CHUNK = 1 << 20;
const PROGRESS_EVERY = 4 << 20;

interface Running {
  job: Job;
  avail: number;
  error?: string;
  wake?: () => void;
}
let current: Running | undefined;

function post(m: FromWorker): void {
  parentPort!.postMessage(m);
}

/** The first of `paths` that opens: a download in progress is renamed into the store when it completes. */
function openFirst(paths: string[]): number {
  let last: unknown;
  for (const p of paths) {
    try {
      return openSync(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      last = e;
    }
  }
  throw last;
}

async function* follow(r: Running): AsyncGenerator<Buffer> {
  const fd = openFirst(r.job.paths);
  try {
    let pos = 0;
    let reported = 0;
    while (pos < r.job.size) {
      // A failed or cancelled download stops the unpack at once, even with bytes still to read.
      if (r.error !== undefined) throw new Error(r.error);
      if (pos >= r.avail) {
        if (r.error !== undefined) throw new Error(r.error);
        await new Promise<void>((res) => {
          r.wake = res;
        });
        continue;
      }
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, r.avail - pos));
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) throw new Error(`blob ended after ${pos} of ${r.job.size} bytes`);
      pos += n;
      if (pos - reported >= PROGRESS_EVERY || pos === r.job.size) {
        post({ type: 'read', id: r.job.id, bytes: pos });
        reported = pos;
      }
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

async function runJob(r: Running): Promise<void> {
  const { job } = r;
  try {
    const { stream } = await decompressStream(Readable.from(follow(r), { objectMode: false }));
    const { tap, digest } = hashingTap();
    stream.on('error', (e) => tap.destroy(e));
    const { size } = await applyTar(job.root, stream.pipe(tap), { whiteouts: job.whiteouts, umask: job.umask });
    post({ type: 'done', id: job.id, size, diffId: await digest });
  } catch (err) {
    post({ type: 'error', id: job.id, message: messageOf(err), status: statusOf(err) });
  } finally {
    current = undefined;
  }
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'job') {
    current = { job: m, avail: m.avail };
    void runJob(current);
    return;
  }
  const r = current;
  if (!r || r.job.id !== m.id) return;
  if (m.type === 'avail') r.avail = m.bytes;
  else r.error = m.message;
  const w = r.wake;
  r.wake = undefined;
  w?.();
});
