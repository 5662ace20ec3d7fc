/**
 * The web console's registry browser in a real browser: add a local
 * `berth registry serve` (and one behind token auth, with credentials the
 * console's server keeps), see its catalog, a repository's tags, a
 * manifest's layers and sizes and an index's platforms, delete a tag; a
 * registry with deletes off answers 405 UNSUPPORTED and the page says so.
 * Bad input: a URL that is not http(s), an unreachable registry, one that
 * never answers (a clear timeout), wrong credentials, and forged requests
 * without the CSRF token: refused, nothing stored or deleted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { cleanupDir, importBusybox, run, tempDir } from '../helpers.js';
import { RegistryProc } from '../registry-helpers.js';
import { Registry as Distribution } from '../registry-peer.js';
import { type ConsoleDaemon, launch, screenshot, signIn, startConsoleDaemon } from '../console-browser.js';

let dir: string;
let c: ConsoleDaemon;
let open: RegistryProc;
let locked: RegistryProc;
let silent: Server;
let distribution: Distribution;
const held = new Set<Socket>();
let browser: Browser;
let page: Page;
const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

before(async () => {
  dir = tempDir('berth-creg-');
  process.env.DOCKER_CONFIG = join(dir, 'docker-config');
  // An unreachable registry must fail fast in a test: the console's registry deadline, shortened.
  process.env.BERTH_CONSOLE_REGISTRY_TIMEOUT_MS = '1500';
  open = new RegistryProc(join(dir, 'open'), ['--delete-enabled']);
  await open.start();
  const hp = await run('htpasswd', ['-Bbn', 'alice', 's3cret-pw']);
  writeFileSync(join(dir, 'reg.htpasswd'), hp.stdout);
  locked = new RegistryProc(join(dir, 'locked'), ['--auth', 'token', '--htpasswd', join(dir, 'reg.htpasswd')]);
  await locked.start();
  // A server that accepts connections and never answers.
  silent = createServer((s) => {
    held.add(s);
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  c = await startConsoleDaemon(dir);
  delete process.env.BERTH_CONSOLE_REGISTRY_TIMEOUT_MS;
  await importBusybox(c.d);
  for (const ref of [`${open.host}/lib/busybox:1.0`, `${open.host}/lib/busybox:1.1`, `${open.host}/lib/multi:amd64`]) {
    assert.equal((await c.d.berth(['tag', 'busybox', ref])).code, 0);
    const p = await c.d.berth(['push', ref]);
    assert.equal(p.code, 0, p.stderr);
  }
  assert.equal((await c.d.berth(['login', '-u', 'alice', '--password-stdin', locked.host], { input: 's3cret-pw' })).code, 0);
  assert.equal((await c.d.berth(['tag', 'busybox', `${locked.host}/private/app:1.0`])).code, 0);
  const p = await c.d.berth(['push', `${locked.host}/private/app:1.0`]);
  assert.equal(p.code, 0, p.stderr);
  // An index of two platforms in lib/multi (both naming the one manifest there).
  const child = await open.req('GET', '/v2/lib/multi/manifests/amd64', { headers: { Accept: MANIFEST_V2 } });
  const digest = child.headers['docker-content-digest'] as string;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: MANIFEST_V2, digest, size: child.body.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MANIFEST_V2, digest, size: child.body.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  });
  const put = await open.req('PUT', '/v2/lib/multi/manifests/1.0', { headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body: index });
  assert.equal(put.status, 201, put.text);
  browser = await launch();
  page = (await signIn(browser, c, '/registries')).page;
});
after(async () => {
  await browser?.close();
  for (const s of held) s.destroy();
  silent?.close();
  await c?.d.cleanup();
  await open?.stop();
  await locked?.stop();
  await distribution?.stop();
  cleanupDir(dir);
});

async function addRegistry(fields: Record<string, string>): Promise<void> {
  await page.click('text=+ Add registry');
  for (const [k, v] of Object.entries(fields)) await page.fill(`form[aria-label="Add registry"] input[name=${k}]`, v);
  await page.click('form[aria-label="Add registry"] button[type=submit]');
}

const stored = () => JSON.parse(readFileSync(join(c.d.dataRoot, 'console', 'registries.json'), 'utf8')) as Record<string, { url: string; password?: string }[]>;

test('bad registries are refused with a clear message and nothing is stored', async () => {
  const form = page.locator('form[aria-label="Add registry"]');
  await addRegistry({ url: 'ftp://127.0.0.1/' });
  await form.locator('.notice.error', { hasText: 'only http:// and https:// registries are supported' }).waitFor();
  await page.fill('form[aria-label="Add registry"] input[name=url]', 'http://127.0.0.1:1');
  await page.click('form[aria-label="Add registry"] button[type=submit]');
  await form.locator('.notice.error', { hasText: 'cannot reach the registry at http://127.0.0.1:1: connection refused' }).waitFor();
  const port = (silent.address() as { port: number }).port;
  await page.fill('form[aria-label="Add registry"] input[name=url]', `http://127.0.0.1:${port}`);
  await page.click('form[aria-label="Add registry"] button[type=submit]');
  await form.locator('.notice.error', { hasText: `the registry at http://127.0.0.1:${port} did not answer within 1.5 s` }).waitFor({ timeout: 20_000 });
  await screenshot(page, 'registry-add-error');
  await page.fill('form[aria-label="Add registry"] input[name=url]', locked.url);
  await page.fill('form[aria-label="Add registry"] input[name=username]', 'alice');
  await page.fill('form[aria-label="Add registry"] input[name=password]', 'wrong');
  await page.click('form[aria-label="Add registry"] button[type=submit]');
  await form.locator('.notice.error', { hasText: 'refused the credentials' }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('tbody tr[data-name]').count(), 0);
  // A forged add (no CSRF token) is refused too.
  const forged = await page.context().request.post(`${c.url}/console/registries`, { headers: { Origin: c.url }, data: { url: open.url } });
  assert.equal(forged.status(), 403);
  assert.match((await forged.json()).message, /CSRF/);
  let file: Record<string, unknown[]> = {};
  try {
    file = stored();
  } catch {
    /* never written: nothing stored */
  }
  assert.equal(Object.values(file).flat().length, 0);
});

