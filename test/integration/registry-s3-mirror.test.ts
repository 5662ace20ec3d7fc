/**
 * The pull-through cache and replication on the S3 driver, with real clients:
 * berthd's `registry-mirrors` pulls a Docker Hub name through a cache whose
 * blobs land in the bucket; `berth registry replicate --once` copies from a
 * registry on one prefix of the bucket to another on a second prefix, and
 * skopeo reads the copy back with the same digest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, tempDir, cleanupDir, busyboxTar, makeTar, run, BERTH } from '../helpers.js';
import { RegistryProc, writeOciLayout } from '../registry-helpers.js';
import { StorageFixture } from '../s3-helpers.js';

let dir: string;
let st: StorageFixture;
before(async () => {
  dir = tempDir('berth-s3-mirror-');
  st = new StorageFixture('s3', dir);
  await st.start();
});
after(async () => {
  await st?.stop();
  cleanupDir(dir);
});

test("berthd's registry-mirrors pulls through a cache on S3; the verified blobs are in the bucket", async () => {
  const up = new RegistryProc(join(dir, 'up'));
  await up.start();
  const px = new RegistryProc(join(dir, 'px'), ['--proxy-remote', up.url, ...st.flags('cache')]);
  const ddir = tempDir('berth-s3-mirror-d-');
  const d = new Daemon(ddir);
  try {
    const img = writeOciLayout(join(dir, 'oci'), 'latest', [readFileSync(busyboxTar())]);
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, `docker://${up.host}/library/busybox:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
    await px.start();
    const cfg = JSON.parse(readFileSync(join(ddir, 'daemon.json'), 'utf8'));
    writeFileSync(join(ddir, 'daemon.json'), JSON.stringify({ ...cfg, 'registry-mirrors': [px.url] }));
    await d.start();
    const pull = await d.berth(['pull', 'busybox']);
    assert.equal(pull.code, 0, pull.stderr + px.log);
    const digests = await d.berth(['image', 'inspect', '-f', '{{join .RepoDigests ","}}', 'busybox']);
    assert.equal(digests.stdout.trim(), `busybox@${img.manifestDigest}`);
    for (const b of [...img.layers, img.config]) assert.ok(st.blobStored(join(dir, 'px'), b, 'cache/'), `cached in the bucket: ${b}`);
    // With the upstream gone, a pull after rmi is served from the bucket.
    await up.stop();
    await d.berth(['rmi', 'busybox']);
    const again = await d.berth(['pull', 'busybox']);
    assert.equal(again.code, 0, again.stderr + px.log);
  } finally {
    await d.cleanup();
    await px.stop();
    await up.stop();
  }
});

test('replicate --once copies between two registries on one bucket; skopeo reads the copy with the same digest', async () => {
  const a = new RegistryProc(join(dir, 'a'), st.flags('a'));
  const b = new RegistryProc(join(dir, 'b'), st.flags('b'));
  await a.start();
  await b.start();
  try {
    const img = writeOciLayout(join(dir, 'img'), 'v1', [readFileSync(busyboxTar()), await makeTar({ 'etc/two': 'two\n' })]);
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${a.host}/team/bb:v1`]);
    assert.equal(cp.code, 0, cp.stderr);
    const cfg = join(dir, 'repl.json');
    const storage = { s3: { bucket: 'registry', regionendpoint: st.s3!.endpoint, forcepathstyle: true, rootdirectory: 'a' } };
    writeFileSync(
      cfg,
      JSON.stringify({ storage, replication: { rules: [{ name: 'to-b', direction: 'push', repositories: 'team/*', remote: { url: b.url } }] } }),
    );
    const once = await run(BERTH, ['registry', 'replicate', '--once', '--config', cfg]);
    assert.equal(once.code, 0, once.stderr + once.stdout);
    assert.match(once.stdout, /to-b: 1 repositories, 1 tags copied/);
    const out = join(dir, 'out');
    const back = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${b.host}/team/bb:v1`, `oci:${out}:v1`]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, img.manifestDigest);
    for (const l of img.layers) assert.ok(st.blobStored(join(dir, 'b'), l, 'b/'), `in b's prefix: ${l}`);
  } finally {
    await a.stop();
    await b.stop();
  }
});
