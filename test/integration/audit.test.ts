/**
 * Who did what: berthd's audit log (identity from SO_PEERCRED on the unix socket, the client
 * certificate on TLS), `berth system audit` with its filters, and the authorization policy
 * (refusals in Docker's authorization-plugin words, audited; hot reload; a broken file), through
 * the docker CLI run as root, as an unprivileged user and as a TLS client. Hostile input: paths that
 * try to dodge the policy, registry passwords that must never reach the log, a huge path, rotation.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { BERTH, BERTHD, Daemon, cleanupDir, importBusybox, run, tempDir, type RunResult } from '../helpers.js';

interface Entry {
  Time: string;
  Transport: string;
  Uid?: number;
  Gid?: number;
  Pid?: number;
  User?: string;
  CN?: string;
  Fingerprint?: string;
  Method: string;
  Path: string;
  Action?: string;
  Object?: string;
  Status: number;
  DurationMs: number;
  Denied?: boolean;
}

const tag = String(process.pid % 100000);
const USER = `bau${tag}`;
const SOCKGROUP = `bas${tag}`;
const MONGROUP = `bam${tag}`;
const PASSWORD = 'hunter2-Zq9-very-secret';

let d: Daemon;
let dir: string;
let certs: string;
let tcp: string;
let uid: number;
let gid: number;
let policyFile: string;
let userConfig: string;

function sh(script: string, cwd: string): void {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}\n${r.stdout}\n${r.stderr}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function auditLines(): Entry[] {
  const logDir = join(d.dataRoot, 'audit');
  const files = readdirSync(logDir)
    .filter((f) => f.startsWith('audit.log'))
    .sort((a, b) => (b === 'audit.log' ? -1 : a === 'audit.log' ? 1 : Number(b.split('.').pop()) - Number(a.split('.').pop())));
  return files.flatMap((f) =>
    readFileSync(join(logDir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Entry),
  );
}

/** The docker CLI as the unprivileged test user (its groups from /etc/group), pointed at the unix socket. */
function dockerAsUser(args: string[]): Promise<RunResult> {
  const env = { PATH: process.env.PATH, HOME: userConfig, DOCKER_HOST: d.host, DOCKER_CONFIG: userConfig };
  return run('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', 'docker', ...args], { env, timeoutMs: 60_000 });
}

function berthAsUser(args: string[]): Promise<RunResult> {
  const env = { PATH: process.env.PATH, HOME: userConfig };
  return run('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', BERTH, '-H', d.host, ...args], { env, timeoutMs: 60_000 });
}

/** A raw request over the unix socket as the test user (a tiny node client under setpriv): status and body. */
async function rawAsUser(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; body: string }> {
  const js = `
const r = require('http').request({ socketPath: process.argv[1], method: process.argv[2], path: process.argv[3], headers: JSON.parse(process.argv[4]) }, (res) => {
  let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body: b })));
});
r.on('error', (e) => console.log(JSON.stringify({ status: 0, body: e.message })));
r.end(process.argv[5]);`;
  const r = await run('setpriv', [
    `--reuid=${uid}`,
    `--regid=${gid}`,
    '--init-groups',
    '--',
    process.execPath,
    '-e',
    js,
    d.socket,
    method,
    path,
    JSON.stringify(headers),
    body,
  ]);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

/** A raw request over the unix socket as root. */
function rawAsRoot(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.socket, method, path, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  for (const g of [SOCKGROUP, MONGROUP]) spawnSync('groupadd', [g]);
  const add = spawnSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', '-G', `${SOCKGROUP},${MONGROUP}`, USER], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  dir = tempDir('berth-audit-');
  chmodSync(dir, 0o755);
  userConfig = join(dir, 'user-home');
  mkdirSync(userConfig);
  chownSync(userConfig, uid, gid);
  certs = join(dir, 'certs');
  mkdirSync(certs);
  sh(
    `
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca-key.pem
    openssl req -x509 -new -key ca-key.pem -out ca.pem -days 2 -subj /CN=audit-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    leaf() { key "$1-key.pem"; openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$2"; printf '%s\\n' "$3" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out "$1-cert.pem" -extfile "$1.ext" 2>/dev/null; }
    leaf server berthd $'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth'
    leaf client audit-client 'extendedKeyUsage=clientAuth'
    `,
    certs,
  );
  tcp = `tcp://127.0.0.1:${await freePort()}`;
  policyFile = join(dir, 'policy.json');
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ bridge: `bt${tag}a`, group: SOCKGROUP, 'audit-log': { 'max-size': '32k', 'max-files': 3 } }) + '\n');
  const tlsArgs = ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server-cert.pem'), '--tlskey', join(certs, 'server-key.pem')];
  d = new Daemon(dir, ['-H', tcp, ...tlsArgs]);
  await d.start();
  await importBusybox(d);
});

