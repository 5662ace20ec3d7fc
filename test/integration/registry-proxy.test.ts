/**
 * `berth registry serve --proxy-remote`: a pull-through cache in front of an
 * upstream `berth registry serve` on loopback. berthd's `registry-mirrors`
 * and dockerd's `--registry-mirror` pull a Docker Hub name through it; blobs
 * are stored only once verified (a lying upstream gets the client a 502 and
 * leaves nothing); tags live for the TTL; with the upstream stopped the cache
 * still serves what it holds; pushes are refused as Distribution refuses them.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Daemon, RealDockerd, tempDir, cleanupDir, busyboxTar, run, BERTH } from '../helpers.js';
import { RegistryProc, sha256, httpReq, writeOciLayout, type OciImage } from '../registry-helpers.js';
import { spawnSync } from 'node:child_process';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Push a one-layer image by raw HTTP; returns the manifest digest and the layer's. */
async function pushSmall(r: RegistryProc, name: string, tag: string, seed: string): Promise<{ manifest: string; layer: string }> {
  const layer = Buffer.from(`layer ${seed}`);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  for (const b of [layer, config]) assert.equal((await r.req('POST', `/v2/${name}/blobs/uploads/?digest=${sha256(b)}`, { body: b })).status, 201);
  const body = manifestOf(config, layer);
  const res = await r.req('PUT', `/v2/${name}/manifests/${tag}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(res.status, 201, res.text);
  return { manifest: sha256(body), layer: sha256(layer) };
}

function manifestOf(config: Buffer, layer: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
}

const blobFile = (root: string, d: string) => join(root, 'blobs', 'sha256', d.slice(7));

describe('pull-through cache', () => {
  let dir: string;
  let up: RegistryProc;
  let px: RegistryProc;
  let img: OciImage;
  const cleanups: Array<() => Promise<unknown>> = [];
  before(async () => {
    dir = tempDir('berth-proxy-');
    up = new RegistryProc(join(dir, 'up'));
    await up.start();
    px = new RegistryProc(join(dir, 'px'), ['--proxy-remote', up.url]);
    await px.start();
    img = writeOciLayout(join(dir, 'oci'), 'latest', [readFileSync(busyboxTar())]);
    const cp = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, `docker://${up.host}/library/busybox:latest`]);
    assert.equal(cp.code, 0, cp.stderr);
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await px?.stop();
    await up?.stop();
    cleanupDir(dir);
  });

  test("berthd's registry-mirrors pulls a Docker Hub name through the cache, which keeps the verified blobs", async () => {
    const ddir = tempDir('berth-proxy-d-');
    const d = new Daemon(ddir);
    const cfg = JSON.parse(readFileSync(join(ddir, 'daemon.json'), 'utf8'));
    writeFileSync(join(ddir, 'daemon.json'), JSON.stringify({ ...cfg, 'registry-mirrors': [px.url] }));
    await d.start();
    cleanups.push(() => d.cleanup());
    const pull = await d.berth(['pull', 'busybox']);
    assert.equal(pull.code, 0, pull.stderr + px.log);
    assert.match(pull.stdout, /latest: Pulling from library\/busybox/);
    const digests = await d.berth(['image', 'inspect', '-f', '{{join .RepoDigests ","}}', 'busybox']);
    assert.equal(digests.stdout.trim(), `busybox@${img.manifestDigest}`);
    const root = join(dir, 'px');
    assert.equal(readFileSync(join(root, 'repositories', 'library', 'busybox', '_manifests', 'tags', 'latest'), 'utf8').trim(), img.manifestDigest);
    for (const b of [...img.layers, img.config]) assert.ok(existsSync(blobFile(root, b)), `cached ${b}`);
    assert.deepEqual(readdirSync(join(root, 'uploads')), []);
  });

  test('dockerd --registry-mirror pulls through the cache; docker push to the cache is refused UNSUPPORTED', async () => {
    const dockerd = new RealDockerd(tempDir('berth-proxy-dockerd-'), ['--registry-mirror', px.url]);
    cleanups.push(() => dockerd.cleanup());
    await dockerd.start();
    const pull = await dockerd.docker(['pull', 'busybox']);
    assert.equal(pull.code, 0, pull.stderr + px.log);
    assert.match(pull.stdout, new RegExp(`Digest: ${img.manifestDigest}`));
    assert.equal((await dockerd.docker(['tag', 'busybox', `${px.host}/mine/bb:1`])).code, 0);
    const push = await dockerd.docker(['push', `${px.host}/mine/bb:1`]);
    assert.notEqual(push.code, 0);
    assert.match(push.stderr, /unsupported/i);
    assert.equal(existsSync(join(dir, 'px', 'repositories', 'mine')), false);
  });

  test('a tag is trusted for the TTL, then re-checked; with the upstream down the cache serves what it has', async () => {
    const shortTtl = new RegistryProc(join(dir, 'px-ttl'), ['--proxy-remote', up.url, '--proxy-ttl', '1s']);
    await shortTtl.start();
    cleanups.push(() => shortTtl.stop());
    const a = await pushSmall(up, 'team/app', 'v1', 'a');
    for (const p of [px, shortTtl]) assert.equal((await p.req('GET', '/v2/team/app/manifests/v1')).headers['docker-content-digest'], a.manifest);
    const b = await pushSmall(up, 'team/app', 'v1', 'b');
    // The default TTL (168h) still trusts the cached tag; past a 1s TTL the upstream is asked again.
    assert.equal((await px.req('GET', '/v2/team/app/manifests/v1')).headers['docker-content-digest'], a.manifest);
    await new Promise((r) => setTimeout(r, 1200));
    const fresh = await shortTtl.req('GET', '/v2/team/app/manifests/v1');
    assert.equal(fresh.headers['docker-content-digest'], b.manifest);
    assert.equal((await shortTtl.req('GET', `/v2/team/app/blobs/${b.layer}`)).text, 'layer b');

    await up.stop();
    await new Promise((r) => setTimeout(r, 1200));
    const stale = await shortTtl.req('GET', '/v2/team/app/manifests/v1');
    assert.equal(stale.status, 200, stale.text);
    assert.equal(stale.headers['docker-content-digest'], b.manifest);
    assert.equal((await shortTtl.req('GET', `/v2/team/app/blobs/${b.layer}`)).text, 'layer b');
    // berthd pulls busybox again from the cache alone.
    const ddir = tempDir('berth-proxy-d2-');
    const d = new Daemon(ddir);
    const cfg = JSON.parse(readFileSync(join(ddir, 'daemon.json'), 'utf8'));
    writeFileSync(join(ddir, 'daemon.json'), JSON.stringify({ ...cfg, 'registry-mirrors': [px.url] }));
    await d.start();
    cleanups.push(() => d.cleanup());
    const pull = await d.berth(['pull', 'busybox']);
    assert.equal(pull.code, 0, pull.stderr + px.log);
    // What was never cached is a 502 naming the upstream, not a crash.
    const missing = await px.req('GET', '/v2/team/other/manifests/v1');
    assert.equal(missing.status, 502);
    assert.equal(missing.json.errors[0].code, 'UNKNOWN');
    assert.match(missing.json.errors[0].message, /upstream 127\.0\.0\.1:\d+: .*connection refused/);
  });
});

