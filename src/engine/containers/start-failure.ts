/**
 * A process the runtime could not start gets the exit code a shell would give
 * it, as dockerd (setExitCodeFromError) assigns them: clients and scripts
 * tell "no such command" (127) from "not executable" (126) by it.
 */
import { BerthError, InvalidArgumentError, messageOf } from '../../core/errors.js';

export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;
export const EXIT_UNKNOWN = 128;

/** The exit code for a runtime's start error message. */
export function startFailureExitCode(message: string): number {
  const m = message.toLowerCase();
  if (m.includes('permission denied') || m.includes('is a directory')) return EXIT_NOT_EXECUTABLE;
  if (m.includes('not a directory')) return EXIT_NOT_FOUND;
  if (['executable file not found', 'no such file or directory', 'system cannot find the file specified'].some((x) => m.includes(x))) return EXIT_NOT_FOUND;
  return EXIT_UNKNOWN;
}

/**
 * A failed start as dockerd reports it: a command that is missing exits 127,
 * one that cannot be run 126, a mount of a file over a directory 127 — each a
 * 400 (the container's configuration is at fault); anything else 128 and a 500.
 */
export function startFailure(cmd: string, err: unknown): { code: number; error: BerthError } {
  if (err instanceof BerthError && err.status < 500) return { code: 128, error: err };
  const msg = messageOf(err);
  const low = msg.toLowerCase();
  if (low.includes('permission denied')) return { code: 126, error: new InvalidArgumentError(msg) };
  if (low.includes('not a directory')) {
    return {
      code: 127,
      error: new InvalidArgumentError(
        `${msg}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`,
      ),
    };
  }
  if (low.includes(cmd.toLowerCase()) && (low.includes('executable file not found') || low.includes('no such file or directory'))) {
    return { code: 127, error: new InvalidArgumentError(msg) };
  }
  return { code: 128, error: err instanceof BerthError ? err : new BerthError(msg, 500) };
}
