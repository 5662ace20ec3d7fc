/**
 * Berth's own client and Berth's own registry together: `berth push` into
 * `berth registry serve`, `rmi`, `berth pull` back with the same image ID and
 * the digest the registry serves; then behind htpasswd with `berth login`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, tempDir, cleanupDir, run } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';
import { DRIVERS, StorageFixture } from '../s3-helpers.js';

let d: Daemon;
let dir: string;
let busyboxId: string;
const registries: RegistryProc[] = [];

before(async () => {
  dir = tempDir('berth-rt-');
  process.env.DOCKER_CONFIG = join(dir, 'berth-config'); // logins stay out of root's ~/.docker
  d = await startDaemon();
  busyboxId = await importBusybox(d);
});
after(async () => {
  for (const r of registries) await r.stop();
  await d?.cleanup();
  cleanupDir(dir);
});

async function roundTrip(r: RegistryProc, repo: string, auth: Record<string, string> = {}): Promise<void> {
  const name = `${r.host}/${repo}:1.0`;
  assert.equal((await d.berth(['tag', 'busybox', name])).code, 0);
  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
  assert.ok(digest, push.stdout);
  const head = await r.req('HEAD', `/v2/${repo}/manifests/1.0`, {
    headers: { ...auth, Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(head.status, 200, head.text);
  assert.equal(head.headers['docker-content-digest'], digest);
  // As Docker does: an imported (uncompressed) layer goes up gzipped, in a schema 2 manifest.
  const manifest = (await r.req('GET', `/v2/${repo}/manifests/${digest}`, { headers: auth })).json as {
    mediaType: string;
    layers: { mediaType: string; digest: string }[];
  };
  assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  const blob = await r.req('GET', `/v2/${repo}/blobs/${manifest.layers[0]!.digest}`, { headers: auth });
  assert.deepEqual([...blob.body.subarray(0, 2)], [0x1f, 0x8b]);
  assert.equal((await d.berth(['rmi', name])).code, 0);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}\\nStatus: Downloaded newer image for ${name.replace(/\./g, '\\.')}`));
  assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', name])).stdout.trim(), busyboxId);
  const run1 = await d.berth(['run', '--rm', '--network', 'none', name, 'echo', 'round trip']);
  assert.equal(run1.stdout, 'round trip\n', run1.stderr);
  assert.equal((await d.berth(['rmi', name])).code, 0);
}

for (const driver of DRIVERS) {
  test(`berth push into berth registry serve and pull back: same image ID and digest (${driver} storage)`, async (t) => {
    const st = new StorageFixture(driver, join(dir, `storage-${driver}`));
    await st.start();
    t.after(() => st.stop());
    const r = new RegistryProc(join(dir, `plain-${driver}`), st.flags());
    registries.push(r);
    await r.start();
    await roundTrip(r, 'team/busybox');
    await r.stop();
  });
}

test("behind htpasswd: a push needs berth login; a wrong password is refused in docker's words", async () => {
  const hp = await run('htpasswd', ['-Bbn', 'alice', 's3cret']);
  assert.equal(hp.code, 0, hp.stderr);
  const file = join(dir, 'htpasswd');
  writeFileSync(file, hp.stdout);
  const r = new RegistryProc(join(dir, 'auth'), ['--htpasswd', file]);
  registries.push(r);
  await r.start();
  const name = `${r.host}/private/busybox:1.0`;
  assert.equal((await d.berth(['tag', 'busybox', name])).code, 0);
  const denied = await d.berth(['push', name]);
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr + denied.stdout,
    /no basic auth credentials|unauthorized|authentication required|denied: requested access to the resource is denied/,
  );
  assert.equal((await d.berth(['rmi', name])).code, 0);
  const bad = await d.berth(['login', '-u', 'alice', '--password-stdin', r.host], { input: 'wrong\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /failed with status: 401 Unauthorized/);
  const good = await d.berth(['login', '-u', 'alice', '--password-stdin', r.host], { input: 's3cret\n' });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /Login Succeeded/);
  await roundTrip(r, 'private/busybox', { Authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` });
  assert.equal((await d.berth(['logout', r.host])).code, 0);
});
