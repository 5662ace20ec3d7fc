/** Pure parts of the registry client: challenges, X-Registry-Auth, platform choice, endpoints, search terms. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, decodeAuthHeader } from '../../src/distribution/auth.js';
import { parseManifest, selectPlatform } from '../../src/distribution/manifest.js';
import { MediaType as MT } from '../../src/core/wire/media-types.js';
import { RegistryHosts } from '../../src/distribution/endpoints.js';
import { splitSearchTerm, registryFromServerAddress } from '../../src/engine/distribution/service.js';
import { pullTarget } from '../../src/engine/distribution/pull.js';

test('WWW-Authenticate challenges parse with quoted, escaped and bare parameters', () => {
  const cs = parseChallenges(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push", Basic realm=x',
  );
  assert.deepEqual(cs, [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull,push' } },
    { scheme: 'basic', params: { realm: 'x' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="a \\"quoted\\" realm"'), [{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
  assert.deepEqual(parseChallenges(undefined), []);
});

test('X-Registry-Auth decodes base64url JSON, padded or not, and a legacy auth field', () => {
  const enc = Buffer.from(JSON.stringify({ username: 'u', password: 'p?>', serveraddress: 'localhost:5000' })).toString('base64url');
  assert.deepEqual(decodeAuthHeader(enc), { username: 'u', password: 'p?>', serveraddress: 'localhost:5000' });
  assert.equal(decodeAuthHeader(Buffer.from(JSON.stringify({ auth: Buffer.from('a:b').toString('base64') })).toString('base64'))?.password, 'b');
  assert.equal(decodeAuthHeader('not base64 json'), undefined);
  assert.equal(decodeAuthHeader(undefined), undefined);
});

test("an index yields the manifest for the platform; none matching, and schema 1, fail in Docker's words", () => {
  const idx = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        { mediaType: MT.ociManifest, digest: 'sha256:' + 'a'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MT.ociManifest, digest: 'sha256:' + 'b'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: MT.ociManifest, digest: 'sha256:' + 'c'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      ],
    }),
  );
  const p = parseManifest(idx, undefined, 'x');
  assert.equal(p.kind, 'index');
  if (p.kind !== 'index') return;
  assert.equal(selectPlatform(p.index, { os: 'linux', architecture: 'amd64' }).digest[7], 'a');
  assert.equal(selectPlatform(p.index, { os: 'linux', architecture: 'arm64' }).digest[7], 'b');
  assert.equal(selectPlatform(p.index, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest[7], 'c');
  assert.throws(
    () => selectPlatform(p.index, { os: 'linux', architecture: 's390x' }),
    /^NotFoundError: no matching manifest for linux\/s390x in the manifest list entries$/,
  );
  assert.throws(
    () => parseManifest(Buffer.from('{"schemaVersion":1,"name":"x","fsLayers":[]}'), MT.dockerSchema1Signed, 'docker.io/library/old'),
    /Docker Image manifest version 2, schema 1 support is disabled.*Suggest the author of docker\.io\/library\/old/,
  );
});

test('endpoints: mirrors first for Docker Hub; loopback and listed registries are insecure (TLS unverified, then HTTP)', async () => {
  const h = new RegistryHosts({ mirrors: ['http://127.0.0.1:5000', 'mirror.example'], insecure: ['10.0.0.0/8', 'myreg:5000'] });
  const hub = await h.endpoints('docker.io');
  assert.deepEqual(
    hub.map((e) => e.url.href),
    ['http://127.0.0.1:5000/', 'https://mirror.example/', 'https://registry-1.docker.io/'],
  );
  assert.deepEqual(
    (await h.endpoints('localhost:5000')).map((e) => e.url.href),
    ['https://localhost:5000/', 'http://localhost:5000/'],
  );
  assert.deepEqual(
    (await h.endpoints('127.0.0.5:80')).map((e) => e.url.protocol),
    ['https:', 'http:'],
  );
  assert.equal(await h.isInsecure('10.1.2.3:5000'), true);
  assert.equal(await h.isInsecure('myreg:5000'), true);
  assert.equal(await h.isInsecure('192.0.2.1:5000'), false);
  assert.deepEqual(
    (await h.endpoints('192.0.2.1:5000')).map((e) => e.url.href),
    ['https://192.0.2.1:5000/'],
  );
});

test("names: pull targets, login server addresses and search terms resolve as Docker's", () => {
  assert.deepEqual(pullTarget('busybox', 'latest'), { ref: { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: undefined }, all: false });
  assert.equal(pullTarget('busybox', undefined).all, true);
  assert.equal(pullTarget('busybox', 'sha256:' + 'a'.repeat(64)).ref.digest, 'sha256:' + 'a'.repeat(64));
  assert.throws(() => pullTarget('busybox', 'bad tag'), /invalid tag format/);
  assert.equal(registryFromServerAddress('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryFromServerAddress('localhost:5000'), 'localhost:5000');
  assert.deepEqual(splitSearchTerm('localhost:5000/busy'), { domain: 'localhost:5000', query: 'busy' });
  assert.deepEqual(splitSearchTerm('someone/busy'), { domain: 'docker.io', query: 'someone/busy' });
});
