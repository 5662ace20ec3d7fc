/** save / load: formats, round trips, bad archives, and a daemon killed mid-load. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { type Daemon, startDaemon, importBusybox, makeTar, BERTH } from '../helpers.js';

let d: Daemon;
let id: string;
before(async () => {
  d = await startDaemon();
  id = await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

test('save then load into a fresh daemon gives the same image ID and tags', async () => {
  const out = join(d.dir, 'bb.tar');
  const s = await d.berth(['save', '-o', out, 'busybox']);
  assert.equal(s.code, 0, s.stderr);
  const other = await startDaemon();
  try {
    const l = await other.berth(['load', '-i', out]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, 'Loaded image: busybox:latest\n');
    assert.equal((await other.berth(['inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim(), id);
    // Through the docker CLI, from stdin, loading again is idempotent.
    const l2 = await other.docker(['load'], { input: readFileSync(out) });
    assert.equal(l2.code, 0, l2.stderr);
    assert.match(l2.stdout, /Loaded image: busybox:latest/);
    assert.equal((await other.berth(['images', '-q'])).stdout.trim().split('\n').length, 1);
  } finally {
    await other.cleanup();
  }
});

test('the saved archive is a docker-archive and an OCI layout at once', async () => {
  const out = join(d.dir, 'bb2.tar');
  const save = spawn(process.execPath, [BERTH, '-H', d.host, 'save', 'busybox'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  for await (const c of save.stdout!) chunks.push(c as Buffer);
  writeFileSync(out, Buffer.concat(chunks));
  const { extract } = await import('tar-stream');
  const files = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((res, rej) => {
    ex.on('finish', res);
    ex.on('error', rej);
  });
  ex.on('entry', (h, stream, next) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: unknown) => parts.push(c as Buffer));
    stream.on('end', () => {
      files.set(h.name, Buffer.concat(parts));
      next();
    });
  });
  ex.end(readFileSync(out));
  await done;
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  assert.deepEqual(manifest[0].RepoTags, ['busybox:latest']);
  assert.equal(manifest[0].Config, `blobs/sha256/${id.slice(7)}`);
  assert.ok(files.has('oci-layout'));
  const index = JSON.parse(files.get('index.json')!.toString());
  assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/library/busybox:latest');
  for (const [name, data] of files) {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    if (m) assert.equal(sha(data), m[1], `${name} hashes to its name`);
  }
});

/** A legacy docker-archive as `docker save` on Docker ≤ 24 writes it. */
async function legacyArchive(
  layer: Buffer,
  opts: { diffId?: string; tags?: string[]; layerPath?: string; omitLayer?: boolean } = {},
): Promise<{ tar: Buffer; id: string }> {
  const diffId = opts.diffId ?? 'sha256:' + sha(layer);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'legacy' }],
  });
  const cfgHex = sha(config);
  const layerDir = 'a'.repeat(64);
  const entries: Record<string, string | { type: 'directory' }> = {
    [`${cfgHex}.json`]: config,
    'manifest.json': JSON.stringify([
      { Config: `${cfgHex}.json`, RepoTags: opts.tags ?? ['legacy/app:1'], Layers: [opts.layerPath ?? `${layerDir}/layer.tar`] },
    ]),
    repositories: JSON.stringify({ 'legacy/app': { 1: layerDir } }),
    [`${layerDir}/VERSION`]: '1.0',
    [`${layerDir}/json`]: '{}',
  };
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const [name, v] of Object.entries(entries)) p.entry({ name }, typeof v === 'string' ? v : '');
  if (!opts.omitLayer) p.entry({ name: `${layerDir}/layer.tar` }, layer);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return { tar: Buffer.concat(chunks), id: 'sha256:' + cfgHex };
}

test('a legacy docker-archive loads with its ID and tags', async () => {
  const layer = await makeTar({ 'etc/': { type: 'directory' }, 'etc/motd': 'legacy\n' });
  const { tar, id: want } = await legacyArchive(layer);
  const r = await d.berth(['load'], { input: tar });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Loaded image: legacy/app:1\n');
  assert.equal((await d.berth(['inspect', '-f', '{{.Id}}', 'legacy/app:1'])).stdout.trim(), want);
  // -q drops progress, not the result (the docker CLI prints the same).
  const q = await d.berth(['load', '-q'], { input: tar });
  assert.equal(q.code, 0, q.stderr);
  assert.equal(q.stdout, 'Loaded image: legacy/app:1\n');
  await d.berth(['rmi', 'legacy/app:1']);
});

