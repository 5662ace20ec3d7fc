import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs, type ReadLogOptions } from '../../src/engine/containers/logs.js';
import { parseK8sLine, writeDockerJsonLine, formatTimestamp, K8sJoiner, type LogRecord } from '../../src/runtime/k8s-file.js';
import { parseGoDuration as parseDuration, parseTimestampOrDuration as parseSince } from '../../src/core/go-time.js';

const BASE = 1795385558_000_000_000n; // 2026-11-22T22:12:38Z

/** A k8s-file line as conmon writes it (with +00:00 offset). */
function k8s(ns: bigint, stream: 'stdout' | 'stderr', tag: 'P' | 'F', content: string): string {
  const t = formatTimestamp(ns).replace('Z', '+00:00');
  return `${t} ${stream} ${tag} ${content}\n`;
}

/** A temp dir; `done` also runs `cleanup` (e.g. aborting a follow a failed assertion left open). */
function tmp(): { dir: string; file: string; cleanup: (() => void)[]; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'));
  const cleanup: (() => void)[] = [];
  return {
    dir,
    file: join(dir, 'ctr.log'),
    cleanup,
    done: () => {
      for (const f of cleanup) f();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function collect(path: string, opts: ReadLogOptions = {}): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readLogs(path, opts)) out.push(r);
  return out;
}

const show = (rs: LogRecord[]) => rs.map((r) => `${r.stream}:${r.line.toString()}`);

/** Next value of an iterator, failing the test if it takes too long. */
async function next<T>(it: AsyncIterator<T>, ms = 3000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error('timed out waiting for log record')), ms);
  });
  try {
    return await Promise.race([it.next(), t]);
  } finally {
    clearTimeout(timer);
  }
}

test('parseK8sLine reads conmon lines', () => {
  const e = parseK8sLine('2026-11-22T22:17:52.273975518+00:00 stdout F hello');
  assert.ok(e);
  assert.equal(e.stream, 'stdout');
  assert.equal(e.partial, false);
  assert.equal(e.content.toString(), 'hello');
  assert.equal(formatTimestamp(e.timeNs), '2026-11-22T22:17:52.273975518Z');

  assert.equal(parseK8sLine('2026-11-22T22:17:52.27+00:00 stderr P a b ')?.content.toString(), 'a b ');
  assert.equal(parseK8sLine('2026-11-22T22:17:52.644013729+00:00 stdout F ')?.content.length, 0);
  assert.equal(parseK8sLine('2026-11-22T22:17:52.644013729+00:00 stdout F')?.content.length, 0);
  assert.equal(parseK8sLine(Buffer.from('2026-11-22T22:17:52.6+00:00 stdout F x\r\n'))?.content.toString(), 'x\r');
  // A zone offset is folded into UTC.
  const z = parseK8sLine('2026-11-23T00:17:52.5+02:00 stdout F x');
  assert.equal(formatTimestamp(z!.timeNs), '2026-11-22T22:17:52.500000000Z');
  assert.equal(formatTimestamp(z!.timeNs, false), '2026-11-22T22:17:52.5Z');
  for (const bad of [
    '',
    'garbage',
    '2026-11-22T22:17:52Z stdin F x',
    '2026-11-22T22:17:52Z stdout X x',
    '2026-13-22T22:17:52Z stdout F x',
    '2026-11-22T22:17:52Z stdout Fx',
  ]) {
    assert.equal(parseK8sLine(bad), null, bad);
  }
});

test('partial pieces are joined per stream; a trailing piece ends unterminated', async () => {
  const t = tmp();
  try {
    writeFileSync(
      t.file,
      [
        k8s(BASE, 'stdout', 'P', 'hel'),
        k8s(BASE + 1n, 'stderr', 'F', 'err line'),
        k8s(BASE + 2n, 'stdout', 'P', 'lo '),
        k8s(BASE + 3n, 'stdout', 'F', 'world'),
        k8s(BASE + 4n, 'stdout', 'F', ''),
        k8s(BASE + 5n, 'stdout', 'P', 'noeol'),
      ].join(''),
    );
    const rs = await collect(t.file);
    assert.deepEqual(show(rs), ['stderr:err line\n', 'stdout:hello world\n', 'stdout:\n', 'stdout:noeol']);
    assert.equal(rs[1].timeNs, BASE + 3n, 'a joined line takes the time of its last piece');
    assert.equal(rs[0].time, '2026-11-22T22:12:38.000000001Z');
  } finally {
    t.done();
  }
});

