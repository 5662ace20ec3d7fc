/** core/byte-sizes: go-units sizes as docker 20.10 reads them (v0.4.0) and as docker 23+ does (v0.5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHumanSize, fromHumanSizeV05, ramInBytes, ramInBytesV05 } from '../../src/core/byte-sizes.js';

test('ramInBytes: go-units v0.4.0 RAMInBytes, binary multiples', () => {
  const ok: [string, number][] = [
    ['2g', 2 * 1024 ** 3],
    ['512m', 512 * 1024 ** 2],
    ['100k', 102400],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['64 MiB', 64 * 1024 ** 2],
    ['10', 10],
    ['1b', 1],
    ['1i', 1],
    ['1KiB', 1024],
    ['32T', 32 * 1024 ** 4],
    ['1p', 1024 ** 5],
    ['0.5k', 512],
    ['1.7b', 1],
  ];
  for (const [s, n] of ok) assert.equal(ramInBytes(s), n, s);
  for (const bad of ['12x', 'abc', '-1', '', ' 1g', '1g ', '1  g', '1bb', '.5g', '1e3', '1kbb']) {
    assert.throws(() => ramInBytes(bad), { message: `invalid size: '${bad}'` }, bad);
  }
  assert.throws(() => ramInBytes('1.2.3m'), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
});

test('fromHumanSize: go-units v0.4.0 FromHumanSize, decimal multiples', () => {
  const ok: [string, number][] = [
    ['1kB', 1000],
    ['1.5MB', 1_500_000],
    ['2g', 2e9],
    ['32', 32],
    ['1 TB', 1e12],
  ];
  for (const [s, n] of ok) assert.equal(fromHumanSize(s), n, s);
  assert.throws(() => fromHumanSize('1x'), { message: "invalid size: '1x'" });
});

test('go-units v0.5 flavour: suffix errors in its own words', () => {
  assert.equal(ramInBytesV05('1 kB'), 1024);
  assert.equal(fromHumanSizeV05('1 kB'), 1000);
  assert.throws(() => ramInBytesV05('12x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => ramInBytesV05('x'), { message: "invalid size: 'x'" });
});
