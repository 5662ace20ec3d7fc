/** A daemon's error answer as docker's CLI prints it ("Error response from daemon: …", exit 1); anything else rethrown. */
import { ApiError } from '../../client/client.js';
import { CliExit } from '../cli.js';

export function daemonError(e: unknown): never {
  if (e instanceof ApiError) throw new CliExit(1, `Error response from daemon: ${e.message}`);
  throw e;
}
