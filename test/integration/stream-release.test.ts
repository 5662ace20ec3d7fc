/**
 * Every stream a client drops releases what it held: berthd's descriptors on a
 * container's log after `logs -f`, `attach` and exec sessions are cut off midway,
 * on blobs after `save`, and nothing once the container is removed. Checked from
 * the host side, by reading berthd's /proc/<pid>/fd.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { type Daemon, startDaemon, importBusybox, http } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** berthd's open descriptors whose target matches `pick`. */
function fdsOn(pick: (target: string) => boolean): string[] {
  const dir = `/proc/${d.proc!.pid}/fd`;
  const out: string[] = [];
  for (const fd of readdirSync(dir)) {
    try {
      const t = readlinkSync(join(dir, fd));
      if (pick(t)) out.push(t);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Polls until `pick` matches at most `max` descriptors (closing follows the disconnect asynchronously); returns what is left. */
async function settle(pick: (target: string) => boolean, max = 0): Promise<string[]> {
  let left = fdsOn(pick);
  for (let i = 0; i < 100 && left.length > max; i++) {
    await sleep(100);
    left = fdsOn(pick);
  }
  return left;
}

/**
 * Send a raw request, wait for the first bytes of the answer (the stream is on),
 * then drop the connection without reading further.
 */
function dropAfterFirstBytes(path: string, method = 'GET', extra = ''): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(d.socket);
    s.on('error', reject);
    s.once('connect', () => s.write(`${method} ${path} HTTP/1.1\r\nHost: berth\r\n${extra}Content-Length: 0\r\n\r\n`));
    let got = 0;
    s.on('data', (b: Buffer) => {
      got += b.length;
      // Past the headers and into the body: the server has started streaming, and stopped for want of a reader.
      if (got > 64 * 1024) {
        s.pause();
        s.destroy();
        resolve();
      }
    });
    s.on('close', () => resolve());
  });
}

/** A container that has written several MB of log and keeps running. */
async function chatty(name: string, tty = false): Promise<string> {
  const r = await d.berth([
    'run',
    '-d',
    ...(tty ? ['-t'] : []),
    '--name',
    name,
    'busybox',
    'sh',
    '-c',
    'i=0; while [ $i -lt 40000 ]; do echo "line $i of a log that is long enough to fill a socket buffer"; i=$((i+1)); done; echo ready; exec sleep 1000',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  for (let i = 0; i < 300; i++) {
    if ((await d.berth(['logs', '--tail', '1', id])).stdout.includes('ready')) break;
    await sleep(100);
  }
  return id;
}

const onLog = (id: string) => (t: string) => t.includes(id) && /container\.log/.test(t);

test('logs -f and attach dropped by their client close the log file; rm leaves no descriptor on it', async () => {
  const id = await chatty('leaky');
  const base = fdsOn(onLog(id)).length;
  for (let i = 0; i < 100; i++) await dropAfterFirstBytes(`/containers/${id}/logs?follow=1&stdout=1&stderr=1`);
  await settle(onLog(id), base);
  assert.ok(fdsOn(onLog(id)).length <= base, `logs -f left ${fdsOn(onLog(id)).length - base} descriptors open`);

  for (let i = 0; i < 100; i++) {
    await dropAfterFirstBytes(`/containers/${id}/attach?logs=1&stream=1&stdout=1&stderr=1`, 'POST', 'Connection: Upgrade\r\nUpgrade: tcp\r\n');
  }
  await settle(onLog(id), base);
  assert.ok(fdsOn(onLog(id)).length <= base, `attach left ${fdsOn(onLog(id)).length - base} descriptors open`);

  assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  assert.deepEqual(await settle(onLog(id)), [], "no descriptor on a removed container's log");
  // Still serving.
  assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
});

test('a TTY container: attach dropped midway closes the log', async () => {
  const id = await chatty('leaky-tty', true);
  const base = fdsOn(onLog(id)).length;
  for (let i = 0; i < 30; i++) {
    await dropAfterFirstBytes(`/containers/${id}/attach?logs=1&stream=1&stdout=1`, 'POST', 'Connection: Upgrade\r\nUpgrade: tcp\r\n');
  }
  await settle(onLog(id), base);
  assert.ok(fdsOn(onLog(id)).length <= base, `attach left ${fdsOn(onLog(id)).length - base} descriptors open`);
  assert.equal((await d.berth(['rm', '-f', id])).code, 0);
  assert.deepEqual(await settle(onLog(id)), []);
});

test('an exec TTY session dropped by its client closes its output log', async () => {
  const r = await d.berth(['run', '-d', '--name', 'exec-host', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  const onExecLog = (t: string) => t.includes(id) && t.endsWith('output.log');
  for (let i = 0; i < 10; i++) {
    const created = await http(
      d.socket,
      'POST',
      `/containers/${id}/exec`,
      JSON.stringify({ Tty: true, AttachStdout: true, Cmd: ['sh', '-c', 'yes "an exec that writes more than a socket holds"'] }),
    );
    assert.equal(created.status, 201, created.body);
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    const body = JSON.stringify({ Tty: true });
    await new Promise<void>((resolve, reject) => {
      const s = connect(d.socket);
      s.on('error', reject);
      s.once('connect', () =>
        s.write(
          `POST /exec/${execId}/start HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      );
      let got = 0;
      s.on('data', (b: Buffer) => {
        got += b.length;
        if (got > 256 * 1024) {
          s.pause();
          s.destroy();
          resolve();
        }
      });
      s.on('close', () => resolve());
    });
  }
  // The sessions run on (as with dockerd), but nobody reads their output any more.
  assert.deepEqual(await settle(onExecLog), [], "no descriptor on the exec sessions' logs");
  assert.equal((await d.berth(['rm', '-f', id])).code, 0);
});

test('save, export and GET archive dropped midway close what they read', async () => {
  // A few MB of content so the tar outgrows the socket.
  const r = await d.berth(['run', '--name', 'big', 'busybox', 'sh', '-c', 'dd if=/dev/urandom of=/big bs=1M count=8 2>/dev/null']);
  assert.equal(r.code, 0, r.stderr);
  const cm = await d.berth(['commit', 'big', 'bigimg']);
  assert.equal(cm.code, 0, cm.stderr);
  const onBlobs = (t: string) => t.startsWith(join(d.dataRoot, 'content'));
  const onBig = (t: string) => t.endsWith('/big');
  for (let i = 0; i < 20; i++) await dropAfterFirstBytes('/images/get?names=bigimg');
  assert.deepEqual(await settle(onBlobs), [], 'save: no descriptor on blobs');
  for (let i = 0; i < 20; i++) await dropAfterFirstBytes('/containers/big/export');
  assert.deepEqual(await settle(onBig), [], "export: no descriptor on the container's files");
  for (let i = 0; i < 20; i++) await dropAfterFirstBytes('/containers/big/archive?path=/big');
  assert.deepEqual(await settle(onBig), [], "archive: no descriptor on the container's files");
  // The container's filesystem is released too: it can be removed.
  assert.equal((await d.berth(['rm', 'big'])).code, 0);
});
