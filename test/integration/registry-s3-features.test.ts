/**
 * Harbor's rows on the S3 driver: a quota refuses a push with DENIED on a
 * bucket as on a disk; scheduled retention on a writable shared bucket drops
 * tags and manifests but leaves the blob sweep alone (another replica may be
 * finishing an upload no manifest names yet); `berth registry retention` on a
 * read-only bucket sweeps the blobs too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, cleanupDir, run, BERTH } from '../helpers.js';
import { RegistryProc, sha256, pushSmallImage } from '../registry-helpers.js';
import { S3Server, useS3Credentials } from '../s3-helpers.js';

let dir: string;
let s3: S3Server;
before(async () => {
  dir = tempDir('berth-s3-features-');
  useS3Credentials();
  s3 = new S3Server(join(dir, 's3'));
  await s3.start();
});
after(async () => {
  await s3?.stop();
  cleanupDir(dir);
});

/** A config file on the test bucket under `prefix`, with `extra` keys. */
function config(name: string, prefix: string, extra: Record<string, unknown>): string {
  const f = join(dir, `${name}.json`);
  const storage = { s3: { bucket: 'registry', regionendpoint: s3.endpoint, forcepathstyle: true, rootdirectory: prefix } };
  writeFileSync(f, JSON.stringify({ storage, ...extra }));
  return f;
}

test('a quota refuses an upload with DENIED on the S3 driver; nothing becomes visible', async () => {
  const r = new RegistryProc(join(dir, 'q'), ['--config', config('q', 'quota', { quotas: [{ repositories: 'tiny/*', limit: 1000 }] })]);
  await r.start();
  try {
    const big = Buffer.alloc(2000, 7);
    const res = await r.req('POST', `/v2/tiny/app/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    assert.equal(res.status, 403, res.text);
    assert.equal(res.json?.errors?.[0]?.code, 'DENIED');
    assert.match(res.json?.errors?.[0]?.message ?? '', /quota/);
    assert.equal((await r.req('HEAD', `/v2/tiny/app/blobs/${sha256(big)}`)).status, 404);
    // Under the limit, and outside the pattern, pushes go through.
    await pushSmallImage(r, 'tiny/app', 'ok', 'small');
    const other = await r.req('POST', `/v2/free/app/blobs/uploads/?digest=${sha256(big)}`, { body: big });
    assert.equal(other.status, 201, other.text);
  } finally {
    await r.stop();
  }
});

test('scheduled retention on a writable bucket prunes tags but sweeps no blobs; by hand on a read-only bucket it does', async () => {
  const rules = [{ repositories: 'ci/**', keepLast: 1 }];
  // Pushed before the scheduled server starts, so no blob is among the ones it spares as just uploaded.
  const pusher = new RegistryProc(join(dir, 'push'), ['--config', config('push', 'ret', {})]);
  await pusher.start();
  let first: { layer: string };
  try {
    first = await pushSmallImage(pusher, 'ci/build', 'b1', 'b1');
    await new Promise((res) => setTimeout(res, 1100));
    await pushSmallImage(pusher, 'ci/build', 'b2', 'b2');
  } finally {
    await pusher.stop();
  }
  const r = new RegistryProc(join(dir, 'ret'), ['--config', config('sched', 'ret', { retention: { schedule: '1s', rules } })]);
  await r.start();
  try {
    const deadline = Date.now() + 30_000;
    let tags: string[] = [];
    while (Date.now() < deadline) {
      tags = (await r.req('GET', '/v2/ci/build/tags/list')).json.tags;
      if (tags.length === 1) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.deepEqual(tags, ['b2'], r.log);
    await new Promise((res) => setTimeout(res, 2500)); // two more scheduled runs
    // The untagged manifest's layer is still in the bucket: no sweep while replicas may write.
    assert.equal((await r.req('HEAD', `/v2/ci/build/blobs/${first.layer}`)).status, 200);
  } finally {
    await r.stop();
  }
  const byHand = config('hand', 'ret', { readOnly: true, retention: { rules } });
  const out = await run(BERTH, ['registry', 'retention', '--config', byHand]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /gc: [1-9]\d* blobs deleted/);
  const check = new RegistryProc(join(dir, 'ret2'), ['--config', config('check', 'ret', {})]);
  await check.start();
  try {
    assert.equal((await check.req('HEAD', `/v2/ci/build/blobs/${first.layer}`)).status, 404);
    assert.deepEqual((await check.req('GET', '/v2/ci/build/tags/list')).json.tags, ['b2']);
  } finally {
    await check.stop();
  }
});
