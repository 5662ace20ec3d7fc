// The CLI is started hundreds of times a day: bundle it so Node reads a few
// files instead of resolving dozens of modules. Commands stay lazily loaded
// (code splitting), so `berth images` never parses the code of `berth load`.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: 'dist/cli',
  logLevel: 'warning',
  // CommonJS dependencies (tar-stream) require Node built-ins: give the ESM bundle a require.
  banner: { js: "import { createRequire as __berthRequire } from 'node:module'; const require = __berthRequire(import.meta.url);" },
});
