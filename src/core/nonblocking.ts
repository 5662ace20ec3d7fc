/**
 * Opening files that something else controls without ever waiting on it.
 *
 * berthd does its file work on libuv's small thread pool (four threads). An
 * open(2) of a FIFO blocks until the other end appears, and a read of a FIFO
 * or device until it has data; when a container or its shim controls that
 * other end (a shim that just exited, a file a container swapped for a FIFO),
 * the thread never comes back, and after four such every file operation of
 * the daemon waits behind them. So every open here is O_NONBLOCK: an absent
 * reader is an error at once, and a file that is not what it should be is
 * refused before anything reads it. (libuv adds O_CLOEXEC to every open.)
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const { O_WRONLY, O_NONBLOCK, O_NOFOLLOW } = constants;

/**
 * Write one short message (at most PIPE_BUF bytes, so it goes in whole) to a
 * FIFO. Resolves false when nobody reads it: no reader (ENXIO), no FIFO
 * (ENOENT), or a reader so far behind its pipe is full (EAGAIN).
 */
export async function writeFifo(path: string, message: string | Buffer): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW);
  } catch (e) {
    if (gone(e)) return false;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFIFO()) return false;
    const buf = typeof message === 'string' ? Buffer.from(message) : message;
    const { bytesWritten } = await fh.write(buf, 0, buf.length, null);
    return bytesWritten === buf.length;
  } catch (e) {
    if (gone(e) || (e as NodeJS.ErrnoException).code === 'EAGAIN' || (e as NodeJS.ErrnoException).code === 'EPIPE') return false;
    throw e;
  } finally {
    await fh.close();
  }
}

function gone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENXIO' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

/** The error for a path that was a regular file when looked at and is something else when opened. */
export class NotRegularFileError extends Error {
  readonly code = 'ENOTREG';
  constructor(readonly path: string) {
    super(`${path}: not a regular file any more`);
  }
}
