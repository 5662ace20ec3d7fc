// The CLI is started hundreds of times a day: bundle it into one CommonJS
// file, which bin/berth runs with V8's code cache, so Node reads one file and
// compiles nothing. The cache is made here with every function compiled (a
// cache from one run holds only what that run called: `run` then compiled
// its own code each time), and remade by the CLI itself whenever Node
// rejects it.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import Module from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';

const bundle = 'dist/cli/berth.cjs';
rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: bundle,
  logLevel: 'warning',
  // A module that starts a worker from a file beside it (new URL('./x.js', import.meta.url))
  // finds the worker's bundled copy beside the bundle.
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { 'import.meta.url': '__bundleUrl' },
});
// The workers the bundled code starts, each bundled whole (ES modules, as the package's type says).
await build({
  entryPoints: ['dist/src/registry/auth/bcrypt-worker.js'],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/cli',
  logLevel: 'warning',
});
// bin/berth runs the bundle in a vm.Script, which has no dynamic import():
// esbuild leaves one in for a node: builtin, and it would fail only when reached.
if (/\bimport\(/.test(readFileSync(bundle, 'utf8'))) throw new Error(`${bundle} has a dynamic import(), which bin/berth cannot run: import the module statically`);
setFlagsFromString('--no-lazy');
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle });
setFlagsFromString('--lazy');
writeFileSync(`${bundle}.cache`, script.createCachedData());
// One run: a cache Node rejected would be replaced now, not on a user's first command.
execFileSync(process.execPath, ['bin/berth', '--help'], { stdio: 'ignore' });
