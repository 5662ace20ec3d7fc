/**
 * A process the runtime could not start gets the exit code a shell would give
 * it, as dockerd (setExitCodeFromError) assigns them: clients and scripts
 * tell "no such command" (127) from "not executable" (126) by it.
 */

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
