/**
 * The web console's doors: the one-time setup link (in a real browser, once),
 * no session → 401 or the sign-in page, wrong passwords, an expired session,
 * forged actions (no CSRF token, a foreign Origin or Host), WebSockets to
 * containers and execs that do not exist, huge and malformed bodies, a forged
 * console user header on the public socket, and a non-loopback address
 * without TLS. berthd answers every one and stays up.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTHD, http, importBusybox, run, tempDir, cleanupDir, type Daemon } from '../helpers.js';
import { browser, call, consoleDaemon, shot, signIn, wsOutcome } from './console-kit.js';

let d: Daemon;
let url: string;
const PASSWORD = 'first-user-pw';

before(async () => {
  // Sessions idle out after 3 s here, so the expiry can be watched.
  ({ d, url } = await consoleDaemon([], { BERTH_CONSOLE_IDLE_SECONDS: '3' }));
  await importBusybox(d);
});

after(async () => {
  await d?.cleanup();
});

const json = { 'Content-Type': 'application/json' };

test('the setup link creates the first user once; the users file is 0600', async () => {
  const link = /Console setup link \(single use, expires in 1 hour\): (http\S+?\/setup\?token=[A-Za-z0-9_-]+)/.exec(d.log)?.[1];
  assert.ok(link, `no setup link in the log:\n${d.log}`);
  assert.equal((await call(url, 'GET', '/console/session')).json().setup, true);
  const b = await browser();
  try {
    await b.page.goto(link);
    await b.page.waitForSelector('input[name=confirm]');
    await b.page.fill('input[name=user]', 'admin');
    await b.page.fill('input[name=password]', PASSWORD);
    await b.page.fill('input[name=confirm]', PASSWORD);
    await shot(b.page, 'setup');
    await b.page.click('button[type=submit]');
    await b.page.waitForSelector('h1:text-is("Overview")');
    assert.equal(await b.page.textContent('.who .user'), 'admin');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
  }
  const token = new URL(link).searchParams.get('token')!;
  const again = await call(url, 'POST', '/console/setup', {
    headers: { ...json, Origin: url },
    body: JSON.stringify({ token, user: 'eve', password: 'another-pw-1' }),
  });
  assert.equal(again.status, 403);
  assert.match(again.json().message ?? '', /setup link is invalid, used or expired/);
  const page = await call(url, 'GET', '/setup');
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/login');
  assert.equal(statSync(join(d.dataRoot, 'console', 'users.json')).mode & 0o777, 0o600);
});

test('without a session: the API proxy answers 401, pages redirect to sign-in; no CORS headers ever', async () => {
  const api = await call(url, 'GET', '/console/api/containers/json');
  assert.equal(api.status, 401);
  assert.match(api.json().message ?? '', /^sign in required/);
  assert.equal(api.headers.get('cache-control'), 'no-store');
  const page = await call(url, 'GET', '/containers');
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/login?next=%2Fcontainers');
  const login = await call(url, 'GET', '/login');
  assert.equal(login.status, 200);
  assert.match(login.headers.get('content-security-policy') ?? '', /script-src 'self';/);
  assert.equal(login.headers.get('x-frame-options'), 'DENY');
  assert.equal(login.headers.get('x-content-type-options'), 'nosniff');
  assert.doesNotMatch(login.text, /<script>/);
  const pre = await call(url, 'OPTIONS', '/console/api/containers/json', {
    headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  for (const r of [api, page, login, pre]) assert.equal(r.headers.get('access-control-allow-origin'), null);
});

test('a wrong password or an unknown user: 401 with one generic message', async () => {
  for (const user of ['admin', 'nobody']) {
    const r = await call(url, 'POST', '/console/login', { headers: { ...json, Origin: url }, body: JSON.stringify({ user, password: 'wrong' }) });
    assert.equal(r.status, 401);
    assert.equal(r.json().message, 'invalid user name or password');
    assert.equal(r.headers.get('set-cookie'), null);
  }
});

test('an idle session expires: 401, and the cookie no longer opens anything', async () => {
  const s = await signIn(url, 'admin', PASSWORD);
  assert.equal((await call(url, 'GET', '/console/api/_ping', { headers: { Cookie: s.cookie } })).status, 200);
  await new Promise((r) => setTimeout(r, 4000));
  const r = await call(url, 'GET', '/console/api/_ping', { headers: { Cookie: s.cookie } });
  assert.equal(r.status, 401);
  assert.match(r.json().message ?? '', /expired/);
  assert.equal((await call(url, 'GET', '/console/session', { headers: { Cookie: s.cookie } })).status, 401);
});

test('a forged action: no CSRF token, a foreign Origin or Host → 403/421, nothing created', async () => {
  const s = await signIn(url, 'admin', PASSWORD);
  const body = JSON.stringify({ Image: 'busybox:latest', Cmd: ['true'] });
  const tries: [Record<string, string>, number, RegExp][] = [
    [{ Origin: url }, 403, /CSRF token/],
    [{ Origin: url, 'X-CSRF-Token': 'forged' }, 403, /CSRF token/],
    [{ Origin: 'http://evil.example', 'X-CSRF-Token': s.csrf }, 403, /Origin mismatch/],
    [{ 'X-CSRF-Token': s.csrf }, 403, /Origin mismatch/],
    [{ Origin: 'http://rebound.example:1', 'X-CSRF-Token': s.csrf, Host: 'rebound.example:1' }, 421, /Host/],
  ];
  for (const [h, status, words] of tries) {
    const r = await call(url, 'POST', '/console/api/containers/create?name=forged', { headers: { ...json, Cookie: s.cookie, ...h }, body });
    assert.equal(r.status, status, `${JSON.stringify(h)}: ${r.text}`);
    assert.match(r.json().message ?? '', words);
  }
  assert.equal((await d.berth(['ps', '-aq'])).stdout.trim(), '');
  // The same request, done right, works (so the refusals above were about the token and Origin).
  const ok = await call(url, 'POST', '/console/api/containers/create?name=allowed', {
    headers: { ...json, Cookie: s.cookie, Origin: url, 'X-CSRF-Token': s.csrf },
    body,
  });
  assert.equal(ok.status, 201, ok.text);
  await d.berth(['rm', '-f', 'allowed']);
});

test('terminal WebSockets: missing container or exec → 4404 in the API words; no session, token or Origin → refused', async () => {
  const s = await signIn(url, 'admin', PASSWORD);
  const h = { Cookie: s.cookie, Origin: url };
  const tok = encodeURIComponent(s.csrf);
  const noCtr = await wsOutcome(url, `/console/ws/exec?container=nope&csrf=${tok}`, h);
  assert.equal(noCtr.code, 4404);
  assert.match(noCtr.reason ?? '', /No such container: nope/);
  const noExec = await wsOutcome(url, `/console/ws/exec?exec=${'0'.repeat(64)}&csrf=${tok}`, h);
  assert.equal(noExec.code, 4404);
  assert.match(noExec.reason ?? '', /No such exec instance/);
  assert.equal((await wsOutcome(url, '/console/ws/exec?container=nope', h)).status, 403);
  assert.equal((await wsOutcome(url, `/console/ws/exec?container=nope&csrf=${tok}`, { Cookie: s.cookie, Origin: 'http://evil.example' })).status, 403);
  assert.equal((await wsOutcome(url, `/console/ws/exec?container=nope&csrf=${tok}`, { Origin: url })).status, 401);
  assert.equal((await wsOutcome(url, `/console/ws/nothing?csrf=${tok}`, h)).status, 404);
  assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
});

test('a browser that drops its terminal ends the shell and the exec stream', async () => {
  assert.equal((await d.berth(['run', '-d', '--name', 'term', 'busybox', 'sleep', '300'])).code, 0);
  // Signed in after the run: sessions here idle out in 3 s.
  const s = await signIn(url, 'admin', PASSWORD);
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/console/ws/exec?container=term&csrf=${encodeURIComponent(s.csrf)}`, {
    headers: { Cookie: s.cookie, Origin: url },
  });
  let out = '';
  ws.on('message', (m: Buffer) => {
    out += m.toString();
  });
  ws.on('close', (code: number, why: Buffer) => {
    out += `[closed ${code} ${why.toString()}]`;
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const deadline = Date.now() + 15_000;
  while (!out.includes('# ') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  ws.send(Buffer.from('echo ready-$((2+3))\n'));
  while (!out.includes('ready-5') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /ready-5/, d.log.slice(-3000));
  const shells = async () => (await d.berth(['top', 'term'])).stdout.split('\n').filter((l) => /\/bin\/sh$/.test(l)).length;
  assert.equal(await shells(), 1);
  ws.terminate();
  while ((await shells()) > 0 && Date.now() < deadline + 15_000) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await shells(), 0, 'the shell outlived its browser');
  await d.berth(['rm', '-f', 'term']);
});

test('huge and malformed bodies get clear 4xx answers; berthd and the console stay up', async () => {
  const s = await signIn(url, 'admin', PASSWORD);
  const h = { ...json, Cookie: s.cookie, Origin: url, 'X-CSRF-Token': s.csrf };
  const huge = await call(url, 'POST', '/console/api/containers/create', { headers: h, body: 'x'.repeat(2 << 20) });
  assert.equal(huge.status, 413);
  assert.match(huge.json().message ?? '', /request body too large/);
  const bad = await call(url, 'POST', '/console/api/containers/create', { headers: h, body: '{"Image": ' });
  assert.equal(bad.status, 400, bad.text);
  const bigLogin = await call(url, 'POST', '/console/login', {
    headers: { ...json, Origin: url },
    body: JSON.stringify({ user: 'a', password: 'p'.repeat(100_000) }),
  });
  assert.equal(bigLogin.status, 413);
  const notJson = await call(url, 'POST', '/console/login', { headers: { ...json, Origin: url }, body: 'user=admin' });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json().message, 'invalid JSON body');
  const wrongType = await call(url, 'POST', '/console/login', { headers: { ...json, Origin: url }, body: '{"user": 1, "password": []}' });
  assert.equal(wrongType.status, 400);
  // Bytes that are not HTTP.
  const { port } = new URL(url);
  const garbage = await new Promise<string>((resolve) => {
    const c = connect(Number(port), '127.0.0.1', () => c.write('\x00\x01GARBAGE \r\n\r\n'));
    let got = '';
    c.on('data', (b) => {
      got += b.toString();
    });
    c.on('close', () => resolve(got));
    c.on('error', () => resolve(got));
  });
  assert.match(garbage, /^HTTP\/1\.1 400/);
  assert.equal((await http(d.socket, 'GET', '/_ping')).status, 200);
  assert.equal((await call(url, 'GET', '/console/session', { headers: { Cookie: s.cookie } })).status, 200);
});

test('the console user header is trusted only on the private console socket', async () => {
  const entries = async (f: Record<string, string[]>) =>
    JSON.parse((await http(d.socket, 'GET', `/berth/audit?filters=${encodeURIComponent(JSON.stringify(f))}`)).body) as { User?: string }[];
  const before = (await entries({ action: ['container.create'], user: ['root'] })).length;
  const status = await new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ Image: 'busybox:latest' });
    const req = request(
      {
        socketPath: d.socket,
        method: 'POST',
        path: '/containers/create?name=spoof',
        headers: { 'Content-Type': 'application/json', 'X-Berth-Console-User': 'mallory' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(status, 201);
  assert.equal((await entries({ action: ['container.create'], user: ['root'] })).length, before + 1);
  assert.deepEqual(await entries({ user: ['console:mallory'] }), []);
  await d.berth(['rm', '-f', 'spoof']);
});

test('sign-in attempts are rate limited per address', async () => {
  let last = 0;
  for (let i = 0; i < 12 && last !== 429; i++) {
    const r = await call(url, 'POST', '/console/login', { headers: { ...json, Origin: url }, body: JSON.stringify({ user: 'admin', password: `guess-${i}` }) });
    last = r.status;
    if (r.status === 429) assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
  }
  assert.equal(last, 429);
});

test('a console on a non-loopback address without TLS is refused at start', async () => {
  const dir = tempDir('berth-console-tcp-');
  writeFileSync(`${dir}/none.json`, '{}\n');
  try {
    const r = await run(
      process.execPath,
      [
        BERTHD,
        '-H',
        `unix://${dir}/s.sock`,
        '--data-root',
        `${dir}/root`,
        '--exec-root',
        `${dir}/exec`,
        '--config-file',
        `${dir}/none.json`,
        '--console-addr',
        '0.0.0.0:0',
      ],
      {
        timeoutMs: 30_000,
      },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refusing to serve the console on http:\/\/0\.0\.0\.0:0: .*without TLS/);
  } finally {
    cleanupDir(dir);
  }
});
