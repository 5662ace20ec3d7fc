/**
 * `load` leaves nothing partial in content/ingest: not when an archive repeats
 * an entry name (the last one wins, as when dockerd unpacks it, and the earlier
 * writes are thrown away), not when it fails checks, is cut short, or its client
 * goes away midway. Checked by listing the ingest directory, without a restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, makeTar } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.cleanup();
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const ingest = () => readdirSync(join(d.dataRoot, 'content', 'ingest'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A docker-archive whose entries are written in the order given; names may repeat. */
async function archive(entries: [string, Buffer | string][]): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const [name, v] of entries) p.entry({ name, mode: 0o644 }, typeof v === 'string' ? Buffer.from(v) : v);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The entries of a one-layer image `tag`, its layer at layer.tar. */
async function image(tag: string, opts: { diffId?: string } = {}): Promise<{ entries: [string, Buffer | string][]; layer: Buffer }> {
  const layer = await makeTar({ 'hello.txt': `${tag}\n` });
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [opts.diffId ?? `sha256:${sha(layer)}`] },
  });
  const cfgName = `${sha(config)}.json`;
  return {
    layer,
    entries: [
      ['manifest.json', JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: ['layer.tar'] }])],
      [cfgName, config],
    ],
  };
}

async function load(tar: Buffer): Promise<{ code: number; stderr: string }> {
  const r = await d.berth(['load'], { input: tar });
  return { code: r.code, stderr: r.stderr };
}

test('an entry name repeated three times: the last one counts, and no earlier write stays in ingest', async () => {
  const { entries, layer } = await image('dup/ok:1');
  const junk = randomBytes(200_000);
  const tar = await archive([['layer.tar', junk], ['layer.tar', randomBytes(1000)], ...entries, ['layer.tar', layer]]);
  const r = await load(tar);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(ingest(), []);
  const layers = await d.berth(['inspect', '-f', '{{json .RootFS.Layers}}', 'dup/ok:1']);
  assert.equal(layers.code, 0, layers.stderr);
  assert.deepEqual(JSON.parse(layers.stdout), [`sha256:${sha(layer)}`]);
});

test('failing loads with repeated names leave nothing in ingest', async () => {
  const { entries, layer } = await image('dup/bad:1', { diffId: `sha256:${'b'.repeat(64)}` });
  const cases: [string, Buffer][] = [
    ['wrong diffID', await archive([['layer.tar', layer], ...entries, ['layer.tar', layer], ['layer.tar', layer]])],
    [
      'no manifest',
      await archive([
        ['x', 'one'],
        ['x', 'two'],
        ['x', 'three'],
      ]),
    ],
    [
      'bad manifest',
      await archive([
        ['manifest.json', '['],
        ['manifest.json', '{'],
        ['manifest.json', 'nope'],
      ]),
    ],
  ];
  for (const [what, tar] of cases) {
    const r = await load(tar);
    assert.equal(r.code, 1, what);
    assert.deepEqual(ingest(), [], what);
  }
  // Cut short in the middle of an entry.
  const whole = await archive([
    ['a', randomBytes(100_000)],
    ['a', randomBytes(100_000)],
    ['b', randomBytes(300_000)],
  ]);
  const r = await load(whole.subarray(0, 250_000));
  assert.equal(r.code, 1);
  assert.deepEqual(ingest(), [], 'truncated');
});

test('a client that goes away in the middle of a load leaves nothing in ingest', async () => {
  const tar = await archive([
    ['a', randomBytes(4 << 20)],
    ['b', randomBytes(4 << 20)],
    ['c', randomBytes(8 << 20)],
  ]);
  const sent = tar.subarray(0, 10 << 20);
  await new Promise<void>((resolve, reject) => {
    const s = connect(d.socket);
    s.on('error', reject);
    s.once('connect', () => {
      s.write(`POST /images/load HTTP/1.1\r\nHost: berth\r\nContent-Type: application/x-tar\r\nContent-Length: ${tar.length}\r\n\r\n`);
      s.write(sent, () => {
        s.destroy();
        resolve();
      });
    });
  });
  // The daemon notices the disconnect asynchronously; nothing may be left once it has.
  let left = ingest();
  for (let i = 0; i < 100 && left.length; i++) {
    await sleep(100);
    left = ingest();
  }
  assert.deepEqual(left, []);
});
