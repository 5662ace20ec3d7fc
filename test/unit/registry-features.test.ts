/** Pure parts of the registry's features: config sections, retention's choice of tags, the write gate, signatures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { keptTags, parseRetention } from '../../src/registry/retention.js';
import { parseQuotas } from '../../src/registry/quota.js';
import { parseReplication } from '../../src/registry/replication/rules.js';
import { parseNotifications, sign } from '../../src/registry/webhooks.js';
import { parseProxy, DEFAULT_PROXY_TTL_MS } from '../../src/registry/proxy/cache.js';
import { repoPattern } from '../../src/registry/settings.js';
import { WriteGate } from '../../src/registry/write-gate.js';

test('repository patterns: * within a component, ** across, ? one character', () => {
  assert.ok(repoPattern('team/*').test('team/app'));
  assert.ok(!repoPattern('team/*').test('team/a/b'));
  assert.ok(repoPattern('team/**').test('team/a/b'));
  assert.ok(repoPattern('app?').test('app1'));
  assert.ok(!repoPattern('a.b').test('axb'));
});

test('retention keeps the newest N and those within D days (either keeps a tag)', () => {
  const now = Date.parse('2026-01-31T00:00:00Z');
  const day = 86_400_000;
  const tags = [
    { tag: 'a', time: now - 40 * day },
    { tag: 'b', time: now - 20 * day },
    { tag: 'c', time: now - 10 * day },
    { tag: 'd', time: now - 1 * day },
  ];
  const rule = (r: object) => ({ repositories: 'x', re: /x/, ...r });
  assert.deepEqual([...keptTags(tags, rule({ keepLast: 2 }), now)].sort(), ['c', 'd']);
  assert.deepEqual([...keptTags(tags, rule({ keepDays: 15 }), now)].sort(), ['c', 'd']);
  assert.deepEqual([...keptTags(tags, rule({ keepLast: 1, keepDays: 25 }), now)].sort(), ['b', 'c', 'd']);
  assert.deepEqual([...keptTags(tags, rule({ keepLast: 0 }), now)], []);
  assert.equal(parseRetention({ schedule: '24h', rules: [{ repositories: 'a/*', keepLast: 3 }] })?.scheduleMs, 86_400_000);
  assert.throws(() => parseRetention({ rules: [{ repositories: 'a', keepLast: -1 }] }), /at least 0/);
});

test('config sections check their values and name the bad key', () => {
  assert.equal(parseQuotas([{ repositories: 'a/*', limit: '2mb' }])[0]!.bytes, 2 << 20);
  assert.throws(() => parseQuotas([{ repositories: 'a/*', limit: '2mb', extra: 1 }]), /quotas\[0\]: unknown key "extra"/);
  const [r] = parseReplication({ rules: [{ repositories: 'a/**', remote: { url: 'http://h:5000' }, interval: '10m' }] });
  assert.equal(r!.direction, 'push');
  assert.equal(r!.intervalMs, 600_000);
  assert.equal(r!.name, 'rule1');
  assert.throws(() => parseReplication({ rules: [{ repositories: 'a', remote: { url: 'http://h' }, prefix: 'Bad/' }] }), /prefix must be/);
  assert.throws(
    () =>
      parseReplication({
        rules: [
          { name: 'x', repositories: 'a', remote: { url: 'http://h' } },
          { name: 'x', repositories: 'b', remote: { url: 'http://h' } },
        ],
      }),
    /"x" is used twice/,
  );
  const [e] = parseNotifications({ endpoints: [{ url: 'https://h/hook' }] });
  assert.deepEqual(
    { name: e!.name, retries: e!.retries, timeoutMs: e!.timeoutMs, actions: e!.actions },
    { name: 'h', retries: 5, timeoutMs: 5000, actions: ['push', 'delete'] },
  );
  assert.equal(parseProxy({ remoteurl: 'https://registry-1.docker.io' }, {})?.ttlMs, DEFAULT_PROXY_TTL_MS);
  assert.equal(parseProxy({ remoteurl: 'https://a', ttl: '1h' }, { proxyTtl: '30s' })?.ttlMs, 30_000);
  assert.equal(parseProxy(undefined, {}), undefined);
});

test('a signature is sha256= and the hex HMAC-SHA256 of the body', () => {
  const body = '{"events":[]}';
  assert.equal(sign('k', body), 'sha256=' + createHmac('sha256', 'k').update(body).digest('hex'));
});

test('the write gate: a sweep waits for writes in flight and holds new ones', async () => {
  const gate = new WriteGate();
  const order: string[] = [];
  let release!: () => void;
  const w1 = gate.write(async () => {
    order.push('w1 start');
    await new Promise<void>((r) => (release = r));
    order.push('w1 end');
  });
  await new Promise((r) => setImmediate(r));
  const sweep = gate.exclusive(async () => {
    order.push('sweep');
  });
  await new Promise((r) => setImmediate(r));
  const w2 = gate.write(async () => {
    order.push('w2');
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['w1 start']);
  release();
  await Promise.all([w1, sweep, w2]);
  assert.deepEqual(order, ['w1 start', 'w1 end', 'sweep', 'w2']);
});
