/**
 * The restart policy, decided as dockerd's restart manager decides it: whether
 * an exit is followed by a restart, and after how long. Pure, so the rules
 * (which dockerd documents only by behaviour) are tested without waiting.
 *
 * - always: restarts after every exit that was not asked for (kill, stop);
 * - unless-stopped: the same, and not after a kill or stop by hand either;
 * - on-failure[:N]: after a non-zero exit, at most N times (0: no limit);
 * - the delay starts at 100 ms and doubles at each restart up to one minute;
 *   a run of 10 s or more starts it again at 100 ms. A start by the user
 *   resets the count and the delay (the caller's part).
 */

import type { RestartPolicy } from '../../core/wire/host-config.js';

export interface ExitFacts {
  code: number;
  /** Milliseconds the container ran. */
  ranMs: number;
  /** A kill, stop or remove asked for this exit (dockerd's ExitOnNext). */
  exitOnNext: boolean;
  /** Stopped or killed by hand since its last start by the user (dockerd's HasBeenManuallyStopped). */
  manuallyStopped: boolean;
  /** Restarts so far since the last start by the user. */
  restartCount: number;
  /** The delay used for the previous restart; undefined before the first. */
  previousDelayMs?: number;
}

export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
const RESET_AFTER_MS = 10_000;

/** The delay before the restart, or null when the container stays exited. */
export function restartDelay(policy: RestartPolicy | undefined, e: ExitFacts): number | null {
  if (e.exitOnNext) return null;
  let restart: boolean;
  switch (policy?.Name) {
    case 'always':
      restart = true;
      break;
    case 'unless-stopped':
      restart = !e.manuallyStopped;
      break;
    case 'on-failure':
      restart = e.code !== 0 && (!policy.MaximumRetryCount || e.restartCount < policy.MaximumRetryCount);
      break;
    default:
      restart = false;
  }
  if (!restart) return null;
  if (!e.previousDelayMs || e.ranMs >= RESET_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(MAX_DELAY_MS, e.previousDelayMs * 2);
}
