/**
 * Webhooks of `berth registry serve`: Distribution's event envelope POSTed
 * for pushes and deletes, signed with HMAC-SHA256 of a shared secret, retried
 * with backoff by a receiver that fails twice, and never holding up a push
 * (a receiver that never answers, one that is down).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir, cleanupDir, run, BERTH } from '../helpers.js';
import { RegistryProc, pushSmallImage } from '../registry-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const SECRET = 'hook-s3cret';

interface Delivery {
  headers: IncomingMessage['headers'];
  body: Buffer;
  verified: boolean;
  at: number;
}

/** A receiver that answers `statuses` in turn (then 200), or never answers when `hang`. */
async function receiver(opts: { statuses?: number[]; hang?: boolean } = {}): Promise<{ server: Server; url: string; got: Delivery[]; attempts: number[] }> {
  const got: Delivery[] = [];
  const attempts: number[] = [];
  const statuses = [...(opts.statuses ?? [])];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts.push(Date.now());
      if (opts.hang) return;
      const body = Buffer.concat(chunks);
      const want = Buffer.from('sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'));
      const sig = Buffer.from(String(req.headers['x-berth-signature-256'] ?? ''));
      const verified = sig.length === want.length && timingSafeEqual(sig, want);
      const status = statuses.shift() ?? 200;
      if (status === 200) got.push({ headers: req.headers, body, verified, at: Date.now() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, attempts };
}

async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !fn()) await new Promise((r) => setTimeout(r, 25));
  if (!fn()) throw new Error(`timed out waiting for ${what}`);
}

const manifestEvents = (d: Delivery[]) =>
  d.map((x) => JSON.parse(x.body.toString()).events[0]).filter((e: { target: { url?: string } }) => e.target.url?.includes('/manifests/') || !e.target.url);

describe('webhooks', () => {
  let dir: string;
  let r: RegistryProc;
  let good: Awaited<ReturnType<typeof receiver>>;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let hung: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    dir = tempDir('berth-hooks-');
    good = await receiver();
    flaky = await receiver({ statuses: [500, 503] });
    hung = await receiver({ hang: true });
    const cfg = join(dir, 'cfg.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        deleteEnabled: true,
        notifications: {
          endpoints: [
            { name: 'good', url: good.url, secret: SECRET, headers: { 'X-Team': 'blue' } },
            { name: 'flaky', url: flaky.url, secret: SECRET, backoff: '200ms', actions: ['push'] },
            { name: 'hung', url: hung.url, timeout: '60s', retries: 0 },
            { name: 'down', url: 'http://127.0.0.1:1/hook', backoff: '10ms', retries: 2 },
          ],
        },
      }),
    );
    r = new RegistryProc(join(dir, 'root'), ['--config', cfg]);
    await r.start();
  });
  after(async () => {
    await r?.stop();
    for (const s of [good, flaky, hung]) {
      s?.server.closeAllConnections();
      await new Promise((res) => s?.server.close(res));
    }
    cleanupDir(dir);
  });

  test('a push and a delete are POSTed in the envelope, signed; pushes are not held up by a hung or down receiver', async () => {
    const { manifest: digest } = await pushSmallImage(r, 'hooks/app', 'v1', 'one');
    await until('the manifest push event', () => manifestEvents(good.got).length >= 1);
    const del = await r.req('DELETE', `/v2/hooks/app/manifests/${digest}`);
    assert.equal(del.status, 202);
    await until('the delete event', () => manifestEvents(good.got).length >= 2);
    for (const d of good.got) {
      assert.equal(d.verified, true, 'signature verifies with the shared secret');
      assert.equal(d.headers['content-type'], 'application/vnd.docker.distribution.events.v1+json');
      assert.equal(d.headers['x-team'], 'blue');
    }
    const [push, gone] = manifestEvents(good.got);
    assert.equal(push.action, 'push');
    assert.deepEqual(
      { repository: push.target.repository, tag: push.target.tag, digest: push.target.digest, mediaType: push.target.mediaType },
      { repository: 'hooks/app', tag: 'v1', digest, mediaType: OCI_MANIFEST },
    );
    assert.equal(push.target.size, push.target.length);
    assert.equal(push.target.url, `${r.url}/v2/hooks/app/manifests/${digest}`);
    assert.match(push.id, /^[0-9a-f-]{36}$/);
    assert.ok(push.timestamp && push.request.method === 'PUT' && push.source.addr);
    assert.equal(gone.action, 'delete');
    assert.equal(gone.target.digest, digest);
    // The blob pushes came too, before the manifest.
    const all = good.got.map((x) => JSON.parse(x.body.toString()).events[0]);
    assert.equal(all.filter((e) => e.target.url?.includes('/blobs/')).length, 2);
    // The hung receiver has had its POST and still holds it; pushes went on regardless.
    assert.ok(hung.attempts.length >= 1);
  });

  test('a receiver that fails twice gets the event on the third try, after backoff, in order', async () => {
    await until('the flaky receiver to accept', () => flaky.got.length >= 1);
    assert.ok(flaky.attempts.length >= 3);
    assert.ok(flaky.attempts[2]! - flaky.attempts[0]! >= 200 + 400 - 50, 'backed off between tries');
    assert.equal(flaky.got[0]!.verified, true);
    // Deletes are not among its actions.
    await until('every push to reach it', () => flaky.got.length >= 3);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(flaky.got.every((d) => JSON.parse(d.body.toString()).events[0].action === 'push'));
    const first = JSON.parse(flaky.got[0]!.body.toString()).events[0];
    assert.match(first.target.url, /\/blobs\//, 'the first event (a blob push) came first');
  });

  test('bad endpoint settings are refused', async () => {
    for (const [notifications, want] of [
      [{ endpoints: [{ name: 'x' }] }, /notifications\.endpoints\[0\]\.url is required/],
      [{ endpoints: [{ url: 'mailto:a@b' }] }, /must be http or https/],
      [{ endpoints: [{ url: 'http://h', actions: ['pull'] }] }, /expected push or delete/],
      [{ endpoints: [{ url: 'http://h', timeout: 'soon' }] }, /timeout: invalid duration/],
    ] as Array<[unknown, RegExp]>) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify({ notifications }));
      const s = await run(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', join(dir, 'x'), '--config', f]);
      assert.equal(s.code, 125);
      assert.match(s.stderr, want);
    }
  });
});
