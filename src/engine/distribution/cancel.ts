/**
 * Cancelling a pull when its client goes away, as dockerd does, without
 * cancelling work another pull still waits for.
 *
 * Pulls of the same image at the same time share downloads and unpacks (one
 * per blob, one per layer). Each pull that needs a piece of shared work joins
 * it with its own signal; when every pull that joined has let go before the
 * work finished, the work itself is stopped. A pull that is told the shared
 * work was cancelled while it still wants it (another pull's closure failed
 * for that pull's own cancellation) starts the work anew.
 */
import { BerthError } from '../../core/errors.js';

/** The pull, or a piece of work nobody waits for any more, was cancelled. */
export class CancelledError extends BerthError {
  constructor(what = 'pull') {
    super(`${what} cancelled: context canceled`, 499);
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledError;
}

/** `p`, or a CancelledError as soon as `signal` aborts, whichever comes first. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(new CancelledError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {});
      reject(new CancelledError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Wait `ms`, ending early (with a CancelledError) if `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(new Promise<void>((r) => setTimeout(r, ms).unref()), signal);
}

/**
 * Work some callers wait for. `stop` aborts once every caller that joined has
 * let go while the work was still running.
 */
export class SharedWork {
  private readonly ac = new AbortController();
  private users = 0;
  private settled = false;

  /** Aborted when nobody waits for the work any more. */
  get stop(): AbortSignal {
    return this.ac.signal;
  }

  /** The work has ended, successfully or not; later departures change nothing. */
  settle(): void {
    this.settled = true;
  }

  /** A caller that waits until its `signal` aborts. */
  join(signal: AbortSignal): void {
    this.users++;
    const leave = () => {
      if (--this.users === 0 && !this.settled) this.ac.abort();
    };
    if (signal.aborted) leave();
    else signal.addEventListener('abort', leave, { once: true });
  }
}
