/**
 * Helpers for the web console's browser tests: a berthd with the console on
 * a free loopback port and an htpasswd user, Debian's chromium driven
 * headless by playwright-core, a signed-in page, and screenshots saved under
 * artifacts/console/ for a person to look at.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Daemon, REPO, run, startDaemon } from './helpers.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO, 'artifacts', 'console');

export interface ConsoleDaemon {
  d: Daemon;
  url: string;
  user: string;
  password: string;
}

/** berthd with --console-addr 127.0.0.1:0 and one bcrypt htpasswd user; the console's URL from its log. */
export async function startConsoleDaemon(dir: string, user = 'admin', password = 'console-pass-1'): Promise<ConsoleDaemon> {
  const hp = await run('htpasswd', ['-Bbn', user, password]);
  if (hp.code !== 0) throw new Error(`htpasswd: ${hp.stderr}`);
  const file = join(dir, 'console.htpasswd');
  writeFileSync(file, hp.stdout);
  const d = await startDaemon(['--console-addr', '127.0.0.1:0', '--console-htpasswd', file]);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const m = /Console listen on (http:\/\/[^\s"]+)/.exec(d.log);
    if (m) return { d, url: m[1]!, user, password };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the console did not start:\n${d.log}`);
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A new context signed in through the sign-in form; dialogs (confirm) are accepted. */
export async function signIn(browser: Browser, c: ConsoleDaemon, next = '/'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  page.on('dialog', (dlg) => void dlg.accept());
  await page.goto(`${c.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name=user]', c.user);
  await page.fill('input[name=password]', c.password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === next, { timeout: 15_000 });
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}
