/**
 * A pull whose client goes away is cancelled, as dockerd cancels it: berthd
 * hangs up on the registry, records no image, and leaves no layer, blob or
 * unpack directory behind (a partial download stays in its resumable ingest
 * file, and the next pull continues it with a Range request). Work shared with
 * another client pulling at the same time goes on for that client.
 *
 * The registry here is a small one of the test's own that holds a layer's
 * bytes back at a gate, so "in the middle of the pull" is a fact, not a timing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, http, makeTar } from '../helpers.js';
import { sha256 } from '../registry-helpers.js';

/** Holds a blob's bytes after `at` until opened. */
class Gate {
  opened = false;
  private openNow!: () => void;
  readonly open = new Promise<void>((r) => {
    this.openNow = r;
  });
  private reachedNow!: () => void;
  /** The registry has sent the bytes before the gate and waits. */
  readonly reached = new Promise<void>((r) => {
    this.reachedNow = r;
  });
  private cutNow!: () => void;
  /** The client hung up on this blob before it was complete. */
  readonly cut = new Promise<void>((r) => {
    this.cutNow = r;
  });
  wasCut = false;
  constructor(readonly at: number) {}
  release(): void {
    this.opened = true;
    this.openNow();
  }
  markReached(): void {
    this.reachedNow();
  }
  markCut(): void {
    this.wasCut = true;
    this.cutNow();
  }
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

class SlowRegistry {
  server?: Server;
  port = 0;
  blobs = new Map<string, Buffer>();
  manifests = new Map<string, Buffer>();
  gates = new Map<string, Gate>();
  /** Blob GETs as they came: digest and Range header. */
  gets: { digest: string; range?: string }[] = [];

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** An image `repo:tag` of the given layer tars (gzipped); returns its layer digests. */
  image(repo: string, tag: string, tars: Buffer[]): string[] {
    const put = (b: Buffer) => {
      const d = sha256(b);
      this.blobs.set(d, b);
      return { digest: d, size: b.length };
    };
    const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(t, { level: 1 })) }));
    const config = put(
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) } })),
    );
    this.manifests.set(
      `${repo}:${tag}`,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers,
        }),
      ),
    );
    return layers.map((l) => l.digest);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/' || url === '/v2') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{}');
        return;
      }
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
      if (!m) {
        res.writeHead(404);
        res.end();
        return;
      }
      const [, repo, kind, ref] = m;
      if (kind === 'manifests') {
        const b = this.manifests.get(`${repo}:${ref}`) ?? [...this.manifests.values()].find((x) => sha256(x) === ref);
        if (!b) {
          res.writeHead(404, { 'Content-Type': 'application/json' });
          res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
          return;
        }
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': b.length, 'Docker-Content-Digest': sha256(b) });
        res.end(req.method === 'HEAD' ? undefined : b);
        return;
      }
      const data = this.blobs.get(ref!);
      if (!data) {
        res.writeHead(404);
        res.end();
        return;
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Length': data.length });
        res.end();
        return;
      }
      this.gets.push({ digest: ref!, range: req.headers.range });
      void this.serveBlob(res, ref!, data, req.headers.range);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private async serveBlob(res: ServerResponse, digest: string, data: Buffer, range: string | undefined): Promise<void> {
    const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    res.writeHead(start ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': data.length - start,
      ...(start ? { 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}),
    });
    const gate = this.gates.get(digest);
    res.on('close', () => {
      if (!res.writableFinished) gate?.markCut();
    });
    if (!gate || gate.opened || start >= gate.at) {
      res.end(data.subarray(start));
      return;
    }
    res.write(data.subarray(start, gate.at));
    gate.markReached();
    await gate.open;
    if (!res.destroyed) res.end(data.subarray(gate.at));
  }

  async stop(): Promise<void> {
    for (const g of this.gates.values()) g.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

let d: Daemon;
let reg: SlowRegistry;
before(async () => {
  d = await startDaemon();
  reg = new SlowRegistry();
  await reg.start();
});
after(async () => {
  await reg.stop();
  await d.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const list = (...p: string[]) => {
  const dir = join(d.dataRoot, ...p);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};
/** What a pull leaves on disk. */
const store = () => ({
  layers: list('snapshots', 'overlay2', 'layers'),
  unpacking: list('snapshots', 'overlay2', 'tmp'),
  blobs: list('content', 'blobs', 'sha256'),
});

/** Resolves true when `p` settles within `ms`, false otherwise (the test fails rather than hangs). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
  ]);
}

/** A pull from a raw connection, to be dropped midway. */
function startPull(image: string, tag: string): Socket {
  const s = connect(d.socket);
  s.on('error', () => {});
  s.once('connect', () =>
    s.write(`POST /images/create?fromImage=${encodeURIComponent(image)}&tag=${tag} HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n\r\n`),
  );
  s.resume();
  return s;
}

/** A big incompressible layer and a small one. */
async function layers(name: string): Promise<{ big: Buffer; small: Buffer }> {
  return { big: await makeTar({ [`${name}.bin`]: randomBytes(3 << 20).toString('base64') }), small: await makeTar({ [`${name}.txt`]: `${name}\n` }) };
}

async function settled<T>(read: () => T, want: T): Promise<T> {
  let got = read();
  for (let i = 0; i < 100 && JSON.stringify(got) !== JSON.stringify(want); i++) {
    await sleep(100);
    got = read();
  }
  return got;
}

test('a client that goes away mid-pull cancels it: no image, no layer, no blob, no unpack left; the next pull resumes the download', async () => {
  const { big, small } = await layers('solo');
  const [smallDigest, bigDigest] = reg.image('slow/solo', 'v1', [small, big]);
  const gate = new Gate(1 << 20);
  reg.gates.set(bigDigest!, gate);
  const before = store();

  const client = startPull(`${reg.host}/slow/solo`, 'v1');
  assert.ok(await within(gate.reached, 60_000), 'the pull reaches the big layer');
  // berthd has written all it was sent of the big layer to its ingest file.
  const partial = join(d.dataRoot, 'content', 'ingest', `sha256-${bigDigest!.slice(7)}`);
  for (let i = 0; i < 600 && !(existsSync(partial) && statSync(partial).size >= gate.at); i++) await sleep(50);
  assert.equal(statSync(partial).size, gate.at);
  client.destroy();
  assert.ok(await within(gate.cut, 30_000), 'berthd hangs up on the registry once its client is gone');

  assert.deepEqual(await settled(store, before), before, 'no layer, unpack directory or blob is left');
  assert.equal(d.proc!.exitCode, null, `berthd is alive:\n${d.log.slice(-3000)}`);
  const inspect = await http(d.socket, 'GET', `/images/${reg.host}/slow/solo:v1/json`);
  assert.equal(inspect.status, 404, 'no image is recorded');
  // Only the resumable download of the cut blob stays, to be continued.
  assert.deepEqual(list('content', 'ingest'), [`sha256-${bigDigest!.slice(7)}`]);
  assert.ok(!list('content', 'ingest').includes(`sha256-${smallDigest!.slice(7)}`));

  gate.release();
  reg.gets = [];
  const again = await d.berth(['pull', `${reg.host}/slow/solo:v1`]);
  assert.equal(again.code, 0, again.stderr);
  const resumed = reg.gets.find((g) => g.digest === bigDigest);
  assert.equal(resumed?.range, `bytes=${gate.at}-`, 'the next pull continues the download where it stopped');
  assert.deepEqual(list('content', 'ingest'), []);
  assert.equal((await http(d.socket, 'GET', `/images/${reg.host}/slow/solo:v1/json`)).status, 200);
});

test('two clients pulling at once: the one that goes away cancels only what nobody else waits for', async () => {
  // Both images start with the same big layer (one download, one unpack, shared); each has a layer of its own.
  const { big } = await layers('shared');
  const ownA = (await layers('own-a')).big;
  const ownB = (await layers('own-b')).small;
  const [sharedDigest, ownADigest] = reg.image('slow/a', 'v1', [big, ownA]);
  const [, ownBDigest] = reg.image('slow/b', 'v1', [big, ownB]);
  const layersBefore = list('snapshots', 'overlay2', 'layers').length;
  const shared = new Gate(1 << 20);
  const onlyA = new Gate(1 << 20);
  reg.gates.set(sharedDigest!, shared);
  reg.gates.set(ownADigest!, onlyA);
  reg.gets = [];

  const a = startPull(`${reg.host}/slow/a`, 'v1');
  assert.ok(await within(Promise.all([shared.reached, onlyA.reached]), 60_000), 'A is downloading both its layers');
  const bDone = http(d.socket, 'POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/slow/b`)}&tag=v1`);
  // B joins the shared download as it starts its layers, before it asks the registry for its own one.
  for (let i = 0; i < 600 && !reg.gets.some((g) => g.digest === ownBDigest); i++) await sleep(50);
  assert.ok(
    reg.gets.some((g) => g.digest === ownBDigest),
    'B is pulling',
  );
  a.destroy();
  assert.ok(await within(onlyA.cut, 30_000), 'the layer only A wanted is cancelled');
  assert.equal(shared.wasCut, false, 'the layer B waits for too goes on');

  shared.release();
  onlyA.release();
  assert.ok(await within(bDone, 120_000), 'B finishes');
  const b = await bDone;
  assert.equal(b.status, 200, b.body);
  assert.match(b.body, /Downloaded newer image/);
  assert.equal(reg.gets.filter((g) => g.digest === sharedDigest).length, 1, 'the shared layer was fetched once');
  assert.equal((await http(d.socket, 'GET', `/images/${reg.host}/slow/b:v1/json`)).status, 200, 'B has its image');
  assert.equal((await http(d.socket, 'GET', `/images/${reg.host}/slow/a:v1/json`)).status, 404, 'A recorded nothing');
  // What only A had is gone; B's layers and blobs stay.
  const ownALayer = await settled(() => list('content', 'blobs', 'sha256').includes(ownADigest!.slice(7)), false);
  assert.equal(ownALayer, false, 'no blob of the cancelled layer');
  assert.deepEqual(await settled(() => list('snapshots', 'overlay2', 'tmp'), []), []);
  assert.equal(list('snapshots', 'overlay2', 'layers').length, layersBefore + 2, "B's two layers, and none of A's own");
});