describe('a lying upstream', () => {
  let dir: string;
  let liar: Server;
  let px: RegistryProc;
  const layer = Buffer.from('the real layer');
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const manifest = manifestOf(config, layer);
  before(async () => {
    dir = tempDir('berth-proxy-liar-');
    // Serves the manifest honestly by tag, but other bytes for the layer and for the manifest by digest.
    liar = createServer((req, res) => {
      const u = req.url ?? '';
      if (u === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      if (u === '/v2/lie/img/manifests/v1') return void res.writeHead(200, { 'Content-Type': OCI_MANIFEST }).end(manifest);
      if (u === '/v2/lie/img/manifests/junk') return void res.writeHead(200, { 'Content-Type': OCI_MANIFEST }).end('{"not": a manifest');
      if (u === `/v2/lie/img/manifests/${sha256(manifest)}`)
        return void res.writeHead(200, { 'Content-Type': OCI_MANIFEST }).end(manifestOf(config, Buffer.from('x')));
      if (u === `/v2/lie/img/blobs/${sha256(layer)}`) return void res.writeHead(200, { 'Content-Length': layer.length }).end(Buffer.from('a fake layer!!'));
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}');
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', () => r()));
    px = new RegistryProc(join(dir, 'px'), ['--proxy-remote', `http://127.0.0.1:${(liar.address() as AddressInfo).port}`]);
    await px.start();
  });
  after(async () => {
    await px?.stop();
    await new Promise((r) => liar?.close(r));
    cleanupDir(dir);
  });

  test('a blob or manifest that does not match its digest reaches the client as a 502, and nothing is stored', async () => {
    const blob = await px.req('GET', `/v2/lie/img/blobs/${sha256(layer)}`);
    assert.equal(blob.status, 502);
    assert.match(blob.json.errors[0].message, /does not match/);
    assert.equal(existsSync(blobFile(join(dir, 'px'), sha256(layer))), false);
    assert.deepEqual(readdirSync(join(dir, 'px', 'uploads')), []);
    const m = await px.req('GET', `/v2/lie/img/manifests/${sha256(manifest)}`);
    assert.equal(m.status, 502);
    assert.equal(existsSync(blobFile(join(dir, 'px'), sha256(manifest))), false);
    const junk = await px.req('GET', '/v2/lie/img/manifests/junk');
    assert.equal(junk.status, 502);
    assert.match(junk.json.errors[0].message, /sent an invalid manifest for junk/);
    // Unknown upstream content is the spec's 404.
    const unknown = await px.req('GET', `/v2/lie/img/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.errors[0].code, 'BLOB_UNKNOWN');
  });
});

test('upstream credentials: token auth answered with --proxy-username/--proxy-password; wrong ones are DENIED', async () => {
  const dir = tempDir('berth-proxy-auth-');
  const users = join(dir, 'users.htpasswd');
  writeFileSync(users, spawnSync('htpasswd', ['-nbB', 'mirror', 'm1rr0r'], { encoding: 'utf8' }).stdout);
  const up = new RegistryProc(join(dir, 'up'), ['--auth', 'token', '--htpasswd', users]);
  const procs: RegistryProc[] = [up];
  try {
    await up.start();
    // Seed the upstream through a proxy-less login: a token for push.
    const tok = await httpReq(`${up.url}/token?service=berth-registry&scope=repository:secret/app:pull,push`, 'GET', {
      headers: { Authorization: 'Basic ' + Buffer.from('mirror:m1rr0r').toString('base64') },
    });
    assert.equal(tok.status, 200, tok.text);
    const auth = { Authorization: `Bearer ${tok.json.token}` };
    const layer = Buffer.from('secret layer');
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    for (const b of [layer, config])
      assert.equal((await httpReq(`${up.url}/v2/secret/app/blobs/uploads/?digest=${sha256(b)}`, 'POST', { body: b, headers: auth })).status, 201);
    const body = manifestOf(config, layer);
    assert.equal((await httpReq(`${up.url}/v2/secret/app/manifests/v1`, 'PUT', { body, headers: { ...auth, 'Content-Type': OCI_MANIFEST } })).status, 201);

    const px = new RegistryProc(join(dir, 'px'), ['--proxy-remote', up.url, '--proxy-username', 'mirror', '--proxy-password', 'm1rr0r']);
    const wrong = new RegistryProc(join(dir, 'wrong'), ['--proxy-remote', up.url, '--proxy-username', 'mirror', '--proxy-password', 'nope']);
    procs.push(px, wrong);
    await px.start();
    await wrong.start();
    const m = await px.req('GET', '/v2/secret/app/manifests/v1');
    assert.equal(m.status, 200, m.text);
    assert.equal(m.headers['docker-content-digest'], sha256(body));
    assert.equal((await px.req('GET', `/v2/secret/app/blobs/${sha256(layer)}`)).text, 'secret layer');
    const denied = await wrong.req('GET', '/v2/secret/app/manifests/v1');
    assert.equal(denied.status, 403);
    assert.equal(denied.json.errors[0].code, 'DENIED');
    assert.match(denied.json.errors[0].message, /upstream 127\.0\.0\.1:\d+ refused: unauthorized/);
  } finally {
    for (const p of procs) await p.stop();
    cleanupDir(dir);
  }
});

test('bad proxy settings are refused before listening', async () => {
  const dir = tempDir('berth-proxy-bad-');
  try {
    const bad = await run(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', dir, '--proxy-remote', 'ftp://x']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /proxy\.remoteurl: the URL must be http or https/);
    const ttl = await run(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', dir, '--proxy-remote', 'http://127.0.0.1:1', '--proxy-ttl', 'soon']);
    assert.equal(ttl.code, 125);
    assert.match(ttl.stderr, /--proxy-ttl: invalid duration "soon"/);
    const orphan = await run(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', dir, '--proxy-ttl', '1h']);
    assert.equal(orphan.code, 125);
    assert.match(orphan.stderr, /need --proxy-remote/);
  } finally {
    cleanupDir(dir);
  }
});
