/**
 * Logs with docker's json-file options: max-size/max-file rotation (per container and from
 * daemon.json), `logs` reading across rotated files, -f across rotations and berthd restarts,
 * --since/--until/--details.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, startDaemon, importBusybox, tempDir, BERTH } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A shell loop printing line-1 … line-N, pausing a little between lines. */
// Slow enough that berthd links each new file before conmon fills it, even on a busy host.
const counter = (n: number, pause = '15000') => `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo line-$i; usleep ${pause}; done`;

function logDir(daemon: Daemon, id: string): { dir: string; files: () => string[] } {
  const dir = join(daemon.dataRoot, 'containers', id);
  return {
    dir,
    files: () =>
      readdirSync(dir)
        .filter((f) => /^container\.log(\.\d+)?$/.test(f))
        .sort(),
  };
}

/** Line numbers of line-N output; asserts they run without a gap unless told not to. */
function numbers(out: string, gapless = true): number[] {
  const ns = out
    .trim()
    .split('\n')
    .map((l) => Number(/^line-(\d+)$/.exec(l)?.[1]));
  ns.forEach((n, i) => {
    assert.ok(Number.isInteger(n), `not a counter line: ${out.trim().split('\n')[i]}`);
    if (i && gapless) assert.equal(n, ns[i - 1]! + 1, 'lines run on without a gap');
  });
  return ns;
}

async function waitExit(daemon: Daemon, id: string): Promise<void> {
  const r = await daemon.berth(['wait', id]);
  assert.equal(r.code, 0, r.stderr);
}

test('--log-opt max-size/max-file: files rotate at max-size, max-file are kept, logs reads across them; -f misses nothing', async () => {
  const run = await d.berth([
    'run',
    '-d',
    '--name',
    'rot',
    '--log-opt',
    'max-size=1k',
    '--log-opt',
    'max-file=3',
    'busybox',
    'sh',
    '-c',
    `sleep 1; ${counter(300)}`,
  ]);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  // A follower from the start sees every line, though older files are dropped as it reads.
  const follower = spawn(process.execPath, [BERTH, '-H', d.host, 'logs', '-f', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  follower.stdout.on('data', (b: Buffer) => {
    followed += b.toString();
  });
  const followerDone = new Promise((r) => follower.on('close', r));
  await waitExit(d, id);
  await followerDone;
  assert.deepEqual(
    numbers(followed),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );

  const { dir, files } = logDir(d, id);
  assert.deepEqual(files(), ['container.log', 'container.log.1', 'container.log.2']);
  for (const f of files()) assert.ok(statSync(join(dir, f)).size <= 1024, `${f} is ${statSync(join(dir, f)).size} bytes`);

  for (const via of ['berth', 'docker'] as const) {
    const all = await d[via](['logs', 'rot']);
    assert.equal(all.code, 0, all.stderr);
    const ns = numbers(all.stdout);
    assert.equal(ns.at(-1), 300);
    assert.ok(ns[0]! > 1 && ns.length > 40 && ns.length < 80, `${via}: kept ${ns[0]}…300`);
    // ~18 lines fit in 1 KiB: the last 30 span files.
    const tail = await d[via](['logs', '--tail', '30', 'rot']);
    assert.deepEqual(
      numbers(tail.stdout),
      Array.from({ length: 30 }, (_, i) => 271 + i),
      `${via}: --tail 30 spans files`,
    );
  }
  assert.equal(
    (await d.berth(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'rot'])).stdout.trim(),
    '{"Type":"json-file","Config":{"max-file":"3","max-size":"1k"}}',
  );
});

test('max-size alone keeps one file that starts over', async () => {
  const id = (await d.berth(['run', '-d', '--log-opt', 'max-size=1k', 'busybox', 'sh', '-c', counter(100, '1000')])).stdout.trim();
  await waitExit(d, id);
  const { dir, files } = logDir(d, id);
  assert.deepEqual(files(), ['container.log']);
  assert.ok(statSync(join(dir, 'container.log')).size <= 1024);
  const ns = numbers((await d.berth(['logs', id])).stdout);
  assert.equal(ns.at(-1), 100);
  assert.ok(ns[0]! > 1);
});

test('rotation goes on while berthd is down; afterwards logs and logs -f work and the chain is restored', async () => {
  const id = (
    await d.berth([
      'run',
      '-d',
      '--log-opt',
      'max-size=2k',
      '--log-opt',
      'max-file=4',
      'busybox',
      'sh',
      '-c',
      'i=0; while :; do i=$((i+1)); echo line-$i; usleep 20000; done',
    ])
  ).stdout.trim();
  const { dir, files } = logDir(d, id);
  for (let i = 0; i < 100 && !files().includes('container.log.1'); i++) await sleep(100);
  await d.kill9();
  await sleep(3000); // conmon keeps writing and starting files over
  await d.start();
  for (let i = 0; i < 100 && files().length < 4; i++) await sleep(100);
  assert.deepEqual(files(), ['container.log', 'container.log.1', 'container.log.2', 'container.log.3']);
  for (const f of files()) assert.ok(statSync(join(dir, f)).size <= 2048);
  // Files conmon started over while berthd was down are gone (as docker's would be, past max-file): gaps are allowed here.
  const before = numbers((await d.berth(['logs', id])).stdout, false).at(-1)!;
  const follower = spawn(process.execPath, [BERTH, '-H', d.host, 'logs', '-f', '--tail', '1', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  follower.stdout.on('data', (b: Buffer) => {
    followed += b.toString();
  });
  const lines = () => followed.split('\n').filter(Boolean).length;
  for (let i = 0; i < 150 && lines() < 150; i++) await sleep(100); // crosses several rotations
  await d.berth(['rm', '-f', id]);
  follower.kill();
  const ns = numbers(followed);
  assert.ok(ns.length >= 150 && ns[0]! >= before, `followed ${ns[0]}…${ns.at(-1)}`);
});

test("daemon.json log-opts apply to new containers; a container's own options win", async () => {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'log-opts': { 'max-size': '1k', 'max-file': '2' } }));
  const d2 = new Daemon(dir);
  await d2.start();
  try {
    await importBusybox(d2);
    const id = (await d2.berth(['run', '-d', 'busybox', 'sh', '-c', counter(150)])).stdout.trim();
    await waitExit(d2, id);
    assert.equal(
      (await d2.berth(['inspect', '-f', '{{json .HostConfig.LogConfig}}', id])).stdout.trim(),
      '{"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}}',
    );
    assert.deepEqual(logDir(d2, id).files(), ['container.log', 'container.log.1']);
    assert.equal(numbers((await d2.docker(['logs', id])).stdout).at(-1), 150);
    const own = (await d2.berth(['run', '-d', '--log-opt', 'max-size=10k', 'busybox', 'true'])).stdout.trim();
    assert.equal(
      (await d2.berth(['inspect', '-f', '{{json .HostConfig.LogConfig}}', own])).stdout.trim(),
      '{"Type":"json-file","Config":{"max-file":"2","max-size":"10k"}}',
    );
    await d2.berth(['rm', '-f', id, own]);
  } finally {
    await d2.cleanup();
  }
  // A bad key in daemon.json stops berthd from starting.
  const dir3 = tempDir();
  writeFileSync(join(dir3, 'daemon.json'), JSON.stringify({ 'log-opts': { 'max-sise': '1k' } }));
  const d3 = new Daemon(dir3);
  await assert.rejects(d3.start(), /unknown log opt 'max-sise' for json-file log driver/);
  await d3.cleanup();
});

