/**
 * Pull, push, login and search against Debian's reference registry
 * (docker-registry), through berth and through the real docker CLI against
 * berthd: plain, TLS, htpasswd and token auth; a Docker Hub name through a
 * registry mirror; multi-arch indexes; interrupted and corrupted downloads;
 * and an image a real dockerd pushed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Daemon, RealDockerd, startDaemon, importBusybox, tempDir, cleanupDir, run, makeTar } from '../helpers.js';
import { Registry, TokenService, CuttingProxy, makeCert } from '../registry-peer.js';
import { RepositoryClient } from '../../src/distribution/client.js';
import { RegistryHosts } from '../../src/distribution/endpoints.js';
import { closeAgents } from '../../src/distribution/http.js';

let d: Daemon;
let work: string;
let reg: Registry;
let busyboxId: string;
const started: { stop(): Promise<unknown> }[] = [];

before(async () => {
  work = tempDir('berth-dist-');
  // berth's CLI keeps credentials in docker's config format; keep this suite's away from root's.
  process.env.DOCKER_CONFIG = join(work, 'berth-config');
  d = await startDaemon();
  busyboxId = await importBusybox(d);
  reg = new Registry(join(work, 'plain'));
  await reg.start();
  started.push(reg);
});
after(async () => {
  for (const s of started.reverse()) await s.stop().catch(() => {});
  await d?.cleanup();
  closeAgents();
  cleanupDir(work);
});

const repoDigests = async (dm: Daemon, name: string): Promise<string[]> =>
  JSON.parse((await dm.berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', name])).stdout) as string[];
const imageId = async (dm: Daemon, name: string) => (await dm.berth(['image', 'inspect', '-f', '{{.Id}}', name])).stdout.trim();

test('push to the reference registry, rmi, pull back: same image ID and the digest the registry reports', async () => {
  const name = `${reg.host}/library/busybox`;
  assert.equal((await d.berth(['tag', 'busybox', name])).code, 0);
  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  const layer = JSON.parse((await d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', name])).stdout)[0] as string;
  const lid = layer.slice(7, 19);
  const digest = reg.digestOf('library/busybox', 'latest');
  assert.match(digest, /^sha256:[a-f0-9]{64}$/);
  assert.equal(
    push.stdout,
    `Using default tag: latest\nThe push refers to repository [${name}]\n${lid}: Preparing\n${lid}: Pushed\nlatest: digest: ${digest} size: ${/size: (\d+)/.exec(push.stdout)?.[1]}\n`,
  );
  assert.deepEqual(await repoDigests(d, name), [`${name}@${digest}`]);

  // Again: the registry has every blob.
  const again = await d.berth(['push', name]);
  assert.match(again.stdout, new RegExp(`${lid}: Layer already exists`));

  assert.equal((await d.berth(['rmi', name])).code, 0);
  assert.equal((await d.berth(['rmi', 'busybox'])).code, 0);
  assert.equal((await d.berth(['image', 'inspect', name])).code, 1);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  const blobShort = /^([a-f0-9]{12}): Pulling fs layer$/m.exec(pull.stdout)?.[1];
  assert.ok(blobShort, pull.stdout);
  assert.equal(
    pull.stdout,
    [
      'Using default tag: latest',
      'latest: Pulling from library/busybox',
      `${blobShort}: Pulling fs layer`,
      `${blobShort}: Verifying Checksum`,
      `${blobShort}: Download complete`,
      `${blobShort}: Pull complete`,
      `Digest: ${digest}`,
      `Status: Downloaded newer image for ${name}:latest`,
      `${name}:latest`,
      '',
    ].join('\n'),
  );
  assert.equal(await imageId(d, name), busyboxId);
  assert.deepEqual(await repoDigests(d, name), [`${name}@${digest}`]);
  const up = await d.berth(['pull', '-q', name]);
  assert.equal(up.stdout, `${name}:latest\n`);
  const again2 = await d.berth(['pull', name]);
  assert.match(again2.stdout, new RegExp(`Status: Image is up to date for ${name}:latest`));
  // The pulled image runs.
  const r = await d.berth(['run', '--rm', '--network', 'none', name, 'echo', 'pulled']);
  assert.equal(r.stdout, 'pulled\n', r.stderr);
  // And re-tagged for busybox again for the tests below.
  assert.equal((await d.berth(['tag', name, 'busybox'])).code, 0);
});

test('run pulls a missing image first (progress on stderr), --pull never refuses, and so does the docker CLI', async () => {
  const name = `${reg.host}/library/busybox:latest`;
  assert.equal((await d.berth(['push', '-q', name])).code, 0);
  const keep = `${reg.host}/keep/busybox:latest`;
  assert.equal((await d.berth(['tag', name, keep])).code, 0); // the layer stays; only the name goes
  assert.equal((await d.berth(['rmi', name])).code, 0);
  const never = await d.berth(['run', '--rm', '--pull', 'never', name, 'true']);
  assert.equal(never.code, 125);
  assert.match(never.stderr, new RegExp(`Unable to find image '${name}' locally[\\s\\S]*No such image: ${name}`));
  const r = await d.berth(['run', '--rm', '--network', 'none', name, 'echo', 'fresh']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'fresh\n');
  assert.match(
    r.stderr,
    new RegExp(`^Unable to find image '${name}' locally\nlatest: Pulling from library/busybox\n[\\s\\S]*Status: Downloaded newer image for ${name}\n$`),
  );
  assert.equal((await d.berth(['rmi', name])).code, 0);
  const viaDocker = await d.docker(['run', '--rm', '--network', 'none', name, 'echo', 'docker pulled']);
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(viaDocker.stdout, 'docker pulled\n');
  assert.match(viaDocker.stderr, /Unable to find image .* locally[\s\S]*Status: Downloaded newer image/);
  const bad = await d.berth(['run', '--rm', '--pull', 'sometimes', name, 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid pull option: 'sometimes'/);
  assert.equal((await d.berth(['rmi', keep])).code, 0);
});

test('a build FROM an image that is not here pulls it, through berth and DOCKER_BUILDKIT=0 docker build', async () => {
  const name = `${reg.host}/library/busybox:latest`;
  assert.equal((await d.berth(['push', '-q', name])).code, 0);
  const keep = `${reg.host}/keep/busybox:latest`;
  assert.equal((await d.berth(['tag', name, keep])).code, 0);
  const ctxDir = join(work, 'from-pull');
  mkdirSync(ctxDir, { recursive: true });
  writeFileSync(join(ctxDir, 'Dockerfile'), `FROM ${name}\nRUN echo built > /built\n`);
  for (const [who, cli] of [
    ['berth', (a: string[]) => d.berth(a)],
    [
      'docker',
      (a: string[]) => run('docker', a, { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(work, 'docker-config') } }),
    ],
  ] as const) {
    assert.equal((await d.berth(['rmi', name])).code, 0);
    const r = await cli(['build', '-t', `frompull-${who}`, ctxDir]);
    assert.equal(r.code, 0, `${who}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /Step 1\/2 : FROM /);
    assert.match(r.stdout, /Pull complete|Downloaded newer image|Pulling from library\/busybox/);
    const out = await d.berth(['run', '--rm', '--network', 'none', `frompull-${who}`, 'cat', '/built']);
    assert.equal(out.stdout, 'built\n', out.stderr);
    assert.equal((await d.berth(['rmi', `frompull-${who}`])).code, 0);
  }
  assert.equal((await d.berth(['rmi', keep])).code, 0);
});

test('pull by digest records RepoDigests; -a pulls every tag; push mounts across repositories', async () => {
  const name = `${reg.host}/library/busybox`;
  const digest = reg.digestOf('library/busybox', 'latest');
  assert.equal((await d.berth(['tag', 'busybox', `${reg.host}/team/bb:v1`])).code, 0);
  assert.equal((await d.berth(['tag', 'busybox', `${reg.host}/team/bb:v2`])).code, 0);
  const push = await d.berth(['push', '-a', `${reg.host}/team/bb`]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /: Mounted from library\/busybox\n/);
  assert.match(push.stdout, /v1: digest: sha256:/);
  assert.match(push.stdout, /v2: digest: sha256:/);
  const q = await d.berth(['push', '-q', `${reg.host}/team/bb:v1`]);
  assert.equal(q.stdout, `${reg.host}/team/bb:v1\n`);

  for (const t of ['v1', 'v2', 'latest']) await d.berth(['rmi', '-f', `${reg.host}/team/bb:${t}`]);
  await d.berth(['rmi', name]);
  const byDigest = await d.berth(['pull', `${name}@${digest}`]);
  assert.equal(byDigest.code, 0, byDigest.stderr);
  assert.match(byDigest.stdout, new RegExp(`^${name}@${digest}: Pulling from library/busybox$`, 'm'));
  assert.ok(byDigest.stdout.endsWith(`${name}@${digest}\n`));
  assert.ok((await repoDigests(d, `${name}@${digest}`)).includes(`${name}@${digest}`));

  const all = await d.berth(['pull', '-a', `${reg.host}/team/bb`]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^v1: Pulling from team\/bb$/m);
  assert.match(all.stdout, /^v2: Pulling from team\/bb$/m);
  assert.ok(all.stdout.endsWith(`${reg.host}/team/bb\n`), all.stdout);
  assert.equal(await imageId(d, `${reg.host}/team/bb:v2`), busyboxId);

  const bad = await d.berth(['pull', `${reg.host}/library/busybox:nosuchtag`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error response from daemon: manifest for .*busybox:nosuchtag not found: manifest unknown/);
  const badName = await d.berth(['pull', `${reg.host}/Upper`]);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /invalid reference format/);
});

test('the real docker CLI pulls and pushes through berthd and renders the progress', async () => {
  const name = `${reg.host}/docker/bb`;
  assert.equal((await d.docker(['tag', 'busybox', name])).code, 0);
  const push = await d.docker(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  const digest = reg.digestOf('docker/bb', 'latest');
  assert.match(push.stdout, new RegExp(`latest: digest: ${digest} size: \\d+`));
  assert.equal((await d.docker(['rmi', name])).code, 0);
  const pull = await d.docker(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /latest: Pulling from docker\/bb\n/);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}\nStatus: (Downloaded newer image|Image is up to date) for ${name}:latest\n${name}:latest\n`));
  const insp = JSON.parse((await d.docker(['image', 'inspect', name])).stdout)[0];
  assert.equal(insp.Id, busyboxId);
  assert.ok(insp.RepoDigests.includes(`${name}@${digest}`));
  // On a terminal docker draws per-layer progress bars from our progress messages
  // (for an image that is not here: one whose config is here is not pulled again).
  await d.docker(['rmi', name]);
  const fresh = `${reg.host}/docker/fresh`;
  assert.equal((await d.docker(['import', '-', fresh], { input: await makeTar({ 'fresh.txt': 'fresh\n' }) })).code, 0);
  assert.equal((await d.docker(['push', fresh])).code, 0);
  assert.equal((await d.docker(['rmi', fresh])).code, 0);
  const tty = await run('script', ['-qec', `docker pull ${fresh}`, '/dev/null'], {
    env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: join(d.dir, 'docker-config'), COLUMNS: '120' },
  });
  assert.equal(tty.code, 0, tty.stdout);
  // Each layer line is redrawn in place: cursor up, clear line, new status.
  assert.match(tty.stdout, /\x1b\[1A\x1b\[2K\r[a-f0-9]{12}: (Already exists|Pull complete)/);
});

test('TLS: a registry with a self-signed certificate, and certs.d CA verification', async () => {
  const cert = makeCert(join(work, 'tls-cert'));
  const treg = new Registry(join(work, 'tls'), { tls: cert });
  await treg.start();
  started.push(treg);
  // Loopback registries are insecure by default as in Docker: TLS without verification.
  const name = `${treg.host}/tls/bb`;
  await d.berth(['tag', 'busybox', name]);
  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  await d.berth(['rmi', name]);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(await imageId(d, name), busyboxId);

  // A verified endpoint trusts a CA from <certs.d>/<host:port>/ca.crt, and refuses without it.
  const certsDir = join(work, 'certs.d');
  const hosts = new RegistryHosts({ certsDir });
  const withoutCa = {
    url: new URL(`https://localhost:${treg.port}/`),
    tls: { ...(await hosts.tlsFor(`localhost:${treg.port}`)), insecure: false },
    mirror: false,
    registry: `localhost:${treg.port}`,
  };
  await assert.rejects(new RepositoryClient(withoutCa, 'tls/bb', undefined).getManifest('latest'), /certificate signed by unknown authority/);
  mkdirSync(join(certsDir, `localhost:${treg.port}`), { recursive: true });
  copyFileSync(cert.cert, join(certsDir, `localhost:${treg.port}`, 'ca.crt'));
  const tls = { ...(await hosts.tlsFor(`localhost:${treg.port}`)), insecure: false };
  assert.equal(tls.ca?.length, 1);
  const m = await new RepositoryClient({ ...withoutCa, tls }, 'tls/bb', undefined).getManifest('latest');
  assert.equal(m.digest, treg.digestOf('tls/bb', 'latest'));
});

test("htpasswd: login and logout write docker's config.json; pushes need the login; docker login works against berthd", async () => {
  const hreg = new Registry(join(work, 'htpasswd'), { htpasswd: { user: 'alice', password: 's3cret' } });
  await hreg.start();
  started.push(hreg);
  const name = `${hreg.host}/private/bb`;
  await d.berth(['tag', 'busybox', name]);
  const denied = await d.berth(['push', name]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /denied|unauthorized|no basic auth credentials/);

  const wrong = await d.berth(['login', '-u', 'alice', '-p', 'nope', hreg.host]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /Error response from daemon: login attempt to https?:\/\/127\.0\.0\.1:\d+\/v2\/ failed with status: 401 Unauthorized/);
  const login = await d.berth(['login', '-u', 'alice', '--password-stdin', hreg.host], { input: 's3cret\n' });
  assert.equal(login.code, 0, login.stderr);
  assert.equal(login.stdout, 'Login Succeeded\n');
  const cfg = JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
  assert.equal(cfg.auths[hreg.host].auth, Buffer.from('alice:s3cret').toString('base64'));

  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  await d.berth(['rmi', name]);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(await imageId(d, name), busyboxId);

  const out = await d.berth(['logout', hreg.host]);
  assert.equal(out.stdout, `Removing login credentials for ${hreg.host}\n`);
  assert.equal(JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG!, 'config.json'), 'utf8')).auths[hreg.host], undefined);
  await d.berth(['rmi', name]);
  const anon = await d.berth(['pull', name]);
  assert.equal(anon.code, 1);

  // The real docker CLI logs in through berthd (POST /auth) and its stored login is sent with X-Registry-Auth.
  const dl = await d.docker(['login', '-u', 'alice', '--password-stdin', hreg.host], { input: 's3cret\n' });
  assert.equal(dl.code, 0, dl.stderr);
  assert.match(dl.stdout, /Login Succeeded/);
  const dcfg = JSON.parse(readFileSync(join(d.dir, 'docker-config', 'config.json'), 'utf8'));
  assert.ok(dcfg.auths[hreg.host]);
  const dp = await d.docker(['pull', name]);
  assert.equal(dp.code, 0, dp.stderr);
  const dwrong = await d.docker(['login', '-u', 'alice', '--password-stdin', hreg.host], { input: 'bad\n' });
  assert.equal(dwrong.code, 1);
  assert.match(dwrong.stderr, /401 Unauthorized/);
});

test('token auth: 401 with a Bearer challenge, a token fetched with scope and Basic credentials, reused until it expires', async () => {
  const cert = makeCert(join(work, 'token-cert'));
  const tokens = new TokenService(cert.cert, cert.key, { bob: 'hunter2' }, []);
  await tokens.start();
  started.push(tokens);
  const treg = new Registry(join(work, 'token'), {
    token: { realm: tokens.realm, service: 'berth-test-registry', issuer: 'berth-test-issuer', rootcertbundle: cert.cert },
  });
  await treg.start();
  started.push(treg);
  const name = `${treg.host}/secure/bb`;
  await d.berth(['tag', 'busybox', name]);
  const anon = await d.berth(['push', name]);
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /denied|unauthorized/);

  const login = await d.berth(['login', '-u', 'bob', '--password-stdin', treg.host], { input: 'hunter2' });
  assert.equal(login.code, 0, login.stderr);
  const push = await d.berth(['push', name]);
  assert.equal(push.code, 0, push.stderr);
  const pushReq = tokens.requests.find((r) => r.user === 'bob' && r.scope.includes('repository:secure/bb:pull,push'));
  assert.ok(pushReq, JSON.stringify(tokens.requests));
  await d.berth(['rmi', name]);
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(await imageId(d, name), busyboxId);
  assert.ok(tokens.requests.some((r) => r.user === 'bob' && r.scope.includes('repository:secure/bb:pull')));
  const before = tokens.requests.length;
  const again = await d.berth(['pull', name]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(tokens.requests.length, before, 'a second pull reuses the token');

  const bad = await d.berth(['login', '-u', 'bob', '-p', 'wrong', treg.host]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unauthorized: incorrect username or password/);
});

test('a Docker Hub name pulls through a registry-mirrors entry', async () => {
  // The mirror holds library/busybox as Docker Hub would.
  const dir = tempDir('berth-mirror-');
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'registry-mirrors': [`http://${reg.host}`] }));
  const m = new Daemon(dir);
  await m.start();
  try {
    const pull = await m.berth(['pull', 'busybox']);
    assert.equal(pull.code, 0, pull.stderr + m.log);
    assert.match(pull.stdout, /^latest: Pulling from library\/busybox$/m);
    assert.ok(pull.stdout.endsWith('docker.io/library/busybox:latest\n'));
    const digest = reg.digestOf('library/busybox', 'latest');
    assert.deepEqual(await repoDigests(m, 'busybox'), [`busybox@${digest}`]);
    assert.equal(await imageId(m, 'busybox'), busyboxId);
    const dp = await m.docker(['pull', 'busybox:latest']);
    assert.equal(dp.code, 0, dp.stderr);
    assert.match(dp.stdout, /Status: Image is up to date for busybox:latest/);
  } finally {
    await m.cleanup();
  }
});

test('a multi-arch index: the host platform by default, --platform picks another, an unmatched platform errors', async () => {
  await d.berth(['import', '--platform', 'linux/arm64', '--change', 'CMD ["sh"]', '/var/tmp/berth-test-fixtures/busybox.tar', `${reg.host}/multi/bb:arm64`]);
  await d.berth(['tag', 'busybox', `${reg.host}/multi/bb:amd64`]);
  const armId = await imageId(d, `${reg.host}/multi/bb:arm64`);
  for (const t of ['amd64', 'arm64']) assert.equal((await d.berth(['push', `${reg.host}/multi/bb:${t}`])).code, 0);
  // Write the index by hand, as `docker manifest create/push` would.
  const entries = [];
  for (const [t, arch] of [
    ['amd64', 'amd64'],
    ['arm64', 'arm64'],
  ] as const) {
    const digest = reg.digestOf('multi/bb', t);
    const body = await fetch(`${reg.url}/v2/multi/bb/manifests/${digest}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
    });
    const bytes = Buffer.from(await body.arrayBuffer());
    entries.push({ mediaType: body.headers.get('content-type'), digest, size: bytes.length, platform: { architecture: arch, os: 'linux' } });
  }
  const index = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries });
  const put = await fetch(`${reg.url}/v2/multi/bb/manifests/latest`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
    body: index,
  });
  assert.equal(put.status, 201, await put.text());
  const indexDigest = reg.digestOf('multi/bb', 'latest');

  const host = await d.berth(['pull', `${reg.host}/multi/bb`]);
  assert.equal(host.code, 0, host.stderr);
  assert.match(host.stdout, new RegExp(`Digest: ${indexDigest}`));
  assert.equal(await imageId(d, `${reg.host}/multi/bb:latest`), busyboxId);
  assert.ok((await repoDigests(d, `${reg.host}/multi/bb:latest`)).includes(`${reg.host}/multi/bb@${indexDigest}`));

  const arm = await d.berth(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/bb`]);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(await imageId(d, `${reg.host}/multi/bb:latest`), armId);

  const none = await d.berth(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/bb`]);
  assert.equal(none.code, 1);
  // As dockerd: the pull has begun ("Pulling from"), so the error comes in the stream, not as an HTTP error.
  assert.equal(none.stderr, 'no matching manifest for linux/s390x in the manifest list entries\n');
  const dnone = await d.docker(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/bb`]);
  assert.equal(dnone.code, 1);
  assert.match(dnone.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('an interrupted download resumes from the bytes it has; two pulls of one layer download it once', async () => {
  const proxy = new CuttingProxy(reg.port);
  await proxy.start();
  started.push(proxy);
  const name = `${proxy.host}/library/busybox`;
  const manifest = JSON.parse(
    await (
      await fetch(`${reg.url}/v2/library/busybox/manifests/latest`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).text(),
  );
  const layer = manifest.layers[0].digest as string;
  const removeAll = async () => {
    const ids = (await d.berth(['images', '-q', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
    for (const id of new Set(ids)) await d.berth(['rmi', '-f', id]);
  };
  await removeAll();
  proxy.cutBlob = layer;
  proxy.cutAfter = 700_000;
  const pull = await d.berth(['pull', name]);
  assert.equal(pull.code, 0, pull.stderr);
  const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${layer}`));
  assert.equal(gets.length, 2, JSON.stringify(proxy.requests));
  const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
  assert.ok(from > 0 && from <= 700_000, `second request continues from the bytes it has: ${gets[1]!.range}`);
  assert.equal(await imageId(d, name), busyboxId);
  assert.equal((await d.berth(['system', 'check'])).code, 0);

  // Two pulls at once of an image whose layer is not here: one download.
  await removeAll();
  proxy.requests = [];
  const [a, b] = await Promise.all([d.berth(['pull', name]), d.berth(['pull', `${proxy.host}/team/bb:v1`])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const layerGets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes(`/blobs/${layer}`));
  assert.equal(layerGets.length, 1, JSON.stringify(proxy.requests));
  busyboxId = await imageId(d, name);
  await d.berth(['tag', name, 'busybox']);
});

test('a blob whose bytes do not match its digest is refused and nothing is stored', async () => {
  const name = `${reg.host}/corrupt/bb`;
  await d.berth(['tag', 'busybox', name]);
  assert.equal((await d.berth(['push', name])).code, 0);
  // A private copy of the layer in the registry's storage, with one byte changed (same size).
  const manifest = JSON.parse(
    await (
      await fetch(`${reg.url}/v2/corrupt/bb/manifests/latest`, {
        headers: { Accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).text(),
  );
  const layer = manifest.layers[0].digest as string;
  const d2dir = tempDir('berth-corrupt-');
  const d2 = new Daemon(d2dir);
  await d2.start();
  const path = reg.blobPath(layer);
  const orig = readFileSync(path);
  try {
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from([orig[600]! ^ 0xff]), 0, 1, 600);
    closeSync(fd);
    const pull = await d2.berth(['pull', name]);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, new RegExp(`filesystem layer verification failed for digest ${layer}|invalid diffID`));
    assert.equal((await d2.berth(['images', '-q'])).stdout, '');
    const blobs = readdirSync(join(d2.dataRoot, 'content', 'blobs', 'sha256'));
    assert.ok(!blobs.includes(layer.slice(7)), 'the bad blob was not stored');
    assert.deepEqual(readdirSync(join(d2.dataRoot, 'content', 'ingest')), []);
    assert.deepEqual(readdirSync(join(d2.dataRoot, 'snapshots', readdirSync(join(d2.dataRoot, 'snapshots'))[0]!, 'layers')), []);
  } finally {
    writeFileSync(path, orig);
    await d2.cleanup();
  }
});

test("search asks the registry's v1 search endpoint and prints docker's table", async () => {
  const results = [
    { name: 'library/busybox', description: 'Busybox base image.', star_count: 3000, is_official: true, is_automated: false },
    {
      name: 'someone/busybox-with-a-very-long-name',
      description: 'A description that is much longer than forty-five characters, for truncation',
      star_count: 2,
      is_official: false,
      is_automated: false,
    },
  ];
  let seen = '';
  const srv: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/v1/search') {
      seen = u.search;
      const n = Number(u.searchParams.get('n') ?? 25);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ num_results: results.length, query: u.searchParams.get('q'), results: results.slice(0, n) }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  started.push({ stop: () => new Promise<void>((r) => srv.close(() => r())) });
  const host = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const ours = await d.berth(['search', `${host}/busybox`]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(seen, /q=busybox/);
  const theirs = await d.docker(['search', `${host}/busybox`]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.stdout, theirs.stdout);
  assert.match(ours.stdout, /^NAME\s+DESCRIPTION\s+STARS\s+OFFICIAL\n/);
  for (const args of [
    ['--limit', '1'],
    ['--filter', 'is-official=true'],
    ['--filter', 'stars=10'],
    ['--no-trunc'],
    ['--format', '{{.Name}}: {{.StarCount}}'],
  ]) {
    const o = await d.berth(['search', ...args, `${host}/busybox`]);
    const t = await d.docker(['search', ...args, `${host}/busybox`]);
    assert.equal(o.stdout, t.stdout, `search ${args.join(' ')}`);
  }
  assert.equal((await d.berth(['search', '--limit', '1', '--format', '{{.Name}}', `${host}/busybox`])).stdout, 'library/busybox\n');
});

test('an image a real dockerd pushed to the reference registry pulls into Berth with the same ID and digest', async () => {
  const dk = new RealDockerd(tempDir('berth-dockerd-'));
  try {
    await dk.start();
    const archive = join(work, 'bb.tar');
    void archive;
    const name = `${reg.host}/fromdocker/bb:1`;
    const imp = await dk.docker(['import', '--change', 'CMD ["sh"]', '--change', 'ENV FROM_DOCKER=1', '/var/tmp/berth-test-fixtures/busybox.tar', name]);
    assert.equal(imp.code, 0, imp.stderr);
    const push = await dk.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr + dk.log.slice(-2000));
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    const dockerId = (await dk.docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
    const pull = await d.berth(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal(await imageId(d, name), dockerId);
    assert.deepEqual(await repoDigests(d, name), [`${reg.host}/fromdocker/bb@${digest}`]);
    const r = await d.berth(['run', '--rm', '--network', 'none', name, 'echo', 'from docker']);
    assert.equal(r.stdout, 'from docker\n', r.stderr);
  } finally {
    await dk.cleanup();
  }
});