test('catalog, tags, a manifest with its layers and sizes, an index, and a tag deleted', async () => {
  await addRegistry({ url: open.url, name: 'local' });
  await page.locator('tr[data-name="local"]').waitFor();
  await screenshot(page, 'registries');
  await page.click('tr[data-name="local"] >> text=Browse');
  await page.locator('tr[data-repo="lib/busybox"]').waitFor();
  assert.deepEqual(await page.locator('tr[data-repo]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-repo'))), ['lib/busybox', 'lib/multi']);
  await screenshot(page, 'registry-catalog');
  await page.click('tr[data-repo="lib/busybox"] a');
  await page.locator('tr[data-tag="1.1"]').waitFor();
  assert.deepEqual(await page.locator('tr[data-tag]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tag'))), ['1.0', '1.1']);
  // Each tag's digest, platform and size, read from its manifest.
  const head = await open.req('HEAD', '/v2/lib/busybox/manifests/1.0', { headers: { Accept: MANIFEST_V2 } });
  const digestCell = page.locator(`tr[data-tag="1.0"] td[title="${head.headers['docker-content-digest']}"]`);
  await digestCell.waitFor();
  assert.match((await page.locator('tr[data-tag="1.0"]').textContent()) ?? '', /linux\/amd64.*\d(\.\d+)? [kM]B/);
  await screenshot(page, 'registry-tags');

  // The manifest: what the registry serves, sizes summed.
  const m = await open.req('GET', '/v2/lib/busybox/manifests/1.0', { headers: { Accept: MANIFEST_V2 } });
  const want = m.json as { config: { size: number }; layers: { digest: string; size: number }[] };
  await page.click('tr[data-tag="1.0"] a');
  const layerRows = page.locator('table[aria-label="Layers"] tr[data-digest]');
  await layerRows.first().waitFor();
  const body = (await page.locator('main').textContent()) ?? '';
  assert.ok(body.includes(MANIFEST_V2), body);
  assert.ok(body.includes(m.headers['docker-content-digest'] as string));
  assert.deepEqual(
    await layerRows.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-digest'))),
    want.layers.map((l) => l.digest),
  );
  const total = want.layers.reduce((s, l) => s + l.size, 0) + want.config.size;
  const shown = await page.evaluate(
    async (u) => (await (await fetch(u)).json()) as { total: number },
    '/console/registries/' + (await registryId('local')) + '/manifest?repo=lib%2Fbusybox&ref=1.0',
  );
  assert.equal(shown.total, total);
  assert.match(body, /linux\/amd64/);
  await screenshot(page, 'registry-manifest');

  // An index lists its platforms.
  await page.goto(`${c.url}/registries/${await registryId('local')}/lib%2Fmulti/1.0`);
  const plats = page.locator('table[aria-label="Platforms"] tbody tr');
  await plats.first().waitFor();
  assert.deepEqual(await plats.evaluateAll((rows) => rows.map((r) => r.querySelector('td')?.textContent)), ['linux/amd64', 'linux/arm64/v8']);
  // Its size: each platform's image, and every distinct blob once in the total (both name one image here).
  const idx = await page.evaluate(
    async (u) => (await (await fetch(u)).json()) as { total: number; manifests: { imageSize: number }[] },
    `/console/registries/${await registryId('local')}/manifest?repo=lib%2Fmulti&ref=1.0`,
  );
  assert.equal(idx.total, total);
  assert.deepEqual(
    idx.manifests.map((x) => x.imageSize),
    [total, total],
  );
  await screenshot(page, 'registry-index');

  // Delete a tag (deletes are on here): gone from the registry, the other tag stays.
  await page.goto(`${c.url}/registries/${await registryId('local')}/lib%2Fbusybox`);
  await page.click('tr[data-tag="1.1"] [data-action=delete-tag]');
  await page.locator('.notice.ok', { hasText: 'deleted lib/busybox:1.1' }).waitFor();
  assert.deepEqual((await open.req('GET', '/v2/lib/busybox/tags/list')).json.tags, ['1.0']);
  await page.locator('tr[data-tag="1.1"]').waitFor({ state: 'detached' });
});

