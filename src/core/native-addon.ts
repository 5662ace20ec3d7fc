/**
 * Loading a node-gyp addon (`build/Release/<name>.node`, from native/*.c): the
 * system calls Node lacks. Each is loaded on first use, so a process that never
 * needs one never maps it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemError } from './errors.js';

declare const __filename: string | undefined;

/** The addon, found by walking up from this module (dist/src/core, or the CLI bundle in dist/cli). */
export function loadAddon<T>(name: string): T {
  const here = import.meta.url ? fileURLToPath(import.meta.url) : typeof __filename === 'string' ? __filename : process.argv[1]!;
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    const file = join(dir, 'build', 'Release', `${name}.node`);
    if (existsSync(file)) return createRequire(here)(file) as T;
    if (dirname(dir) === dir) break;
  }
  throw new SystemError(`the native addon build/Release/${name}.node is missing: run \`npm run build\``);
}
