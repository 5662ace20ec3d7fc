/**
 * `berth registry serve` end to end: the distribution spec through raw HTTP,
 * storage across restarts and crashes, gc, and interop with skopeo and a real
 * Docker daemon (plain, TLS, htpasswd and token auth, read-only).
 */
import { test, before, after, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { RealDockerd, tempDir, cleanupDir, busyboxTar, run, BERTH, makeTar } from '../helpers.js';
import { RegistryProc, sha256, writeOciLayout, httpReq } from '../registry-helpers.js';
import { DRIVERS, StorageFixture, type Driver } from '../s3-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Push bytes as a blob with a single POST. */
async function pushBlob(r: RegistryProc, name: string, data: Buffer | string): Promise<string> {
  const d = sha256(data);
  const res = await r.req('POST', `/v2/${name}/blobs/uploads/?digest=${d}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(res.status, 201, res.text);
  return d;
}

function imageManifest(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number }>, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
      ...extra,
    }),
  );
}

/** Push a small image (config + one layer + manifest) to name:tag; returns its digests. */
async function pushImage(r: RegistryProc, name: string, tag: string, seed: string): Promise<{ manifest: string; config: string; layer: string; body: Buffer }> {
  const layerData = Buffer.from(`layer ${seed}`);
  const configData = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = await pushBlob(r, name, layerData);
  const config = await pushBlob(r, name, configData);
  const body = imageManifest({ digest: config, size: configData.length }, [{ digest: layer, size: layerData.length }]);
  const res = await r.req('PUT', `/v2/${name}/manifests/${tag}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(res.status, 201, res.text);
  return { manifest: sha256(body), config, layer, body };
}

function errorCode(res: { json: any }): string | undefined {
  return res.json?.errors?.[0]?.code;
}

// The same suite on each storage driver (the S3 one against s3rver on loopback).
for (const driver of DRIVERS) describe(`distribution spec over raw HTTP (${driver} storage)`, () => rawHttpSuite(driver));

function rawHttpSuite(driver: Driver): void {
  let dir: string;
  let r: RegistryProc;
  let st: StorageFixture;
  before(async () => {
    dir = tempDir('berth-registry-');
    st = new StorageFixture(driver, dir);
    await st.start();
    r = new RegistryProc(join(dir, 'root'), ['--delete-enabled', ...st.flags()]);
    await r.start();
  });
  after(async () => {
    await r?.stop();
    await st?.stop();
    cleanupDir(dir);
  });

  test('/v2/ answers 200 with the API version header', async () => {
    const res = await r.req('GET', '/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.deepEqual(res.json, {});
  });

  test('monolithic single-POST push; GET and HEAD return the bytes with digest and length', async () => {
    const data = Buffer.from('hello blob');
    const d = sha256(data);
    const post = await r.req('POST', `/v2/mono/blobs/uploads/?digest=${d}`, { body: data });
    assert.equal(post.status, 201);
    assert.equal(post.headers.location, `${r.url}/v2/mono/blobs/${d}`);
    assert.equal(post.headers['docker-content-digest'], d);
    const get = await r.req('GET', `/v2/mono/blobs/${d}`);
    assert.equal(get.status, 200);
    assert.equal(get.text, 'hello blob');
    assert.equal(get.headers['docker-content-digest'], d);
    const head = await r.req('HEAD', `/v2/mono/blobs/${d}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(data.length));
    assert.equal(head.body.length, 0);
  });

  test('POST then PUT', async () => {
    const data = Buffer.from('post then put');
    const post = await r.req('POST', '/v2/pp/blobs/uploads/');
    assert.equal(post.status, 202);
    assert.equal(post.headers.range, '0-0');
    const loc = post.headers.location as string;
    assert.match(loc, /\/v2\/pp\/blobs\/uploads\/[0-9a-f-]{36}$/);
    assert.ok(post.headers['docker-upload-uuid']);
    const put = await httpReq(`${loc}?digest=${sha256(data)}`, 'PUT', { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(put.status, 201, put.text);
    assert.equal((await r.req('GET', `/v2/pp/blobs/${sha256(data)}`)).text, 'post then put');
  });

  test('chunked PATCH with Content-Range, 416 out of order, status GET, final chunk in PUT', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const loc = (await r.req('POST', '/v2/chunked/blobs/uploads/', { headers: { 'Content-Length': 0 } })).headers.location as string;
    const p1 = await httpReq(loc, 'PATCH', { body: data.subarray(0, 8), headers: { 'Content-Range': '0-7', 'Content-Type': 'application/octet-stream' } });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.range, '0-7');
    const bad = await httpReq(p1.headers.location as string, 'PATCH', { body: data.subarray(10, 14), headers: { 'Content-Range': '10-13' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.range, '0-7');
    const st = await httpReq(p1.headers.location as string, 'GET');
    assert.equal(st.status, 204);
    assert.equal(st.headers.range, '0-7');
    const p2 = await httpReq(st.headers.location as string, 'PATCH', { body: data.subarray(8, 14), headers: { 'Content-Range': '8-13' } });
    assert.equal(p2.status, 202);
    assert.equal(p2.headers.range, '0-13');
    const put = await httpReq(`${p2.headers.location}?digest=${sha256(data)}`, 'PUT', { body: data.subarray(14), headers: { 'Content-Range': '14-19' } });
    assert.equal(put.status, 201, put.text);
    assert.equal((await r.req('GET', `/v2/chunked/blobs/${sha256(data)}`)).text, data.toString());
  });

  test('a streamed PATCH without Content-Range (as docker pushes) then an empty PUT', async () => {
    const data = Buffer.alloc(3 << 20, 7);
    const loc = (await r.req('POST', '/v2/streamed/blobs/uploads/')).headers.location as string;
    const patch = await new Promise<number>((resolve, reject) => {
      const req = request(loc, { method: 'PATCH', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      for (let i = 0; i < 3; i++) req.write(data.subarray(i << 20, (i + 1) << 20));
      req.end();
    });
    assert.equal(patch, 202);
    const put = await httpReq(`${loc}?digest=${sha256(data)}`, 'PUT');
    assert.equal(put.status, 201, put.text);
    const head = await r.req('HEAD', `/v2/streamed/blobs/${sha256(data)}`);
    assert.equal(head.headers['content-length'], String(data.length));
  });

  test('a wrong digest is refused with DIGEST_INVALID and stores nothing', async () => {
    const data = Buffer.from('some bytes');
    const wrong = sha256('other bytes');
    const res = await r.req('POST', `/v2/wrong/blobs/uploads/?digest=${wrong}`, { body: data });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res), 'DIGEST_INVALID');
    assert.equal((await r.req('HEAD', `/v2/wrong/blobs/${wrong}`)).status, 404);
    assert.equal(st.blobStored(r.root, wrong), false);
  });

  test('cancel an upload with DELETE; its status is then BLOB_UPLOAD_UNKNOWN', async () => {
    const loc = (await r.req('POST', '/v2/cancel/blobs/uploads/')).headers.location as string;
    assert.equal((await httpReq(loc, 'DELETE')).status, 204);
    const st = await httpReq(loc, 'GET');
    assert.equal(st.status, 404);
    assert.equal(errorCode(st), 'BLOB_UPLOAD_UNKNOWN');
    // An upload is bound to its repository.
    const other = (await r.req('POST', '/v2/cancel/blobs/uploads/')).headers.location as string;
    const id = other.split('/').pop();
    assert.equal((await r.req('GET', `/v2/elsewhere/blobs/uploads/${id}`)).status, 404);
  });

  test('Range requests on blobs: 206 with Content-Range, suffix ranges, 416 beyond the end', async () => {
    const d = await pushBlob(r, 'ranges', '0123456789');
    const a = await r.req('GET', `/v2/ranges/blobs/${d}`, { headers: { Range: 'bytes=2-5' } });
    assert.equal(a.status, 206);
    assert.equal(a.text, '2345');
    assert.equal(a.headers['content-range'], 'bytes 2-5/10');
    const b = await r.req('GET', `/v2/ranges/blobs/${d}`, { headers: { Range: 'bytes=7-' } });
    assert.equal(b.text, '789');
    const c = await r.req('GET', `/v2/ranges/blobs/${d}`, { headers: { Range: 'bytes=-3' } });
    assert.equal(c.text, '789');
    const e = await r.req('GET', `/v2/ranges/blobs/${d}`, { headers: { Range: 'bytes=20-30' } });
    assert.equal(e.status, 416);
    assert.equal(e.headers['content-range'], 'bytes */10');
  });

  test('cross-repository mount: 201 when the source has the blob, an upload session (202) when not', async () => {
    const d = await pushBlob(r, 'mount/src', 'mount me');
    const ok = await r.req('POST', `/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`);
    assert.equal(ok.status, 201);
    assert.equal(ok.headers['docker-content-digest'], d);
    assert.equal((await r.req('GET', `/v2/mount/dst/blobs/${d}`)).text, 'mount me');
    const absent = sha256('not here');
    const fallback = await r.req('POST', `/v2/mount/dst/blobs/uploads/?mount=${absent}&from=mount/src`);
    assert.equal(fallback.status, 202);
    assert.match(fallback.headers.location as string, /\/v2\/mount\/dst\/blobs\/uploads\//);
    // A blob in a repository the blob was never pushed to or mounted into is unknown there.
    assert.equal((await r.req('GET', `/v2/mount/other/blobs/${d}`)).status, 404);
  });

  test('manifest PUT refuses absent blobs (MANIFEST_BLOB_UNKNOWN), then GET/HEAD by tag and digest', async () => {
    const layer = await pushBlob(r, 'img', 'a layer');
    const missingConfig = sha256('no such config');
    const bad = imageManifest({ digest: missingConfig, size: 14 }, [{ digest: layer, size: 7 }]);
    const refused = await r.req('PUT', '/v2/img/manifests/v1', { body: bad, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(refused.status, 400);
    assert.equal(errorCode(refused), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(refused.json.errors[0].detail, missingConfig);

    const img = await pushImage(r, 'img', 'v1', 'img');
    const get = await r.req('GET', '/v2/img/manifests/v1', { headers: { Accept: OCI_MANIFEST } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], OCI_MANIFEST);
    assert.equal(get.headers['docker-content-digest'], img.manifest);
    assert.deepEqual(get.body, img.body);
    const byDigest = await r.req('GET', `/v2/img/manifests/${img.manifest}`);
    assert.deepEqual(byDigest.body, img.body);
    const head = await r.req('HEAD', '/v2/img/manifests/v1');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(img.body.length));

    // Docker schema 2 keeps its own media type.
    const docker = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          digest: img.config,
          size: JSON.stringify({ architecture: 'amd64', os: 'linux', seed: 'img' }).length,
        },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: img.layer, size: 9 }],
      }),
    );
    const put = await r.req('PUT', '/v2/img/manifests/docker', {
      body: docker,
      headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(put.status, 201, put.text);
    assert.equal((await r.req('GET', '/v2/img/manifests/docker')).headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');

    // A digest reference must match the body; tags can be given with ?tag=.
    const wrong = await r.req('PUT', `/v2/img/manifests/${sha256('x')}`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(errorCode(wrong), 'DIGEST_INVALID');
    const tagged = await r.req('PUT', `/v2/img/manifests/${img.manifest}?tag=a1&tag=a2`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(tagged.status, 201);
    assert.equal(tagged.headers['oci-tag'], 'a1, a2');
    assert.equal((await r.req('GET', '/v2/img/manifests/a2')).headers['docker-content-digest'], img.manifest);
  });

  test('an image index is refused until its child manifests are in the repository', async () => {
    const img = await pushImage(r, 'multi', 'amd64', 'multi');
    const missing = sha256('child');
    const index = (children: string[]) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: children.map((d) => ({ mediaType: OCI_MANIFEST, digest: d, size: 100, platform: { architecture: 'amd64', os: 'linux' } })),
        }),
      );
    const refused = await r.req('PUT', '/v2/multi/manifests/latest', { body: index([img.manifest, missing]), headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(errorCode(refused), 'MANIFEST_BLOB_UNKNOWN');
    const ok = await r.req('PUT', '/v2/multi/manifests/latest', { body: index([img.manifest]), headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(ok.status, 201);
    assert.equal((await r.req('GET', '/v2/multi/manifests/latest')).headers['content-type'], OCI_INDEX);
  });

  test('tags/list and _catalog paginate with n, last and a Link header', async () => {
    for (const t of ['e', 'a', 'c', 'b', 'd']) await pushImage(r, 'paged', t, 'paged');
    assert.deepEqual((await r.req('GET', '/v2/paged/tags/list')).json, { name: 'paged', tags: ['a', 'b', 'c', 'd', 'e'] });
    const seen: string[] = [];
    let path: string | undefined = '/v2/paged/tags/list?n=2';
    let pages = 0;
    while (path) {
      const res = await r.req('GET', path);
      assert.equal(res.status, 200);
      seen.push(...res.json.tags);
      pages++;
      const link = res.headers.link as string | undefined;
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pages, 3);
    assert.deepEqual((await r.req('GET', '/v2/paged/tags/list?n=2&last=b')).json.tags, ['c', 'd']);
    const zero = await r.req('GET', '/v2/paged/tags/list?n=0');
    assert.deepEqual(zero.json.tags, []);
    assert.equal(zero.headers.link, undefined);

    const all = (await r.req('GET', '/v2/_catalog')).json.repositories as string[];
    assert.ok(all.includes('paged') && all.includes('mount/src'));
    assert.deepEqual(all, [...all].sort());
    const first = await r.req('GET', '/v2/_catalog?n=1');
    assert.equal(first.json.repositories.length, 1);
    assert.match(first.headers.link as string, /^<\/v2\/_catalog\?last=[^&]+&n=1>; rel="next"$/);
  });

  test('referrers: OCI-Subject on push, listing with artifactType and annotations, filtering', async () => {
    const subject = await pushImage(r, 'refs', 'v1', 'refs');
    const empty = await pushBlob(r, 'refs', '{}');
    const subj = { mediaType: OCI_MANIFEST, digest: subject.manifest, size: subject.body.length };
    const sbom = imageManifest({ digest: empty, size: 2 }, [], {
      artifactType: 'application/vnd.example.sbom',
      subject: subj,
      annotations: { 'org.example': 'sbom' },
    });
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        subject: subj,
        config: { mediaType: 'application/vnd.example.signature', digest: empty, size: 2 },
        layers: [],
      }),
    );
    for (const body of [sbom, sig]) {
      const put = await r.req('PUT', `/v2/refs/manifests/${sha256(body)}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers['oci-subject'], subject.manifest);
    }
    const list = await r.req('GET', `/v2/refs/referrers/${subject.manifest}`);
    assert.equal(list.status, 200);
    assert.equal(list.headers['content-type'], OCI_INDEX);
    const byDigest = Object.fromEntries(list.json.manifests.map((d: any) => [d.digest, d]));
    assert.equal(Object.keys(byDigest).length, 2);
    assert.deepEqual(byDigest[sha256(sbom)], {
      mediaType: OCI_MANIFEST,
      digest: sha256(sbom),
      size: sbom.length,
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.example': 'sbom' },
    });
    assert.equal(byDigest[sha256(sig)].artifactType, 'application/vnd.example.signature');
    const filtered = await r.req('GET', `/v2/refs/referrers/${subject.manifest}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      filtered.json.manifests.map((d: any) => d.digest),
      [sha256(sbom)],
    );
    // No referrers: an empty index, never 404; a bad digest: 400.
    const none = await r.req('GET', `/v2/refs/referrers/${sha256('nothing')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json.manifests, []);
    assert.equal((await r.req('GET', '/v2/refs/referrers/sha256:xyz')).status, 400);
    // Deleting a referrer removes it from the list.
    assert.equal((await r.req('DELETE', `/v2/refs/manifests/${sha256(sig)}`)).status, 202);
    assert.deepEqual(
      (await r.req('GET', `/v2/refs/referrers/${subject.manifest}`)).json.manifests.map((d: any) => d.digest),
      [sha256(sbom)],
    );
  });

  test('delete tags, manifests and blobs (202), then they are 404', async () => {
    const img = await pushImage(r, 'del', 'one', 'del');
    const again = await r.req('PUT', '/v2/del/manifests/two', { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(again.status, 201);
    assert.equal((await r.req('DELETE', '/v2/del/manifests/one')).status, 202);
    assert.equal((await r.req('GET', '/v2/del/manifests/one')).status, 404);
    assert.equal((await r.req('GET', '/v2/del/manifests/two')).status, 200);
    assert.equal((await r.req('DELETE', `/v2/del/manifests/${img.manifest}`)).status, 202);
    const gone = await r.req('GET', '/v2/del/manifests/two');
    assert.equal(gone.status, 404);
    assert.equal(errorCode(gone), 'MANIFEST_UNKNOWN');
    assert.equal((await r.req('GET', `/v2/del/manifests/${img.manifest}`)).status, 404);
    assert.equal((await r.req('DELETE', `/v2/del/blobs/${img.layer}`)).status, 202);
    assert.equal((await r.req('GET', `/v2/del/blobs/${img.layer}`)).status, 404);
    assert.equal((await r.req('DELETE', `/v2/del/blobs/${img.layer}`)).status, 404);
  });

  test('error codes and statuses for bad input', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/v2/Upper/tags/list', 400, 'NAME_INVALID'],
      ['GET', '/v2/a..b/manifests/latest', 400, 'NAME_INVALID'],
      ['GET', `/v2/${'a'.repeat(256)}/tags/list`, 400, 'NAME_INVALID'],
      ['GET', '/v2/nosuch/tags/list', 404, 'NAME_UNKNOWN'],
      ['GET', '/v2/nosuch/manifests/latest', 404, 'MANIFEST_UNKNOWN'],
      ['GET', `/v2/img/blobs/${sha256('absent')}`, 404, 'BLOB_UNKNOWN'],
      ['GET', '/v2/img/blobs/sha256:1234', 400, 'DIGEST_INVALID'],
      ['GET', `/v2/img/blobs/md5:${'a'.repeat(32)}`, 400, 'DIGEST_INVALID'],
      ['POST', '/v2/img/blobs/uploads/?digest=sha256:nothex', 400, 'DIGEST_INVALID'],
      ['PATCH', '/v2/img/blobs/uploads/00000000-0000-0000-0000-000000000000', 404, 'BLOB_UPLOAD_UNKNOWN'],
      ['PUT', '/v2/img/manifests/bad', 400, 'MANIFEST_INVALID'],
    ];
    for (const [method, path, status, code] of cases) {
      const res = await r.req(method, path, method === 'PUT' ? { body: 'not json', headers: { 'Content-Type': OCI_MANIFEST } } : {});
      assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
      assert.equal(errorCode(res), code, `${method} ${path}`);
      assert.equal(typeof res.json.errors[0].message, 'string');
    }
    const big = await r.req('PUT', '/v2/img/manifests/big', { body: Buffer.alloc((4 << 20) + 1, 32), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(big.status, 413);
    const chunk = (await r.req('POST', '/v2/img/blobs/uploads/')).headers.location as string;
    const badRange = await httpReq(chunk, 'PATCH', { body: 'abc', headers: { 'Content-Range': '5-7' } });
    assert.equal(badRange.status, 416);
  });

  test('storage survives a restart', async () => {
    const img = await pushImage(r, 'persist', 'v1', 'persist');
    await r.stop();
    await r.start();
    const m = await r.req('GET', '/v2/persist/manifests/v1');
    assert.equal(m.headers['docker-content-digest'], img.manifest);
    assert.equal((await r.req('GET', `/v2/persist/blobs/${img.layer}`)).text, 'layer persist');
  });

  test('a crash in the middle of an upload leaves no visible blob', async () => {
    const data = Buffer.alloc(4 << 20, 1);
    const d = sha256(data);
    const loc = (await r.req('POST', '/v2/crash/blobs/uploads/')).headers.location as string;
    const id = loc.split('/').pop()!;
    // Send half the declared body, wait until the server holds some of it, then SIGKILL the server.
    const req = request(`${loc}?digest=${d}`, { method: 'PUT', headers: { 'Content-Length': data.length } });
    req.on('error', () => {});
    req.write(data.subarray(0, 2 << 20));
    if (driver === 'filesystem') {
      const upload = join(r.root, 'uploads', id, 'data');
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(existsSync(upload) && readFileSync(upload).length > 0)) await new Promise((res) => setTimeout(res, 20));
    } else {
      // S3 keeps a request's bytes out of the session until the request ends: nothing to see, the checks below hold either way.
      await new Promise((res) => setTimeout(res, 300));
    }
    await r.kill9();
    req.destroy();
    await r.start();
    assert.equal((await r.req('HEAD', `/v2/crash/blobs/${d}`)).status, 404);
    assert.equal(st.blobStored(r.root, d), false);
    const manifest = imageManifest({ digest: d, size: data.length }, []);
    const put = await r.req('PUT', '/v2/crash/manifests/v1', { body: manifest, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(errorCode(put), 'MANIFEST_BLOB_UNKNOWN');
    // The session holds only what arrived: completing it now fails the digest check.
    const path = new URL(loc).pathname; // the restarted server listens on a new port
    const status = await r.req('GET', path);
    assert.equal(status.status, 204);
    const finish = await r.req('PUT', `${path}?digest=${d}`);
    assert.equal(errorCode(finish), 'DIGEST_INVALID');
    assert.equal(st.blobStored(r.root, d), false);
  });
}

test('a JSON config file sets the same settings: read-only and a rate limit (429 with Retry-After)', async () => {
  const dir = tempDir('berth-registry-cfg-');
  const cfg = join(dir, 'registry.json');
  writeFileSync(cfg, JSON.stringify({ root: 'data', readOnly: true, rateLimit: { requestsPerSecond: 0.5, burst: 2 } }));
  const r = new RegistryProc(join(dir, 'data'), ['--config', cfg]);
  await r.start();
  try {
    assert.match(r.log, /read-only/);
    const write = await r.req('POST', '/v2/x/blobs/uploads/');
    assert.equal(write.status, 405);
    assert.equal(errorCode(write), 'UNSUPPORTED');
    assert.equal((await r.req('GET', '/v2/')).status, 200);
    const limited = await r.req('GET', '/v2/');
    assert.equal(limited.status, 429);
    assert.equal(errorCode(limited), 'TOOMANYREQUESTS');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  } finally {
    await r.stop();
    cleanupDir(dir);
  }
  const bad = await run(process.execPath, [BERTH, 'registry', 'serve', '--config', join(dir, 'missing.json')]);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /cannot read config file/);
});

/** GET from a chosen local address (the registry tells clients apart by address), with optional Basic credentials. */
function getFrom(
  url: string,
  localAddress: string,
  creds?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = creds ? { Authorization: `Basic ${Buffer.from(creds).toString('base64')}` } : {};
    const req = request(url, { agent: false, localAddress, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString());
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('a storm of wrong passwords neither stalls other clients nor goes on: bcrypt runs off the event loop, the storm gets 429', async () => {
  const dir = tempDir('berth-registry-storm-');
  // Cost 10, as `htpasswd -B -C 10` and Distribution's docs make them: tens of ms per comparison.
  const line = spawnSync('htpasswd', ['-nbB', '-C', '10', 'alice', 'wonderland'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(dir, 'users'), line + '\n');
  const r = new RegistryProc(join(dir, 'root'), ['--htpasswd', join(dir, 'users')]);
  await r.start();
  try {
    const url = `${r.url}/v2/`;
    const STORM = '127.0.0.1';
    const OTHER = '127.0.0.2';
    assert.equal((await getFrom(url, OTHER, 'alice:wonderland')).status, 200);

    // One batch of wrong passwords in parallel (each a different one, as a guesser sends them).
    let stormDone = false;
    const batch = Promise.all(Array.from({ length: 8 }, (_, i) => getFrom(url, STORM, `alice:guess${i}`))).finally(() => {
      stormDone = true;
    });
    // Meanwhile another client asks, one request after another, anonymously and logged in.
    let served = 0;
    while (!stormDone) {
      const anon = await getFrom(url, OTHER);
      assert.equal(anon.status, 401);
      const known = await getFrom(url, OTHER, 'alice:wonderland');
      if (stormDone) break; // only answers given while the storm was still being worked on count
      assert.equal(known.status, 200);
      served += 2;
    }
    const answers = await batch;
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(401),
    );
    // With bcrypt on the event loop each wrong password blocks everything: at most one
    // other request gets through between two of them, fewer than the batch has.
    assert.ok(served >= 20, `only ${served} requests of another client were answered while 8 wrong passwords were checked`);

    // The guesser keeps going and is cut off.
    let limited: Awaited<ReturnType<typeof getFrom>> | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const a = await getFrom(url, STORM, `alice:more${i}`);
      if (a.status === 429) limited = a;
      else assert.equal(a.status, 401);
    }
    assert.ok(limited, 'the storm was never rate-limited');
    assert.equal(limited.json?.errors?.[0]?.code, 'TOOMANYREQUESTS');
    assert.match(limited.json?.errors?.[0]?.message, /too many failed login attempts/);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    // Even the right password is refused from there for now (a guess that hit must not show).
    assert.equal((await getFrom(url, STORM, 'alice:wonderland')).status, 429);
    // An anonymous request from there still gets the ordinary challenge, and other clients are untouched.
    assert.equal((await getFrom(url, STORM)).status, 401);
    assert.equal((await getFrom(url, OTHER, 'alice:wonderland')).status, 200);
    assert.equal((await getFrom(url, OTHER, 'alice:wrong')).status, 401);
  } finally {
    await r.stop();
    cleanupDir(dir);
  }
});

describe('gc', () => {
  let dir: string;
  let r: RegistryProc;
  before(async () => {
    dir = tempDir('berth-registry-gc-');
    r = new RegistryProc(join(dir, 'root'), ['--delete-enabled']);
    await r.start();
  });
  after(async () => {
    await r?.stop();
    cleanupDir(dir);
  });

  const blobFile = (d: string) => join(r.root, 'blobs', 'sha256', d.slice(7));
  const gc = (...args: string[]) => run(process.execPath, [BERTH, 'registry', 'gc', '--root', r.root, ...args]);

  test('keeps everything a manifest references, removes the rest; --delete-untagged drops unreachable manifests', async () => {
    const a = await pushImage(r, 'gc/app', 'v1', 'a');
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: a.manifest, size: a.body.length }] }),
    );
    assert.equal((await r.req('PUT', '/v2/gc/app/manifests/multi', { body: index, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
    // The child is reachable only through the index once its own tag is gone.
    assert.equal((await r.req('DELETE', '/v2/gc/app/manifests/v1')).status, 202);
    const empty = await pushBlob(r, 'gc/app', '{}');
    const sig = imageManifest({ digest: empty, size: 2 }, [], {
      artifactType: 'application/vnd.example.sig',
      subject: { mediaType: OCI_MANIFEST, digest: a.manifest, size: a.body.length },
    });
    assert.equal((await r.req('PUT', `/v2/gc/app/manifests/${sha256(sig)}`, { body: sig, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
    const b = await pushImage(r, 'gc/old', 'v1', 'b');
    assert.equal((await r.req('DELETE', '/v2/gc/old/manifests/v1')).status, 202);
    const orphan = await pushBlob(r, 'gc/app', 'nobody references me');
    await r.stop();

    const missing = await run(process.execPath, [BERTH, 'registry', 'gc', '--root', join(dir, 'nothing')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no registry storage/);
    const dry = await gc('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${orphan}`));
    assert.ok(existsSync(blobFile(orphan)), 'dry run deletes nothing');

    const first = await gc();
    assert.equal(first.code, 0, first.stderr);
    assert.equal(existsSync(blobFile(orphan)), false);
    for (const d of [a.manifest, a.config, a.layer, sha256(index), sha256(sig), empty, b.manifest, b.config, b.layer])
      assert.ok(existsSync(blobFile(d)), `kept ${d}`);

    const second = await gc('--delete-untagged');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`gc/old: manifest eligible for deletion: ${b.manifest}`));
    for (const d of [b.manifest, b.config, b.layer]) assert.equal(existsSync(blobFile(d)), false, `removed ${d}`);
    // The index keeps its untagged child, and the child keeps its referrer.
    for (const d of [a.manifest, a.config, a.layer, sha256(index), sha256(sig), empty]) assert.ok(existsSync(blobFile(d)), `kept ${d}`);

    await r.start();
    assert.equal((await r.req('GET', '/v2/gc/app/manifests/multi')).status, 200);
    assert.equal((await r.req('GET', `/v2/gc/app/blobs/${a.layer}`)).text, 'layer a');
    assert.equal((await r.req('GET', `/v2/gc/app/blobs/${orphan}`)).status, 404);
    assert.deepEqual(
      (await r.req('GET', `/v2/gc/app/referrers/${a.manifest}`)).json.manifests.map((d: any) => d.digest),
      [sha256(sig)],
    );
  });
});

/** A self-signed certificate for 127.0.0.1 in dir/{cert,key}.pem, and dir/certs.d/ca.crt for skopeo. */
function makeCert(dir: string): { cert: string; key: string; certDir: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const certDir = join(dir, 'certs.d');
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, 'ca.crt'), readFileSync(cert));
  return { cert, key, certDir };
}

function htpasswdFile(dir: string, users: Record<string, string>): string {
  const lines = Object.entries(users).map(([u, p]) => spawnSync('htpasswd', ['-nbB', u, p], { encoding: 'utf8' }).stdout.trim());
  const f = join(dir, 'users.htpasswd');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describe('skopeo', () => {
  let dir: string;
  before(() => {
    dir = tempDir('berth-registry-skopeo-');
  });
  after(() => cleanupDir(dir));

  for (const [driver, tls] of DRIVERS.flatMap((d) => [[d, false] as const, [d, true] as const])) {
    test(`copies an OCI layout into our registry and back with identical digests${tls ? ' (TLS, verified with the CA)' : ''} (${driver} storage)`, async () => {
      const sub = join(dir, `${driver}-${tls ? 'tls' : 'plain'}`);
      mkdirSync(sub, { recursive: true });
      const c = tls ? makeCert(sub) : undefined;
      const st = new StorageFixture(driver, sub);
      await st.start();
      const r = new RegistryProc(join(sub, 'root'), [...(c ? ['--tls-cert', c.cert, '--tls-key', c.key] : []), ...st.flags()]);
      await r.start();
      try {
        assert.equal(r.url.startsWith(tls ? 'https://' : 'http://'), true);
        const img = writeOciLayout(join(sub, 'src'), 'v1', [readFileSync(busyboxTar()), await makeTar({ 'etc/extra': 'second layer\n' })]);
        const destTls = c ? ['--dest-cert-dir', c.certDir] : ['--dest-tls-verify=false'];
        const push = await run('skopeo', ['copy', ...destTls, `oci:${img.dir}:v1`, `docker://${r.host}/skopeo/busybox:v1`]);
        assert.equal(push.code, 0, push.stderr + r.log);
        const srcTls = c ? ['--cert-dir', c.certDir] : ['--tls-verify=false'];
        const raw = await run('skopeo', ['inspect', ...srcTls, '--raw', `docker://${r.host}/skopeo/busybox:v1`]);
        assert.equal(raw.code, 0, raw.stderr);
        assert.equal(sha256(raw.stdout), img.manifestDigest);
        const out = join(sub, 'out');
        const pull = await run('skopeo', [
          'copy',
          ...(c ? ['--src-cert-dir', c.certDir] : ['--src-tls-verify=false']),
          `docker://${r.host}/skopeo/busybox:v1`,
          `oci:${out}:v1`,
        ]);
        assert.equal(pull.code, 0, pull.stderr);
        const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
        assert.equal(index.manifests[0].digest, img.manifestDigest);
        assert.deepEqual(readdirSync(join(out, 'blobs', 'sha256')).sort(), readdirSync(join(img.dir, 'blobs', 'sha256')).sort());
        for (const l of img.layers) assert.equal(st.blobStored(r.root, l), true);
      } finally {
        await r.stop();
        await st.stop();
      }
    });
  }
});

describe('the real Docker daemon', () => {
  let dir: string;
  let dockerd: RealDockerd;
  let image: string;
  before(async () => {
    dir = tempDir('berth-registry-docker-');
    dockerd = new RealDockerd(tempDir('berth-dockerd-'));
    await dockerd.start();
    const imp = await dockerd.docker(['import', '--change', 'CMD ["sh"]', busyboxTar(), 'local/busybox:1']);
    assert.equal(imp.code, 0, imp.stderr);
    image = imp.stdout.trim();
  });
  after(async () => {
    await dockerd?.cleanup();
    cleanupDir(dir);
  });

  /** docker tag + push + rmi + pull; returns the pushed digest. */
  async function roundTrip(host: string, repo: string): Promise<string> {
    const ref = `${host}/${repo}:1`;
    assert.equal((await dockerd.docker(['tag', 'local/busybox:1', ref])).code, 0);
    const push = await dockerd.docker(['push', ref]);
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.equal((await dockerd.docker(['rmi', ref])).code, 0);
    const pull = await dockerd.docker(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal((await dockerd.docker(['inspect', '-f', '{{.Id}}', ref])).stdout.trim(), image);
    return digest!;
  }

  for (const driver of DRIVERS)
    test(`pushes into our registry and pulls back with the same digest; docker search finds it; read-only refuses pushes (${driver} storage)`, (t) =>
      pushPullReadOnly(driver, t));

  async function pushPullReadOnly(driver: Driver, t: TestContext): Promise<void> {
    const root = join(dir, `plain-${driver}`);
    const st = new StorageFixture(driver, join(dir, `storage-${driver}`));
    await st.start();
    t.after(() => st.stop());
    const r = new RegistryProc(root, st.flags());
    await r.start();
    try {
      const digest = await roundTrip(r.host, 'dock/busybox');
      const m = await r.req('GET', '/v2/dock/busybox/manifests/1', { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(m.headers['docker-content-digest'], digest);
      assert.equal(sha256(m.body), digest);
      const search = await dockerd.docker(['search', `${r.host}/busy`]);
      assert.equal(search.code, 0, search.stderr);
      assert.match(search.stdout, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL/);
      assert.match(search.stdout, /dock\/busybox/);
      const none = await dockerd.docker(['search', `${r.host}/nomatch`]);
      assert.equal(none.stdout.trim().split('\n').length, 1);
    } finally {
      await r.stop();
    }
    // The same root served read-only: pulls work, pushes are refused.
    const ro = new RegistryProc(root, ['--read-only', ...st.flags()]);
    await ro.start();
    try {
      const ref = `${ro.host}/dock/busybox:1`;
      assert.equal((await dockerd.docker(['pull', ref])).code, 0);
      assert.equal((await dockerd.docker(['tag', 'local/busybox:1', `${ro.host}/dock/other:1`])).code, 0);
      const push = await dockerd.docker(['push', `${ro.host}/dock/other:1`]);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr + push.stdout, /unsupported|read-only/i);
      const raw = await ro.req('POST', '/v2/dock/other/blobs/uploads/');
      assert.equal(raw.status, 405);
      assert.equal(errorCode(raw), 'UNSUPPORTED');
    } finally {
      await ro.stop();
    }
  }

  test('pushes and pulls over TLS (self-signed certificate)', async () => {
    const sub = join(dir, 'tls');
    mkdirSync(sub, { recursive: true });
    const c = makeCert(sub);
    const r = new RegistryProc(join(sub, 'root'), ['--tls-cert', c.cert, '--tls-key', c.key]);
    await r.start();
    try {
      assert.match(r.url, /^https:/);
      await roundTrip(r.host, 'tls/busybox');
    } finally {
      await r.stop();
    }
  });

  test('htpasswd auth: Basic challenge, docker login refuses a wrong password, then push and pull', async () => {
    const sub = join(dir, 'basic');
    mkdirSync(sub, { recursive: true });
    const r = new RegistryProc(join(sub, 'root'), ['--htpasswd', htpasswdFile(sub, { alice: 'wonderland' })]);
    await r.start();
    try {
      const anon = await r.req('GET', '/v2/');
      assert.equal(anon.status, 401);
      assert.equal(anon.headers['www-authenticate'], 'Basic realm="Berth Registry"');
      assert.equal(errorCode(anon), 'UNAUTHORIZED');
      const ref = `${r.host}/basic/busybox:1`;
      assert.equal((await dockerd.docker(['tag', 'local/busybox:1', ref])).code, 0);
      const denied = await dockerd.docker(['push', ref]);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr + denied.stdout, /no basic auth credentials|unauthorized/);
      const bad = await dockerd.docker(['login', '-u', 'alice', '--password-stdin', r.host], { input: 'wrong\n' });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /401 Unauthorized/);
      const good = await dockerd.docker(['login', '-u', 'alice', '--password-stdin', r.host], { input: 'wonderland\n' });
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /Login Succeeded/);
      await roundTrip(r.host, 'basic/busybox');
    } finally {
      await r.stop();
    }
  });

  test('token auth: Bearer challenge with scope, per-repository access, docker login, push and pull', async () => {
    const sub = join(dir, 'token');
    mkdirSync(sub, { recursive: true });
    const users = htpasswdFile(sub, { alice: 'alicepw', bob: 'bobpw' });
    const r = new RegistryProc(join(sub, 'root'), [
      '--auth',
      'token',
      '--htpasswd',
      users,
      '--access',
      'team/**:alice:pull,push,delete',
      '--access',
      'team/**:bob:pull',
    ]);
    await r.start();
    try {
      const base = await r.req('GET', '/v2/');
      assert.equal(base.status, 401);
      assert.equal(base.headers['www-authenticate'], `Bearer realm="http://${r.host}/token",service="berth-registry"`);
      const repo = await r.req('GET', '/v2/team/app/manifests/latest');
      assert.equal(repo.headers['www-authenticate'], `Bearer realm="http://${r.host}/token",service="berth-registry",scope="repository:team/app:pull"`);
      const push = await r.req('POST', '/v2/team/app/blobs/uploads/');
      assert.match(push.headers['www-authenticate'] as string, /scope="repository:team\/app:pull,push"$/);

      // Tokens carry only what the rules grant.
      const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
      const tok = await r.req('GET', '/token?service=berth-registry&scope=repository:team/app:pull,push', { headers: basic('bob', 'bobpw') });
      assert.equal(tok.status, 200);
      const claims = JSON.parse(Buffer.from(tok.json.token.split('.')[1], 'base64url').toString());
      assert.deepEqual(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
      const bobPush = await r.req('POST', '/v2/team/app/blobs/uploads/', { headers: { Authorization: `Bearer ${tok.json.token}` } });
      assert.equal(bobPush.status, 401);
      assert.equal(errorCode(bobPush), 'UNAUTHORIZED');
      assert.match(bobPush.headers['www-authenticate'] as string, /scope="repository:team\/app:pull,push",error="insufficient_scope"$/);
      assert.equal((await r.req('GET', '/token?service=berth-registry', { headers: basic('bob', 'nope') })).status, 401);
      const forged = tok.json.token.slice(0, -4) + 'AAAA';
      assert.equal((await r.req('GET', '/v2/', { headers: { Authorization: `Bearer ${forged}` } })).status, 401);

      const bad = await dockerd.docker(['login', '-u', 'alice', '--password-stdin', r.host], { input: 'wrong\n' });
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /unauthorized/);
      const bobLogin = await dockerd.docker(['login', '-u', 'bob', '--password-stdin', r.host], { input: 'bobpw\n' });
      assert.equal(bobLogin.code, 0, bobLogin.stderr);
      assert.equal((await dockerd.docker(['tag', 'local/busybox:1', `${r.host}/team/app:1`])).code, 0);
      const bobDocker = await dockerd.docker(['push', `${r.host}/team/app:1`]);
      assert.notEqual(bobDocker.code, 0);
      assert.match(bobDocker.stderr + bobDocker.stdout, /denied/);
      const login = await dockerd.docker(['login', '-u', 'alice', '--password-stdin', r.host], { input: 'alicepw\n' });
      assert.equal(login.code, 0, login.stderr);
      await roundTrip(r.host, 'team/app');
      // Restarted on the same port, the registry keeps its signing key and data: the stored login still works.
      await r.stop();
      const again = new RegistryProc(r.root, r.args, r.host);
      await again.start();
      try {
        assert.equal((await dockerd.docker(['rmi', `${r.host}/team/app:1`])).code, 0);
        const pull = await dockerd.docker(['pull', `${r.host}/team/app:1`]);
        assert.equal(pull.code, 0, pull.stderr);
      } finally {
        await again.stop();
      }
    } finally {
      await r.stop();
    }
  });
});