test('bad archives are refused with a clear error and store nothing', async () => {
  const before = (await d.berth(['images', '-a', '-q', '--no-trunc'])).stdout;
  const layer = await makeTar({ 'x.txt': 'x\n' });
  const cases: [string, Buffer, RegExp][] = [
    ['corrupt', Buffer.alloc(2048, 3), /invalid archive|unexpected|invalid tar/i],
    ['missing layer', (await legacyArchive(layer, { omitLayer: true })).tar, /layer "a{64}\/layer.tar" referenced by the manifest is missing/],
    ['wrong diffID', (await legacyArchive(layer, { diffId: 'sha256:' + 'b'.repeat(64) })).tar, /invalid diffID for layer 0/],
    ['escaping layer path', (await legacyArchive(await makeTar({ '../../evil': 'x' }))).tar, /escape|outside/i],
    ['not an image archive', await makeTar({ 'hello.txt': 'hi' }), /neither manifest.json nor index.json/],
  ];
  for (const [what, tar, re] of cases) {
    const r = await d.berth(['load'], { input: tar });
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    // dockerd streams a load's error (200, then an error message), so the CLI prints it bare, as the docker CLI does.
    assert.doesNotMatch(r.stderr, /^Error response from daemon: /, what);
    assert.match(r.stderr, re, what);
  }
  // An OCI blob whose bytes do not match its name.
  const bad = await makeTar({
    'oci-layout': '{"imageLayoutVersion":"1.0.0"}',
    'index.json': JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + 'c'.repeat(64), size: 2 }],
    }),
    [`blobs/sha256/${'c'.repeat(64)}`]: '{}',
  });
  const r = await d.berth(['load'], { input: bad });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /digest mismatch/);
  assert.equal((await d.berth(['images', '-a', '-q', '--no-trunc'])).stdout, before);
  assert.match((await d.berth(['system', 'check'])).stdout, /No problems found/);
});

test('kill -9 in the middle of loading a large archive leaves a clean store', async () => {
  // ~300 MB of incompressible layer content.
  const big = join(d.dir, 'big.tar');
  const layer = join(d.dir, 'layer.tar');
  const { pack } = await import('tar-stream');
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const { randomBytes } = await import('node:crypto');
  const p = pack();
  const w = pipeline(p, createWriteStream(layer));
  for (let i = 0; i < 30; i++) await new Promise<void>((res, rej) => p.entry({ name: `data/blob${i}` }, randomBytes(10 << 20), (e) => (e ? rej(e) : res())));
  p.finalize();
  await w;
  const layerBuf = readFileSync(layer);
  const { tar } = await legacyArchive(layerBuf, { tags: ['big:1'] });
  writeFileSync(big, tar);
  assert.ok(statSync(big).size > 300e6);

  const load = d.berth(['load', '-i', big]);
  // Kill the daemon once the upload is well under way.
  const ingest = join(d.dataRoot, 'content', 'ingest');
  const { readdirSync } = await import('node:fs');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const sizes = readdirSync(ingest).map((f) => {
      try {
        return statSync(join(ingest, f)).size;
      } catch {
        return 0;
      }
    });
    if (sizes.some((s) => s > 50e6)) break;
    if (Date.now() > deadline) throw new Error('load never got going');
    await new Promise((r) => setTimeout(r, 20));
  }
  await d.kill9();
  const lr = await load;
  assert.notEqual(lr.code, 0);
  await d.start();
  const check = await d.berth(['system', 'check']);
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /No problems found/);
  assert.equal((await d.berth(['image', 'inspect', 'big:1'])).code, 1, 'the half-loaded image is absent');
  assert.equal((await d.berth(['inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim(), id, 'older images are intact');
  // And the same archive loads fine afterwards.
  const again = await d.berth(['load', '-i', big]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'Loaded image: big:1\n');
  assert.equal((await d.berth(['rmi', 'big:1'])).code, 0);
});
