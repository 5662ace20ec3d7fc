import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frame, Demuxer, demux, type StdChunk } from '../../src/core/wire/stdcopy.js';

test('frame writes the 8-byte header', () => {
  const f = frame(1, Buffer.from('hi\n'));
  assert.deepEqual([...f.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 3]);
  assert.equal(f.subarray(8).toString(), 'hi\n');
  const big = frame(2, Buffer.alloc(0x010203));
  assert.deepEqual([...big.subarray(0, 8)], [2, 0, 0, 0, 0, 0x01, 0x02, 0x03]);
  assert.deepEqual([...frame(1, Buffer.alloc(0))], [1, 0, 0, 0, 0, 0, 0, 0]);
});

test('demuxer round-trips frames split at every possible boundary', () => {
  const input: StdChunk[] = [
    { stream: 1, data: Buffer.from('hello\n') },
    { stream: 2, data: Buffer.from('oops\n') },
    { stream: 1, data: Buffer.alloc(0) },
    { stream: 0, data: Buffer.from('in') },
    { stream: 1, data: Buffer.from('x'.repeat(300)) },
  ];
  const wire = Buffer.concat(input.map((c) => frame(c.stream, c.data)));
  const norm = (cs: StdChunk[]) => cs.map((c) => ({ stream: c.stream, data: c.data.toString() }));
  for (let a = 0; a <= wire.length; a++) {
    for (const b of [a, Math.min(wire.length, a + 3), Math.min(wire.length, a + 9)]) {
      const d = new Demuxer();
      const out = [...d.push(wire.subarray(0, a)), ...d.push(wire.subarray(a, b)), ...d.push(wire.subarray(b))];
      d.end();
      assert.deepEqual(norm(out), norm(input), `split at ${a}/${b}`);
    }
  }
  // One byte at a time.
  const d = new Demuxer();
  const out: StdChunk[] = [];
  for (const byte of wire) out.push(...d.push(Buffer.from([byte])));
  assert.deepEqual(norm(out), norm(input));
});

test('systemerr surfaces as an error after the frames before it', async () => {
  const wire = Buffer.concat([frame(1, Buffer.from('a')), frame(3, Buffer.from('boom')), frame(1, Buffer.from('b'))]);
  const d = new Demuxer();
  assert.throws(
    () => d.push(wire),
    (e: Error & { frames?: StdChunk[] }) => {
      assert.match(e.message, /error from daemon in stream: boom/);
      assert.equal(e.frames?.length, 1);
      assert.equal(e.frames?.[0].data.toString(), 'a');
      return true;
    },
  );

  async function* chunks() {
    yield wire.subarray(0, 5);
    yield wire.subarray(5);
  }
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const c of demux(chunks())) got.push(c.data.toString());
  }, /boom/);
  assert.deepEqual(got, ['a']);
});

test('bad header and truncated input are errors', async () => {
  assert.throws(() => new Demuxer().push(Buffer.from([7, 0, 0, 0, 0, 0, 0, 0])), /Unrecognized input header: 7/);
  const d = new Demuxer();
  d.push(frame(1, Buffer.from('abcdef')).subarray(0, 10));
  assert.throws(() => d.end(), /unexpected end of stream/);

  const got: StdChunk[] = [];
  for await (const c of demux(
    (async function* () {
      yield frame(2, Buffer.from('e'));
      yield frame(1, Buffer.from('o'));
    })(),
  ))
    got.push(c);
  assert.deepEqual(
    got.map((c) => [c.stream, c.data.toString()]),
    [
      [2, 'e'],
      [1, 'o'],
    ],
  );
});