test("logs --since, --until, --details; bad log options read as docker's", async () => {
  const id = (
    await d.berth([
      'run',
      '-d',
      '--label',
      'app=web',
      '-e',
      'STAGE=test',
      '--log-opt',
      'labels=app',
      '--log-opt',
      'env=STAGE',
      'busybox',
      'sh',
      '-c',
      'echo first; sleep 2; echo second; echo oops >&2',
    ])
  ).stdout.trim();
  await waitExit(d, id);
  const ts = (await d.berth(['logs', '-t', id])).stdout
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]!);
  assert.equal(ts.length, 2);
  const mid = new Date((Date.parse(ts[0]!) + Date.parse(ts[1]!)) / 2).toISOString();
  for (const via of ['berth', 'docker'] as const) {
    assert.equal((await d[via](['logs', '--since', mid, id])).stdout, 'second\n', via);
    assert.equal((await d[via](['logs', '--until', mid, id])).stdout, 'first\n', via);
    const det = await d[via](['logs', '--details', id]);
    assert.equal(det.stdout, 'STAGE=test,app=web first\nSTAGE=test,app=web second\n', via);
    assert.equal(det.stderr, 'STAGE=test,app=web oops\n', via);
  }
  const plain = (await d.berth(['run', '-d', 'busybox', 'echo', 'x'])).stdout.trim();
  await waitExit(d, plain);
  assert.equal((await d.berth(['logs', '--details', plain])).stdout, ' x\n');

  const unknown = await d.berth(['run', '--rm', '--log-opt', 'max-sise=1k', 'busybox', 'true']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /unknown log opt 'max-sise' for json-file log driver/);
  const badSize = await d.docker(['run', '--log-opt', 'max-size=12x', 'busybox', 'true']);
  assert.notEqual(badSize.code, 0);
  assert.match(badSize.stderr, /failed to initialize logging driver: invalid size: '12x'/);
  const badFile = await d.berth(['run', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=0', 'busybox', 'true']);
  assert.match(badFile.stderr, /failed to initialize logging driver: max-file cannot be less than 1/);
});