after(async () => {
  await d?.cleanup();
  spawnSync('ip', ['link', 'del', `bt${tag}a`], { stdio: 'ignore' });
  spawnSync('userdel', [USER]);
  for (const g of [SOCKGROUP, MONGROUP]) spawnSync('groupdel', [g]);
});

test('the audit log is 0600 in a 0700 directory under the data root', () => {
  const logDir = join(d.dataRoot, 'audit');
  assert.equal(statSync(logDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(logDir, 'audit.log')).mode & 0o777, 0o600);
});

test('docker run --rm as root: create, attach, wait and start are logged with uid 0, its pid, status and duration', async () => {
  const since = new Date().toISOString();
  const r = await d.docker(['run', '--rm', '--name', 'audited', 'busybox', 'echo', 'hi']);
  assert.equal(r.code, 0, r.stderr);
  const mine = auditLines().filter((e) => e.Time >= since);
  const byAction = new Map(mine.map((e) => [e.Action, e]));
  for (const a of ['container.create', 'container.attach', 'container.wait', 'container.start']) assert.ok(byAction.has(a), `${a} in ${JSON.stringify(mine)}`);
  const create = byAction.get('container.create')!;
  assert.equal(create.Transport, 'unix');
  assert.equal(create.Uid, 0);
  assert.equal(create.User, 'root');
  assert.equal(create.Method, 'POST');
  assert.equal(create.Status, 201);
  assert.ok(typeof create.Pid === 'number' && create.Pid > 1);
  assert.ok(create.DurationMs >= 0);
  assert.match(create.Path, /\/containers\/create$/);
  const start = byAction.get('container.start')!;
  assert.equal(start.Status, 204);
  assert.match(String(start.Object), /^[0-9a-f]{64}$|^audited$/);
  // The hijacked attach is logged as the upgrade it was.
  assert.equal(byAction.get('container.attach')!.Status, 101);
  // One docker CLI process made them all, over connections each credited with its pid.
  assert.ok(
    mine.every((e) => e.Pid === create.Pid),
    JSON.stringify(mine.map((e) => e.Pid)),
  );
  // Reads are not logged.
  assert.ok(!mine.some((e) => e.Method === 'GET' || e.Method === 'HEAD'));
});

test('a request from another uid shows that uid and its name', async () => {
  const r = await dockerAsUser(['volume', 'create', 'from-user']);
  assert.equal(r.code, 0, r.stderr);
  const e = auditLines().find((x) => x.Action === 'volume.create' && x.Uid === uid);
  assert.ok(e, JSON.stringify(auditLines().slice(-3)));
  assert.equal(e.User, USER);
  assert.equal(e.Gid, gid);
  assert.ok(e.Pid && e.Pid > 1);
});

test('a TLS client shows its certificate CN and fingerprint', async () => {
  const tls = ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'client-cert.pem'), '--tlskey', join(certs, 'client-key.pem')];
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(dir, 'docker-config') };
  delete env.DOCKER_HOST;
  const r = await run('docker', [...tls, '-H', tcp, 'volume', 'create', 'from-tls'], { env });
  assert.equal(r.code, 0, r.stderr);
  const e = auditLines().find((x) => x.Action === 'volume.create' && x.Object === undefined && x.CN !== undefined);
  assert.ok(e, JSON.stringify(auditLines().slice(-3)));
  assert.equal(e.CN, 'audit-client');
  assert.equal(e.Transport, 'tls');
  assert.equal(e.Uid, undefined);
  const fp = spawnSync('openssl', ['x509', '-in', join(certs, 'client-cert.pem'), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout;
  assert.equal(e.Fingerprint, fp.trim().split('=')[1]);
});

test('berth system audit filters by user, uid, action, status and time, and prints --json and --format', async () => {
  const byUser = await d.berth(['system', 'audit', '--filter', `user=${USER}`, '--since', '10m', '--format', '{{.User}} {{.Uid}} {{.Action}}']);
  assert.equal(byUser.code, 0, byUser.stderr);
  assert.equal(byUser.stdout, `${USER} ${uid} volume.create\n`);
  const byUid = await d.berth(['system', 'audit', '--filter', 'uid=0', '--filter', 'action=container.*', '--json']);
  const rows = byUid.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Entry);
  assert.ok(rows.length >= 4 && rows.every((x) => x.Uid === 0 && x.Action!.startsWith('container.')), byUid.stdout);
  const future = await d.berth(['system', 'audit', '--since', new Date(Date.now() + 3_600_000).toISOString()]);
  assert.equal(future.code, 0, future.stderr);
  assert.equal(future.stdout.trim().split('\n').length, 1, 'only the header after --since in the future');
  const past = await d.berth(['system', 'audit', '--until', '2000-01-01T00:00:00Z', '--format', '{{.Action}}']);
  assert.equal(past.stdout, '');
  const table = await d.berth(['system', 'audit', '--filter', 'cn=audit-client']);
  assert.match(table.stdout, /^TIME\s+USER\s+PID\s+METHOD\s+ACTION\s+OBJECT\s+STATUS\s+DURATION\n/);
  assert.match(table.stdout, /cn=audit-client\s+POST\s+volume\.create\s+201/);
  const bad = await d.berth(['system', 'audit', '--filter', 'colour=red']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Invalid filter 'colour'/);
});

