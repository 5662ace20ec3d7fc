/** berthd as a process: flags, socket, locking, versioned API, shutdown. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Daemon, startDaemon, http, run, BERTHD, BERTH, tempDir, cleanupDir } from '../helpers.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d.cleanup();
});

test('socket is created mode 0660', () => {
  assert.equal(statSync(d.socket).mode & 0o777, 0o660);
});

test('_ping answers GET and HEAD with Docker headers', async () => {
  for (const method of ['GET', 'HEAD']) {
    const r = await http(d.socket, method, '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.headers['api-version'], '1.47');
    assert.equal(r.headers['ostype'], 'linux');
    assert.equal(r.headers['docker-experimental'], 'false');
    assert.equal(r.headers['builder-version'], '1');
    assert.equal(r.body, method === 'GET' ? 'OK' : '');
  }
});

test('routes work with and without a version prefix; bad versions are refused', async () => {
  const plain = await http(d.socket, 'GET', '/version');
  const prefixed = await http(d.socket, 'GET', '/v1.24/version');
  assert.equal(plain.status, 200);
  assert.equal(prefixed.status, 200);
  assert.equal(JSON.parse(plain.body).ApiVersion, '1.47');
  assert.equal(JSON.parse(plain.body).MinAPIVersion, '1.24');
  const tooNew = await http(d.socket, 'GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.match(JSON.parse(tooNew.body).message, /client version 1.99 is too new. Maximum supported API version is 1.47/);
  const tooOld = await http(d.socket, 'GET', '/v1.12/version');
  assert.equal(tooOld.status, 400);
  assert.match(JSON.parse(tooOld.body).message, /Minimum supported API version is 1.24/);
});

test('unknown routes are a JSON 404', async () => {
  const r = await http(d.socket, 'GET', '/v1.47/nope');
  assert.equal(r.status, 404);
  assert.deepEqual(JSON.parse(r.body), { message: 'page not found' });
});

test('/info reports the storage driver and data root', async () => {
  const info = JSON.parse((await http(d.socket, 'GET', '/info')).body);
  assert.equal(info.DockerRootDir, d.dataRoot);
  assert.ok(['overlay2', 'vfs'].includes(info.Driver));
  assert.equal(info.OSType, 'linux');
  assert.equal(info.Images, 0);
});

test('a second daemon on the same data root refuses to start', async () => {
  const other = join(d.dir, 'other.sock');
  const r = await run(process.execPath, [BERTHD, '-H', `unix://${other}`, '--data-root', d.dataRoot, '--exec-root', join(d.dir, 'exec2')], {
    timeoutMs: 20_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /another berthd is already running with data root/);
  assert.ok(!existsSync(other));
});

test('a second daemon on the same socket refuses to start', async () => {
  const dir = tempDir();
  try {
    const r = await run(process.execPath, [BERTHD, '-H', d.host, '--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec')], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already listening on/);
    assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
  } finally {
    cleanupDir(dir);
  }
});

test('two daemons with their own roots run side by side', async () => {
  const other = await startDaemon();
  try {
    assert.equal((await other.berth(['version', '--format', '{{.Server.APIVersion}}'])).stdout.trim(), '1.47');
    assert.equal((await d.berth(['version', '--format', '{{.Server.APIVersion}}'])).stdout.trim(), '1.47');
  } finally {
    await other.cleanup();
  }
});

test('SIGTERM shuts down cleanly and removes the socket and pidfile', async () => {
  const dir = tempDir();
  const pidfile = join(dir, 'berthd.pid');
  const x = new Daemon(dir, ['--pidfile', pidfile]);
  try {
    await x.start();
    assert.equal(Number(readFileSync(pidfile, 'utf8')), x.proc!.pid);
    assert.equal(await x.stop(), 0);
    assert.ok(!existsSync(x.socket));
    assert.ok(!existsSync(pidfile));
    // and it starts again on the same root
    await x.start();
  } finally {
    await x.cleanup();
  }
});

test('a SIGTERM while berthd is still starting is a clean shutdown once the start is done, not a death by signal', async () => {
  const dir = tempDir();
  const pidfile = join(dir, 'berthd.pid');
  const x = new Daemon(dir, ['--pidfile', pidfile]);
  const proc = spawn(process.execPath, [BERTHD, ...x.args()], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  try {
    // The pidfile is written early in the start, long before the engine is open and the socket answers.
    for (const end = Date.now() + 20_000; !existsSync(pidfile) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 2));
    assert.ok(existsSync(pidfile), `no pidfile:\n${log}`);
    proc.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, log);
    assert.match(log, /Signal while starting: shutting down once the start is done/);
    assert.match(log, /Daemon shutdown complete/);
    assert.ok(!existsSync(pidfile), 'the pidfile is removed');
    assert.ok(!existsSync(x.socket), 'the socket is removed');
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await x.cleanup();
  }
});

test('daemon.json keys apply, and a key given both ways is an error', async () => {
  const dir = tempDir();
  try {
    const x = new Daemon(dir);
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'storage-driver': 'vfs', 'log-level': 'warn' }));
    await x.start();
    const info = JSON.parse((await http(x.socket, 'GET', '/info')).body);
    assert.equal(info.Driver, 'vfs');
    // With no `bridge` key the default network is Berth's own berth0, beside Docker's docker0.
    const bridge = JSON.parse((await http(x.socket, 'GET', '/networks/bridge')).body);
    assert.equal(bridge.Options['com.docker.network.bridge.name'], 'berth0');
    await x.stop();
    const r = await run(process.execPath, [BERTHD, ...x.args(), '--storage-driver', 'overlay2'], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /specified both as a flag and in the configuration file: storage-driver/);
  } finally {
    cleanupDir(dir);
  }
});

test('unknown daemon flags and bad values are clear errors', async () => {
  const r = await run(process.execPath, [BERTHD, '--no-such-flag'], { timeoutMs: 20_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown flag: --no-such-flag/);
  const r2 = await run(process.execPath, [BERTHD, '--storage-driver', 'zfs', '--data-root', '/nonexistent-berth'], { timeoutMs: 20_000 });
  assert.match(r2.stderr, /driver not supported: zfs/);
});

test('the CLI says so when no daemon answers on a given host', async () => {
  const r = await run(process.execPath, [BERTH, '-H', 'unix:///var/tmp/no-such-berth.sock', 'images']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot connect to the Berth daemon at unix:\/\/\/var\/tmp\/no-such-berth.sock/);
  const env = { ...process.env, BERTH_HOST: 'unix:///var/tmp/no-such-berth2.sock' };
  const r2 = await run(process.execPath, [BERTH, 'images'], { env });
  assert.match(r2.stderr, /no-such-berth2.sock/);
});

test('berth --help lists every command with a one-line summary, without a daemon', async () => {
  const r = await run(process.execPath, [BERTH, '-H', 'unix:///nonexistent/berth.sock', '--help']);
  assert.equal(r.code, 0, r.stderr);
  const section = r.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!.split('\n');
  assert.ok(section.length > 40, r.stdout);
  for (const line of section) assert.match(line, /^ {2}[a-z]+ +\S.{5,}$/, `no summary: ${line}`);
  assert.match(r.stdout, /^ {2}run +Create and run a new container from an image$/m);
  // --version is one line, as docker's, and asks no daemon either
  for (const flag of ['--version', '-v']) {
    const v = await run(process.execPath, [BERTH, '-H', 'unix:///nonexistent/berth.sock', flag]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^Berth version \d+\.\d+\.\d+, build \S+\n$/);
  }
});
