/**
 * API access: berthd on a unix socket and on TCP with mutual TLS at once, driven by the docker CLI
 * (flags and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH), docker-py and berth; and the clients it must refuse
 * (no certificate, another CA's, an expired one, plain HTTP, TLS 1.1), plain TCP without an explicit
 * opt-out, and the unix socket's mode and group (a user outside the group gets EACCES).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { BERTH, BERTHD, Daemon, cleanupDir, importBusybox, run, tempDir, type RunResult } from '../helpers.js';

const PYTHON = '/usr/bin/python3';

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

function sh(script: string, cwd: string): void {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script}\n${r.stdout}\n${r.stderr}`);
}

/**
 * A CA with server and client certificates, a second CA's client certificate, and an expired client
 * certificate from the right CA. OpenSSL 3.0 has no -not_before/-not_after and `x509 -days` cannot go
 * negative, so the expired one is signed with `openssl ca -startdate/-enddate` in the past.
 */
function makeCerts(dir: string): void {
  mkdirSync(dir, { recursive: true });
  sh(
    `
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    ca() { key "$1-key.pem"; openssl req -x509 -new -key "$1-key.pem" -out "$1.pem" -days 2 -subj "/CN=$1" \\
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; }
    leaf() { # name ca subject ext
      key "$1-key.pem"; openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$3"
      printf '%s\\n' "$4" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -CAcreateserial -days 2 -out "$1-cert.pem" -extfile "$1.ext" 2>/dev/null; }
    ca ca; ca other-ca
    leaf server ca berthd $'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth'
    leaf client ca tls-client 'extendedKeyUsage=clientAuth'
    leaf stranger other-ca stranger 'extendedKeyUsage=clientAuth'
    key expired-key.pem; openssl req -new -key expired-key.pem -out expired.csr -subj /CN=expired
    mkdir -p newcerts; : > index.txt; echo 1000 > serial; printf 'extendedKeyUsage=clientAuth\\n' > expired.ext
    cat > ca.cnf <<EOF
[ ca ]
default_ca = d
[ d ]
database = index.txt
new_certs_dir = newcerts
serial = serial
certificate = ca.pem
private_key = ca-key.pem
default_md = sha256
policy = p
[ p ]
commonName = supplied
EOF
    openssl ca -batch -config ca.cnf -startdate 20200101000000Z -enddate 20200102000000Z -extfile expired.ext \\
      -in expired.csr -out expired-cert.pem 2>/dev/null
    # DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem.
    mkdir -p env; cp ca.pem env/ca.pem; cp client-cert.pem env/cert.pem; cp client-key.pem env/key.pem
    `,
    dir,
  );
}

let d: Daemon;
let certs: string;
let port: number;
let tcp: string;
const dockerGid = Number(spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.split(':')[2]);

before(async () => {
  const dir = tempDir('berth-tls-');
  certs = join(dir, 'certs');
  makeCerts(certs);
  port = await freePort();
  tcp = `tcp://127.0.0.1:${port}`;
  const tlsArgs = ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, 'server-cert.pem'), '--tlskey', join(certs, 'server-key.pem')];
  d = new Daemon(dir, ['-H', tcp, ...tlsArgs]);
  await d.start();
  await importBusybox(d);
});
after(async () => {
  await d.cleanup();
});

/** The docker CLI against the TLS port, with its own empty config dir (no ~/.docker). */
function docker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const clean = { ...process.env };
  for (const k of ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS', 'DOCKER_CONTEXT']) delete clean[k];
  return run('docker', args, { env: { ...clean, DOCKER_CONFIG: join(d.dir, 'docker-config'), ...env }, timeoutMs: 60_000 });
}

