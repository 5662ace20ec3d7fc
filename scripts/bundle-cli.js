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
const bundle = 'dist/cli/berth.cjs';
setFlagsFromString('--no-lazy');
const script = new Script(Module.wrap(readFileSync(bundle, 'utf8')), { filename: bundle });
setFlagsFromString('--lazy');
writeFileSync(`${bundle}.cache`, script.createCachedData());
// One run, which also proves the cache is taken (the CLI replaces one that is not).
execFileSync(process.execPath, ['bin/berth', '--help'], { stdio: 'ignore' });