async function registryId(name: string): Promise<string> {
  const list = (await page.evaluate(async () => (await (await fetch('/console/registries')).json()) as { id: string; name: string }[])) ?? [];
  return list.find((r) => r.name === name)!.id;
}

test('a registry behind token auth: credentials stay server-side; deletes off answer 405 UNSUPPORTED', async () => {
  await page.goto(`${c.url}/registries`);
  await addRegistry({ url: locked.url, name: 'locked', username: 'alice', password: 's3cret-pw' });
  await page.locator('tr[data-name="locked"]').waitFor();
  // The browser never gets the password back; the server keeps it in a 0600 file.
  const listed = await page.evaluate(async () => await (await fetch('/console/registries')).text());
  assert.ok(!listed.includes('s3cret-pw'), listed);
  assert.match(listed, /"hasPassword":true/);
  const file = join(c.d.dataRoot, 'console', 'registries.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(stored().admin!.find((r) => r.url === locked.url)?.password, 's3cret-pw');

  await page.click('tr[data-name="locked"] >> text=Browse');
  await page.locator('tr[data-repo="private/app"]').waitFor();
  await page.click('tr[data-repo="private/app"] a');
  await page.locator('tr[data-tag="1.0"]').waitFor();
  await page.click('tr[data-tag="1.0"] [data-action=delete-tag]');
  const refused = page.locator('.notice.error', { hasText: /does not allow this delete \(UNSUPPORTED: / });
  await refused.waitFor();
  await screenshot(page, 'registry-delete-refused');
  await page.click('tr[data-tag="1.0"] a');
  await page.click('[data-action=delete-manifest]');
  await page.locator('.notice.error', { hasText: /does not allow this delete .*deletes are disabled on this registry/ }).waitFor();
  // Still there.
  const still = await c.d.berth(['pull', `${locked.host}/private/app:1.0`]);
  assert.equal(still.code, 0, still.stderr);

  // A forged delete without the CSRF token does not reach the registry.
  const id = await registryId('local');
  const forged = await page.context().request.delete(`${c.url}/console/registries/${id}/manifest?repo=lib%2Fbusybox&ref=1.0`, { headers: { Origin: c.url } });
  assert.equal(forged.status(), 403);
  assert.deepEqual((await open.req('GET', '/v2/lib/busybox/tags/list')).json.tags, ['1.0']);

  // Hostile parameters: clear 4xx answers, and the console still serves.
  const req = page.context().request;
  const bad = async (res: { status(): number; json(): Promise<{ message: string }> }, status: number, re: RegExp) => {
    assert.equal(res.status(), status);
    assert.match((await res.json()).message, re);
  };
  await bad(await req.get(`${c.url}/console/registries/${id}/tags?repo=..%2F..%2Fetc`), 400, /invalid repository name/);
  await bad(await req.get(`${c.url}/console/registries/${id}/manifest?repo=lib%2Fbusybox&ref=..%2Fx`), 400, /invalid reference/);
  await bad(await req.get(`${c.url}/console/registries/nope/catalog`), 404, /no such registry: nope/);
  const { csrf } = (await (await req.get(`${c.url}/console/session`)).json()) as { csrf: string };
  const h = { Origin: c.url, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' };
  await bad(await req.post(`${c.url}/console/registries`, { headers: h, data: Buffer.from('{not json') }), 400, /invalid JSON body/);
  await bad(await req.post(`${c.url}/console/registries`, { headers: h, data: { url: 42 } }), 400, /url must be a string/);
  await bad(await req.post(`${c.url}/console/registries`, { headers: h, data: { url: open.url, password: 'x' } }), 400, /a password needs a user name/);
  assert.equal((await req.get(`${c.url}/console/registries`)).status(), 200);
});

test('Distribution 2.8 behind htpasswd (Basic auth): a tag delete is refused (by digest only), a delete by digest works', async () => {
  distribution = new Distribution(join(dir, 'distribution'), { htpasswd: { user: 'bob', password: 'dist-pw-1' } });
  await distribution.start();
  assert.equal((await c.d.berth(['login', '-u', 'bob', '--password-stdin', distribution.host], { input: 'dist-pw-1' })).code, 0);
  for (const t of ['1.0', 'stable']) {
    assert.equal((await c.d.berth(['tag', 'busybox', `${distribution.host}/apps/web:${t}`])).code, 0);
    const p = await c.d.berth(['push', `${distribution.host}/apps/web:${t}`]);
    assert.equal(p.code, 0, p.stderr);
  }
  await page.goto(`${c.url}/registries`);
  await addRegistry({ url: distribution.url, name: 'distribution', username: 'bob', password: 'dist-pw-1' });
  await page.click('tr[data-name="distribution"] >> text=Browse');
  await page.click('tr[data-repo="apps/web"] a');
  await page.locator('tr[data-tag="stable"]').waitFor();
  await page.click('tr[data-tag="1.0"] [data-action=delete-tag]');
  await page
    .locator('.notice.error', { hasText: /distribution does not allow this delete \(DIGEST_INVALID: .*deletes by digest only; delete the manifest instead/ })
    .waitFor()
    .catch(async (err) => {
      throw new Error(`${err.message}\nshown: ${await page.locator('main').textContent()}`);
    });
  // Delete the manifest by digest: both tags on it go.
  await page.click('tr[data-tag="1.0"] a');
  await page.click('[data-action=delete-manifest]');
  await page.locator('.notice.ok', { hasText: /deleted apps\/web@sha256:/ }).waitFor();
  const gone = await c.d.berth(['pull', `${distribution.host}/apps/web:stable`]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /manifest unknown|not found/);
});
