/** Registry server pure parts: names and digests, manifests, tokens, access rules, htpasswd, config, ranges, storage and gc. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { isName, checkDigest, isTag, digestOf } from '../../src/registry/names.js';
import { parseManifest, referencedDigests, referrerDescriptor } from '../../src/registry/manifest.js';
import { MediaType as MT } from '../../src/core/wire/media-types.js';
import { TokenSigner } from '../../src/registry/auth/jwt.js';
import { AccessPolicy, parseRuleFlag } from '../../src/registry/auth/access.js';
import { parseHtpasswd, Htpasswd } from '../../src/registry/auth/htpasswd.js';
import { parseScope } from '../../src/registry/auth/auth.js';
import { loadConfig, ConfigError, parseAddr } from '../../src/registry/config.js';
import { parseRange, parseContentRange, uploadRange } from '../../src/registry/http.js';
import { RateLimiter } from '../../src/registry/ratelimit.js';
import { FailedLogins } from '../../src/registry/auth/lockout.js';
import { searchRepositories } from '../../src/registry/search.js';
import type { RegistryError } from '../../src/registry/errors.js';
import { Storage } from '../../src/registry/storage.js';
import { collectGarbage } from '../../src/registry/gc.js';

const d = (s: string) => digestOf('sha256', s);

test('repository names, tags and digests follow the spec grammar', () => {
  for (const n of ['a', 'library/busybox', 'a.b_c__d-e---f/g0', 'x/y/z']) assert.ok(isName(n), n);
  for (const n of ['A', 'a..b', '-a', 'a/', '/a', 'a//b', 'a_', 'a'.repeat(256)]) assert.ok(!isName(n), n);
  assert.ok(isTag('v1.0_rc-1') && isTag('_x') && !isTag('.x') && !isTag('a'.repeat(129)) && !isTag('a:b'));
  assert.equal(checkDigest(d('x')), d('x'));
  assert.equal(checkDigest('sha512:' + 'a'.repeat(128)), 'sha512:' + 'a'.repeat(128));
  for (const bad of ['sha256:abc', 'md5:' + 'a'.repeat(32), 'sha256:' + 'A'.repeat(64), '', 'nocolon']) {
    assert.throws(
      () => checkDigest(bad),
      (e: RegistryError) => e.code === 'DIGEST_INVALID' && e.status === 400,
      bad,
    );
  }
});

test('manifests: media type from body or header, references, subject, referrer descriptor', () => {
  const cfg = { mediaType: 'application/vnd.example.sbom', digest: d('c'), size: 1 };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('l'), size: 1 };
  const subject = { mediaType: MT.ociManifest, digest: d('s'), size: 1 };
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, config: cfg, layers: [layer], subject, annotations: { a: 'b' } }));
  const p = parseManifest(body, `${MT.ociManifest}; charset=utf-8`);
  assert.equal(p.mediaType, MT.ociManifest);
  assert.deepEqual(referencedDigests(p), [d('c'), d('l'), d('s')]);
  assert.deepEqual(referrerDescriptor(p, d('m'), 9), {
    mediaType: MT.ociManifest,
    digest: d('m'),
    size: 9,
    artifactType: 'application/vnd.example.sbom',
    annotations: { a: 'b' },
  });
  const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [subject] })), undefined);
  assert.ok(idx.isIndex);
  assert.equal(idx.mediaType, MT.ociIndex);
  const reject = (b: unknown, ct?: string) =>
    assert.throws(
      () => parseManifest(Buffer.from(typeof b === 'string' ? b : JSON.stringify(b)), ct),
      (e: RegistryError) => e.code === 'MANIFEST_INVALID',
    );
  reject('nope');
  reject({ schemaVersion: 1, name: 'x' });
  reject({ schemaVersion: 2, mediaType: MT.ociManifest, config: cfg }, MT.dockerManifest);
  reject({ schemaVersion: 2, config: { digest: 'sha256:bad', size: 1 } });
  reject({ schemaVersion: 2, manifests: 'x', mediaType: MT.ociIndex });
});

test('tokens: signed and verified; tampering, other audiences and expiry are refused', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const s = new TokenSigner(privateKey, 'issuer');
  const t = s.sign('alice', 'svc', [{ type: 'repository', name: 'a/b', actions: ['pull'] }], 300);
  const c = s.verify(t, 'svc');
  assert.ok(!(c instanceof Error));
  assert.equal(c.sub, 'alice');
  assert.deepEqual(c.access, [{ type: 'repository', name: 'a/b', actions: ['pull'] }]);
  assert.match(String(s.verify(t, 'other')), /audience/);
  const [h, , sig] = t.split('.');
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...c, access: [{ type: 'repository', name: 'a/b', actions: ['push'] }] })).toString('base64url')}.${sig}`;
  assert.match(String(s.verify(forged, 'svc')), /signature/);
  const old = s.sign('alice', 'svc', [], 10, Math.floor(Date.now() / 1000) - 1000);
  assert.match(String(s.verify(old, 'svc')), /expired/);
  const other = new TokenSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'issuer');
  assert.match(String(other.verify(t, 'svc')), /signature/);
});

test('scopes parse as Docker writes them', () => {
  assert.deepEqual(parseScope('repository:a/b:pull,push'), { type: 'repository', name: 'a/b', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('repository(plugin):a:pull'), { type: 'repository', name: 'a', actions: ['pull'] });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.equal(parseScope('bogus'), undefined);
});

test('access rules: patterns, users, anonymous, defaults', () => {
  const p = new AccessPolicy([
    parseRuleFlag('team/*:alice:pull,push'),
    { repository: 'team/**', users: ['bob'], actions: ['pull'] },
    { repository: 'public/*', users: ['anonymous', '*'], actions: ['pull'] },
    { repository: '**', users: ['root'], actions: ['*'] },
  ]);
  assert.deepEqual([...p.allowed('alice', 'team/app')].sort(), ['pull', 'push']);
  assert.deepEqual([...p.allowed('alice', 'team/app/sub')], []);
  assert.deepEqual([...p.allowed('bob', 'team/app/sub')], ['pull']);
  assert.deepEqual([...p.allowed(undefined, 'public/x')], ['pull']);
  assert.deepEqual([...p.allowed(undefined, 'team/app')], []);
  assert.deepEqual([...p.allowed('root', 'any/thing')].sort(), ['delete', 'pull', 'push']);
  const open = new AccessPolicy([]);
  assert.equal(open.allowed('anyone', 'x').size, 3);
  assert.equal(open.allowed(undefined, 'x').size, 0);
  assert.throws(() => parseRuleFlag('x:y'), /PATTERN:USERS:ACTIONS/);
  assert.throws(() => parseRuleFlag('x:y:fly'), /actions/);
});

test('htpasswd: bcrypt entries only, verified and re-read when the file changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'htp-'));
  try {
    const line = spawnSync('htpasswd', ['-nbB', 'alice', 'pw1'], { encoding: 'utf8' }).stdout.trim();
    const file = join(dir, 'h');
    writeFileSync(file, `# comment\n${line}\nmd5user:$apr1$abc$def\n`);
    assert.deepEqual([...parseHtpasswd(`${line}\nmd5user:$apr1$abc$def\n`).keys()], ['alice']);
    const h = new Htpasswd(file);
    assert.equal(h.settled('alice', 'pw1'), undefined);
    const parallel = [h.verify('alice', 'pw1'), h.verify('alice', 'pw1')];
    assert.ok(h.settled('alice', 'pw1') instanceof Promise, 'a parallel check of the same credentials shares the comparison');
    assert.deepEqual(await Promise.all(parallel), [true, true]);
    assert.equal(h.settled('alice', 'pw1'), true, 'remembered');
    assert.ok(!(await h.verify('alice', 'pw2')));
    assert.equal(h.settled('alice', 'pw2'), undefined, 'a wrong password is not remembered');
    assert.ok(!(await h.verify('nobody', 'pw1')));
    assert.ok(!(await h.verify('md5user', 'x')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: file and flags, flags win, paths relative to the file, errors name the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regcfg-'));
  try {
    const f = join(dir, 'config.json');
    writeFileSync(
      f,
      JSON.stringify({
        addr: '127.0.0.1:6000',
        root: 'data',
        deleteEnabled: true,
        auth: { type: 'token', htpasswd: 'users' },
        access: [{ repository: '*', users: ['a'], actions: ['pull'] }],
        rateLimit: { requestsPerSecond: 5 },
      }),
    );
    const c = loadConfig({ config: f, addr: '127.0.0.1:7000' });
    assert.equal(c.addr, '127.0.0.1:7000');
    assert.equal(c.root, join(dir, 'data'));
    assert.equal(c.auth.htpasswd, join(dir, 'users'));
    assert.equal(c.auth.type, 'token');
    assert.equal(c.deleteEnabled, true);
    assert.deepEqual(c.rateLimit, { requestsPerSecond: 5, burst: 10 });
    assert.equal(loadConfig({ htpasswd: '/x' }).auth.type, 'htpasswd');
    writeFileSync(f, JSON.stringify({ bogus: 1 }));
    assert.throws(() => loadConfig({ config: f }), /unknown key "bogus"/);
    assert.throws(() => loadConfig({ auth: 'token' }), ConfigError);
    assert.throws(() => loadConfig({ tlsCert: 'c' }), /--tls-key/);
    assert.throws(() => loadConfig({ addr: 'nohost' }), /HOST:PORT/);
    assert.deepEqual(parseAddr('[::1]:5000'), { host: '::1', port: 5000 });
    assert.deepEqual(parseAddr(':5000'), { host: '0.0.0.0', port: 5000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ranges: blob Range and upload Content-Range', () => {
  assert.deepEqual(parseRange('bytes=0-4', 10), { start: 0, end: 4 });
  assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
  assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
  assert.deepEqual(parseRange('bytes=8-100', 10), { start: 8, end: 9 });
  assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,3-4', 10), undefined);
  assert.deepEqual(parseContentRange('0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange('bytes 100-199/*'), { start: 100, end: 199 });
  assert.equal(parseContentRange('9-1'), 'invalid');
  assert.equal(uploadRange(0), '0-0');
  assert.equal(uploadRange(10), '0-9');
});

test('failed logins: a burst of tries per address, then one per refill period; a right password costs nothing', () => {
  const f = new FailedLogins({ burst: 3, refillSeconds: 6 });
  const t0 = 1_000_000;
  assert.equal(f.attempt('a', t0), 0);
  f.succeeded('a', t0);
  for (let i = 0; i < 3; i++) assert.equal(f.attempt('a', t0), 0);
  assert.equal(f.retryAfter('a', t0), 6);
  assert.equal(f.attempt('a', t0), 6, 'the fourth wrong try in a row waits a refill period');
  assert.equal(f.attempt('b', t0), 0, 'another address has its own allowance');
  assert.equal(f.attempt('a', t0 + 3000), 3);
  assert.equal(f.attempt('a', t0 + 6000), 0);
  assert.equal(f.attempt('a', t0 + 6000), 6);
});

test('rate limiter and v1 search', () => {
  const rl = new RateLimiter(1, 2);
  assert.equal(rl.take('a', 0), 0);
  assert.equal(rl.take('a', 0), 0);
  assert.ok(rl.take('a', 0) > 0);
  assert.equal(rl.take('b', 0), 0);
  assert.equal(rl.take('a', 1000), 0);
  const s = searchRepositories(['x/busybox', 'busybox', 'alpine'], 'busy', 1, 2);
  assert.deepEqual(
    { ...s, results: s.results.map((r) => r.name) },
    { num_pages: 2, num_results: 2, page_size: 1, page: 2, query: 'busy', results: ['x/busybox'] },
  );
});

test('storage: an upload becomes a blob only when complete and verified; gc sweeps what nothing references', async () => {
  const root = mkdtempSync(join(tmpdir(), 'regstore-'));
  try {
    const st = new Storage(root);
    await st.init();
    const u = await st.startUpload('repo', 'sha256');
    await st.appendUpload(u, Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    assert.equal(await st.blobSize(d('hello world')), undefined);
    const wrong = await st.startUpload('repo', 'sha256');
    await st.appendUpload(wrong, Readable.from([Buffer.from('x')]));
    await assert.rejects(st.completeUpload(wrong, d('y')), (e: RegistryError) => e.code === 'DIGEST_INVALID');
    assert.equal(await st.blobSize(d('y')), undefined);
    await st.completeUpload(u, d('hello world'));
    assert.equal(await st.repoBlobSize('repo', d('hello world')), 11);
    assert.equal(await st.repoBlobSize('other', d('hello world')), undefined);
    const layer = d('hello world');
    const cfg = Buffer.from('{}');
    await st.putBlobBytes(cfg, d('{}'));
    await st.linkLayer('repo', d('{}'));
    const man = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: 'x', digest: d('{}'), size: 2 },
        layers: [{ mediaType: 'y', digest: layer, size: 11 }],
      }),
    );
    await st.putManifest('repo', man, d(man.toString()), parseManifest(man, MT.ociManifest), ['v1']);
    await st.putBlobBytes(Buffer.from('orphan'), d('orphan'));
    const res = await collectGarbage(root);
    assert.deepEqual(res.blobsDeleted, [d('orphan')]);
    assert.ok(existsSync(st.blobPath(layer)) && existsSync(st.blobPath(d('{}'))) && existsSync(st.blobPath(d(man.toString()))));
    assert.equal(existsSync(st.blobPath(d('orphan'))), false);
    assert.equal((await st.getManifest('repo', 'v1', false))?.digest, d(man.toString()));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
