/**
 * Hostile archives and hostile containers, checked from the host's side: a
 * layer that re-points a directory it already wrote (through import, load,
 * pull and PUT archive), and a container that swaps a directory for a
 * symlink while `cp` writes into it or reads out of it. Each case names a
 * host path the attack aims at and asserts nothing reached it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { type Daemon, startDaemon, importBusybox, run, http, tempDir } from '../helpers.js';
import { RegistryProc, writeOciLayout } from '../registry-helpers.js';

let d: Daemon;
let scratch: string;
/** Host directories made as targets, removed at the end whatever happened. */
const victims: string[] = [];
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
  scratch = tempDir('berth-contain-');
});
after(async () => {
  await d.cleanup();
  rmSync(scratch, { recursive: true, force: true });
  for (const v of victims) rmSync(v, { recursive: true, force: true });
});

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

type Entry = {
  name: string;
  type?: 'directory' | 'symlink' | 'character-device' | 'fifo' | 'file';
  linkname?: string;
  body?: string;
  devmajor?: number;
  devminor?: number;
  mode?: number;
  pax?: Record<string, string>;
};

async function tarOf(entries: Entry[], end = true): Promise<Buffer> {
  const { pack } = await import('tar-stream');
  const p = pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mode = e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644);
    const h = { name: e.name, type, linkname: e.linkname, mode, devmajor: e.devmajor, devminor: e.devminor, pax: e.pax, mtime: new Date(1_700_000_000_000) };
    if (type === 'file') p.entry(h, e.body ?? '');
    else p.entry(h);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const all = Buffer.concat(chunks);
  return end ? all : all.subarray(0, all.length - 1024); // without the end-of-archive blocks
}

