/**
 * Archives move between Berth and a real Docker daemon (Debian's docker.io,
 * started here on its own socket): same image IDs both ways, and an image
 * Berth saved runs on Docker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type Daemon, RealDockerd, startDaemon, importBusybox, busyboxTar, tempDir } from '../helpers.js';

let berth: Daemon;
let docker: RealDockerd;
before(async () => {
  berth = await startDaemon();
  docker = new RealDockerd(tempDir('berth-dockerd-'));
  await docker.start();
});
after(async () => {
  await berth?.cleanup();
  await docker?.cleanup();
});

test('an image saved by the real Docker loads into Berth with the same ID', async () => {
  const imp = await docker.docker(['import', '--change', 'CMD ["sh"]', '--change', 'ENV FROM_DOCKER=1', busyboxTar(), 'fromdocker/busybox:1']);
  assert.equal(imp.code, 0, imp.stderr);
  const dockerId = imp.stdout.trim();
  const archive = join(docker.dir, 'from-docker.tar');
  const save = await docker.docker(['save', '-o', archive, 'fromdocker/busybox:1']);
  assert.equal(save.code, 0, save.stderr);
  const load = await berth.berth(['load', '-i', archive]);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(load.stdout, 'Loaded image: fromdocker/busybox:1\n');
  assert.equal((await berth.berth(['inspect', '-f', '{{.Id}}', 'fromdocker/busybox:1'])).stdout.trim(), dockerId);
  const [img] = JSON.parse((await berth.docker(['image', 'inspect', 'fromdocker/busybox:1'])).stdout);
  assert.deepEqual(img.Config.Env, ['FROM_DOCKER=1']);
});

test('an image saved by Berth loads into the real Docker, keeps its ID and runs there', async () => {
  const id = await importBusybox(berth, 'berthmade/busybox:2');
  const archive = join(berth.dir, 'from-berth.tar');
  const save = await berth.berth(['save', '-o', archive, 'berthmade/busybox:2']);
  assert.equal(save.code, 0, save.stderr);
  const load = await docker.docker(['load', '-i', archive]);
  assert.equal(load.code, 0, load.stderr);
  assert.match(load.stdout, /Loaded image: berthmade\/busybox:2/);
  assert.equal((await docker.docker(['inspect', '-f', '{{.Id}}', 'berthmade/busybox:2'])).stdout.trim(), id);
  const r = await docker.docker(['run', '--rm', '--network', 'none', 'berthmade/busybox:2', 'echo', 'hello from a berth image']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from a berth image\n');
});