test('stream selection and since/until', async () => {
  const t = tmp();
  try {
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) lines.push(k8s(BASE + BigInt(i) * 1_000_000_000n, i % 2 ? 'stderr' : 'stdout', 'F', `l${i}`));
    writeFileSync(t.file, lines.join(''));
    assert.deepEqual(show(await collect(t.file, { stderr: false })), ['stdout:l0\n', 'stdout:l2\n', 'stdout:l4\n', 'stdout:l6\n', 'stdout:l8\n']);
    // The tail counts both streams' lines before one is picked, as dockerd does.
    assert.deepEqual(show(await collect(t.file, { stdout: false, tail: 2 })), ['stderr:l9\n']);
    const since = BASE + 3_000_000_000n;
    const until = BASE + 6_000_000_000n;
    assert.deepEqual(
      show(await collect(t.file, { sinceNs: since, untilNs: until })).map((s) => s.slice(7, -1)),
      ['l3', 'l4', 'l5', 'l6'],
    );
    // Tail picks the last lines first, then the time filter applies (as Docker does).
    assert.deepEqual(show(await collect(t.file, { tail: 3, untilNs: until })), []);
    assert.deepEqual(show(await collect(t.file, { tail: 3, sinceNs: since })).length, 3);
    assert.deepEqual(await collect(t.file, { tail: 0 }), []);
  } finally {
    t.done();
  }
});