test('without a policy only root may read the audit log; a member of the socket group is refused in authz words', async () => {
  const r = await berthAsUser(['system', 'audit']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /authorization denied by plugin berth-policy: system\.audit is allowed only to root/);
  const raw = await rawAsUser('GET', '/berth/audit');
  assert.equal(raw.status, 403);
  // The refusal is itself in the log.
  assert.ok(auditLines().some((e) => e.Action === 'system.audit' && e.Uid === uid && e.Denied && e.Status === 403));
});

test('registry passwords (POST /auth body, X-Registry-Auth) never reach the log', async () => {
  const login = await d.docker(['login', '-u', 'someone', '--password-stdin', '127.0.0.1:1'], { input: PASSWORD });
  assert.notEqual(login.code, 0);
  const header = Buffer.from(JSON.stringify({ username: 'someone', password: PASSWORD })).toString('base64url');
  await rawAsRoot('POST', '/v1.47/images/create?fromImage=127.0.0.1:1/nothing&tag=latest', { 'X-Registry-Auth': header });
  await rawAsRoot(
    'POST',
    '/v1.47/auth',
    { 'Content-Type': 'application/json' },
    JSON.stringify({ username: 'x', password: PASSWORD, serveraddress: '127.0.0.1:1' }),
  );
  const text = readdirSync(join(d.dataRoot, 'audit'))
    .map((f) => readFileSync(join(d.dataRoot, 'audit', f), 'utf8'))
    .join('');
  assert.ok(text.includes('"system.auth"') && text.includes('"image.pull"'), 'the calls themselves are logged');
  assert.ok(text.includes('127.0.0.1:1/nothing:latest'), 'the pulled image is the object');
  assert.ok(!text.includes(PASSWORD));
  assert.ok(!text.includes(header) && !text.includes(header.slice(0, 20)));
});

