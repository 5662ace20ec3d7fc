/**
 * Starting a created runc container by reading the start byte from its exec
 * FIFO: an init that writes its byte, runs a short command and exits before
 * the liveness check is a started container, not one that "has stopped".
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseExecFifo } from '../../src/runtime/runc.js';

const tmp = mkdtempSync(join(tmpdir(), 'berth-fifo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fifo(name: string): string {
  const path = join(tmp, name);
  assert.equal(spawnSync('mkfifo', [path]).status, 0);
  return path;
}

/** The init's side: open for writing (a reader is there by now), write the start byte, go. */
function initWrites(path: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  writeSync(fd, Buffer.from('0'));
  closeSync(fd);
}

test('an init that wrote its byte and exited between an empty read and the check was started', async () => {
  const path = fifo('raced');
  let calls = 0;
  // First look: alive, nothing written yet. Second look: meanwhile it wrote, ran and exited.
  const isAlive = () => {
    calls++;
    if (calls === 1) return true;
    initWrites(path);
    return false;
  };
  assert.equal(await releaseExecFifo(path, 4242, isAlive), true);
  assert.equal(existsSync(path), false, 'the FIFO is gone once read, as after runc start');
});

test('an init dead before an empty read never started: the error says so', async () => {
  const path = fifo('dead');
  await assert.rejects(
    releaseExecFifo(path, 4242, () => false),
    /cannot start a container that has stopped/,
  );
});

test('no FIFO (another layout, or started already): false, so runc start is called', async () => {
  assert.equal(await releaseExecFifo(join(tmp, 'missing'), 4242, () => true), false);
});
