/**
 * Writing a stream to a client that may stop reading or go away at any moment.
 *
 * Waiting for 'drain' alone is a trap: a client that disconnects while its
 * buffer is full never drains, so whatever the writer holds open (a log file,
 * a watcher, a generator's finally) would stay held for the life of the
 * daemon. Every wait here also ends on 'close' and 'error'.
 */
import type { EventEmitter } from 'node:events';

/** What both a ServerResponse and a hijacked socket offer. */
export interface ClientSink extends EventEmitter {
  write(chunk: Buffer | string): boolean;
  readonly destroyed: boolean;
}

/** Write one chunk; resolves true when the client may take more, false once it is gone (stop writing then). */
export function writeToClient(w: ClientSink, chunk: Buffer | string): Promise<boolean> {
  if (w.destroyed) return Promise.resolve(false);
  if (w.write(chunk)) return Promise.resolve(true);
  return drained(w);
}

/** Resolves true at the client's next 'drain', false if it closes or fails first. */
export function drained(w: ClientSink): Promise<boolean> {
  if (w.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      w.off('drain', onDrain);
      w.off('close', onGone);
      w.off('error', onGone);
      resolve(ok);
    };
    const onDrain = done(true);
    const onGone = done(false);
    w.on('drain', onDrain);
    w.on('close', onGone);
    w.on('error', onGone);
  });
}