test('a huge path is cut in its log line', async () => {
  const id = 'x'.repeat(12_000);
  const r = await rawAsRoot('POST', `/v1.47/containers/${id}/start`);
  assert.equal(r.status, 404);
  const raw = readFileSync(join(d.dataRoot, 'audit', 'audit.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .pop()!;
  assert.ok(raw.length < 2_000, `line of ${raw.length} characters`);
  const e = JSON.parse(raw) as Entry;
  assert.equal(e.Action, 'container.start');
  assert.match(e.Path, /…\(\d+ more\)$/);
});

test('a broken policy file stops berthd at start with a clear error', async () => {
  const bad = join(dir, 'bad-policy.json');
  writeFileSync(bad, JSON.stringify({ rules: [{ groups: ['x'], allow: ['contianer.list'] }] }));
  const other = tempDir('berth-audit-bad-');
  writeFileSync(join(other, 'none.json'), '{}\n');
  try {
    const r = await run(
      process.execPath,
      [
        BERTHD,
        '-H',
        `unix://${join(other, 's.sock')}`,
        '--data-root',
        join(other, 'root'),
        '--exec-root',
        join(other, 'exec'),
        '--config-file',
        join(other, 'none.json'),
        '--authorization-policy',
        bad,
      ],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /authorization policy .*bad-policy\.json: rules\[0\]\.allow: "contianer\.list" names no action/);
    assert.ok(!existsSync(join(other, 's.sock')));
  } finally {
    cleanupDir(other);
  }
});

test('a policy lets a group only ps, logs and stats: docker ps works, docker run is refused in authz words and audited', async () => {
  writeFileSync(
    policyFile,
    JSON.stringify({
      actions: { observe: ['container.list', 'container.logs', 'container.stats', 'container.inspect'] },
      rules: [{ name: 'monitoring', groups: [MONGROUP], allow: ['observe', 'system.version', 'system.info'] }],
    }),
  );
  await d.stop();
  d.extraArgs.push('--authorization-policy', policyFile);
  await d.start();
  const ps = await dockerAsUser(['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(ps.code, 0, ps.stderr);
  const runIt = await dockerAsUser(['run', '--rm', 'busybox', 'true']);
  assert.notEqual(runIt.code, 0);
  assert.match(
    runIt.stderr,
    new RegExp(
      `Error response from daemon: authorization denied by plugin berth-policy: container\\.create is not allowed for uid ${uid} \\(${USER}\\) by rule "monitoring"`,
    ),
  );
  const vol = await dockerAsUser(['volume', 'rm', 'from-user']);
  assert.notEqual(vol.code, 0);
  assert.match(vol.stderr, /authorization denied by plugin berth-policy: volume\.delete is not allowed/);
  // Root is never refused.
  const root = await d.docker(['volume', 'create', 'root-vol']);
  assert.equal(root.code, 0, root.stderr);
  const denied = await d.berth(['system', 'audit', '--filter', `uid=${uid}`, '--filter', 'denied=true', '--format', '{{.Action}} {{.Status}}']);
  assert.match(denied.stdout, /^container\.create 403 denied$/m);
  assert.match(denied.stdout, /^volume\.delete 403 denied$/m);
  // The member may not read the audit log either: the policy does not give it system.audit.
  assert.equal((await rawAsUser('GET', '/berth/audit')).status, 403);
});

test('hostile: encoded, dotted and doubled paths cannot dodge the policy', async () => {
  const before = (await d.docker(['ps', '-aq'])).stdout;
  const body = JSON.stringify({ Image: 'busybox', Cmd: ['true'] });
  const hdr = { 'Content-Type': 'application/json' };
  for (const p of [
    '/v1.47/containers/create',
    '/containers/create',
    '/v1.47/containers/create/',
    '/v1.47/containers/../containers/create',
    '/v1.47/containers/json/../create',
    '/v1.47/containers%2Fcreate',
    '/v1.47/%63ontainers/create',
    '//v1.47/containers/create',
    '/v1.47//containers/create',
    '/v1.47/containers/create?x=/containers/json',
    '/v1.47/CONTAINERS/create',
  ]) {
    const r = await rawAsUser('POST', p, hdr, body);
    assert.ok(r.status === 403 || r.status === 404 || r.status === 400, `${p}: ${r.status} ${r.body}`);
  }
  assert.equal((await rawAsUser('POST', '/v1.47/containers/create', hdr, body)).status, 403);
  // The allowed route stays allowed however it is spelled, and nothing was created.
  assert.equal((await rawAsUser('GET', '/v1.47/containers/json?all=1')).status, 200);
  assert.equal((await d.docker(['ps', '-aq'])).stdout, before);
  // A container's logs through an id that looks like another route are still container.logs.
  const logs = await rawAsUser('GET', '/v1.47/containers/create/logs?stdout=1');
  assert.equal(logs.status, 404, logs.body);
});

test('the policy is reloaded on change and on SIGHUP; a broken edit keeps the old one', async () => {
  writeFileSync(policyFile, '{ "rules": [ broken');
  process.kill(d.proc!.pid!, 'SIGHUP');
  const deadline = Date.now() + 10_000;
  while (!/authorization policy not reloaded/.test(d.log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(d.log, /authorization policy not reloaded; the previous one stays in force.*invalid JSON/);
  assert.equal((await dockerAsUser(['ps'])).code, 0);
  assert.notEqual((await dockerAsUser(['volume', 'create', 'nope'])).code, 0);
  // A good edit is picked up without a signal (the file is watched).
  writeFileSync(policyFile, JSON.stringify({ rules: [{ name: 'volumes', users: [USER], allow: ['volume.*', 'container.list'] }] }));
  const until = Date.now() + 10_000;
  let r: RunResult;
  do {
    await new Promise((res) => setTimeout(res, 300));
    r = await dockerAsUser(['volume', 'create', 'after-reload']);
  } while (r.code !== 0 && Date.now() < until);
  assert.equal(r.code, 0, r.stderr);
  assert.match(d.log, /authorization policy reloaded/);
});

test('rotation keeps the configured number of files, each within max-size', async () => {
  for (let i = 0; i < 150; i++) await rawAsRoot('POST', `/v1.47/containers/${'r'.repeat(600)}${i}/start`);
  const files = readdirSync(join(d.dataRoot, 'audit')).sort();
  assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2']);
  for (const f of files) assert.ok(statSync(join(d.dataRoot, 'audit', f)).size <= 32 * 1024, f);
  assert.equal(statSync(join(d.dataRoot, 'audit', 'audit.log.2')).mode & 0o777, 0o600);
  // The reader spans the rotated files.
  const all = await d.berth(['system', 'audit', '--filter', 'action=container.start', '--filter', 'status=4xx', '--format', '{{.Status}}']);
  const inFiles = auditLines().filter((e) => e.Action === 'container.start' && e.Status >= 400).length;
  assert.ok(inFiles > 40, `${inFiles} entries in the files`);
  assert.equal(all.stdout.trim().split('\n').length, inFiles);
});
