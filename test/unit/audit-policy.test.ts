/** The action table against the router, the policy file's rules and mistakes, and the audit log's filters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRouter } from '../../src/api/server.js';
import { ACTION_NAMES, actionOf, changesState } from '../../src/engine/audit/actions.js';
import { Policy, decideWithoutPolicy } from '../../src/engine/audit/policy.js';
import { AuditLog, type AuditEntry } from '../../src/engine/audit/log.js';
import type { Identity } from '../../src/engine/audit/identity.js';

const alice: Identity = { transport: 'unix', uid: 1001, gid: 1001, user: 'alice', gids: [1001, 2000], groups: ['alice', 'monitor'] };
const root: Identity = { transport: 'unix', uid: 0, gid: 0, user: 'root' };
const ci: Identity = { transport: 'tls', cn: 'ci-runner' };

test('every route the router serves has an action', () => {
  const missing = buildRouter().table.filter((r) => actionOf(r.method, r.path) === undefined);
  assert.deepEqual(missing, []);
  assert.equal(actionOf('POST', '/images/create', new URLSearchParams('fromSrc=-')), 'image.import');
  assert.equal(actionOf('POST', '/images/create', new URLSearchParams('fromImage=busybox')), 'image.pull');
  assert.ok(ACTION_NAMES.includes('container.create') && ACTION_NAMES.includes('image.import'));
  assert.equal(changesState('GET', 'container.logs'), false);
  assert.equal(changesState('GET', 'container.attach'), true);
  assert.equal(changesState('PUT', 'container.archive.put'), true);
});

test('the first rule naming the caller decides; aliases, wildcards and deny', () => {
  const p = Policy.parse(
    JSON.stringify({
      actions: { observe: ['container.list', 'container.logs', 'container.stats'] },
      rules: [
        { name: 'monitoring', groups: ['monitor'], allow: ['observe', 'system.*'] },
        { name: 'alice', users: ['alice'], allow: ['*'] },
        { name: 'ci', 'tls-cns': ['ci-runner'], allow: ['container.*', 'image.*'], deny: ['exec.*', 'container.attach'] },
      ],
    }),
    'test.json',
  );
  assert.deepEqual(p.decide(alice, 'container.list'), { allowed: true });
  assert.deepEqual(p.decide(alice, 'system.info'), { allowed: true });
  const no = p.decide(alice, 'container.create');
  assert.equal(no.allowed, false);
  assert.equal(
    !no.allowed && no.message,
    'authorization denied by plugin berth-policy: container.create is not allowed for uid 1001 (alice) by rule "monitoring"',
  );
  assert.equal(p.decide(ci, 'container.create').allowed, true);
  assert.equal(p.decide(ci, 'container.attach').allowed, false);
  assert.equal(p.decide(ci, 'volume.create').allowed, false);
  // A TLS CN never matches a unix rule and the other way round.
  assert.equal(p.decide({ transport: 'tls', cn: 'alice' }, 'container.list').allowed, false);
  assert.equal(p.decide({ transport: 'unix', uid: 5, user: 'ci-runner' }, 'container.list').allowed, false);
  // Root on the socket and ping are never refused; a call without an action is.
  assert.equal(p.decide(root, 'container.create').allowed, true);
  assert.equal(p.decide({ transport: 'unix', uid: 7 }, 'system.ping').allowed, true);
  assert.equal(p.decide(alice, undefined).allowed, false);
  // Root over TLS is just a certificate.
  assert.equal(p.decide({ transport: 'tls', cn: 'root', uid: 0 }, 'container.create').allowed, false);
  const open = Policy.parse(JSON.stringify({ rules: [], default: 'allow' }), 'x');
  assert.equal(open.decide(alice, 'container.create').allowed, true);
});

test('a console user is judged as themselves by console-users rules, never as the root the console connects as', () => {
  // What requestIdentity makes of a request through the console's private socket (berthd's own uid).
  const viaConsole = (name: string): Identity => ({ transport: 'unix', uid: 0, gid: 0, user: `console:${name}`, console: true, consoleUser: name });
  const p = Policy.parse(
    JSON.stringify({
      rules: [
        { name: 'root', users: ['root'], uids: [0], allow: ['*'] },
        { name: 'viewers', 'console-users': ['viewer'], allow: ['container.list', 'container.logs', 'system.*'] },
        { name: 'admins', 'console-users': ['admin'], allow: ['*'], deny: ['system.audit'] },
      ],
    }),
    'console.json',
  );
  assert.equal(p.decide(viaConsole('viewer'), 'container.list').allowed, true);
  const no = p.decide(viaConsole('viewer'), 'container.create');
  assert.equal(
    !no.allowed && no.message,
    'authorization denied by plugin berth-policy: container.create is not allowed for console user viewer by rule "viewers"',
  );
  assert.equal(p.decide(viaConsole('admin'), 'container.create').allowed, true);
  assert.equal(p.decide(viaConsole('admin'), 'system.audit').allowed, false);
  // Named by no rule (the root rules do not count for it): the default, deny.
  const other = p.decide(viaConsole('mallory'), 'container.list');
  assert.equal(
    !other.allowed && other.message,
    'authorization denied by plugin berth-policy: container.list is not allowed for console user mallory by default: no rule names this client',
  );
  // A console-users rule never names a socket client of that user name.
  assert.equal(p.decide({ transport: 'unix', uid: 1005, user: 'viewer' }, 'container.list').allowed, false);
  // Without a policy a console user may do everything root may, the audit log included; the
  // console user name alone (not through the console's socket) is worth nothing.
  assert.equal(decideWithoutPolicy(viaConsole('admin'), 'container.create').allowed, true);
  assert.equal(decideWithoutPolicy(viaConsole('admin'), 'system.audit').allowed, true);
  assert.equal(decideWithoutPolicy({ transport: 'unix', uid: 1001, consoleUser: 'admin' }, 'system.audit').allowed, false);
});

test('without a policy only root reads the audit log', () => {
  assert.equal(decideWithoutPolicy(alice, 'container.create').allowed, true);
  assert.equal(decideWithoutPolicy(alice, 'system.audit').allowed, false);
  assert.equal(decideWithoutPolicy(ci, 'system.audit').allowed, false);
  assert.equal(decideWithoutPolicy(root, 'system.audit').allowed, true);
});

test('mistakes in a policy file are errors that say where', () => {
  const bad: Array<[unknown, RegExp]> = [
    ['{', /invalid JSON/],
    [[], /not a JSON object/],
    [{ rule: [] }, /unknown key "rule"/],
    [{ rules: {} }, /"rules" must be a list/],
    [{ rules: [{ allow: ['*'] }] }, /rules\[0\]: names nobody/],
    [{ rules: [{ uids: ['0'], allow: ['*'] }] }, /rules\[0\]\.uids: a list of integers/],
    [{ rules: [{ users: ['a'], allow: ['contianer.list'] }] }, /rules\[0\]\.allow: "contianer\.list" names no action/],
    [{ rules: [{ users: ['a'], allow: ['*'], deny: 'x' }] }, /rules\[0\]\.deny: a list of strings/],
    [{ rules: [{ users: ['a'], alow: ['*'] }] }, /rules\[0\]: unknown key "alow"/],
    [{ rules: [], default: 'maybe' }, /"default" must be "allow" or "deny"/],
    [{ actions: { 'container.list': ['*'] }, rules: [] }, /may not be an action/],
    [{ actions: { a: ['b'], b: ['a'] }, rules: [{ users: ['x'], allow: ['a'] }] }, /refers to itself/],
  ];
  for (const [doc, re] of bad) {
    assert.throws(
      () => Policy.parse(typeof doc === 'string' ? doc : JSON.stringify(doc), '/etc/p.json'),
      (e: Error) => {
        assert.match(e.message, /^authorization policy \/etc\/p\.json: /);
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test('the audit log rotates by size and its reader filters across files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-unit-'));
  try {
    const log = new AuditLog({ path: join(dir, 'a', 'audit.log'), maxSize: 2048, maxFiles: 3 });
    const entry = (i: number): AuditEntry => ({
      Time: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
      Transport: 'unix',
      Uid: i % 2,
      User: i % 2 ? 'alice' : 'root',
      Method: 'POST',
      Path: `/containers/c${i}/start`,
      Action: i % 3 ? 'container.start' : 'volume.create',
      Object: `c${i}`,
      Status: i % 5 ? 204 : 409,
      DurationMs: 1,
    });
    for (let i = 0; i < 40; i++) log.write(entry(i));
    assert.deepEqual(readdirSync(join(dir, 'a')).sort(), ['audit.log', 'audit.log.1', 'audit.log.2']);
    const all = await log.read({ filters: {} });
    assert.ok(all.length > 10 && all.length < 40);
    assert.equal(all.at(-1)!.Object, 'c39', 'newest last');
    assert.ok(
      all.every((e, i) => i === 0 || e.Time > all[i - 1]!.Time),
      'oldest first across files',
    );
    const alice = await log.read({ filters: { user: ['alice'], action: ['container.*'] } });
    assert.ok(alice.length > 0 && alice.every((e) => e.User === 'alice' && e.Action === 'container.start'));
    assert.ok((await log.read({ filters: { status: ['4xx'] } })).every((e) => e.Status === 409));
    assert.deepEqual(
      (await log.read({ filters: { object: ['c3*'] } })).map((e) => e.Object).filter((o) => !o!.startsWith('c3')),
      [],
    );
    const t = Date.UTC(2024, 0, 1, 0, 0, 35) / 1000;
    assert.deepEqual(
      (await log.read({ since: t, filters: {} })).map((e) => e.Object),
      ['c35', 'c36', 'c37', 'c38', 'c39'],
    );
    assert.equal((await log.read({ filters: {}, limit: 2 })).length, 2);
    await assert.rejects(log.read({ filters: { colour: ['red'] } }), /Invalid filter 'colour'/);
    await assert.rejects(log.read({ filters: { uid: ['x'] } }), /invalid filter 'uid=x'/);
    log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
