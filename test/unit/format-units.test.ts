import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanSize, humanSize4, humanSizeWithPrecision, bytesSize, humanDuration, createdSince } from '../../src/cli/format/units.js';
import { ramInBytesV05 as parseBytes, fromHumanSizeV05 as fromHumanSize } from '../../src/core/byte-sizes.js';

test('humanSize: HumanSizeWithPrecision(n, 3), Go %g rounding', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [999, '999B'],
    [1000, '1kB'],
    [4261052, '4.26MB'],
    [12345678, '12.3MB'],
    [7800000, '7.8MB'],
    [123456789, '123MB'],
    [1e9, '1GB'],
    [1.5e12, '1.5TB'],
    [2e15, '2PB'],
    [1e21, '1ZB'],
    [999900, '1e+03kB'], // docker really prints this
    [10250, '10.2kB'],
    [1125, '1.12kB'],
    [100500, '100kB'], // exact ties round to even, as Go does
  ];
  for (const [n, s] of cases) assert.equal(humanSize(n), s, String(n));
  assert.equal(humanSize4(123456789), '123.5MB');
  assert.equal(humanSizeWithPrecision(4261052, 4), '4.261MB');
});

test('bytesSize: BytesSize, binary units, 4 digits', () => {
  assert.equal(bytesSize(2097152000), '1.953GiB');
  assert.equal(bytesSize(0), '0B');
  assert.equal(bytesSize(1023), '1023B');
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1536), '1.5KiB');
  assert.equal(bytesSize(7 * 1024 * 1024 + 300 * 1024), '7.293MiB');
});

test('humanDuration thresholds (go-units)', () => {
  const s = 1000,
    m = 60 * s,
    h = 60 * m,
    d = 24 * h,
    w = 7 * d,
    mo = 30 * d,
    y = 365 * d;
  const cases: [number, string][] = [
    [450, 'Less than a second'],
    [-5 * s, 'Less than a second'],
    [s, '1 second'],
    [47 * s, '47 seconds'],
    [59 * s, '59 seconds'],
    [60 * s, 'About a minute'],
    [119 * s, 'About a minute'],
    [3 * m, '3 minutes'],
    [35 * m + 40 * s, '35 minutes'],
    [59 * m, '59 minutes'],
    [h, 'About an hour'],
    [h + 29 * m, 'About an hour'],
    [h + 31 * m, '2 hours'],
    [3 * h + 29 * m, '3 hours'],
    [3 * h + 31 * m, '4 hours'],
    [24 * h, '24 hours'],
    [d + 12 * h, '36 hours'],
    [47 * h + 29 * m, '47 hours'],
    [2 * d, '2 days'],
    [13 * d + 5 * h, '13 days'],
    [2 * w, '2 weeks'],
    [4 * w + 3 * d, '4 weeks'],
    [mo, '4 weeks'],
    [mo + 2 * w, '6 weeks'],
    [2 * mo, '2 months'],
    [13 * mo, '13 months'],
    [24 * mo, '24 months'],
    [24 * mo + 2 * w, '2 years'],
    [3 * y + 2 * mo, '3 years'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
});

test('createdSince', () => {
  const now = Date.UTC(2026, 10, 22, 19, 13, 40);
  assert.equal(createdSince(1700000000, now), '3 years ago');
  assert.equal(createdSince(now / 1000 - 5, now), '5 seconds ago');
  assert.equal(createdSince(now / 1000 + 100, now), 'Less than a second ago');
});

test('parseBytes: RAMInBytes', () => {
  const ok: [string, number][] = [
    ['2g', 2 * 1024 ** 3],
    ['512m', 512 * 1024 ** 2],
    ['100k', 102400],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['64 MiB', 64 * 1024 ** 2],
    ['10', 10],
    ['1b', 1],
    ['1KiB', 1024],
    ['1kb', 1024],
    ['32T', 32 * 1024 ** 4],
    ['0.5k', 512],
    ['1 kB', 1024],
  ];
  for (const [s, n] of ok) assert.equal(parseBytes(s), n, s);
  assert.throws(() => parseBytes('2x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => parseBytes('1kbb'), { message: "invalid suffix: 'kbb'" });
  assert.throws(() => parseBytes('1KB!'), { message: "invalid suffix: 'kb!'" });
  assert.throws(() => parseBytes('abc'), { message: "invalid size: 'abc'" });
  assert.throws(() => parseBytes('-1'), { message: "invalid size: '-1'" });
  assert.equal(fromHumanSize('1kB'), 1000);
});
