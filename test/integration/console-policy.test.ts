/**
 * The authorization policy judges each web console user as themselves: a
 * `console-users` rule lets a viewer list containers and refuses them a
 * create, in dockerd's authz-plugin words shown through the console; an
 * admin may; a console user no rule names gets the default. The audit log
 * names the console user of every call, allowed or refused.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBusybox, tempDir, type Daemon } from '../helpers.js';
import { browser, call, consoleDaemon, htpasswdFile, shot, signIn } from './console-kit.js';

let d: Daemon;
let url: string;
const json = { 'Content-Type': 'application/json' };

before(async () => {
  const dir = tempDir('berth-console-policy-');
  const users = ['viewer', 'admin', 'mallory'].map((u) => readFileSync(htpasswdFile(join(dir, u), u, `${u}-pw-42`), 'utf8')).join('');
  writeFileSync(join(dir, 'users.htpasswd'), users);
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      rules: [
        { name: 'viewers', 'console-users': ['viewer'], allow: ['container.list', 'container.inspect', 'image.list', 'system.*'], deny: ['system.audit'] },
        { name: 'admins', 'console-users': ['admin'], allow: ['*'] },
      ],
    }),
  );
  ({ d, url } = await consoleDaemon(['--console-htpasswd', join(dir, 'users.htpasswd'), '--authorization-policy', policy]));
  await importBusybox(d);
});

after(async () => {
  await d?.cleanup();
});

async function create(user: string, name: string) {
  const s = await signIn(url, user, `${user}-pw-42`);
  return call(url, 'POST', `/console/api/containers/create?name=${name}`, {
    headers: { ...json, Cookie: s.cookie, Origin: url, 'X-CSRF-Token': s.csrf },
    body: JSON.stringify({ Image: 'busybox:latest', Cmd: ['true'] }),
  });
}

test('a viewer lists but may not create; an admin creates; one no rule names gets the default', async () => {
  const v = await signIn(url, 'viewer', 'viewer-pw-42');
  const list = await call(url, 'GET', '/console/api/containers/json?all=1', { headers: { Cookie: v.cookie } });
  assert.equal(list.status, 200, list.text);
  const refused = await create('viewer', 'by-viewer');
  assert.equal(refused.status, 403, refused.text);
  assert.equal(
    refused.json().message,
    'authorization denied by plugin berth-policy: container.create is not allowed for console user viewer by rule "viewers"',
  );
  const made = await create('admin', 'by-admin');
  assert.equal(made.status, 201, made.text);
  const stranger = await create('mallory', 'by-mallory');
  assert.equal(stranger.status, 403);
  assert.match(stranger.json().message ?? '', /container\.create is not allowed for console user mallory by default: no rule names this client/);
  // Only the admin's container exists; root on the socket is not held by the policy.
  assert.deepEqual((await d.berth(['ps', '-a', '--format', '{{.Names}}'])).stdout.trim().split('\n'), ['by-admin']);
  assert.equal((await d.berth(['rm', 'by-admin'])).code, 0);
});

test('the audit log names the console user of each call, the refused ones too', async () => {
  const r = await d.berth(['system', 'audit', '--filter', 'action=container.create', '--format', '{{.User}} {{.Status}}']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.includes('console:viewer 403 denied'), r.stdout);
  assert.ok(lines.includes('console:admin 201'), r.stdout);
  assert.ok(lines.includes('console:mallory 403 denied'), r.stdout);
});

test('in the browser, the viewer sees the refusal in the create form', async () => {
  const b = await browser();
  try {
    await b.page.goto(`${url}/login`);
    await b.page.fill('input[name=user]', 'viewer');
    await b.page.fill('input[name=password]', 'viewer-pw-42');
    await b.page.click('button[type=submit]');
    await b.page.waitForSelector('h1:text-is("Overview")');
    await b.page.goto(`${url}/containers`);
    await b.page.click('button:text("Create container")');
    await b.page.fill('input[name=image]', 'busybox:latest');
    await b.page.click('.drawer button[type=submit]');
    const notice = await b.page.waitForSelector('text=/authorization denied by plugin berth-policy/');
    assert.match((await notice.textContent()) ?? '', /container\.create is not allowed for console user viewer/);
    await shot(b.page, 'policy-refused');
  } finally {
    await b.close();
  }
});
