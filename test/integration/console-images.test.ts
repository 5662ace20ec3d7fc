/**
 * The web console's images, networks and volumes pages in a real browser
 * (Debian's chromium, headless): pull an image from a local `berth registry
 * serve` with per-layer progress, tag it, push it back under a new name,
 * look at its history, remove it (a conflict offers a forced remove);
 * create, inspect and remove a network and a volume. Bad input: a pull of
 * a missing image shows Docker's error; a forged action without the CSRF
 * token is refused and changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cleanupDir, importBusybox, tempDir } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';
import { type ConsoleDaemon, launch, screenshot, signIn, startConsoleDaemon } from '../console-browser.js';

let dir: string;
let c: ConsoleDaemon;
let reg: RegistryProc;
let browser: Browser;
let page: Page;

before(async () => {
  dir = tempDir('berth-cimg-');
  reg = new RegistryProc(join(dir, 'registry'), ['--delete-enabled']);
  await reg.start();
  c = await startConsoleDaemon(dir);
  await importBusybox(c.d);
  // The test's own push: the image the browser then pulls.
  assert.equal((await c.d.berth(['tag', 'busybox', `${reg.host}/lib/busybox:1.0`])).code, 0);
  const push = await c.d.berth(['push', `${reg.host}/lib/busybox:1.0`]);
  assert.equal(push.code, 0, push.stderr);
  // Gone from the engine, so the browser's pull downloads every layer.
  assert.equal((await c.d.berth(['rmi', `${reg.host}/lib/busybox:1.0`, 'busybox'])).code, 0);
  browser = await launch();
  page = (await signIn(browser, c, '/images')).page;
});
after(async () => {
  await browser?.close();
  await c?.d.cleanup();
  await reg?.stop();
  cleanupDir(dir);
});

const row = (ref: string) => page.locator(`tr[data-ref="${ref}"]`);

test('pull from a local registry with per-layer progress, then tag, push under a new name, history, remove', async () => {
  const name = `${reg.host}/lib/busybox:1.0`;
  await page.click('text=Pull image');
  await page.fill('input[name=image]', name);
  await page.click('form[aria-label="Pull image"] button[type=submit]');
  const layer = page.locator('.progress .layers li').first();
  await layer.waitFor({ timeout: 60_000 });
  await page.locator('.notice.ok', { hasText: `Status: Downloaded newer image for ${name}` }).waitFor({ timeout: 60_000 });
  assert.match((await layer.locator('.layer-status').textContent()) ?? '', /Pull complete/);
  assert.equal(await layer.locator('.bar').getAttribute('aria-valuenow'), '100');
  assert.match((await page.locator('.progress-lines').textContent()) ?? '', /Digest: sha256:[a-f0-9]{64}/);
  await screenshot(page, 'image-pull');
  await page.keyboard.press('Escape');
  await row(name).waitFor();
  // The engine agrees: the image is there.
  assert.equal((await c.d.berth(['image', 'inspect', '-f', '{{.Id}}', name])).code, 0);

  // Tag it under a new repository name of the same registry.
  const copy = `${reg.host}/team/copy:2.0`;
  await row(name).locator('[data-action=tag]').click();
  await page.fill('input[name=target]', copy);
  await page.click('form[aria-label="Tag image"] button[type=submit]');
  await page.locator('.notice.ok', { hasText: `Tagged ${name} as ${copy}` }).waitFor();
  await row(copy).waitFor();

  // Push the new name back, with progress.
  await row(copy).locator('[data-action=push]').click();
  await page.click('form[aria-label="Push image"] button[type=submit]');
  await page.locator('.notice.ok', { hasText: /2\.0: digest: sha256:[a-f0-9]{64}/ }).waitFor({ timeout: 60_000 });
  assert.ok((await page.locator('.progress .layers li').count()) >= 1);
  await screenshot(page, 'image-push');
  await page.keyboard.press('Escape');
  const head = await reg.req('GET', '/v2/team/copy/tags/list');
  assert.deepEqual(head.json.tags, ['2.0']);

  // History.
  await row(copy).locator('[data-action=history]').click();
  const hist = page.locator('section[aria-label="Image history"] tbody tr');
  await hist.first().waitFor();
  assert.ok((await hist.count()) >= 1);
  await screenshot(page, 'image-history');
  await page.keyboard.press('Escape');

  // The list and its filter.
  await page.fill('input[aria-label="Filter images"]', 'team/copy');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-ref]').length === 1);
  await page.fill('input[aria-label="Filter images"]', '');
  await screenshot(page, 'images');

  // Remove: the first name only untags; a container using the image makes the last a conflict, then force.
  await row(copy).locator('[data-action=remove]').click();
  await page.locator('.notice.ok', { hasText: `Removed ${copy} (untagged)` }).waitFor();
  await row(copy).waitFor({ state: 'detached' });
  const ctr = await c.d.berth(['create', '--name', 'uses-it', name, 'true']);
  assert.equal(ctr.code, 0, ctr.stderr);
  await row(name).locator('[data-action=remove]').click();
  const conflict = page.locator('.notice.error', { hasText: /conflict: unable to (remove|delete)/ });
  await conflict.waitFor();
  await conflict.locator('text=Force remove').click();
  await page.locator('.notice.ok', { hasText: `Removed ${name}` }).waitFor();
  assert.notEqual((await c.d.berth(['image', 'inspect', name])).code, 0);
});

test("a pull of a missing image shows Docker's error; the console stays usable", async () => {
  const missing = `${reg.host}/nope/missing:9.9`;
  const cli = await c.d.berth(['pull', missing]);
  assert.notEqual(cli.code, 0);
  const words = /Error response from daemon: (.+)/.exec(cli.stderr)?.[1]?.trim();
  assert.ok(words, cli.stderr);
  await page.click('text=Pull image');
  await page.fill('input[name=image]', missing);
  await page.click('form[aria-label="Pull image"] button[type=submit]');
  const err = page.locator('form[aria-label="Pull image"] .notice.error');
  await err.waitFor({ timeout: 30_000 });
  assert.equal((await err.textContent())?.trim(), words);
  assert.match(words, /manifest unknown|not found/);
  await screenshot(page, 'image-pull-error');
  await page.keyboard.press('Escape');
  await page.locator('h1', { hasText: 'Images' }).waitFor();
});

test('networks: create with subnet, gateway and labels, inspect, remove', async () => {
  await page.click('nav >> text=Networks');
  await page.waitForURL((u) => u.pathname === '/networks');
  await page.click('text=+ Create network');
  await page.fill('input[name=name]', 'web-backend');
  await page.fill('input[name=subnet]', '172.31.250.0/24');
  await page.fill('input[name=gateway]', '172.31.250.1');
  await page.fill('textarea[name=labels]', 'team=web\ntier=backend');
  await page.click('form[aria-label="Create network"] button[type=submit]');
  const r = page.locator('tr[data-name="web-backend"]');
  await r.waitFor();
  assert.match((await r.textContent()) ?? '', /172\.31\.250\.0\/24.*gw 172\.31\.250\.1/);
  const inspect = await c.d.berth(['network', 'inspect', '-f', '{{json .IPAM.Config}} {{json .Labels}}', 'web-backend']);
  assert.match(inspect.stdout, /"Subnet":"172\.31\.250\.0\/24"/);
  assert.match(inspect.stdout, /"team":"web"/);
  await screenshot(page, 'networks');
  await r.locator('[data-action=inspect]').click();
  const details = page.locator('section[aria-label="Network details"]');
  await details.locator('pre.json').waitFor();
  assert.match((await details.textContent()) ?? '', /"Name": "web-backend"/);
  await screenshot(page, 'network-inspect');
  await page.keyboard.press('Escape');
  // A bad subnet: the engine's words, nothing made.
  await page.click('text=+ Create network');
  await page.fill('input[name=name]', 'bad-net');
  await page.fill('input[name=subnet]', '300.1.2.0/24');
  await page.click('form[aria-label="Create network"] button[type=submit]');
  await page.locator('form[aria-label="Create network"] .notice.error').waitFor();
  await page.keyboard.press('Escape');
  assert.notEqual((await c.d.berth(['network', 'inspect', 'bad-net'])).code, 0);
  assert.ok(await page.locator('tr[data-name="bridge"] [data-action=remove]').isDisabled());
  await r.locator('[data-action=remove]').click();
  await page.locator('.notice.ok', { hasText: 'Removed network web-backend' }).waitFor();
  assert.notEqual((await c.d.berth(['network', 'inspect', 'web-backend'])).code, 0);
});

test('volumes: create with labels, inspect, remove; in use needs force', async () => {
  await page.click('nav >> text=Volumes');
  await page.waitForURL((u) => u.pathname === '/volumes');
  await page.click('text=+ Create volume');
  await page.fill('input[name=name]', 'pgdata');
  await page.fill('textarea[name=labels]', 'app=db');
  await page.click('form[aria-label="Create volume"] button[type=submit]');
  const r = page.locator('tr[data-name="pgdata"]');
  await r.waitFor();
  assert.match((await r.textContent()) ?? '', /app=db/);
  assert.equal((await c.d.berth(['volume', 'inspect', '-f', '{{.Labels.app}}', 'pgdata'])).stdout.trim(), 'db');
  await screenshot(page, 'volumes');
  await r.locator('[data-action=inspect]').click();
  const details = page.locator('section[aria-label="Volume details"]');
  await details.locator('pre.json').waitFor();
  assert.match((await details.textContent()) ?? '', /"Mountpoint": "\//);
  await screenshot(page, 'volume-inspect');
  await page.keyboard.press('Escape');
  await importBusybox(c.d);
  const ctr = await c.d.berth(['create', '--name', 'holds-vol', '-v', 'pgdata:/data', 'busybox', 'true']);
  assert.equal(ctr.code, 0, ctr.stderr);
  await r.locator('[data-action=remove]').click();
  const inUse = page.locator('.notice.error', { hasText: /volume is in use/ });
  await inUse.waitFor();
  assert.equal((await c.d.berth(['volume', 'inspect', 'pgdata'])).code, 0);
  await c.d.berth(['rm', 'holds-vol']);
  await r.locator('[data-action=remove]').click();
  await page.locator('.notice.ok', { hasText: 'Removed volume pgdata' }).waitFor();
  assert.notEqual((await c.d.berth(['volume', 'inspect', 'pgdata'])).code, 0);
});

test('a forged action without the CSRF token is refused and changes nothing', async () => {
  assert.equal((await c.d.berth(['volume', 'create', 'keepme'])).code, 0);
  const res = await page.context().request.delete(`${c.url}/console/api/volumes/keepme`, { headers: { Origin: c.url } });
  assert.equal(res.status(), 403);
  assert.match((await res.json()).message, /CSRF/);
  const pull = await page.context().request.post(`${c.url}/console/api/images/create?fromImage=busybox&tag=latest`, { headers: { Origin: c.url } });
  assert.equal(pull.status(), 403);
  assert.equal((await c.d.berth(['volume', 'inspect', 'keepme'])).code, 0);
});
