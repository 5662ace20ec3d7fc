/** Console sessions end after 30 minutes idle or 12 hours in all, however busy; cookies and CSRF tokens. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sessions, csrfMatches, sessionCookie } from '../../src/console/auth/sessions.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function clock(): { now: () => number; pass: (ms: number) => void } {
  let t = Date.UTC(2026, 11, 7, 9, 0, 0);
  return { now: () => t, pass: (ms) => (t += ms) };
}

test('a session in use lives past the idle limit, and ends at 12 hours however busy', () => {
  const c = clock();
  const sessions = new Sessions(undefined, c.now);
  const s = sessions.create('alice');
  // Used every 20 minutes: never idle for 30.
  for (let elapsed = 0; elapsed + 20 * MIN < 12 * HOUR; elapsed += 20 * MIN) {
    c.pass(20 * MIN);
    assert.equal(sessions.get(s.id)?.user, 'alice', `alive after ${(elapsed + 20 * MIN) / MIN} minutes`);
  }
  assert.ok(sessions.get(s.id), 'still in at 11 h 40');
  c.pass(21 * MIN); // 12 h 01 since sign-in, 21 minutes since last used
  assert.equal(sessions.get(s.id), undefined);
  assert.equal(sessions.get(s.id), undefined, 'and it stays gone');
});

test('30 minutes idle ends a session, however young', () => {
  const c = clock();
  const sessions = new Sessions(undefined, c.now);
  const s = sessions.create('bob');
  c.pass(30 * MIN);
  assert.ok(sessions.get(s.id), 'exactly 30 minutes idle is still in');
  c.pass(30 * MIN + 1);
  assert.equal(sessions.get(s.id), undefined, 'a millisecond more is out');
});

test('ended and unknown sessions are refused; expired ones are swept when others sign in', () => {
  const c = clock();
  const sessions = new Sessions({ idleMs: 5 * MIN, absoluteMs: HOUR }, c.now);
  const a = sessions.create('a');
  sessions.end(a.id);
  assert.equal(sessions.get(a.id), undefined);
  assert.equal(sessions.get('made-up'), undefined);
  assert.equal(sessions.get(undefined), undefined);
  const b = sessions.create('b');
  c.pass(6 * MIN);
  const fresh = sessions.create('c');
  assert.equal(sessions.get(b.id), undefined);
  assert.equal(sessions.get(fresh.id)?.user, 'c');
});

test('the cookie: HttpOnly, SameSite=Strict, Secure over TLS, Max-Age of the absolute limit; CSRF compared whole', () => {
  const sessions = new Sessions();
  const s = sessions.create('alice');
  assert.equal(sessions.cookie(s, false), `berth_console=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`);
  assert.match(sessions.cookie(s, true), /; Secure; Max-Age=43200$/);
  assert.match(Sessions.clearCookie(false), /^berth_console=; .*Max-Age=0$/);
  assert.equal(sessionCookie(`theme=dark; berth_console=${s.id}; x=1`), s.id);
  assert.equal(sessionCookie('berth_console='), undefined);
  assert.equal(csrfMatches(s, s.csrf), true);
  assert.equal(csrfMatches(s, s.csrf.slice(0, -1)), false);
  assert.equal(csrfMatches(s, undefined), false);
  assert.notEqual(s.csrf, s.id);
});
