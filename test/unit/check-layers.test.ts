// The layer check (scripts/check-layers.mjs) run on tiny source trees written here:
// a clean tree passes, an import against the table and an import circle each fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/unit/ → the repository's scripts/
const script = fileURLToPath(new URL('../../../scripts/check-layers.mjs', import.meta.url));

/** Writes files (path → text) under a fresh src/ and runs the checker on it. */
function check(files: Record<string, string>): { code: number | null; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-layers-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, 'src', path)), { recursive: true });
      writeFileSync(join(dir, 'src', path), text);
    }
    const r = spawnSync(process.execPath, [script, 'src'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.stderr, '');
    return { code: r.status, lines: r.stdout.trim().split('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a tree that follows the layers passes', () => {
  const r = check({
    'core/errors.ts': 'export class E extends Error {}\n',
    'core/digest.ts': "import { E } from './errors.js';\nexport const d = (): E => new E();\n",
    'archive/tar.ts': "import type { E } from '../core/errors.js';\nexport type T = E;\n",
    'engine/images.ts':
      "import { d } from '../core/digest.js';\nexport type { T } from '../archive/tar.js';\nexport const lazy = () => import('../core/errors.js');\nd();\n",
    'client/client.ts': "import { E } from '../core/errors.js';\nexport const c = E;\n",
    'cli/main.ts': "import { c } from '../client/client.js';\nimport { readFile } from 'node:fs';\nc; readFile;\n",
    'daemon/main.ts': "import '../engine/images.js';\nimport '../cli/main.js';\n",
  });
  assert.deepEqual(r.lines, ['layers: 7 files, 9 imports, 0 violations, 0 circles']);
  assert.equal(r.code, 0);
});

test('imports against the table fail, type-only and dynamic ones too', () => {
  const r = check({
    'core/digest.ts': "import { type Image } from '../engine/images.js';\nexport type D = Image;\n",
    'engine/images.ts': 'export interface Image { id: string }\n',
    'content/store.ts': "export const blob = () => import('../archive/tar.js');\n",
    'archive/tar.ts': 'export const t = 1;\n',
    'api/stdcopy.ts': 'export const frame = 1;\n',
    'cli/logs.ts': "import { frame } from '../api/stdcopy.js';\nexport const f = frame;\n",
    'dockerfile/changes.ts': "export type { Image } from '../engine/images.js';\n",
    'engine/ok.ts': "import { t } from '../archive/tar.js';\nexport const o = t;\n",
  });
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    'violation: src/cli/logs.ts:1 → ../api/stdcopy.js: cli/ never imports api/',
    'violation: src/content/store.ts:1 → ../archive/tar.js (dynamic): content/ (layer 2) imports only from layers below 2; archive/ is layer 2',
    'violation: src/core/digest.ts:1 → ../engine/images.js (type): core/ (layer 1) imports only from layers below 1; engine/ is layer 4',
    'violation: src/dockerfile/changes.ts:1 → ../engine/images.js (type): dockerfile/ may import only core/, archive/',
    'layers: 8 files, 5 imports, 4 violations, 0 circles',
  ]);
});

test('a folder missing from the table and an import that names no file fail', () => {
  const r = check({
    'gadgets/x.ts': "import { y } from '../core/y.js';\nexport const x = y;\n",
    'core/y.ts': "export { z } from './z.js';\nexport const y = 1;\n",
  });
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    'violation: src/core/y.ts:1 → ./z.js: the import names no file',
    'violation: src/gadgets/x.ts:1 → ../core/y.js: gadgets/ is not in the layer table',
    'layers: 2 files, 2 imports, 2 violations, 0 circles',
  ]);
});

test('an import circle fails and shows one cycle through it', () => {
  const r = check({
    'engine/a.ts': "import type { B } from './b.js';\nexport interface A { b: B }\n",
    'engine/b.ts': "import { c } from './c.js';\nexport interface B { n: number }\nc;\n",
    'engine/c.ts': "import type { A } from './a.js';\nexport const c = (a?: A) => a;\n",
    'engine/d.ts': "import type { A } from './a.js';\nexport type D = A;\n",
  });
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    'circle of 3 files: src/engine/a.ts, src/engine/b.ts, src/engine/c.ts',
    '  e.g. src/engine/a.ts → src/engine/b.ts → src/engine/c.ts → src/engine/a.ts',
    'layers: 4 files, 4 imports, 0 violations, 1 circles',
  ]);
});
