/**
 * The S3 storage driver as replicas use it: two `berth registry serve` on one
 * bucket (s3rver on loopback) are one registry — push through one, pull through
 * the other (skopeo, berth through berthd), an upload started on one finished on
 * the other, a replica killed mid-upload losing nothing it acknowledged,
 * concurrent pushes of one blob — and what goes wrong: a wrong digest, an S3
 * endpoint that is down at start or goes away mid-request, gc on a live bucket.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { type Daemon, startDaemon, importBusybox, tempDir, cleanupDir, run, BERTH, busyboxTar, makeTar, RealDockerd } from '../helpers.js';
import { RegistryProc, sha256, writeOciLayout, httpReq } from '../registry-helpers.js';
import { S3Server, useS3Credentials } from '../s3-helpers.js';

const MiB = 1 << 20;

function errorCode(res: { json: any }): string | undefined {
  return res.json?.errors?.[0]?.code;
}

/** Keys of the bucket's objects under a prefix, as s3rver keeps them on disk. */
function objects(s3: S3Server, prefix: string): string[] {
  const base = join(s3.dir, 'registry');
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = join(base, rel);
    if (!existsSync(p)) return;
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('._S3rver_object')) out.push(r.slice(0, -'._S3rver_object'.length));
    }
  };
  walk(prefix.replace(/\/$/, ''));
  return out;
}

/** Send the first bytes of a PATCH body of `total` bytes and leave the request hanging. */
function hangingPatch(url: string, first: Buffer, total: number): { destroy(): void } {
  const req = request(url, { method: 'PATCH', headers: { 'Content-Length': total, 'Content-Type': 'application/octet-stream' } });
  req.on('error', () => {});
  req.write(first);
  return req;
}

