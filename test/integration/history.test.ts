/**
 * GET /berth/containers/{id}/history end to end: nothing is sampled before anyone asks, a
 * running container's points grow once asked, `since` returns only newer points, a stopped
 * container keeps its points, a removed one is a 404, a bad `since` a 400. The interval is
 * shortened through daemon.json's undocumented `history-interval`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, http, importBusybox, tempDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const INTERVAL = 0.2;

interface Point {
  Time: number;
  CPUPercent: number;
  MemoryUsage: number;
  MemoryLimit: number;
  NetworkRx: number;
  NetworkTx: number;
  BlockRead: number;
  BlockWrite: number;
  Pids: number;
}

let d: Daemon;

before(async () => {
  d = new Daemon(tempDir());
  const cfg = JSON.parse(readFileSync(join(d.dir, 'daemon.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(d.dir, 'daemon.json'), JSON.stringify({ ...cfg, 'history-interval': INTERVAL, 'metrics-addr': '127.0.0.1:0' }));
  await d.start();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

async function history(ref: string, query = ''): Promise<{ status: number; json: { Interval: number; Points: Point[] } & { message?: string } }> {
  const r = await http(d.socket, 'GET', `/berth/containers/${ref}/history${query}`);
  return { status: r.status, json: JSON.parse(r.body) as { Interval: number; Points: Point[] } };
}

async function samplesTotal(name = 'berth_history_samples_total'): Promise<number> {
  const addr = /metrics API listening on (\S+?)"/.exec(d.log)![1]!;
  const body = await (await fetch(`http://${addr}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
  assert.ok(m, 'the counter is exposed');
  return Number(m[1]);
}

test("history: nothing sampled before anyone asks; then a running container's points grow, oldest first", async () => {
  const r = await d.berth(['run', '-d', '--name', 'busy', '-m', '64m', 'busybox', 'sh', '-c', 'while :; do :; done']);
  assert.equal(r.code, 0, r.stderr);
  await sleep(10 * INTERVAL * 1000);
  assert.equal(await samplesTotal(), 0, 'no sampling while nobody asked');

  const first = await history('busy');
  assert.equal(first.status, 200);
  assert.equal(first.json.Interval, INTERVAL);
  assert.ok(first.json.Points.length >= 1, 'the first request gets a point at once');
  let all: Point[] = [];
  for (let i = 0; i < 100 && all.length < 6; i++) {
    await sleep(INTERVAL * 1000);
    all = (await history('busy')).json.Points;
  }
  assert.ok(all.length >= 6, `points: ${all.length}`);
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.Time > all[i - 1]!.Time, 'oldest first');
  const p = all.at(-1)!;
  assert.ok(Math.abs(p.Time - Date.now() / 1000) < 60, `unix seconds: ${p.Time}`);
  assert.equal(p.MemoryLimit, 64 * 1024 * 1024);
  assert.ok(p.MemoryUsage > 0);
  assert.ok(p.Pids >= 1);
  assert.ok(
    all.slice(1).some((x) => x.CPUPercent > 5),
    `a busy loop shows CPU: ${all.map((x) => x.CPUPercent).join(',')}`,
  );
  assert.ok((await samplesTotal()) >= all.length);
  assert.equal(await samplesTotal('berth_history_containers'), 1);

  // since: only newer points; the version prefix answers the same.
  const cut = all[all.length - 3]!.Time;
  const newer = await http(d.socket, 'GET', `/v1.47/berth/containers/busy/history?since=${cut}`);
  assert.equal(newer.status, 200);
  const pts = (JSON.parse(newer.body) as { Points: Point[] }).Points;
  assert.ok(pts.length >= 2);
  assert.ok(pts.every((x) => x.Time > cut));
});

test('history: a stopped container keeps its points (and gets no new ones); removed → 404', async () => {
  const before = (await history('busy')).json.Points.length;
  assert.equal((await d.berth(['stop', '-t', '0', 'busy'])).code, 0);
  await sleep(5 * INTERVAL * 1000);
  const kept = (await history('busy')).json.Points;
  assert.ok(kept.length >= before, `kept ${kept.length} of ${before}`);
  await sleep(5 * INTERVAL * 1000);
  assert.equal((await history('busy')).json.Points.length, kept.length, 'no points while stopped');
  assert.equal((await d.berth(['rm', 'busy'])).code, 0);
  const gone = await history('busy');
  assert.equal(gone.status, 404);
  assert.equal(gone.json.message, 'No such container: busy');
  assert.equal(await samplesTotal('berth_history_containers'), 0, 'its ring is dropped with it');
});

test('history: bad since → 400; unknown container → 404; a container that never ran has no points', async () => {
  assert.equal((await d.berth(['create', '--name', 'idle', 'busybox', 'true'])).code, 0);
  for (const bad of ['abc', '-1', '1e9', '12abc', '1.2.3']) {
    const r = await history('idle', `?since=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 400, bad);
    assert.match(r.json.message ?? '', /invalid value for since/);
  }
  const none = await history('nosuch');
  assert.equal(none.status, 404);
  assert.equal(none.json.message, 'No such container: nosuch');
  const idle = await history('idle', '?since=0');
  assert.equal(idle.status, 200);
  assert.deepEqual(idle.json.Points, []);
  // Wrong method on the route: the API's 404 as for any unknown route.
  assert.equal((await http(d.socket, 'POST', '/berth/containers/idle/history')).status, 404);
  assert.equal((await d.berth(['version'])).code, 0, 'berthd still answers');
});