/** A host directory the attack aims at, holding one file, and what must still be true of it afterwards. */
function victim(): { dir: string; check: () => void } {
  const dir = `/tmp/berth-victim-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir);
  victims.push(dir);
  writeFileSync(join(dir, 'x'), 'host file\n');
  return {
    dir,
    check: () => {
      try {
        assert.deepEqual(readdirSync(dir), ['x'], `nothing new in the host's ${dir}`);
        assert.equal(readFileSync(join(dir, 'x'), 'utf8'), 'host file\n');
        const attrs = spawnSync('getfattr', ['-d', '-m', '-', join(dir, 'x')], { encoding: 'utf8' }).stdout;
        assert.doesNotMatch(attrs, /pwn/, 'no xattr set on the host file');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The layer from the issue: `d/` then `d/EVIL` (a 0666 char device 1,3), a fifo and `d/x` with an xattr, then `d` re-pointed at the victim. */
function repointLayer(target: string): Promise<Buffer> {
  return tarOf([
    { name: 'd/', type: 'directory' },
    { name: 'd/EVIL', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'd/x', body: 'layer file\n', pax: { 'SCHILY.xattr.user.pwn': 'yes' } },
    { name: 'd/fifo', type: 'fifo' },
    { name: 'd', type: 'symlink', linkname: target },
  ]);
}

test('a layer that re-points a directory it wrote reaches nothing outside: import', async () => {
  const v = victim();
  const tar = join(scratch, 'repoint.tar');
  writeFileSync(tar, await repointLayer(v.dir));
  await ok(d.berth(['import', tar, 'evil:import']));
  v.check();
  // The image holds what the layer meant: d is a symlink, its earlier content gone.
  await ok(d.berth(['create', '--name', 'evil1', 'evil:import', 'none']));
  const st = await http(d.socket, 'HEAD', '/v1.47/containers/evil1/archive?path=/d');
  assert.equal(st.status, 200);
  const stat = JSON.parse(Buffer.from(String(st.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.equal(stat.linkTarget, v.dir);
  assert.equal((await http(d.socket, 'HEAD', '/v1.47/containers/evil1/archive?path=/d/EVIL')).status, 404);
  await ok(d.berth(['rm', 'evil1']));
});

test('a layer that re-points a directory it wrote reaches nothing outside: load and pull', async () => {
  const v = victim();
  const layout = writeOciLayout(join(scratch, 'oci'), 'v1', [await repointLayer(v.dir)]);
  const archive = join(scratch, 'oci.tar');
  await ok(run('tar', ['-C', layout.dir, '-cf', archive, '.']));
  const l = await d.berth(['load', '-i', archive]);
  v.check();
  assert.equal(l.code, 0, l.stderr);

  const v2 = victim();
  const reg = new RegistryProc(join(scratch, 'reg'));
  await reg.start();
  try {
    const layout2 = writeOciLayout(join(scratch, 'oci2'), 'v1', [await repointLayer(v2.dir)]);
    await ok(run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout2.dir}:v1`, `docker://${reg.host}/evil:v1`]));
    await ok(d.berth(['pull', `${reg.host}/evil:v1`]));
    v2.check();
  } finally {
    await reg.stop();
  }
});

/** Stream a PUT archive body in two parts, running `between` in the middle. */
function putInTwo(path: string, first: Buffer, second: Buffer, between: () => Promise<void>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: d.socket,
        method: 'PUT',
        path: `/v1.47/containers/${path}`,
        headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.write(first);
    // Let berthd take the first entries in before the container moves.
    setTimeout(() => {
      between().then(() => req.end(second), reject);
    }, 500);
  });
}

test('a layer through PUT archive cannot re-point a directory it wrote', async () => {
  const v = victim();
  await ok(d.berth(['run', '-d', '--name', 'put1', 'busybox', 'sleep', '300']));
  const r = await putInTwo('put1/archive?path=/tmp', await repointLayer(v.dir), Buffer.alloc(0), async () => {});
  assert.equal(r.status, 200, r.body);
  v.check();
  await ok(d.berth(['rm', '-f', 'put1']));
});

test('cp into a container that swaps the directory for a symlink between entries writes inside it', async () => {
  const v = victim();
  await ok(d.berth(['run', '-d', '--name', 'race-in', 'busybox', 'sh', '-c', 'mkdir /race; sleep 300']));
  for (let i = 0; i < 50 && (await d.berth(['exec', 'race-in', 'test', '-d', '/race'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));
  const all = await tarOf([
    { name: 'race/a', body: 'first\n' },
    { name: 'race/X', body: 'second\n' },
  ]);
  const first = await tarOf([{ name: 'race/a', body: 'first\n' }], false);
  const r = await putInTwo('race-in/archive?path=/', first, all.subarray(first.length), async () => {
    await ok(d.berth(['exec', 'race-in', 'sh', '-c', `mv /race /race.old && ln -s ${v.dir} /race`]));
  });
  v.check();
  // Whatever berthd answered, X is nowhere on the host; if it landed, it is inside the container.
  if (r.status === 200) {
    const found = await d.berth(['exec', 'race-in', 'sh', '-c', `cat /race.old/X ${v.dir}/X 2>/dev/null`]);
    assert.equal(found.stdout, 'second\n');
  }
  await ok(d.berth(['rm', '-f', 'race-in']));
});

test('cp out of a container that swaps the directory for a symlink mid-stream reads only the container', async () => {
  const secret = `/tmp/berth-secret-${randomBytes(4).toString('hex')}`;
  mkdirSync(secret);
  victims.push(secret);
  writeFileSync(join(secret, 'zsecret'), 'HOST SECRET\n');
  try {
    await ok(
      d.berth([
        'run',
        '-d',
        '--name',
        'race-out',
        'busybox',
        'sh',
        '-c',
        'mkdir /data; head -c 16777216 /dev/zero > /data/big; echo ctr > /data/zsecret; touch /ready; sleep 300',
      ]),
    );
    for (let i = 0; i < 100 && (await d.berth(['exec', 'race-out', 'test', '-f', '/ready'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));
    const tar = await new Promise<Buffer>((resolve, reject) => {
      const req = request({ socketPath: d.socket, method: 'GET', path: '/v1.47/containers/race-out/archive?path=/data' }, (res) => {
        assert.equal(res.statusCode, 200);
        const chunks: Buffer[] = [];
        let swapped = false;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (swapped) return;
          swapped = true;
          // berthd is inside data/big now, with "zsecret" still to come: swap /data under it.
          res.pause();
          d.berth(['exec', 'race-out', 'sh', '-c', `mv /data /data.old && ln -s ${secret} /data`]).then((x) => {
            assert.equal(x.code, 0, x.stderr);
            res.resume();
          }, reject);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const { extract } = await import('tar-stream');
    const files = new Map<string, string>();
    const ex = extract();
    const done = new Promise<void>((res, rej) => {
      ex.on('finish', res);
      ex.on('error', rej);
    });
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        parts.push(c as Buffer);
      });
      stream.on('end', () => {
        files.set(h.name, Buffer.concat(parts).toString());
        next();
      });
    });
    ex.end(tar);
    await done;
    assert.ok(files.has('data/big'));
    assert.notEqual(files.get('data/zsecret'), 'HOST SECRET\n', 'the host file came out of the container');
    for (const body of files.values()) assert.doesNotMatch(body, /HOST SECRET/);
  } finally {
    rmSync(secret, { recursive: true, force: true });
    await d.berth(['rm', '-f', 'race-out']);
  }
});

test('commit --pause=false of a container that swaps a directory for a symlink mid-commit archives only the container', async () => {
  const secret = `/tmp/berth-secret-${randomBytes(4).toString('hex')}`;
  mkdirSync(secret);
  victims.push(secret);
  // The same name as a file in the container's /data, so a read through the swapped link would find it;
  // longer than the container's, since the archive takes as many bytes as the walk saw.
  writeFileSync(join(secret, 'zsecret'), 'HOST SECRET\n'.repeat(20));
  // /data/big is slow to compress, so the commit is still reading it when the container swaps /data.
  await ok(
    d.berth([
      'run',
      '-d',
      '--name',
      'race-commit',
      'busybox',
      'sh',
      '-c',
      `mkdir /data; head -c 134217728 /dev/urandom > /data/big; head -c 50 /dev/zero > /data/zsecret; touch /ready; until [ -e /go ]; do :; done; mv /data /data.old; ln -s ${secret} /data; sleep 300`,
    ]),
  );
  for (let i = 0; i < 100 && (await d.berth(['exec', 'race-commit', 'test', '-f', '/ready'])).code !== 0; i++) await new Promise((res) => setTimeout(res, 100));
  const commit = http(d.socket, 'POST', '/v1.47/commit?container=race-commit&pause=false&repo=racecommit&tag=1');
  await ok(d.berth(['exec', 'race-commit', 'touch', '/go']));
  const r = await commit;
  // The commit may fail on the swap; whatever it made must hold nothing of the host's.
  if (r.status === 201) {
    const out = join(scratch, 'commit.tar');
    await ok(d.berth(['save', '-o', out, 'racecommit:1']));
    const { gunzipSync } = await import('node:zlib');
    const listing = await ok(run('tar', ['-tf', out]));
    for (const blob of listing.split('\n').filter((n) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(n))) {
      const raw = spawnSync('tar', ['-xOf', out, blob], { maxBuffer: 1 << 28 }).stdout;
      let body = raw;
      try {
        body = gunzipSync(raw);
      } catch {
        /* not gzip: a config or a manifest */
      }
      assert.ok(!body.includes('HOST SECRET'), "the commit carried the host's file");
    }
  } else {
    assert.equal(r.status, 500, r.body);
  }
  await ok(d.berth(['rm', '-f', 'race-commit']));
});
