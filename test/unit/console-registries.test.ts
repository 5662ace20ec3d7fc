/**
 * The registry browser's server-side pieces without a browser: which
 * registry URLs are accepted (http(s) only, no path, no credentials in the
 * URL), how WWW-Authenticate challenges are read, and the per-user store
 * (0600 file, passwords kept server-side, duplicates refused, nothing
 * written when a change is refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryUrl, RegistryStore, publicView } from '../../src/console/registries/store.js';
import { parseChallenge } from '../../src/console/registries/client.js';

test('registry URLs: http(s) only, scheme, host and port', () => {
  assert.equal(registryUrl('http://127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryUrl('https://reg.example.com/v2/'), 'https://reg.example.com');
  assert.equal(registryUrl('reg.example.com:5000'), 'https://reg.example.com:5000');
  for (const bad of ['ftp://reg.example.com', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://x:70/']) {
    assert.throws(
      () => registryUrl(bad),
      (e: Error & { status?: number }) => e.status === 400 && /only http:\/\/ and https:\/\//.test(e.message),
      bad,
    );
  }
  assert.throws(() => registryUrl('https://u:p@reg.example.com'), /not in the URL/);
  assert.throws(() => registryUrl('https://reg.example.com/some/path'), /scheme, host and port only/);
  assert.throws(() => registryUrl('https://reg.example.com/?x=1'), /scheme, host and port only/);
  assert.throws(() => registryUrl('http://'), /invalid registry URL/);
});

test('WWW-Authenticate challenges are read as Docker reads them', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.deepEqual(parseChallenge('Bearer realm="a\\"b"'), { scheme: 'bearer', params: { realm: 'a"b' } });
  assert.equal(parseChallenge(undefined), undefined);
  assert.equal(parseChallenge('   '), undefined);
});

test('the store: per user, 0600, passwords never in the public view, duplicates refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regstore-'));
  try {
    const file = join(dir, 'console', 'registries.json');
    const s = new RegistryStore(file);
    const r = await s.add('alice', { name: 'local', url: 'http://127.0.0.1:5000', username: 'u', password: 'pw-secret' });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).alice[0].password, 'pw-secret');
    const pub = publicView(r);
    assert.equal(JSON.stringify(pub).includes('pw-secret'), false);
    assert.equal(pub.hasPassword, true);
    await assert.rejects(s.add('alice', { name: 'again', url: 'http://127.0.0.1:5000', username: 'u' }), /already in your registries/);
    assert.deepEqual(await s.list('bob'), []);
    await assert.rejects(s.get('bob', r.id), /no such registry/);
    await assert.rejects(s.remove('bob', r.id), /no such registry/);
    // A fresh store reads what was written; a removal is kept.
    const again = new RegistryStore(file);
    assert.equal((await again.list('alice')).length, 1);
    await again.remove('alice', r.id);
    assert.deepEqual(await new RegistryStore(file).list('alice'), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
