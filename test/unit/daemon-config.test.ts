/** berthd's settings: the build context cap from a flag or daemon.json, checked at start as dockerd checks its config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../src/daemon/config.js';

async function withConfig(json: unknown, argv: string[]): Promise<Awaited<ReturnType<typeof loadSettings>>['settings']> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  try {
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify(json));
    return (await loadSettings(['--config-file', join(dir, 'daemon.json'), ...argv])).settings;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('max-build-context-size: a flag or a daemon.json key, bytes or units; unset leaves the default', async () => {
  assert.equal((await withConfig({}, [])).maxBuildContextSize, undefined);
  assert.equal((await withConfig({}, ['--max-build-context-size', '768m'])).maxBuildContextSize, 768 * 1024 ** 2);
  assert.equal((await withConfig({ 'max-build-context-size': '10GiB' }, [])).maxBuildContextSize, 10 * 1024 ** 3);
  assert.equal((await withConfig({ 'max-build-context-size': 1000000 }, [])).maxBuildContextSize, 1000000);
  await assert.rejects(withConfig({ 'max-build-context-size': 'lots' }, []), /invalid max-build-context-size: "lots"/);
  await assert.rejects(withConfig({}, ['--max-build-context-size', '0']), /invalid max-build-context-size/);
  await assert.rejects(
    withConfig({ 'max-build-context-size': '1g' }, ['--max-build-context-size', '2g']),
    /specified both as a flag and in the configuration file: max-build-context-size/,
  );
});
