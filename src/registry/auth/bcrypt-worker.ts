/**
 * The body of a bcrypt worker thread (see bcrypt-pool.ts). bcrypt costs tens
 * of milliseconds of pure CPU by design; run on the registry's event loop it
 * stalls every other request for that long, so each comparison runs here.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { CompareJob, CompareResult } from './bcrypt-pool.js';

parentPort!.on('message', (job: CompareJob) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(job.password, job.hash);
  } catch {
    ok = false;
  }
  parentPort!.postMessage({ id: job.id, ok } satisfies CompareResult);
});
