/** json-file log options and the rotation chain kept beside conmon's log (simulated conmon renames). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogKeeper, logDetails, logFiles, logRotation, settleLogConfig } from '../../src/engine/containers/logfiles.js';
import { ramInBytes } from '../../src/core/byte-sizes.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-logfiles-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("ramInBytes: docker's units, binary multiples", () => {
  assert.equal(ramInBytes('1k'), 1024);
  assert.equal(ramInBytes('10m'), 10 * 1024 ** 2);
  assert.equal(ramInBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('10MiB'), 10 * 1024 ** 2);
  assert.equal(ramInBytes('100'), 100);
  assert.throws(() => ramInBytes('12x'), /invalid size: '12x'/);
});

test('settleLogConfig: default driver, daemon options fill gaps, unknown keys refused', () => {
  assert.deepEqual(settleLogConfig(undefined), { Type: 'json-file', Config: {} });
  assert.deepEqual(settleLogConfig({ Type: '', Config: { 'max-size': '5m' } }, { 'max-size': '1m', 'max-file': '2' }), {
    Type: 'json-file',
    Config: { 'max-size': '5m', 'max-file': '2' },
  });
  assert.throws(() => settleLogConfig({ Type: 'json-file', Config: { foo: 'x' } }), /unknown log opt 'foo' for json-file log driver/);
});

test("logRotation: docker's start-time errors", () => {
  assert.equal(logRotation({ Type: 'json-file', Config: {} }), null);
  assert.deepEqual(logRotation({ Type: 'json-file', Config: { 'max-size': '1k' } }), { maxSize: 1024, maxFile: 1 });
  assert.deepEqual(logRotation({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } }), { maxSize: 1024, maxFile: 3 });
  assert.throws(
    () => logRotation({ Type: 'json-file', Config: { 'max-size': 'abc' } }),
    /^BerthError: failed to initialize logging driver: invalid size: 'abc'$/,
  );
  assert.throws(() => logRotation({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '0' } }), /max-file cannot be less than 1/);
  assert.throws(() => logRotation({ Type: 'json-file', Config: { 'max-size': '1k', 'max-file': 'x' } }), /strconv.Atoi: parsing "x": invalid syntax/);
});

test('logDetails: named labels and env, sorted and escaped', () => {
  const cfg = { Type: 'json-file', Config: { labels: 'a,b', env: 'FOO', 'env-regex': '^X' } };
  assert.equal(logDetails(cfg, { a: '1', b: 'x y', c: 'no' }, ['FOO=bar', 'XA=1', 'OTHER=2']), 'FOO=bar,XA=1,a=1,b=x+y');
  assert.equal(logDetails(undefined, { a: '1' }, ['A=1']), '');
});

test('LogKeeper: each file conmon renames away moves along the chain; the oldest beyond max-file goes', async () => {
  const path = join(tmp, 'container.log');
  const keeper = new LogKeeper(path, { maxSize: 10, maxFile: 3 });
  /** What conmon does at --log-size-max: a new file renamed over the log's name. */
  const conmonRotate = (content: string) => {
    writeFileSync(`${path}.tmp`, content);
    renameSync(`${path}.tmp`, path);
  };
  writeFileSync(path, 'one');
  await keeper.sync();
  for (const next of ['two', 'three', 'four']) {
    conmonRotate(next);
    await keeper.sync();
  }
  assert.deepEqual(readdirSync(tmp).sort(), ['container.log', 'container.log.1', 'container.log.2', 'container.log.keep']);
  assert.deepEqual(
    (await logFiles(path)).map((p) => readFileSync(p, 'utf8')),
    ['two', 'three', 'four'],
  );
  await keeper.sync(); // nothing new: nothing moves
  assert.deepEqual(
    (await logFiles(path)).map((p) => readFileSync(p, 'utf8')),
    ['two', 'three', 'four'],
  );
});
