/**
 * A resize that races the process's exit must never wedge berthd. The shim's
 * control fifo has no reader once the shim is gone; a blocking open of it would
 * hold one of libuv's four pool threads forever, and after four every file
 * operation of the daemon waits behind them. Here containers and exec sessions
 * are resized as they exit, many times, and berthd must still create and run
 * containers afterwards. The same holds for files a container swaps for a FIFO
 * under `cp` and `commit`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { type Daemon, startDaemon, importBusybox, http, run, BERTH } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => {
  // A wedged daemon neither lists nor stops: end it so the suite does not hang with it.
  const wedged = setTimeout(() => void d.kill9(), 60_000);
  await d.cleanup();
  clearTimeout(wedged);
});

type Reply = Awaited<ReturnType<typeof http>>;

/**
 * Settles with the reply (status 0 when berthd cut the connection, its way of failing a stream
 * already under way), or with null if nothing came while berthd was given `ms`: a wedged daemon answers never.
 */
function within(p: Promise<Reply>, ms: number): Promise<Reply | null> {
  const cut = (e: unknown): Reply => ({ status: 0, headers: {}, body: String(e) });
  return Promise.race([p.catch(cut), new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
}

/** A request that must be answered: a wedged daemon fails the test here instead of hanging it. */
async function answered(method: string, path: string, body?: string): Promise<Reply> {
  const r = await within(http(d.socket, method, path, body), 30_000);
  assert.ok(r, `berthd did not answer ${method} ${path}`);
  return r;
}

/** Start an exec session with a TTY over a hijacked connection; resolves once the session is under way. */
function startTtyExec(execId: string): Promise<void> {
  const body = JSON.stringify({ Tty: true });
  return new Promise((resolve, reject) => {
    const s = connect(d.socket);
    s.on('error', reject);
    s.once('connect', () =>
      s.write(
        `POST /exec/${execId}/start HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    s.once('data', () => resolve());
    s.resume();
    s.on('close', () => resolve());
  });
}

test('resizing containers and exec sessions as they exit leaves berthd working', async () => {
  const resizes: Promise<Reply>[] = [];
  for (let i = 0; i < 50; i++) {
    const created = await answered('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Tty: true, OpenStdin: true, Cmd: ['true'] }));
    assert.equal(created.status, 201, created.body);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const started = await answered('POST', `/containers/${id}/start`);
    assert.equal(started.status, 204, started.body);
    for (let j = 0; j < 4; j++) resizes.push(http(d.socket, 'POST', `/containers/${id}/resize?h=${30 + j}&w=100`));
  }

  const host = await d.berth(['run', '-d', '-t', 'busybox', 'sleep', '1000']);
  assert.equal(host.code, 0, host.stderr);
  const hostId = host.stdout.trim();
  for (let i = 0; i < 30; i++) {
    const created = await answered('POST', `/containers/${hostId}/exec`, JSON.stringify({ Tty: true, AttachStdout: true, Cmd: ['true'] }));
    assert.equal(created.status, 201, created.body);
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    assert.ok(
      await Promise.race([startTtyExec(execId).then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 30_000).unref())]),
      'berthd did not start an exec',
    );
    for (let j = 0; j < 4; j++) resizes.push(http(d.socket, 'POST', `/exec/${execId}/resize?h=${30 + j}&w=100`));
  }

  // Still at work: it creates, starts and runs a container, and answers every resize.
  const r = await run(BERTH, ['-H', d.host, 'run', '--rm', 'busybox', 'echo', 'still here'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `berthd no longer runs containers: ${r.stderr}`);
  assert.equal(r.stdout, 'still here\n');
  const replies = await Promise.all(resizes.map((p) => within(p, 30_000)));
  assert.equal(replies.filter((x) => x === null).length, 0, 'every resize is answered');
  for (const x of replies) {
    // Resized, or refused as dockerd refuses a container that is no longer running.
    assert.ok(x!.status === 200 || x!.status === 409, `resize answered ${x!.status}: ${x!.body}`);
    if (x!.status === 409) assert.match(x!.body, /"message":"Container [0-9a-f]{64} is not running"/);
  }
  assert.equal((await d.berth(['rm', '-f', hostId])).code, 0);
});

test('resize of a running TTY container reaches its terminal', async () => {
  const c = await d.berth(['run', '-d', '-t', '--name', 'sized', 'busybox', 'sleep', '1000']);
  assert.equal(c.code, 0, c.stderr);
  const res = await http(d.socket, 'POST', '/containers/sized/resize?h=33&w=111');
  assert.equal(res.status, 200, res.body);
  let size = '';
  for (let i = 0; i < 50 && size !== '33 111'; i++) {
    size = (await d.berth(['exec', 'sized', 'stty', 'size', '-F', '/dev/console'])).stdout.trim();
    if (size !== '33 111') await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(size, '33 111');
  assert.equal((await d.berth(['rm', '-f', 'sized'])).code, 0);
});

test('a container swapping a file for a FIFO under cp and commit never stalls berthd', async () => {
  // /f flips between a regular file and a FIFO as fast as the container can rename.
  const c = await d.berth([
    'run',
    '-d',
    '--name',
    'flipper',
    'busybox',
    'sh',
    '-c',
    'while :; do echo data > /f.file; mv /f.file /f; mkfifo /f.fifo; mv /f.fifo /f; done',
  ]);
  assert.equal(c.code, 0, c.stderr);
  const replies: (Reply | null)[] = [];
  for (let i = 0; i < 200; i++) replies.push(await within(http(d.socket, 'GET', '/containers/flipper/archive?path=/f'), 30_000));
  for (let i = 0; i < 20; i++) replies.push(await within(http(d.socket, 'POST', '/commit?container=flipper&pause=0'), 30_000));
  assert.equal(replies.filter((x) => x === null).length, 0, 'every cp and commit is answered');
  // Answered with the file, or failed (the file was a FIFO by then, or gone): never a stall, never a crash.
  assert.ok(
    replies.some((x) => x!.status === 200),
    'cp copies the file when it is one',
  );
  assert.ok(
    replies.some((x) => x!.status === 201),
    'commit commits',
  );
  assert.equal(d.proc!.exitCode, null, `berthd is alive:\n${d.log.slice(-2000)}`);
  const r = await run(BERTH, ['-H', d.host, 'run', '--rm', 'busybox', 'echo', 'still here'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `berthd no longer runs containers: ${r.stderr}`);
  assert.equal((await d.berth(['rm', '-f', 'flipper'])).code, 0);
});
