/**
 * Quotas and retention of `berth registry serve`: a docker push over a
 * repository's quota fails with the spec's DENIED naming the quota and leaves
 * nothing visible; chunked and parallel uploads cannot overshoot; retention
 * keeps the last N tags and those within D days, drops untagged manifests and
 * collects their blobs, by hand (with --dry-run) and on a schedule.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { RealDockerd, tempDir, cleanupDir, busyboxTar, run, BERTH } from '../helpers.js';
import { RegistryProc, sha256, httpReq, pushSmallImage } from '../registry-helpers.js';

function writeConfig(dir: string, name: string, cfg: unknown): string {
  const f = join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(cfg));
  return f;
}

const blobOnDisk = (root: string, d: string) => existsSync(join(root, 'blobs', 'sha256', d.slice(7)));

describe('quotas', () => {
  let dir: string;
  let r: RegistryProc;
  before(async () => {
    dir = tempDir('berth-quota-');
    const cfg = writeConfig(dir, 'q', {
      quotas: [
        { repositories: 'tiny/*', limit: '100kb' },
        { repositories: 'pair/*', limit: 1000 },
      ],
    });
    r = new RegistryProc(join(dir, 'root'), ['--config', cfg]);
    await r.start();
  });
  after(async () => {
    await r?.stop();
    cleanupDir(dir);
  });

  test('docker push over the quota fails with DENIED naming it; nothing is visible; other repositories push', async () => {
    const dockerd = new RealDockerd(tempDir('berth-quota-dockerd-'));
    try {
      await dockerd.start();
      assert.equal((await dockerd.docker(['import', busyboxTar(), 'local/bb:1'])).code, 0);
      assert.equal((await dockerd.docker(['tag', 'local/bb:1', `${r.host}/tiny/bb:1`])).code, 0);
      const push = await dockerd.docker(['push', `${r.host}/tiny/bb:1`]);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr, /denied: quota exceeded: repository tiny\/bb would use [\d.]+ MiB of its 102400 bytes quota \(rule "tiny\/\*"\)/);
      assert.equal((await r.req('GET', '/v2/tiny/bb/manifests/1')).status, 404);
      assert.deepEqual(readdirSync(join(dir, 'root', 'uploads')), []);
      assert.equal((await dockerd.docker(['tag', 'local/bb:1', `${r.host}/free/bb:1`])).code, 0);
      const ok = await dockerd.docker(['push', `${r.host}/free/bb:1`]);
      assert.equal(ok.code, 0, ok.stderr);
    } finally {
      await dockerd.cleanup();
    }
  });

  test('a chunked upload is refused as soon as it passes the quota, and parallel uploads cannot overshoot together', async () => {
    const loc = (await r.req('POST', '/v2/pair/chunks/blobs/uploads/')).headers.location as string;
    const big = Buffer.alloc(1500, 7);
    const patch = await httpReq(loc, 'PATCH', { body: big, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patch.status, 403);
    assert.equal(patch.json.errors[0].code, 'DENIED');
    assert.equal((await httpReq(loc, 'GET')).status, 404);
    // A single POST whose length alone passes the quota is refused before its body is stored.
    const mono = await r.req('POST', `/v2/pair/mono/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    assert.equal(mono.status, 403);
    assert.match(mono.json.errors[0].message, /quota exceeded: repository pair\/mono would use 1500 bytes of its 1000 bytes quota/);
    assert.equal(blobOnDisk(join(dir, 'root'), sha256(big)), false);
    assert.deepEqual(readdirSync(join(dir, 'root', 'uploads')), []);
    // Two 600-byte blobs at once into a 1000-byte quota: one is stored, the other refused.
    const blobs = [Buffer.alloc(600, 1), Buffer.alloc(600, 2)];
    const res = await Promise.all(blobs.map((b) => r.req('POST', `/v2/pair/par/blobs/uploads/?digest=${sha256(b)}`, { body: b })));
    assert.deepEqual(res.map((x) => x.status).sort(), [201, 403]);
    const stored = blobs.filter((b) => blobOnDisk(join(dir, 'root'), sha256(b)));
    assert.equal(stored.length, 1);
    // A blob the repository already holds costs nothing more.
    const again = await r.req('POST', `/v2/pair/par/blobs/uploads/?digest=${sha256(stored[0]!)}`, { body: stored[0]! });
    assert.equal(again.status, 201);
  });

  test('bad quota settings are refused', async () => {
    for (const [quotas, want] of [
      [[{ repositories: 'a/*' }], /quotas\[0\]\.limit is required/],
      [[{ repositories: 'a/*', limit: 'lots' }], /quotas\[0\]\.limit: invalid size "lots"/],
      [{ repositories: 'a' }, /quotas must be a list/],
    ] as Array<[unknown, RegExp]>) {
      const s = await run(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', join(dir, 'x'), '--config', writeConfig(dir, 'bad', { quotas })]);
      assert.equal(s.code, 125);
      assert.match(s.stderr, want);
    }
  });
});

describe('retention', () => {
  let dir: string;
  before(() => {
    dir = tempDir('berth-retention-');
  });
  after(() => cleanupDir(dir));

  test('keeps the last N tags and those within D days, drops untagged manifests, then gc; --dry-run changes nothing', async () => {
    const root = join(dir, 'root');
    const r = new RegistryProc(root);
    await r.start();
    const pushed: Record<string, { manifest: string; layer: string }> = {};
    try {
      for (const t of ['t1', 't2', 't3', 't4', 't5']) pushed[t] = await pushSmallImage(r, 'team/app', t, t);
      pushed.loose = await pushSmallImage(r, 'team/app', undefined, 'loose');
      await pushSmallImage(r, 'other/app', 'old', 'other');
    } finally {
      await r.stop();
    }
    // Push times: t1 40 days ago, t2 20, t3 10, t4 2, t5 now; other/app:old 90 days ago.
    const days = (n: number) => new Date(Date.now() - n * 86_400_000);
    const tagFile = (repo: string, tag: string) => join(root, 'repositories', ...repo.split('/'), '_manifests', 'tags', tag);
    for (const [t, n] of [
      ['t1', 40],
      ['t2', 20],
      ['t3', 10],
      ['t4', 2],
    ] as Array<[string, number]>)
      utimesSync(tagFile('team/app', t), days(n), days(n));
    utimesSync(tagFile('other/app', 'old'), days(90), days(90));
    const cfg = writeConfig(dir, 'ret', { root, retention: { rules: [{ repositories: 'team/*', keepLast: 2, keepDays: 15 }] } });

    const dry = await run(BERTH, ['registry', 'retention', '--dry-run', '--config', cfg]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would delete tag team/app:t1 \\(${pushed.t1!.manifest}\\)`));
    assert.match(dry.stdout, /would delete tag team\/app:t2/);
    assert.doesNotMatch(dry.stdout, /t3|t4|t5|other/);
    assert.match(dry.stdout, /retention: 2 tags and 3 manifests would be deleted/);
    assert.ok(existsSync(tagFile('team/app', 't1')));

    const real = await run(BERTH, ['registry', 'retention', '--config', cfg]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /retention: 2 tags and 3 manifests deleted/);
    assert.match(real.stdout, new RegExp(`deleting untagged manifest team/app@${pushed.loose!.manifest}`));
    // Each of the three: its manifest, config and layer.
    assert.match(real.stdout, /gc: 9 blobs deleted/);
    const after = new RegistryProc(root);
    await after.start();
    try {
      assert.deepEqual((await after.req('GET', '/v2/team/app/tags/list')).json.tags, ['t3', 't4', 't5']);
      assert.equal((await after.req('GET', `/v2/team/app/manifests/${pushed.t1!.manifest}`)).status, 404);
      assert.equal(blobOnDisk(root, pushed.t1!.layer), false);
      assert.equal(blobOnDisk(root, pushed.loose!.layer), false);
      assert.equal(blobOnDisk(root, pushed.t3!.layer), true);
      assert.deepEqual((await after.req('GET', '/v2/other/app/tags/list')).json.tags, ['old']);
    } finally {
      await after.stop();
    }
  });

  test('a schedule inside registry serve prunes as pushes go on', async () => {
    const root = join(dir, 'sched');
    const cfg = writeConfig(dir, 'sched', { retention: { schedule: '1s', rules: [{ repositories: 'ci/**', keepLast: 1 }] } });
    const r = new RegistryProc(root, ['--config', cfg]);
    await r.start();
    try {
      const first = await pushSmallImage(r, 'ci/build', 'b1', 'b1');
      await new Promise((res) => setTimeout(res, 20));
      await pushSmallImage(r, 'ci/build', 'b2', 'b2');
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && blobOnDisk(root, first.layer)) await new Promise((res) => setTimeout(res, 100));
      assert.equal(blobOnDisk(root, first.layer), false, r.log);
      assert.deepEqual((await r.req('GET', '/v2/ci/build/tags/list')).json.tags, ['b2']);
      // Pushes keep working while the schedule runs.
      for (let i = 3; i < 6; i++) await pushSmallImage(r, 'ci/build', `b${i}`, `b${i}`);
      assert.equal((await r.req('GET', '/v2/ci/build/manifests/b5')).status, 200);
    } finally {
      await r.stop();
    }
  });

  test('bad retention settings are refused', async () => {
    for (const [retention, want] of [
      [{ rules: [{ repositories: 'a/*' }] }, /needs keepLast or keepDays/],
      [{ rules: [{ repositories: 'a/*', keepLast: 1.5 }] }, /keepLast must be a whole number/],
      [{ rules: [], schedule: 'daily' }, /retention\.schedule: invalid duration "daily"/],
    ] as Array<[unknown, RegExp]>) {
      const s = await run(BERTH, ['registry', 'retention', '--config', writeConfig(dir, 'bad', { root: join(dir, 'root'), retention })]);
      assert.equal(s.code, 125);
      assert.match(s.stderr, want);
    }
    const none = await run(BERTH, ['registry', 'retention', '--config', writeConfig(dir, 'none', { root: join(dir, 'root') })]);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /no retention rules/);
  });
});
