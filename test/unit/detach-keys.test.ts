/** Detach keys: parsing docker's key specs and catching the sequence in a byte stream. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeScanner, parseDetachKeys } from '../../src/core/detach-keys.js';

test('parseDetachKeys: ctrl-letters, ctrl-punctuation, plain characters, errors', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [0, 27, 28, 29, 30, 31]);
  assert.deepEqual([...parseDetachKeys('ctrl-X,x')], [24, 120]);
  assert.throws(() => parseDetachKeys('ctrl-1'), /Unknown character/);
  assert.throws(() => parseDetachKeys('ab'), /Unknown character/);
});

test('EscapeScanner: passes other bytes, holds a partial match, detaches on the whole sequence', () => {
  const s = new EscapeScanner(Buffer.from([16, 17]));
  assert.equal(s.push(Buffer.from('ls\r')).toString(), 'ls\r');
  assert.equal(s.push(Buffer.from([0x61, 16])).toString(), 'a', 'ctrl-p held back');
  assert.deepEqual([...s.push(Buffer.from([0x62]))], [16, 0x62], 'released when the next byte breaks the match');
  assert.deepEqual([...s.push(Buffer.from([16, 16]))], [16], 'a repeated first key restarts the match');
  assert.equal(s.detached, false);
  assert.deepEqual([...s.push(Buffer.from([17, 0x63]))], []);
  assert.equal(s.detached, true);
  assert.equal(s.push(Buffer.from('more')).length, 0, 'nothing after detaching');
});
