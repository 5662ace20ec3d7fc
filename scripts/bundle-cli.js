// The CLI is started hundreds of times a day: bundle it into one CommonJS
// file, which bin/berth runs with V8's code cache, so Node reads one file and
// compiles little. The cache is made here (by one run) and remade by the CLI
// itself whenever Node rejects it.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: 'dist/cli/berth.cjs',
  logLevel: 'warning',
});
execFileSync(process.execPath, ['bin/berth', '--help'], { stdio: 'ignore' });
