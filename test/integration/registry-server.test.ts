/**
 * `berth registry serve` end to end: the distribution spec through raw HTTP,
 * storage across restarts and crashes, gc, and interop with skopeo and a real
 * Docker daemon (plain, TLS, htpasswd and token auth, read-only).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { RealDockerd, tempDir, cleanupDir, busyboxTar, run, BERTH, makeTar } from '../helpers.js';
import { RegistryProc, sha256, writeOciLayout, httpReq } from '../registry-helpers.js';

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
  return Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })), ...extra,
  }));
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

describe('distribution spec over raw HTTP', () => {
  let dir: string;
  let r: RegistryProc;
  before(async () => {
    dir = tempDir('berth-registry-');
    r = new RegistryProc(join(dir, 'root'), ['--delete-enabled']);
    await r.start();
  });
  after(async () => { await r?.stop(); cleanupDir(dir); });

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
      const req = request(loc, { method: 'PATCH', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
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
    assert.equal(existsSync(join(r.root, 'blobs', 'sha256', wrong.slice(7))), false);
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
    const docker = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: img.config, size: JSON.stringify({ architecture: 'amd64', os: 'linux', seed: 'img' }).length },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: img.layer, size: 9 }],
    }));
    const put = await r.req('PUT', '/v2/img/manifests/docker', { body: docker, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' } });
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
    const index = (children: string[]) => Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: children.map((d) => ({ mediaType: OCI_MANIFEST, digest: d, size: 100, platform: { architecture: 'amd64', os: 'linux' } })),
    }));
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
    const sbom = imageManifest({ digest: empty, size: 2 }, [], { artifactType: 'application/vnd.example.sbom', subject: subj, annotations: { 'org.example': 'sbom' } });
    const sig = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, subject: subj,
      config: { mediaType: 'application/vnd.example.signature', digest: empty, size: 2 }, layers: [],
    }));
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
    assert.deepEqual(byDigest[sha256(sbom)], { mediaType: OCI_MANIFEST, digest: sha256(sbom), size: sbom.length, artifactType: 'application/vnd.example.sbom', annotations: { 'org.example': 'sbom' } });
    assert.equal(byDigest[sha256(sig)].artifactType, 'application/vnd.example.signature');
    const filtered = await r.req('GET', `/v2/refs/referrers/${subject.manifest}?artifactType=application/vnd.example.sbom`);
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(filtered.json.manifests.map((d: any) => d.digest), [sha256(sbom)]);
    // No referrers: an empty index, never 404; a bad digest: 400.
    const none = await r.req('GET', `/v2/refs/referrers/${sha256('nothing')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json.manifests, []);
    assert.equal((await r.req('GET', '/v2/refs/referrers/sha256:xyz')).status, 400);
    // Deleting a referrer removes it from the list.
    assert.equal((await r.req('DELETE', `/v2/refs/manifests/${sha256(sig)}`)).status, 202);
    assert.deepEqual((await r.req('GET', `/v2/refs/referrers/${subject.manifest}`)).json.manifests.map((d: any) => d.digest), [sha256(sbom)]);
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
    const upload = join(r.root, 'uploads', id, 'data');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !(existsSync(upload) && readFileSync(upload).length > 0)) await new Promise((res) => setTimeout(res, 20));
    await r.kill9();
    req.destroy();
    await r.start();
    assert.equal((await r.req('HEAD', `/v2/crash/blobs/${d}`)).status, 404);
    assert.equal(existsSync(join(r.root, 'blobs', 'sha256', d.slice(7))), false);
    const manifest = imageManifest({ digest: d, size: data.length }, []);
    const put = await r.req('PUT', '/v2/crash/manifests/v1', { body: manifest, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(errorCode(put), 'MANIFEST_BLOB_UNKNOWN');
    // The session holds only what arrived: completing it now fails the digest check.
    const path = new URL(loc).pathname; // the restarted server listens on a new port
    const status = await r.req('GET', path);
    assert.equal(status.status, 204);
    const finish = await r.req('PUT', `${path}?digest=${d}`);
    assert.equal(errorCode(finish), 'DIGEST_INVALID');
    assert.equal(existsSync(join(r.root, 'blobs', 'sha256', d.slice(7))), false);
  });
});
