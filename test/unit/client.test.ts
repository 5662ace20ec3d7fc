import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client, ConnectError, readAll } from '../../src/client/client.js';

/** A daemon stand-in on a unix socket: echoes each request's method, path and body. */
function echoServer(socket: string, seen: string[]): Promise<Server> {
  const srv = createServer((req, res) => {
    void readAll(req).then((body) => {
      seen.push(`${req.method} ${req.url?.replace(/^\/v[\d.]+/, '')}`);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ body: body.toString() }));
    });
  });
  return new Promise((resolve) => srv.listen(socket, () => resolve(srv)));
}

/** A client whose socket has no daemon yet; onUnreachable starts one (the echo server) and counts. */
async function withLazyDaemon(fn: (c: Client, seen: string[], starts: () => number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-client-'));
  const socket = join(dir, 'd.sock');
  const seen: string[] = [];
  let srv: Server | undefined;
  let starts = 0;
  const c = new Client(`unix://${socket}`);
  c.onUnreachable = async () => {
    starts++;
    srv = await echoServer(socket, seen);
  };
  try {
    await fn(c, seen, () => starts);
  } finally {
    c.close();
    srv?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a refused first request starts the daemon once (onUnreachable) and is sent again', async () => {
  await withLazyDaemon(async (c, seen, starts) => {
    const r = await c.json<{ body: string }>('POST', '/containers/create', { body: { Image: 'busybox' } });
    assert.equal(r.body, '{"Image":"busybox"}');
    assert.equal(starts(), 1);
    assert.deepEqual(seen, ['POST /containers/create']); // no ping before it
  });
});

test('a request with a streamed body pings first, so the stream is sent only once, whole', async () => {
  await withLazyDaemon(async (c, seen, starts) => {
    // Sent into a refused connection and then again, the stream would arrive empty or cut.
    const r = await c.json<{ body: string }>('POST', '/images/load', { body: Readable.from([Buffer.from('part1-'), Buffer.from('part2')]) });
    assert.equal(r.body, 'part1-part2');
    assert.equal(starts(), 1);
    assert.deepEqual(seen, ['POST /images/load']);
  });
});

test('once a daemon answered, a refused connection is an error, not a second start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-client-'));
  const socket = join(dir, 'd.sock');
  const seen: string[] = [];
  const srv = await echoServer(socket, seen);
  let starts = 0;
  const c = new Client(`unix://${socket}`);
  c.onUnreachable = async () => {
    starts++;
  };
  try {
    await c.json('GET', '/info');
    c.close();
    await new Promise<void>((r) => srv.close(() => r()));
    await assert.rejects(c.json('GET', '/info'), ConnectError);
    assert.equal(starts, 0);
  } finally {
    c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
