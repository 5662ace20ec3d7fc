/** docker-py (Debian's python3-docker) drives containers against berthd: run, logs, wait, exec_run (demux, stream, stdin), attach. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, run, REPO } from '../helpers.js';

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-docker lives

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

test('a docker-py script runs, execs into, attaches to and removes containers', async () => {
  assert.ok(existsSync(PYTHON), 'python3 (with python3-docker) is installed by scripts/setup.sh --test');
  const script = join(REPO, 'test', 'integration', 'fixtures', 'docker_py_containers.py');
  const r = await run(PYTHON, [script], { env: { ...process.env, DOCKER_HOST: d.host }, timeoutMs: 300_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const checks = r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length;
  assert.ok(checks >= 20, r.stdout);
  assert.match(r.stdout, /\ndone\n$/);
  // Nothing the script made is left behind.
  assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
});
