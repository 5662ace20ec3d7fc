/** The registry's storage settings: flags over Distribution-style config keys, prefixes, and what is refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStorageConfig, normalizePrefix, StorageConfigError } from '../../src/registry/storage/config.js';
import { openStorage, FsStorage, S3Storage } from '../../src/registry/storage.js';

test('storage config: filesystem by default; an s3 section or --storage s3 picks S3; flags win over the file', () => {
  assert.deepEqual(parseStorageConfig(undefined, {}), { driver: 'filesystem' });
  const file = { s3: { bucket: 'b', region: 'eu-west-1', regionendpoint: 'http://127.0.0.1:9000', rootdirectory: '/x/y/', forcepathstyle: true } };
  const c = parseStorageConfig(file, {});
  assert.deepEqual(c, {
    driver: 's3',
    s3: { bucket: 'b', region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', prefix: 'x/y/', forcePathStyle: true, redirect: false },
  });
  const f = parseStorageConfig(file, { s3Bucket: 'other', s3Prefix: '', s3PathStyle: false, s3Redirect: true, s3Region: 'us-west-2' });
  assert.equal(f.driver, 's3');
  if (f.driver === 's3') assert.deepEqual([f.s3.bucket, f.s3.prefix, f.s3.forcePathStyle, f.s3.redirect, f.s3.region], ['other', '', false, true, 'us-west-2']);
  assert.equal(parseStorageConfig(file, { storage: 'filesystem' }).driver, 'filesystem');
  // Distribution's redirect.disable: false turns redirects on, true keeps them off.
  const on = parseStorageConfig({ ...file, redirect: { disable: false } }, {});
  assert.equal(on.driver === 's3' && on.s3.redirect, true);
  const off = parseStorageConfig({ ...file, redirect: { disable: true } }, { s3Redirect: undefined });
  assert.equal(off.driver === 's3' && off.s3.redirect, false);
});

test('storage config: bad values are refused with the key named', () => {
  const bad: Array<[unknown, Record<string, unknown>, RegExp]> = [
    [undefined, { storage: 'gcs' }, /invalid storage driver "gcs"/],
    [undefined, { storage: 's3' }, /needs a bucket/],
    [{ s3: { bucket: 1 } }, {}, /storage.s3.bucket must be a string/],
    [{ s3: { bucket: 'b', accesskey: 'k' } }, {}, /unknown key "storage.s3.accesskey"/],
    [{ azure: {} }, {}, /unknown key "storage.azure"/],
    [{ s3: { bucket: 'b', regionendpoint: 'ftp://x' } }, {}, /http or https only/],
    [{ s3: { bucket: 'b', regionendpoint: '::' } }, {}, /invalid S3 endpoint/],
    [{ s3: { bucket: 'b', forcepathstyle: 'yes' } }, {}, /forcepathstyle must be true or false/],
    [{ s3: { bucket: 'b' }, redirect: { disable: 'no' } }, {}, /redirect.disable must be true or false/],
    ['s3', {}, /storage must be an object/],
  ];
  for (const [file, flags, re] of bad)
    assert.throws(
      () => parseStorageConfig(file, flags),
      (e: Error) => e instanceof StorageConfigError && re.test(e.message),
      String(re),
    );
  assert.equal(normalizePrefix('/a//b/'), 'a/b/');
  assert.equal(normalizePrefix('/'), '');
  assert.throws(() => normalizePrefix('a/../b'), StorageConfigError);
});

test('openStorage picks the driver; the S3 driver names its bucket without touching the network', () => {
  assert.ok(openStorage('/tmp/x', { driver: 'filesystem' }) instanceof FsStorage);
  const s = openStorage('/tmp/x', {
    driver: 's3',
    s3: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', prefix: 'p/', forcePathStyle: true, redirect: true },
  });
  assert.ok(s instanceof S3Storage);
  assert.equal(s.describe(), 's3 bucket b prefix p/ at http://127.0.0.1:1, redirects');
});
