/**
 * The web console over TLS (`--console-tlscert/--console-tlskey`): a browser's
 * sign-in, its session cookie marked Secure, the API proxy behind it, and
 * nothing answered in clear on the TLS port.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { cleanupDir, tempDir, type Daemon } from '../helpers.js';
import { makeCert } from '../registry-peer.js';
import { consoleDaemon, htpasswdFile } from './console-kit.js';

let dir: string;
let d: Daemon;
let url: string;
let ca: Buffer;

before(async () => {
  dir = tempDir('berth-console-tls-');
  const { cert, key } = makeCert(join(dir, 'tls'));
  ca = readFileSync(cert);
  const htpasswd = htpasswdFile(join(dir, 'users'), 'alice', 'wonderland-42');
  ({ d, url } = await consoleDaemon(['--console-tlscert', cert, '--console-tlskey', key, '--console-htpasswd', htpasswd]));
});
after(async () => {
  await d?.cleanup();
  cleanupDir(dir);
});

function tls(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { method, headers, ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('sign-in over TLS gives a Secure, HttpOnly, SameSite=Strict session that reaches the API', async () => {
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+/);
  const login = await tls(
    'POST',
    '/console/login',
    { Origin: url.replace(/\/$/, ''), 'Content-Type': 'application/json' },
    JSON.stringify({ user: 'alice', password: 'wonderland-42' }),
  );
  assert.equal(login.status, 200, login.text);
  const setCookie = String(login.headers['set-cookie'] ?? '');
  assert.match(setCookie, /; Secure/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(';')[0]!;
  const version = await tls('GET', '/console/api/version', { Cookie: cookie });
  assert.equal(version.status, 200, version.text);
  assert.equal(typeof JSON.parse(version.text).ApiVersion, 'string');
  const refused = await tls('GET', '/console/api/version', {});
  assert.equal(refused.status, 401);
});

test('plain HTTP to the TLS port gets no console', async () => {
  const port = Number(new URL(url).port);
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/login', method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(`status ${res.statusCode}: ${text.slice(0, 80)}`));
    });
    req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
  // Node's TLS server drops (or answers 400 to) bytes that are not a TLS handshake: never the page.
  assert.doesNotMatch(outcome, /status 200/);
  assert.ok(/^error |^status 400/.test(outcome), outcome);
});
