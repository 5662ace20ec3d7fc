/** The restart policy as dockerd's restart manager applies it (engine/containers/restart-policy.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restartDelay, type ExitFacts } from '../../src/engine/containers/restart-policy.js';

const exit = (o: Partial<ExitFacts> = {}): ExitFacts => ({ code: 1, ranMs: 50, exitOnNext: false, manuallyStopped: false, restartCount: 0, ...o });

test('the delay starts at 100 ms, doubles at each restart, and stops growing at one minute', () => {
  const delays: number[] = [];
  let prev: number | undefined;
  for (let i = 0; i < 12; i++) {
    const d = restartDelay({ Name: 'always' }, exit({ previousDelayMs: prev, restartCount: i }))!;
    delays.push(d);
    prev = d;
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
});

test('a run of 10 s or more starts the delay again at 100 ms, and it doubles from there', () => {
  assert.equal(restartDelay({ Name: 'always' }, exit({ previousDelayMs: 25600, ranMs: 10_000 })), 100);
  assert.equal(restartDelay({ Name: 'always' }, exit({ previousDelayMs: 25600, ranMs: 9_999 })), 51200);
  assert.equal(restartDelay({ Name: 'always' }, exit({ previousDelayMs: 100, ranMs: 20 })), 200);
});

test('which exits are followed by a restart, per policy', () => {
  assert.equal(restartDelay(undefined, exit()), null);
  assert.equal(restartDelay({ Name: 'no' }, exit()), null);
  assert.equal(restartDelay({ Name: 'always' }, exit({ code: 0 })), 100);
  // A kill or stop asked for this exit: no policy restarts it.
  assert.equal(restartDelay({ Name: 'always' }, exit({ exitOnNext: true })), null);
  // A signal by hand that did not end the policy (not SIGKILL, not the stop signal): always still restarts.
  assert.equal(restartDelay({ Name: 'always' }, exit({ manuallyStopped: true })), 100);
  assert.equal(restartDelay({ Name: 'unless-stopped' }, exit({ manuallyStopped: true })), null);
  assert.equal(restartDelay({ Name: 'unless-stopped' }, exit({ code: 0 })), 100);
  assert.equal(restartDelay({ Name: 'on-failure' }, exit({ code: 0 })), null);
  assert.equal(restartDelay({ Name: 'on-failure' }, exit({ code: 3, restartCount: 99 })), 100);
  assert.equal(restartDelay({ Name: 'on-failure', MaximumRetryCount: 2 }, exit({ restartCount: 1 })), 100);
  assert.equal(restartDelay({ Name: 'on-failure', MaximumRetryCount: 2 }, exit({ restartCount: 2 })), null);
});