describe('two replicas on one bucket', () => {
  let dir: string;
  let s3: S3Server;
  let a: RegistryProc;
  let b: RegistryProc;
  before(async () => {
    dir = tempDir('berth-registry-s3-');
    useS3Credentials();
    s3 = new S3Server(join(dir, 's3'));
    await s3.start();
    a = new RegistryProc(join(dir, 'a'), ['--delete-enabled', ...s3.flags()]);
    b = new RegistryProc(join(dir, 'b'), ['--delete-enabled', ...s3.flags()]);
    await a.start();
    await b.start();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await s3?.stop();
    cleanupDir(dir);
  });

  test('skopeo pushes through one replica and pulls through the other; tags and catalog agree', async () => {
    const img = writeOciLayout(join(dir, 'src'), 'v1', [readFileSync(busyboxTar()), await makeTar({ 'etc/extra': 'second layer\n' })]);
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${a.host}/team/app:v1`]);
    assert.equal(push.code, 0, push.stderr + a.log);
    const out = join(dir, 'out');
    const pull = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${b.host}/team/app:v1`, `oci:${out}:v1`]);
    assert.equal(pull.code, 0, pull.stderr + b.log);
    assert.equal(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, img.manifestDigest);
    assert.deepEqual((await b.req('GET', '/v2/team/app/tags/list')).json, { name: 'team/app', tags: ['v1'] });
    assert.ok((await b.req('GET', '/v2/_catalog')).json.repositories.includes('team/app'));
    // A tag moved on one replica is read on the other at once (no cache).
    const manifest = (await a.req('GET', '/v2/team/app/manifests/v1', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).body;
    assert.equal(
      (await a.req('PUT', '/v2/team/app/manifests/v2', { body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } })).status,
      201,
    );
    assert.equal((await b.req('HEAD', '/v2/team/app/manifests/v2')).headers['docker-content-digest'], img.manifestDigest);
    assert.equal((await b.req('DELETE', '/v2/team/app/manifests/v2')).status, 202);
    assert.equal((await a.req('HEAD', '/v2/team/app/manifests/v2')).status, 404);
  });

  test('berth pushes through one replica (via berthd) and pulls through the other', async () => {
    let d: Daemon | undefined;
    try {
      d = await startDaemon();
      const id = await importBusybox(d);
      const refA = `${a.host}/berth/busybox:1`;
      const refB = `${b.host}/berth/busybox:1`;
      assert.equal((await d.berth(['tag', 'busybox', refA])).code, 0);
      const push = await d.berth(['push', refA]);
      assert.equal(push.code, 0, push.stderr);
      const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
      assert.ok(digest, push.stdout);
      const pull = await d.berth(['pull', refB]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
      assert.equal((await d.berth(['image', 'inspect', '-f', '{{.Id}}', refB])).stdout.trim(), id);
    } finally {
      await d?.cleanup();
    }
  });

  test('the real docker daemon pushes through one replica and pulls through the other', async () => {
    const dockerd = new RealDockerd(tempDir('berth-dockerd-'));
    try {
      await dockerd.start();
      const imp = await dockerd.docker(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'local/busybox:1']);
      assert.equal(imp.code, 0, imp.stderr);
      const refA = `${a.host}/dock/busybox:1`;
      const refB = `${b.host}/dock/busybox:1`;
      assert.equal((await dockerd.docker(['tag', 'local/busybox:1', refA])).code, 0);
      const push = await dockerd.docker(['push', refA]);
      assert.equal(push.code, 0, push.stderr + push.stdout);
      const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
      assert.ok(digest, push.stdout);
      const pull = await dockerd.docker(['pull', refB]);
      assert.equal(pull.code, 0, pull.stderr + pull.stdout);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
      assert.equal((await dockerd.docker(['inspect', '-f', '{{.Id}}', refB])).stdout.trim(), imp.stdout.trim());
    } finally {
      await dockerd.cleanup();
    }
  });

  test('a client that drops mid-chunk changes nothing: the session keeps what was acknowledged', async () => {
    const data = randomBytes(12 * MiB);
    const d = sha256(data);
    const path = new URL((await a.req('POST', '/v2/dropped/blobs/uploads/')).headers.location as string).pathname;
    assert.equal((await a.req('PATCH', path, { body: data.subarray(0, MiB) })).status, 202);
    // 9 MiB of an 11 MiB chunk (a part's worth reaches S3), then the client goes away.
    const hang = hangingPatch(`${a.url}${path}`, data.subarray(MiB, 10 * MiB), data.length - MiB);
    await new Promise((r) => setTimeout(r, 500));
    hang.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await b.req('GET', path)).headers.range, `0-${MiB - 1}`);
    assert.equal((await a.req('GET', path)).headers.range, `0-${MiB - 1}`);
    assert.equal((await b.req('PATCH', path, { body: data.subarray(MiB), headers: { 'Content-Range': `${MiB}-${data.length - 1}` } })).status, 202);
    // Completed on the replica that hashed the first chunk: its hash no longer covers every byte, so it reads the object back.
    const put = await a.req('PUT', `${path}?digest=${d}`);
    assert.equal(put.status, 201, put.text);
    assert.equal(sha256((await b.req('GET', `/v2/dropped/blobs/${d}`)).body), d);
  });

  test('an upload started on one replica continues and completes on the other (multipart parts and a small tail)', async () => {
    const data = randomBytes(19 * MiB + 12345);
    const d = sha256(data);
    const post = await a.req('POST', '/v2/moving/blobs/uploads/');
    assert.equal(post.status, 202);
    const path = new URL(post.headers.location as string).pathname;
    const cuts = [0, 3 * MiB, 12 * MiB, 12 * MiB + 100, 19 * MiB, data.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const r = i % 2 === 0 ? a : b;
      const [s, e] = [cuts[i]!, cuts[i + 1]!];
      const res = await r.req('PATCH', path, { body: data.subarray(s, e), headers: { 'Content-Range': `${s}-${e - 1}` } });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.headers.range, `0-${e - 1}`);
      // The other replica sees the same progress.
      assert.equal((await (r === a ? b : a).req('GET', path)).headers.range, `0-${e - 1}`);
    }
    // Out of order on the other replica: 416 with the true offset, nothing appended.
    const bad = await b.req('PATCH', path, { body: 'xyz', headers: { 'Content-Range': '5-7' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.range, `0-${data.length - 1}`);
    const put = await b.req('PUT', `${path}?digest=${d}`);
    assert.equal(put.status, 201, put.text);
    const got = await a.req('GET', `/v2/moving/blobs/${d}`);
    assert.equal(sha256(got.body), d);
    const range = await b.req('GET', `/v2/moving/blobs/${d}`, { headers: { Range: `bytes=${10 * MiB}-${10 * MiB + 9}` } });
    assert.equal(range.status, 206);
    assert.deepEqual(range.body, data.subarray(10 * MiB, 10 * MiB + 10));
    assert.deepEqual(objects(s3, 'uploads'), [], 'the session is gone from the bucket');
  });

  test('a replica killed with SIGKILL mid-upload loses nothing it acknowledged: the other finishes to a verified blob', async () => {
    const data = randomBytes(14 * MiB);
    const d = sha256(data);
    const path = new URL((await a.req('POST', '/v2/killed/blobs/uploads/')).headers.location as string).pathname;
    const acked = 9 * MiB;
    assert.equal((await a.req('PATCH', path, { body: data.subarray(0, acked) })).status, 202);
    // The next chunk is half sent when the replica dies.
    const hang = hangingPatch(`${a.url}${path}`, data.subarray(acked, acked + 2 * MiB), data.length - acked);
    await new Promise((r) => setTimeout(r, 300));
    await a.kill9();
    hang.destroy();
    const status = await b.req('GET', path);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, `0-${acked - 1}`);
    const rest = await b.req('PATCH', path, { body: data.subarray(acked), headers: { 'Content-Range': `${acked}-${data.length - 1}` } });
    assert.equal(rest.status, 202, rest.text);
    const put = await b.req('PUT', `${path}?digest=${d}`);
    assert.equal(put.status, 201, put.text);
    assert.equal(sha256((await b.req('GET', `/v2/killed/blobs/${d}`)).body), d);
    await a.start();
  });

  test('concurrent pushes of one blob through both replicas both succeed and store it once', async () => {
    const data = randomBytes(11 * MiB);
    const d = sha256(data);
    const chunked = async (r: RegistryProc) => {
      const p = new URL((await r.req('POST', '/v2/same/blobs/uploads/')).headers.location as string).pathname;
      assert.equal((await r.req('PATCH', p, { body: data })).status, 202);
      return r.req('PUT', `${p}?digest=${d}`);
    };
    const results = await Promise.all([
      chunked(a),
      chunked(b),
      a.req('POST', `/v2/same/blobs/uploads/?digest=${d}`, { body: data }),
      b.req('POST', `/v2/same/blobs/uploads/?digest=${d}`, { body: data }),
    ]);
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.equal(sha256((await a.req('GET', `/v2/same/blobs/${d}`)).body), d);
    assert.deepEqual(
      objects(s3, 'blobs').filter((k) => k.endsWith(d.slice(7))),
      [`blobs/sha256/${d.slice(7)}`],
    );
  });

  test('a wrong digest at completion of a multipart upload is DIGEST_INVALID and stores nothing', async () => {
    const data = randomBytes(9 * MiB);
    const wrong = sha256('something else');
    const p = new URL((await b.req('POST', '/v2/wrongdigest/blobs/uploads/')).headers.location as string).pathname;
    assert.equal((await a.req('PATCH', p, { body: data })).status, 202);
    const put = await b.req('PUT', `${p}?digest=${wrong}`);
    assert.equal(put.status, 400);
    assert.equal(errorCode(put), 'DIGEST_INVALID');
    assert.equal(put.json.errors[0].detail.actual, sha256(data));
    assert.equal((await a.req('HEAD', `/v2/wrongdigest/blobs/${wrong}`)).status, 404);
    assert.equal((await a.req('HEAD', `/v2/wrongdigest/blobs/${sha256(data)}`)).status, 404);
    assert.equal(
      objects(s3, 'blobs').some((k) => k.endsWith(wrong.slice(7)) || k.endsWith(sha256(data).slice(7))),
      false,
    );
    assert.deepEqual(objects(s3, `uploads/${p.split('/').pop()}`), []);
    assert.equal(errorCode(await a.req('GET', p)), 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('redirects, an unreachable S3 endpoint, gc and the config file', () => {
  let dir: string;
  let s3: S3Server;
  before(async () => {
    dir = tempDir('berth-registry-s3b-');
    useS3Credentials();
    s3 = new S3Server(join(dir, 's3'));
    await s3.start();
  });
  after(async () => {
    await s3?.stop();
    cleanupDir(dir);
  });

  test('--s3-redirect answers blob GETs with 307 to a presigned URL; skopeo follows it', async () => {
    const r = new RegistryProc(join(dir, 'redir'), [...s3.flags('registry', 'redir'), '--s3-redirect']);
    await r.start();
    try {
      const data = Buffer.from('redirected bytes');
      const d = sha256(data);
      assert.equal((await r.req('POST', `/v2/redir/blobs/uploads/?digest=${d}`, { body: data })).status, 201);
      const get = await r.req('GET', `/v2/redir/blobs/${d}`);
      assert.equal(get.status, 307);
      const loc = get.headers.location as string;
      assert.ok(loc.startsWith(`${s3.endpoint}/registry/redir/blobs/sha256/`), loc);
      assert.match(loc, /X-Amz-Signature=/);
      assert.deepEqual((await httpReq(loc)).body, data);
      const head = await r.req('HEAD', `/v2/redir/blobs/${d}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(data.length));
      // An unknown blob is still the registry's 404, not a redirect.
      assert.equal((await r.req('GET', `/v2/redir/blobs/${sha256('nope')}`)).status, 404);
      const img = writeOciLayout(join(dir, 'rsrc'), 'v1', [await makeTar({ 'a/file': 'x'.repeat(1000) })]);
      assert.equal((await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${r.host}/redir/img:v1`])).code, 0);
      const pull = await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${r.host}/redir/img:v1`, `oci:${join(dir, 'rout')}:v1`]);
      assert.equal(pull.code, 0, pull.stderr);
    } finally {
      await r.stop();
    }
  });

  test('an S3 endpoint down at start or mid-request: 503 UNAVAILABLE in the spec error JSON, the server stays up and recovers', async () => {
    const down = new S3Server(join(dir, 's3down'));
    await down.start();
    const port = down.port;
    await down.stop();
    const r = new RegistryProc(join(dir, 'down'), down.flags());
    await r.start();
    try {
      for (const [method, path] of [
        ['GET', '/v2/x/manifests/latest'],
        ['POST', '/v2/x/blobs/uploads/'],
        ['GET', '/v2/_catalog'],
      ] as const) {
        const res = await r.req(method, path);
        assert.equal(res.status, 503, `${method} ${path}: ${res.text}`);
        assert.equal(errorCode(res), 'UNAVAILABLE');
        assert.match(res.json.errors[0].message, /storage backend unavailable/);
      }
      // The endpoint comes up: the same server now works.
      await down.start(port);
      const data = randomBytes(9 * MiB);
      const d = sha256(data);
      const p = new URL((await r.req('POST', '/v2/x/blobs/uploads/')).headers.location as string).pathname;
      assert.equal((await r.req('PATCH', p, { body: data.subarray(0, 6 * MiB) })).status, 202);
      // Mid-upload the endpoint goes away: the next chunk and reads get 503, the server answers on.
      await down.stop();
      const chunk = await r.req('PATCH', p, { body: data.subarray(6 * MiB), headers: { 'Content-Range': `${6 * MiB}-${data.length - 1}` } });
      assert.equal(chunk.status, 503, chunk.text);
      assert.equal(errorCode(chunk), 'UNAVAILABLE');
      assert.equal((await r.req('GET', '/v2/')).status, 200);
      // Back again: the acknowledged bytes are there, the upload finishes.
      await down.start(port);
      assert.equal((await r.req('GET', p)).headers.range, `0-${6 * MiB - 1}`);
      assert.equal((await r.req('PATCH', p, { body: data.subarray(6 * MiB), headers: { 'Content-Range': `${6 * MiB}-${data.length - 1}` } })).status, 202);
      assert.equal((await r.req('PUT', `${p}?digest=${d}`)).status, 201);
      assert.equal(sha256((await r.req('GET', `/v2/x/blobs/${d}`)).body), d);
    } finally {
      await r.stop();
      await down.stop();
    }
  });

  test('gc on a bucket refuses to delete unless the registry is read-only; --dry-run lists; read-only deletes', async () => {
    const r = new RegistryProc(join(dir, 'gc'), s3.flags('registry', 'gc'));
    await r.start();
    const keep = Buffer.from('kept layer');
    const orphan = Buffer.from('orphan blob');
    try {
      for (const b of [keep, orphan]) assert.equal((await r.req('POST', `/v2/gc/blobs/uploads/?digest=${sha256(b)}`, { body: b })).status, 201);
      const cfg = Buffer.from('{}');
      assert.equal((await r.req('POST', `/v2/gc/blobs/uploads/?digest=${sha256(cfg)}`, { body: cfg })).status, 201);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(cfg), size: cfg.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(keep), size: keep.length }],
      });
      const put = await r.req('PUT', '/v2/gc/manifests/v1', { body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(put.status, 201);
      // The orphan is in the bucket, but no manifest names it. gc runs with the replica stopped.
      await r.stop();
      const gcArgs = [BERTH, 'registry', 'gc', ...s3.flags('registry', 'gc')];
      const refused = await run(process.execPath, gcArgs);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refusing to delete .* read-only/);
      const dry = await run(process.execPath, [...gcArgs, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${sha256(orphan)}`));
      assert.ok(objects(s3, 'gc/blobs').includes(`gc/blobs/sha256/${sha256(orphan).slice(7)}`));
      const real = await run(process.execPath, [...gcArgs, '--read-only']);
      assert.equal(real.code, 0, real.stderr);
      assert.match(real.stdout, new RegExp(`Deleting blob: ${sha256(orphan)}`));
      const left = objects(s3, 'gc/blobs');
      assert.equal(left.includes(`gc/blobs/sha256/${sha256(orphan).slice(7)}`), false);
      assert.ok(left.includes(`gc/blobs/sha256/${sha256(keep).slice(7)}`));
      await r.start();
      assert.equal((await r.req('GET', '/v2/gc/manifests/v1')).status, 200);
      assert.equal((await r.req('GET', `/v2/gc/blobs/${sha256(keep)}`)).text, 'kept layer');
      assert.equal((await r.req('GET', `/v2/gc/blobs/${sha256(orphan)}`)).status, 404);
    } finally {
      await r.stop();
    }
  });

  test("a config file with Distribution's storage.s3 keys serves from the bucket; bad storage settings are refused at start", async () => {
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        addr: '127.0.0.1:0',
        storage: { s3: { bucket: 'registry', region: 'us-east-1', regionendpoint: s3.endpoint, rootdirectory: '/cfg/', forcepathstyle: true } },
      }),
    );
    const r = new RegistryProc(join(dir, 'cfgroot'), ['--config', file]);
    await r.start();
    try {
      assert.match(r.log, /s3 bucket registry prefix cfg\//);
      const data = Buffer.from('from the config file');
      assert.equal((await r.req('POST', `/v2/c/blobs/uploads/?digest=${sha256(data)}`, { body: data })).status, 201);
      assert.ok(objects(s3, 'cfg/blobs').includes(`cfg/blobs/sha256/${sha256(data).slice(7)}`));
    } finally {
      await r.stop();
    }
    for (const [args, msg] of [
      [['--storage', 's3'], /s3 storage needs a bucket/],
      [['--storage', 'gcs'], /invalid storage driver "gcs"/],
      [['--storage', 's3', '--s3-bucket', 'b', '--s3-endpoint', 'not a url'], /invalid S3 endpoint/],
    ] as const) {
      const res = await run(process.execPath, [BERTH, 'registry', 'serve', '--addr', '127.0.0.1:0', ...args]);
      assert.equal(res.code, 125);
      assert.match(res.stderr, msg);
    }
    writeFileSync(file, JSON.stringify({ storage: { s3: { bucket: 'b', secretkey: 'x' } } }));
    const bad = await run(process.execPath, [BERTH, 'registry', 'serve', '--config', file]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /unknown key "storage.s3.secretkey"/);
  });
});
