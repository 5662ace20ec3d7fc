// The CLI is started hundreds of times a day: bundle it into one CommonJS
// file, which bin/berth runs with V8's code cache, so Node reads one file and
// compiles little. The cache is made here (by one run) and remade by the CLI
// itself whenever Node rejects it.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
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
// bin/berth runs the bundle in a vm.Script, which has no dynamic import():
// esbuild leaves one in for a node: builtin, and it would fail only when reached.
const dynamicImport = /\bimport\(/.exec(readFileSync('dist/cli/berth.cjs', 'utf8'));
if (dynamicImport) throw new Error('dist/cli/berth.cjs has a dynamic import(), which bin/berth cannot run: import the module statically');
execFileSync(process.execPath, ['bin/berth', '--help'], { stdio: 'ignore' });
