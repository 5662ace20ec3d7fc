// The web console's browser code (src/console/web/, TypeScript + TSX on Preact) bundled into
// dist/console/: one app.js, one app.css (ours, xterm's and uPlot's), the favicon. Minified:
// the whole first load is what a browser fetches before the console answers a click. Prints its
// size raw and gzipped (the README states it).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const out = 'dist/console';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: 'src/console/web/main.tsx' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: out,
  // xterm.js (most of the code) is a chunk of its own, loaded when a terminal opens.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('src/console/web/favicon.svg', `${out}/favicon.svg`);
if (process.env.BERTH_CONSOLE_SIZE) {
  // The first load: the shell's script and stylesheet, the favicon, and the chunks app.js imports statically.
  const app = readFileSync(`${out}/app.js`, 'utf8');
  const shared = [...app.matchAll(/(?:from|import)\s*"\.\/(chunk-[A-Z0-9]+\.js)"/g)].map((m) => m[1]);
  const first = ['app.js', ...new Set(shared), 'app.css', 'favicon.svg'];
  let raw = 0;
  let gz = 0;
  for (const f of first) {
    const b = readFileSync(`${out}/${f}`);
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
    console.log(`${f}: ${b.length} bytes, ${gzipSync(b, { level: 9 }).length} gzipped`);
  }
  console.log(`console first load: ${raw} bytes, ${gz} gzipped`);
  for (const f of readdirSync(out).filter((n) => n.startsWith('chunk-') && !first.includes(n))) {
    const b = readFileSync(`${out}/${f}`);
    console.log(`loaded on demand: ${f}: ${b.length} bytes, ${gzipSync(b, { level: 9 }).length} gzipped`);
  }
}
