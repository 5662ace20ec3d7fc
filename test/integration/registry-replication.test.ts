/**
 * Replication rules between two `berth registry serve` on loopback: a push
 * rule run by `berth registry replicate --once`, a pull rule, a rule
 * triggered by push events inside `registry serve`, a run killed mid-copy
 * and resumed, credentials, and bad rules.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server } from 'node:net';
import { Transform } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { tempDir, cleanupDir, busyboxTar, run, BERTH, makeTar } from '../helpers.js';
import { RegistryProc, writeOciLayout, type OciImage } from '../registry-helpers.js';

function writeConfig(dir: string, name: string, cfg: unknown): string {
  const f = join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(cfg));
  return f;
}

async function skopeoIn(img: OciImage, ref: string): Promise<void> {
  const r = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:v1`, `docker://${ref}`]);
  assert.equal(r.code, 0, r.stderr);
}

/** skopeo copies `ref` out into an OCI layout; returns the manifest digest it wrote. */
async function skopeoOut(ref: string, dir: string, creds: string[] = []): Promise<string> {
  const r = await run('skopeo', ['copy', '--src-tls-verify=false', ...creds, `docker://${ref}`, `oci:${dir}:v1`]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests[0].digest;
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('replication', () => {
  let dir: string;
  let a: RegistryProc;
  let b: RegistryProc;
  let img: OciImage;
  let small: OciImage;
  const stops: Array<() => Promise<unknown>> = [];
  before(async () => {
    dir = tempDir('berth-repl-');
    a = new RegistryProc(join(dir, 'a'));
    b = new RegistryProc(join(dir, 'b'));
    await a.start();
    await b.start();
    img = writeOciLayout(join(dir, 'img'), 'v1', [readFileSync(busyboxTar()), await makeTar({ 'etc/two': 'two\n' })]);
    small = writeOciLayout(join(dir, 'small'), 'v1', [await makeTar({ 'etc/small': 'small\n' })]);
  });
  after(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    await a?.stop();
    await b?.stop();
    cleanupDir(dir);
  });

  test('replicate --once copies matching repositories from A to B, prints what it copied, and skips it the next time', async () => {
    await skopeoIn(img, `${a.host}/team/bb:v1`);
    await skopeoIn(small, `${a.host}/team/small:v1`);
    await skopeoIn(small, `${a.host}/other/small:v1`);
    const cfg = writeConfig(dir, 'push', {
      root: join(dir, 'a'),
      replication: { rules: [{ name: 'to-b', direction: 'push', repositories: 'team/*', remote: { url: b.url } }] },
    });
    const once = await run(BERTH, ['registry', 'replicate', '--once', '--config', cfg]);
    assert.equal(once.code, 0, once.stderr + once.stdout);
    assert.match(once.stdout, new RegExp(`to-b: team/bb → ${b.host}/team/bb \\(1 tags\\)`));
    assert.match(once.stdout, new RegExp(`tag v1 → ${img.manifestDigest}`));
    assert.match(once.stdout, /to-b: 2 repositories, 2 tags copied \(0 up to date\), 2 manifests, 5 blobs copied \(\d+ bytes\), 0 blobs already there/);
    assert.equal(await skopeoOut(`${b.host}/team/bb:v1`, join(dir, 'out1')), img.manifestDigest);
    assert.equal((await b.req('GET', '/v2/other/small/tags/list')).status, 404);
    const again = await run(BERTH, ['registry', 'replicate', '--once', '--config', cfg]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /to-b: 2 repositories, 0 tags copied \(2 up to date\), 0 manifests, 0 blobs copied \(0 bytes\)/);
  });

  test('a pull rule copies from a remote into this root, under a prefix', async () => {
    const cfg = writeConfig(dir, 'pull', {
      root: join(dir, 'c'),
      replication: { rules: [{ name: 'from-a', direction: 'pull', repositories: 'team/**', remote: { url: a.url }, prefix: 'mirror/' }] },
    });
    const once = await run(BERTH, ['registry', 'replicate', '--once', '--config', cfg]);
    assert.equal(once.code, 0, once.stderr + once.stdout);
    assert.match(once.stdout, /from-a: 2 repositories, 2 tags copied/);
    const c = new RegistryProc(join(dir, 'c'));
    await c.start();
    stops.push(() => c.stop());
    assert.equal(await skopeoOut(`${c.host}/mirror/team/bb:v1`, join(dir, 'out2')), img.manifestDigest);
    assert.equal((await c.req('GET', '/v2/_catalog')).json.repositories.join(), 'mirror/team/bb,mirror/team/small');
  });

  test('an onPush rule inside registry serve copies each pushed tag to the remote', async () => {
    const cfg = writeConfig(dir, 'event', {
      replication: { rules: [{ name: 'live', repositories: 'live/**', remote: { url: b.url }, prefix: 'events/', onPush: true }] },
    });
    const e = new RegistryProc(join(dir, 'e'), ['--config', cfg]);
    await e.start();
    stops.push(() => e.stop());
    await skopeoIn(small, `${e.host}/live/app:v1`);
    await skopeoIn(small, `${e.host}/dead/app:v1`);
    await until('the tag on B', async () => (await b.req('GET', '/v2/events/live/app/tags/list')).json?.tags?.includes('v1'));
    assert.equal(await skopeoOut(`${b.host}/events/live/app:v1`, join(dir, 'out3')), small.manifestDigest);
    assert.equal((await b.req('GET', '/v2/events/dead/app/tags/list')).status, 404);
  });

  test('an interval rule inside registry serve pulls new tags from the remote on its schedule', async () => {
    const cfg = writeConfig(dir, 'timed', {
      replication: { rules: [{ name: 'timed', direction: 'pull', repositories: 'team/small', remote: { url: a.url }, prefix: 'timed/', interval: '1s' }] },
    });
    const t = new RegistryProc(join(dir, 't'), ['--config', cfg]);
    await t.start();
    stops.push(() => t.stop());
    await until('the first copy', async () => (await t.req('GET', '/v2/timed/team/small/tags/list')).json?.tags?.includes('v1'));
    await skopeoIn(img, `${a.host}/team/small:v2`);
    await until('the new tag', async () => (await t.req('GET', '/v2/timed/team/small/tags/list')).json?.tags?.includes('v2'));
    assert.equal(await skopeoOut(`${t.host}/timed/team/small:v2`, join(dir, 'out6')), img.manifestDigest);
  });

  test('a run killed mid-copy leaves no tag on the destination; the next run skips what arrived and finishes', async () => {
    // Three 3 MiB layers through a 2 MiB/s link to a fresh registry, so the kill lands mid-copy.
    const big = writeOciLayout(join(dir, 'big'), 'v1', [randomBytes(3 << 20), randomBytes(3 << 20), randomBytes(3 << 20)]);
    await skopeoIn(big, `${a.host}/big/img:v1`);
    const d = new RegistryProc(join(dir, 'd'));
    await d.start();
    stops.push(() => d.stop());
    const slow = await throttle(d.port, 2 << 20);
    stops.push(() => new Promise((r) => slow.close(r)));
    const cfg = writeConfig(dir, 'big', {
      root: join(dir, 'a'),
      replication: { rules: [{ name: 'big', repositories: 'big/*', remote: { url: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` } }] },
    });
    const child = spawn(process.execPath, [BERTH, 'registry', 'replicate', '--once', '--config', cfg], { stdio: 'ignore' });
    const blobs = join(dir, 'd', 'blobs', 'sha256');
    await until('a first blob on the destination', () => existsSync(blobs) && readdirSync(blobs).length >= 1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const arrived = readdirSync(blobs).length;
    assert.ok(arrived >= 1 && arrived < 4, `killed mid-copy (${arrived} blobs arrived)`);
    assert.equal((await d.req('GET', '/v2/big/img/manifests/v1')).status, 404);
    const resume = await run(BERTH, ['registry', 'replicate', '--once', '--config', cfg]);
    assert.equal(resume.code, 0, resume.stderr + resume.stdout);
    const m = /1 tags copied .* (\d+) blobs copied .* (\d+) blobs already there/.exec(resume.stdout);
    assert.ok(m, resume.stdout);
    assert.equal(Number(m[2]), arrived);
    assert.equal(Number(m[1]) + Number(m[2]), 4);
    assert.equal(await skopeoOut(`${d.host}/big/img:v1`, join(dir, 'out4')), big.manifestDigest);
  });

  test('credentials for the remote, and a remote that refuses them', async () => {
    const users = join(dir, 'users.htpasswd');
    writeFileSync(users, spawnSync('htpasswd', ['-nbB', 'rep', 'lic4'], { encoding: 'utf8' }).stdout);
    const s = new RegistryProc(join(dir, 's'), ['--htpasswd', users]);
    await s.start();
    stops.push(() => s.stop());
    const rule = (password: string) => ({
      root: join(dir, 'a'),
      replication: { rules: [{ name: 'secure', repositories: 'team/small', remote: { url: s.url, username: 'rep', password } }] },
    });
    const bad = await run(BERTH, ['registry', 'replicate', '--once', '--config', writeConfig(dir, 'badpw', rule('wrong'))]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /secure: error: team\/small: .*(unauthorized|401)/i);
    assert.match(bad.stderr, /1 of 1 rules failed: secure/);
    const good = await run(BERTH, ['registry', 'replicate', '--once', '--config', writeConfig(dir, 'goodpw', rule('lic4'))]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(await skopeoOut(`${s.host}/team/small:v1`, join(dir, 'out5'), ['--src-creds', 'rep:lic4']), small.manifestDigest);
  });
});

test('bad replication rules and unreachable remotes are clear errors', async () => {
  const dir = tempDir('berth-repl-bad-');
  try {
    const cases: Array<[unknown, RegExp]> = [
      [{ rules: [{ repositories: 'x' }] }, /replication\.rules\[0\]\.remote must be an object/],
      [{ rules: [{ repositories: 'x', remote: { url: 'ftp://h' } }] }, /remote\.url: the URL must be http or https/],
      [{ rules: [{ repositories: 'x', direction: 'sideways', remote: { url: 'http://h' } }] }, /direction must be push or pull/],
      [{ rules: [{ repositories: 'x', direction: 'pull', onPush: true, remote: { url: 'http://h' } }] }, /onPush applies to push rules only/],
      [{ rules: [{ repositories: 'x', remote: { url: 'http://h' }, interval: 'often' }] }, /interval: invalid duration "often"/],
      [{ rules: [{ repositories: 'x', remote: { url: 'http://h' }, colour: 1 }] }, /unknown key "colour"/],
    ];
    for (const [replication, want] of cases) {
      const r = await run(BERTH, ['registry', 'replicate', '--once', '--config', writeConfig(dir, 'c', { root: join(dir, 'r'), replication })]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, want);
    }
    const noOnce = await run(BERTH, ['registry', 'replicate', '--config', writeConfig(dir, 'c', { root: join(dir, 'r') })]);
    assert.equal(noOnce.code, 125);
    assert.match(noOnce.stderr, /give --once/);
    const pullDown = writeConfig(dir, 'down', {
      root: join(dir, 'r'),
      replication: { rules: [{ name: 'down', direction: 'pull', repositories: 'x/*', remote: { url: 'http://127.0.0.1:1' } }] },
    });
    const down = await run(BERTH, ['registry', 'replicate', '--once', '--config', pullDown]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /down: error: upstream 127\.0\.0\.1:1: .*connection refused/);
  } finally {
    cleanupDir(dir);
  }
});

/** A TCP relay to 127.0.0.1:port that passes client → server bytes at `rate` bytes per second. */
async function throttle(port: number, rate: number): Promise<Server> {
  const srv = createServer((c) => {
    const up = connect(port, '127.0.0.1');
    const slow = new Transform({
      transform(chunk: Buffer, _e, cb) {
        setTimeout(() => cb(null, chunk), (chunk.length / rate) * 1000);
      },
    });
    c.pipe(slow).pipe(up);
    up.pipe(c);
    const end = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', end);
    up.on('error', end);
    c.on('close', end);
    up.on('close', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return srv;
}
