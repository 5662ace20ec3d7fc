/** A size flag (--memory, --shm-size, tmpfs-size, …) in bytes, with docker's words for a bad one: run, create, update and --mount share it. */
import { ramInBytes as ramInBytesOf } from '../../core/byte-sizes.js';
import { CliExit } from '../cli.js';

/** A size flag's value in bytes (docker's RAMInBytes: "2g", "512m", "1024"); docker's words when it is not one. */
export function ramInBytes(flag: string, v: string): number {
  const name = flag === 'memory' ? '-m, --memory' : `--${flag}`;
  try {
    return ramInBytesOf(v);
  } catch (e) {
    throw new CliExit(125, `invalid argument "${v}" for "${name}" flag: ${(e as Error).message}\nSee 'berth run --help'.`);
  }
}
