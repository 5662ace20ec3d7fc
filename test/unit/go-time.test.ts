/** core/go-time: Go durations and Docker timestamps, the same for every until/since taker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration, parseTimestampOrDuration, timestampString, untilSeconds } from '../../src/core/go-time.js';

test('parseGoDuration: time.ParseDuration', () => {
  const ok: [string, bigint][] = [
    ['1.5h', 5_400_000_000_000n],
    ['90m', 5_400_000_000_000n],
    ['300ms', 300_000_000n],
    ['1h30m', 5_400_000_000_000n],
    ['10us', 10_000n],
    ['10µs', 10_000n],
    ['7ns', 7n],
    ['.5s', 500_000_000n],
    ['1.s', 1_000_000_000n],
    ['0', 0n],
    ['-0', 0n],
    ['+2s', 2_000_000_000n],
    ['-1m', -60_000_000_000n],
  ];
  for (const [s, ns] of ok) assert.equal(parseGoDuration(s), ns, s);
  for (const bad of ['', '10', '1x', 'h', '.s', '1h-2m', '1 h', '-', '1h30', 'abc']) {
    assert.throws(() => parseGoDuration(bad), { message: `time: invalid duration "${bad}"` }, bad);
  }
});

test('parseTimestampOrDuration: GetTimestamp then ParseTimestamps', () => {
  const now = new Date('2026-11-22T22:12:38.750Z');
  const at = (s: string) => BigInt(Date.parse(s)) * 1_000_000n;
  // Durations: before now, in whole seconds; fractions and every unit.
  assert.equal(parseTimestampOrDuration('1.5h', now), at('2026-11-22T20:42:38Z'));
  assert.equal(parseTimestampOrDuration('90m', now), at('2026-11-22T20:42:38Z'));
  assert.equal(parseTimestampOrDuration('300ms', now), at('2026-11-22T22:12:38Z'));
  assert.equal(parseTimestampOrDuration('-1h', now), at('2026-11-22T23:12:38Z'));
  // Unix timestamps and RFC 3339.
  assert.equal(parseTimestampOrDuration('1795385558', now), at('2026-11-22T22:12:38Z'));
  assert.equal(parseTimestampOrDuration('1795385558.25', now), at('2026-11-22T22:12:38.250Z'));
  assert.equal(parseTimestampOrDuration('0', now), 0n);
  assert.equal(parseTimestampOrDuration('2026-11-22T22:12:38Z', now), at('2026-11-22T22:12:38Z'));
  assert.equal(parseTimestampOrDuration('2026-11-23T00:12:38.5+02:00', now), at('2026-11-22T22:12:38.500Z'));
  const errors: [string, RegExp][] = [
    ['yesterday', /failed to parse value as time or duration: "yesterday"$/],
    ['2026-13-01', /parsing time "2026-13-01"/],
    ['2026-11-22 10:00', /parsing time "2026-11-22 10:00"/],
    ['1.5x', /failed to parse value as time or duration: "1.5x"$/],
  ];
  for (const [v, re] of errors) assert.throws(() => parseTimestampOrDuration(v, now), re, v);
});

test("untilSeconds: one reading for images, containers and networks; docker's 400 words", () => {
  const before = Date.now() / 1000;
  for (const [v, ago] of [
    ['1.5h', 5400],
    ['90m', 5400],
    ['300ms', 0.3],
    ['1h30m', 5400],
  ] as const) {
    const s = untilSeconds(v);
    assert.ok(Number.isInteger(s), v);
    assert.ok(s <= before - ago + 1 && s >= before - ago - 2, `${v}: ${s}`);
  }
  assert.equal(untilSeconds('1795385558.5'), 1795385558.5);
  assert.equal(untilSeconds('2026-11-22T22:12:38Z'), 1795385558);
  assert.throws(() => untilSeconds('soon'), { message: "invalid filter 'until=soon'" });
});

test('timestampString: seconds.nanoseconds as dockerd reads them', () => {
  assert.equal(timestampString(1795385558_250_000_000n), '1795385558.250000000');
  assert.equal(timestampString(0n), '0.000000000');
  assert.equal(timestampString(-1n), '-1.999999999');
});