/** A tiny deterministic PRNG. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('tail on a multi-MB file matches the end of a full read', async () => {
  const t = tmp();
  try {
    const rand = rng(42);
    const parts: string[] = [];
    let ns = BASE;
    let size = 0;
    // Interleaved streams; some lines split into pieces, some long, so lines cross 64 KiB chunk edges.
    for (let i = 0; size < 6 * 1024 * 1024; i++) {
      const stream = rand() < 0.3 ? 'stderr' : 'stdout';
      const pieces = rand() < 0.2 ? 1 + Math.floor(rand() * 4) : 0;
      const len = rand() < 0.01 ? 70_000 : Math.floor(rand() * 200);
      for (let p = 0; p < pieces; p++) {
        const s = k8s(ns++, stream, 'P', `${i}.${p}:`);
        parts.push(s);
        size += s.length;
        if (rand() < 0.5) {
          const o = k8s(ns++, stream === 'stdout' ? 'stderr' : 'stdout', 'F', `other${i}.${p}`);
          parts.push(o);
          size += o.length;
        }
      }
      const s = k8s(ns++, stream, 'F', `line${i} ` + 'x'.repeat(len));
      parts.push(s);
      size += s.length;
    }
    // End with an unterminated stdout run.
    parts.push(k8s(ns++, 'stdout', 'P', 'tail-part'));
    writeFileSync(t.file, parts.join(''));

    const everything = await collect(t.file, {});
    for (const sel of [{}, { stderr: false }, { stdout: false }] as ReadLogOptions[]) {
      const all = await collect(t.file, sel);
      const picked = (rs: typeof all) => rs.filter((r) => (r.stream === 'stdout' ? sel.stdout !== false : sel.stderr !== false));
      for (const n of [1, 2, 7, 100, 5000]) {
        const started = process.hrtime.bigint();
        const tail = await collect(t.file, { ...sel, tail: n });
        // The last n records of the log, then the streams asked for.
        assert.deepEqual(show(tail), show(picked(everything.slice(-n))), `tail ${n} ${JSON.stringify(sel)}`);
        if (n <= 100) assert.ok(process.hrtime.bigint() - started < 500_000_000n, 'tail should not read the whole file');
      }
      assert.deepEqual(show(await collect(t.file, { ...sel, tail: 1e9 })), show(all));
    }
  } finally {
    t.done();
  }
});

test('tail without follow: the last N lines as counted, not a line written while they are read', async () => {
  const t = tmp();
  try {
    writeFileSync(t.file, k8s(BASE, 'stdout', 'F', 'one') + k8s(BASE + 1n, 'stdout', 'F', 'two'));
    const it = readLogs(t.file, { tail: 1 })[Symbol.asyncIterator]();
    assert.equal((await next(it)).value?.line.toString(), 'two\n');
    // The container goes on writing while the client reads.
    appendFileSync(t.file, k8s(BASE + 3n, 'stdout', 'F', 'three'));
    const rest: string[] = [];
    for (let r = await next(it); !r.done; r = await next(it)) rest.push(r.value.line.toString());
    assert.deepEqual(rest, [], 'tail 1 answered more than one line');
    // With follow the same lines arrive: they are new.
    const ac = new AbortController();
    t.cleanup.push(() => ac.abort());
    const f = readLogs(t.file, { tail: 1, follow: true, signal: ac.signal })[Symbol.asyncIterator]();
    assert.equal((await next(f)).value?.line.toString(), 'three\n');
    appendFileSync(t.file, k8s(BASE + 5n, 'stdout', 'F', 'four'));
    assert.equal((await next(f)).value?.line.toString(), 'four\n');
  } finally {
    t.done();
  }
});

test('follow picks up appended lines, file restarts, and ends when stopped', async () => {
  const t = tmp();
  try {
    writeFileSync(t.file, k8s(BASE, 'stdout', 'F', 'old1') + k8s(BASE + 1n, 'stdout', 'F', 'old2'));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => {
      stop = r;
    });
    const ac = new AbortController();
    t.cleanup.push(() => ac.abort());
    const it = readLogs(t.file, { follow: true, tail: 1, stopped, signal: ac.signal })[Symbol.asyncIterator]();
    assert.equal((await next(it)).value?.line.toString(), 'old2\n', 'step old2');

    // Appended, including a line written in two writes and a split P/F line.
    appendFileSync(t.file, k8s(BASE + 2n, 'stdout', 'F', 'new1'));
    assert.equal((await next(it)).value?.line.toString(), 'new1\n', 'step new1');
    const half = k8s(BASE + 3n, 'stderr', 'F', 'halves');
    appendFileSync(t.file, half.slice(0, 20));
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(t.file, half.slice(20) + k8s(BASE + 4n, 'stdout', 'P', 'pi'));
    assert.equal((await next(it)).value?.line.toString(), 'halves\n', 'step halves');
    appendFileSync(t.file, k8s(BASE + 5n, 'stdout', 'F', 'ece'));
    assert.equal((await next(it)).value?.line.toString(), 'piece\n', 'step piece');

    // conmon's --log-size-max: a new file takes the path (rename).
    writeFileSync(t.file + '.tmp', k8s(BASE + 6n, 'stdout', 'F', 'rotated1'));
    renameSync(t.file + '.tmp', t.file);
    assert.equal((await next(it)).value?.line.toString(), 'rotated1\n', 'step rotated1');

    // ... or the same file starts over, shorter than before.
    writeFileSync(t.file, k8s(BASE + 7n, 'stdout', 'F', 'r2'));
    assert.equal((await next(it)).value?.line.toString(), 'r2\n', 'step r2');

    // ... or starts over and is already longer than where we were.
    writeFileSync(t.file, k8s(BASE + 8n, 'stderr', 'F', 'r3 ' + 'y'.repeat(300)));
    assert.equal((await next(it)).value?.line.toString(), 'r3 ' + 'y'.repeat(300) + '\n');

    // Stop: what was written last is drained, the unterminated piece flushed, then the end.
    appendFileSync(t.file, k8s(BASE + 9n, 'stdout', 'F', 'last') + k8s(BASE + 10n, 'stdout', 'P', 'no newline'));
    stop();
    assert.equal((await next(it)).value?.line.toString(), 'last\n', 'step last');
    assert.equal((await next(it)).value?.line.toString(), 'no newline');
    assert.equal((await next(it)).done, true);
  } finally {
    t.done();
  }
});

test('follow waits for a missing file; without follow a missing file is empty', async () => {
  const t = tmp();
  try {
    assert.deepEqual(await collect(t.file), []);
    assert.deepEqual(await collect(t.file, { tail: 5 }), []);
    const ac = new AbortController();
    t.cleanup.push(() => ac.abort());
    const it = readLogs(t.file, { follow: true, tail: 10, signal: ac.signal })[Symbol.asyncIterator]();
    const p = next(it);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(t.file, k8s(BASE, 'stdout', 'F', 'born'));
    assert.equal((await p).value?.line.toString(), 'born\n');
    ac.abort();
    assert.equal((await next(it)).done, true);
  } finally {
    t.done();
  }
});

test('abort ends a follow that has nothing to read', async () => {
  const t = tmp();
  try {
    writeFileSync(t.file, k8s(BASE, 'stdout', 'F', 'one'));
    const ac = new AbortController();
    t.cleanup.push(() => ac.abort());
    const it = readLogs(t.file, { follow: true, signal: ac.signal })[Symbol.asyncIterator]();
    assert.equal((await next(it)).value?.line.toString(), 'one\n', 'step one');
    const p = next(it, 1000);
    setTimeout(() => ac.abort(), 50);
    assert.equal((await p).done, true);
    // A stop that already happened ends the follow right after the drain.
    const rs = await collect(t.file, { follow: true, stopped: Promise.resolve() });
    assert.deepEqual(show(rs), ['stdout:one\n']);
  } finally {
    t.done();
  }
});

test('json-file line as Docker writes it', () => {
  const j = new K8sJoiner();
  const r = j.push({ stream: 'stdout', timeNs: BASE + 120_000_000n, partial: false, content: Buffer.from('a "q" <b>&\t\x1b') })!;
  assert.equal(writeDockerJsonLine(r), '{"log":"a \\"q\\" \\u003cb\\u003e\\u0026\\t\\u001b\\n","stream":"stdout","time":"2026-11-22T22:12:38.12Z"}\n');
  const whole = j.push({ stream: 'stderr', timeNs: BASE, partial: false, content: Buffer.from('x') })!;
  assert.equal(writeDockerJsonLine(whole), '{"log":"x\\n","stream":"stderr","time":"2026-11-22T22:12:38Z"}\n');
});

test('--since/--until values', () => {
  const now = new Date('2026-11-22T22:12:38.750Z');
  const at = (s: string) => BigInt(Date.parse(s)) * 1_000_000n;
  assert.equal(parseDuration('1h30m'), 5_400_000_000_000n);
  assert.equal(parseDuration('1.5s'), 1_500_000_000n);
  assert.equal(parseDuration('-2m'), -120_000_000_000n);
  assert.equal(parseDuration('300ms'), 300_000_000n);
  assert.throws(() => parseDuration('10'), /invalid duration "10"/);
  assert.throws(() => parseDuration('1x'), /invalid duration/);

  // Relative: now minus the duration, in whole seconds.
  assert.equal(parseSince('10m', now), at('2026-11-22T22:02:38Z'));
  assert.equal(parseSince('1h30m', now), at('2026-11-22T20:42:38Z'));
  // Unix timestamps.
  assert.equal(parseSince('1795385558', now), BASE);
  assert.equal(parseSince('1795385558.5', now), BASE + 500_000_000n);
  assert.equal(parseSince('1795385558.000000001', now), BASE + 1n);
  assert.equal(parseSince('0', now), 0n);
  // RFC3339 and shorter forms.
  assert.equal(parseSince('2026-11-22T22:12:38Z', now), BASE);
  assert.equal(parseSince('2026-11-22T22:12:38.123456789Z', now), BASE + 123_456_789n);
  assert.equal(parseSince('2026-11-23T00:12:38+02:00', now), BASE);
  assert.equal(parseSince('2026-11-22T22:12Z', now), BASE - 38_000_000_000n);
  assert.equal(parseSince('2026-11-22Z', now), at('2026-11-22T00:00:00Z'));
  // No zone: local time at `now`.
  const local = new Date(2026, 10, 22, 10, 5, 0);
  assert.equal(parseSince('2026-11-22T10:05:00', now), BigInt(local.getTime()) * 1_000_000n);
  assert.equal(parseSince('2026-11-22', now), BigInt(new Date(2026, 10, 22).getTime()) * 1_000_000n);

  assert.throws(() => parseSince('yesterday', now), /failed to parse value as time or duration: "yesterday"/);
  assert.throws(() => parseSince('2026-13-01', now), /parsing time "2026-13-01"/);
  assert.throws(() => parseSince('2026-11-22T1', now), /parsing time/);
});
