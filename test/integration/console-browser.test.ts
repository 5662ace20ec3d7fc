/**
 * The web console in a real browser (Debian's chromium, headless, driven by
 * playwright-core): sign in with an htpasswd user, create and start a busybox
 * container from the form, see it running, follow its logs, type into the
 * terminal, watch a chart draw, stop and remove it; the setup link once; no
 * page without a session. Every page is saved to artifacts/console/<page>.png.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { importBusybox, type Daemon } from '../helpers.js';
import { browser, call, consoleDaemon, htpasswdFile, shot, type Browser } from './console-kit.js';

let d: Daemon;
let url: string;
let b: Browser;
const dir = `/var/tmp/berth-console-pw-${process.pid}`;

before(async () => {
  ({ d, url } = await consoleDaemon(['--console-htpasswd', htpasswdFile(dir, 'alice', 'wonderland-42')]));
  await importBusybox(d);
  b = await browser();
});

after(async () => {
  await b?.close();
  await d?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('a page without a session shows the sign-in form; signing in lands on the page asked for', async () => {
  const p = b.page;
  await p.goto(`${url}/containers`);
  await p.waitForSelector('form input[name=user]');
  assert.match(p.url(), /\/login\?next=%2Fcontainers$/);
  await shot(p, 'signin');
  await p.fill('input[name=user]', 'alice');
  await p.fill('input[name=password]', 'not-the-password');
  await p.click('button[type=submit]');
  await p.waitForSelector('.notice.error');
  assert.equal(await p.textContent('.notice.error'), 'invalid user name or password');
  await p.fill('input[name=password]', 'wonderland-42');
  await p.click('button[type=submit]');
  await p.waitForSelector('h1:text-is("Containers")');
  assert.match(p.url(), /\/containers$/);
  assert.equal(await p.textContent('.who .user'), 'alice');
});

test('create and start a busybox container from the form; it is running in the list', async () => {
  const p = b.page;
  await p.click('button:text("Create container")');
  await p.fill('input[name=image]', 'busybox:latest');
  await p.fill('input[name=name]', 'web-demo');
  await p.fill('input[name=command]', `sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done'`);
  await p.fill('textarea[name=env]', 'GREETING=hello');
  await p.fill('input[name=memory]', '64m');
  await shot(p, 'container-create');
  await p.click('.drawer button[type=submit]');
  await p.waitForSelector('tr[data-name="web-demo"] .badge:text("running")', { timeout: 60_000 });
  await shot(p, 'containers');
  const inspect = await d.berth(['inspect', '-f', '{{.State.Running}} {{.HostConfig.Memory}} {{index .Config.Env 0}}', 'web-demo']);
  assert.equal(inspect.stdout.trim(), 'true 67108864 GREETING=hello');
});

test('the container page follows the logs and finds a line with the search box', async () => {
  const p = b.page;
  await p.click('a:text-is("web-demo")');
  await p.waitForSelector('h1:has-text("web-demo")');
  await shot(p, 'container');
  await p.click('.tab:text("Logs")');
  await p.waitForSelector('[data-testid=logs] div:text-is("tick 3")', { timeout: 30_000 });
  await p.fill('input[aria-label="Search the logs"]', 'tick 2');
  await p.waitForSelector('.counter:has-text("1 of")');
  assert.equal(await p.textContent('[data-testid=logs] div mark'), 'tick 2');
  await p.fill('input[aria-label="Search the logs"]', '');
  await shot(p, 'container-logs');
});

test('the stats charts draw points as they arrive', async () => {
  const p = b.page;
  await p.click('.tab:text("Stats")');
  await p.waitForFunction(() => Number(document.querySelector('.chart-box[data-title="CPU"]')?.getAttribute('data-points')) >= 3, undefined, {
    timeout: 30_000,
  });
  const n = Number(await p.getAttribute('.chart-box[data-title="Memory"]', 'data-points'));
  assert.ok(n >= 3, `memory chart points: ${n}`);
  // uPlot draws on a canvas inside each chart.
  assert.equal(await p.locator('.chart-box canvas').count(), 4);
  await shot(p, 'container-stats');
  await p.click('.tab:text("Processes")');
  await p.waitForSelector('td:has-text("sleep"), td:has-text("sh -c")');
  await shot(p, 'container-processes');
});

/** The console user's audit entries' actions (the audit log is on by default). */
async function auditActions(): Promise<string[]> {
  const cookie = (await b.ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const r = await call(url, 'GET', `/console/api/berth/audit?filters=${encodeURIComponent(JSON.stringify({ user: ['console:alice'] }))}`, {
    headers: { Cookie: cookie },
  });
  assert.equal(r.status, 200, r.text);
  return (JSON.parse(r.text) as { Action: string }[]).map((e) => e.Action);
}

test('a command typed into the terminal prints its output; a resize reaches the exec', async () => {
  const p = b.page;
  await p.click('.tab:text("Terminal")');
  await p.waitForSelector('[data-testid=terminal-status]:has-text("connected")');
  await p.click('.terminal');
  await p.keyboard.type('echo console-$((6*7)); tty\n', { delay: 10 });
  await p.waitForFunction(() => document.querySelector('.terminal .xterm-rows')?.textContent?.includes('console-42/dev/pts/'), undefined, { timeout: 20_000 });
  await shot(p, 'container-terminal');
  // A smaller window: the terminal fits itself and sends the new size (busybox has no stty size to read it back).
  const resizes = (await auditActions()).filter((a) => a === 'exec.resize').length;
  await p.setViewportSize({ width: 1000, height: 700 });
  const deadline = Date.now() + 20_000;
  while ((await auditActions()).filter((a) => a === 'exec.resize').length === resizes && Date.now() < deadline) await p.waitForTimeout(200);
  assert.ok((await auditActions()).filter((a) => a === 'exec.resize').length > resizes, 'no exec.resize after the window shrank');
  await p.setViewportSize({ width: 1360, height: 860 });
  await p.click('.tab:text("Inspect")');
  await p.waitForSelector('pre.json');
  await shot(p, 'container-inspect');
});

test('stop and remove the container from its page; the list no longer has it', async () => {
  const p = b.page;
  await p.click('.tab:text("Overview")');
  await p.click('.page-header button[data-action=stop]');
  await p.waitForSelector('h1 .badge:text("exited")', { timeout: 60_000 });
  p.once('dialog', (dlg) => void dlg.accept());
  await p.click('.page-header button[data-action=remove]');
  await p.waitForSelector('h1:text-is("Containers")');
  await p.waitForSelector('.empty:has-text("No containers yet")');
  assert.equal((await d.berth(['ps', '-aq'])).stdout.trim(), '');
  // The audit log names the console user for every action the page took.
  const actions = await auditActions();
  for (const a of ['container.create', 'container.start', 'exec.create', 'exec.start', 'container.stop', 'container.delete'])
    assert.ok(actions.includes(a), `${a} in ${actions}`);
  await p.goto(`${url}/`);
  await p.waitForSelector('.events tbody tr');
  await shot(p, 'overview');
  assert.deepEqual(b.errors, []);
});

test('signing out ends the session: the API answers 401 and pages go to sign-in', async () => {
  const p = b.page;
  const cookies = (await b.ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  await p.click('.who button:text("Sign out")');
  await p.waitForSelector('form input[name=user]');
  const r = await call(url, 'GET', '/console/api/containers/json', { headers: { Cookie: cookies } });
  assert.equal(r.status, 401);
  assert.match(r.json().message ?? '', /sign in required/);
  await p.goto(`${url}/containers/web-demo`);
  await p.waitForSelector('form input[name=user]');
});
