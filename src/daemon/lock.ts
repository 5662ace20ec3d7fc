/**
 * One daemon per data root. The lock is an abstract unix socket named after
 * the data root's real path: binding it is atomic, and the kernel releases it
 * when the process dies, so a kill -9 never leaves a stale lock behind.
 */
import { createServer, type Server } from 'node:net';
import { realpath, readFile } from 'node:fs/promises';
import { sha256Digest, hexOf } from '../core/digest.js';

export async function lockDataRoot(dataRoot: string): Promise<Server> {
  const name = '\0berthd-' + hexOf(sha256Digest(await realpath(dataRoot))).slice(0, 32);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new Error(`another berthd is already running with data root ${dataRoot}${holderHint()}`) : err);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return server;
}

function holderHint(): string {
  return '; stop it first, or give this daemon its own --data-root, --exec-root and -H';
}

/** Read a pidfile, if any. */
export async function readPid(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