function tlsFlags(cert: string, key: string): string[] {
  return ['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '--tlscert', join(certs, cert), '--tlskey', join(certs, key)];
}

test('the docker CLI with --tlsverify runs version and a container over mutual TLS', async () => {
  const v = await docker([...tlsFlags('client-cert.pem', 'client-key.pem'), '-H', tcp, 'version', '--format', '{{.Server.Version}}']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout.trim(), /^\d+\.\d+/);
  const r = await docker([...tlsFlags('client-cert.pem', 'client-key.pem'), '-H', tcp, 'run', '--rm', 'busybox', 'echo', 'hi']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
});

test('the docker CLI with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
  const env = { DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(certs, 'env') };
  const v = await docker(['version', '--format', '{{.Server.Os}}'], env);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), 'linux');
  const r = await docker(['run', '--rm', 'busybox', 'echo', 'hi'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
});

test('docker-py with a TLSConfig works; without a client certificate it is refused', async () => {
  const script = `
import sys, docker
from docker.tls import TLSConfig
c = sys.argv[1]
ok = docker.DockerClient(base_url=sys.argv[2], tls=TLSConfig(client_cert=(c + '/client-cert.pem', c + '/client-key.pem'), ca_cert=c + '/ca.pem', verify=True))
print('version', ok.version()['Os'])
print('run', ok.containers.run('busybox', 'echo hi', remove=True).decode().strip())
try:
    bad = docker.DockerClient(base_url=sys.argv[2], tls=TLSConfig(ca_cert=c + '/ca.pem', verify=True))
    bad.version()
    print('no-cert accepted')
except Exception as e:
    print('no-cert refused', type(e).__name__)
`;
  // requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a client's own CA (psf/requests#3829): a user's docker-py runs without them.
  const env = { ...process.env };
  for (const k of ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE']) delete env[k];
  const r = await run(PYTHON, ['-c', script, certs, `https://127.0.0.1:${port}`], { env, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^version linux$/m);
  assert.match(r.stdout, /^run hi$/m);
  assert.match(r.stdout, /^no-cert refused /m);
});

test('berth speaks TLS: global flags, and DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH', async () => {
  const clean = { ...process.env };
  for (const k of ['BERTH_HOST', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete clean[k];
  const r = await run(BERTH, [...tlsFlags('client-cert.pem', 'client-key.pem'), '-H', tcp, 'run', '--rm', 'busybox', 'echo', 'hi'], { env: clean });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
  const env = { ...clean, DOCKER_HOST: tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(certs, 'env') };
  const v = await run(BERTH, ['version', '--format', '{{.Server.Os}}'], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), 'linux');
  const e = await run(BERTH, ['run', '--rm', 'busybox', 'echo', 'hi'], { env });
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.stdout, 'hi\n');
  // berth with TLS but a certificate from another CA: refused by the daemon.
  const bad = await run(BERTH, [...tlsFlags('stranger-cert.pem', 'stranger-key.pem'), '-H', tcp, 'ps'], { env: clean });
  assert.notEqual(bad.code, 0);
});

test('refused: no client certificate, another CA, an expired certificate; nothing reaches the API', async () => {
  const cases: [string, string[]][] = [
    ['no certificate', ['--tlsverify', '--tlscacert', join(certs, 'ca.pem')]],
    ['another CA', tlsFlags('stranger-cert.pem', 'stranger-key.pem')],
    ['expired', tlsFlags('expired-cert.pem', 'expired-key.pem')],
  ];
  for (const [what, flags] of cases) {
    const r = await docker([...flags, '-H', tcp, 'run', '--name', `refused-${what.replace(/ /g, '-')}`, 'busybox', 'true']);
    assert.notEqual(r.code, 0, `${what}: ${r.stdout}`);
    // Go reports a refused client certificate as the server's alert, or (TLS 1.3) as EOF on the first read.
    assert.match(r.stderr, /error during connect|certificate|tls/i, what);
  }
  // The same certificates through openssl, over TLS 1.2 (the client certificate judged inside the handshake)
  // and TLS 1.3 (judged after the client's Finished): the connection ends with no answer to the request.
  const sClient = (version: string, extra: string[]) =>
    run('openssl', ['s_client', version, '-connect', `127.0.0.1:${port}`, '-CAfile', join(certs, 'ca.pem'), '-ign_eof', ...extra], {
      input: 'GET /_ping HTTP/1.0\r\n\r\n',
      timeoutMs: 20_000,
    });
  for (const version of ['-tls1_2', '-tls1_3']) {
    for (const who of ['expired', 'stranger']) {
      const r = await sClient(version, ['-cert', join(certs, `${who}-cert.pem`), '-key', join(certs, `${who}-key.pem`)]);
      assert.match(r.stdout, /^CONNECTED/, `${version} ${who}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /HTTP\/1\.[01] 200/, `${version} ${who}`);
      // An alert, an EOF, or (TLS 1.3, when the request was already sent and unread) a reset.
      assert.match(r.stderr, /unexpected eof|alert|errno=104/, `${version} ${who}: ${r.stderr}`);
    }
    const good = await sClient(version, ['-cert', join(certs, 'client-cert.pem'), '-key', join(certs, 'client-key.pem')]);
    assert.match(good.stdout, /HTTP\/1\.[01] 200 OK[\s\S]*\r\n\r\nOK/, good.stdout + good.stderr);
  }
  const ps = await d.berth(['ps', '-a', '--format', '{{.Names}}']);
  assert.equal(ps.stdout, '');
});

test('refused: plain HTTP to the TLS port (downgrade) and TLS 1.1', async () => {
  const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/_ping' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(plain.status, 400);
  assert.equal(plain.body, 'Client sent an HTTP request to an HTTPS server.\n');
  const noTls = await docker(['-H', tcp, 'version']);
  assert.notEqual(noTls.code, 0);
  assert.doesNotMatch(noTls.stdout, /Server:/);

  // SECLEVEL=0 so that OpenSSL 3's client really offers TLS 1.1 (else it refuses locally and proves nothing).
  const old = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-tls1_1',
      '-cipher',
      'DEFAULT@SECLEVEL=0',
      '-cert',
      join(certs, 'client-cert.pem'),
      '-key',
      join(certs, 'client-key.pem'),
    ],
    { input: '', timeoutMs: 20_000 },
  );
  assert.notEqual(old.code, 0);
  assert.match(old.stdout + old.stderr, /alert protocol version|unsupported protocol/, old.stdout + old.stderr);
  const tls12 = await run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-tls1_2',
      '-CAfile',
      join(certs, 'ca.pem'),
      '-cert',
      join(certs, 'client-cert.pem'),
      '-key',
      join(certs, 'client-key.pem'),
    ],
    { input: '', timeoutMs: 20_000 },
  );
  assert.match(tls12.stdout, /Protocol\s*: TLSv1\.2/, tls12.stdout + tls12.stderr);
});

test('the unix socket is 0660, group docker, and served alongside TCP', async () => {
  const st = statSync(d.socket);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 0);
  assert.equal(st.gid, dockerGid);
  // No private bind directory is left beside it.
  assert.deepEqual(
    readdirSync(d.dir).filter((n) => n.startsWith('.bs')),
    [],
  );
  const v = await d.berth(['version', '--format', '{{.Server.Os}}']);
  assert.equal(v.stdout.trim(), 'linux');
});

/** Start berthd on its own roots and wait for it to exit (or be killed after a while); its exit code and output. */
function berthdOnce(dir: string, args: string[], ms = 15_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [BERTHD, '--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '--config-file', join(dir, 'daemon.json'), ...args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

test('plain tcp:// without an explicit opt-out stops berthd; with tls=false it starts, warning loudly', async () => {
  const dir = tempDir('berth-tls-plain-');
  try {
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    const p = await freePort();
    const refused = await berthdOnce(dir, ['-H', `unix://${join(dir, 'b.sock')}`, '-H', `tcp://127.0.0.1:${p}`]);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /refusing to listen on tcp:\/\/127\.0\.0\.1:\d+: Binding to IP address without --tlsverify is insecure/);
    assert.match(refused.out, /explicitly specifying '--tls=false' or '--tlsverify=false'/);
    assert.ok(!existsSync(join(dir, 'b.sock')), 'nothing listens after a refused start');
    // TLS on but its files missing: refused too, in words that name the file.
    const noFiles = await berthdOnce(dir, [
      '-H',
      `tcp://127.0.0.1:${p}`,
      '--tlsverify',
      '--tlscacert',
      join(dir, 'none.pem'),
      '--tlscert',
      join(certs, 'server-cert.pem'),
      '--tlskey',
      join(certs, 'server-key.pem'),
    ]);
    assert.equal(noFiles.code, 1);
    assert.match(noFiles.out, /invalid TLS configuration: could not read CA certificate ".*none\.pem"/);

    // The explicit opt-out through daemon.json: starts, serves plain HTTP on TCP, and warns.
    writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ hosts: [`unix://${join(dir, 'b.sock')}`, `tcp://127.0.0.1:${p}`], tls: false }));
    const daemon = spawn(
      process.execPath,
      [BERTHD, '--data-root', join(dir, 'root'), '--exec-root', join(dir, 'exec'), '--config-file', join(dir, 'daemon.json')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    daemon.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      let ok = false;
      for (let i = 0; i < 200 && !ok; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ok = (await docker(['-H', `tcp://127.0.0.1:${p}`, 'version', '--format', '{{.Server.Os}}'])).stdout.trim() === 'linux';
      }
      assert.ok(ok, out);
      assert.match(out, /level=warn msg="Binding to IP address without --tlsverify is insecure and gives root access/);
      assert.match(out, /without encryption/);
    } finally {
      const exited = new Promise((r) => daemon.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
  } finally {
    cleanupDir(dir);
  }
});

test('-G puts the socket in another group; a user outside the group gets EACCES, a member connects', async () => {
  const group = `bt${process.pid % 100000}`;
  const add = spawnSync('groupadd', [group], { encoding: 'utf8' });
  assert.equal(add.status, 0, add.stderr);
  const dir = tempDir('berth-tls-group-');
  try {
    const gid = Number(spawnSync('getent', ['group', group], { encoding: 'utf8' }).stdout.split(':')[2]);
    // A directory everyone may traverse, so the socket's own mode is what a stranger meets.
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(dir, 0o755);
    chmodSync(pub, 0o755);
    const sock = join(pub, 'b.sock');
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    const unknown = await berthdOnce(dir, ['-H', `unix://${sock}`, '-G', 'no-such-group-here']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.out, /group no-such-group-here not found/);

    const g = new Daemon(dir, ['-G', group]);
    Object.assign(g, { socket: sock, host: `unix://${sock}` });
    await g.start();
    try {
      const st = statSync(sock);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, gid);
      const probe = `require('net').connect(${JSON.stringify(sock)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(1)})`;
      const stranger = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe]);
      assert.equal(stranger.stdout.trim(), 'EACCES', stranger.stderr);
      const member = await run('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${gid}`, process.execPath, '-e', probe]);
      assert.equal(member.stdout.trim(), 'connected', member.stderr);
    } finally {
      await g.stop();
    }
    assert.ok(!existsSync(sock), 'the socket is removed on shutdown');
  } finally {
    cleanupDir(dir);
    spawnSync('groupdel', [group]);
  }
});

test('fd:// serves sockets systemd passes in (systemd-socket-activate), with TLS', {
  skip: !existsSync('/usr/bin/systemd-socket-activate') && 'systemd-socket-activate is not installed',
}, async () => {
  const dir = tempDir('berth-tls-fd-');
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const p = await freePort();
  const act = spawn(
    'systemd-socket-activate',
    [
      '-l',
      `127.0.0.1:${p}`,
      process.execPath,
      BERTHD,
      '-H',
      'fd://',
      '-H',
      `unix://${join(dir, 'b.sock')}`,
      '--data-root',
      join(dir, 'root'),
      '--exec-root',
      join(dir, 'exec'),
      '--config-file',
      join(dir, 'daemon.json'),
      ...tlsFlags('server-cert.pem', 'server-key.pem'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  act.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    // The first connection starts berthd; the docker CLI's retries wait for it.
    let v: RunResult | undefined;
    for (let i = 0; i < 50; i++) {
      v = await docker([...tlsFlags('client-cert.pem', 'client-key.pem'), '-H', `tcp://127.0.0.1:${p}`, 'version', '--format', '{{.Server.Os}}']);
      if (v.code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(v?.stdout.trim(), 'linux', `${v?.stderr}\n${out}`);
    const none = await docker(['--tlsverify', '--tlscacert', join(certs, 'ca.pem'), '-H', `tcp://127.0.0.1:${p}`, 'version']);
    assert.notEqual(none.code, 0);
  } finally {
    const exited = new Promise((r) => act.once('exit', r));
    act.kill('SIGTERM');
    await exited;
    cleanupDir(dir);
  }
});

test('shutdown closes every listener, open TLS connections included', async () => {
  // An idle keep-alive TLS connection, then SIGTERM: berthd exits 0, the port and the socket are gone.
  const tls = await import('node:tls');
  const { readFileSync } = await import('node:fs');
  const conn = tls.connect({
    host: '127.0.0.1',
    port,
    ca: readFileSync(join(certs, 'ca.pem')),
    cert: readFileSync(join(certs, 'client-cert.pem')),
    key: readFileSync(join(certs, 'client-key.pem')),
  });
  await new Promise<void>((resolve, reject) => {
    conn.once('secureConnect', () => resolve());
    conn.once('error', reject);
  });
  const closed = new Promise((r) => conn.once('close', r));
  await d.removeContainers();
  assert.equal(await d.stop(), 0);
  await closed;
  assert.ok(!existsSync(d.socket));
  const refused = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
  // Started again for after()'s cleanup.
  await d.start();
});
