/**
 * What the web console tests share: a berthd with the console on (its URL from
 * the log), a headless Debian chromium driven by playwright-core (never a
 * downloaded browser; a fresh profile each time), sign-in over plain HTTP,
 * and a WebSocket client that reports how the console answered.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { Daemon, REPO, tempDir } from '../helpers.js';

export const SHOTS = join(REPO, 'artifacts', 'console');

/** Start berthd with `--console-addr 127.0.0.1:0` (and the extra args); `env` for this start only. */
export async function consoleDaemon(extra: string[], env: Record<string, string> = {}): Promise<{ d: Daemon; url: string }> {
  const d = new Daemon(tempDir('berth-console-'), ['--console-addr', '127.0.0.1:0', ...extra]);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    await d.start();
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  const deadline = Date.now() + 10_000;
  let m: RegExpExecArray | null = null;
  while (!(m = /Console listen on (http[^"\s]+)/.exec(d.log)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!m) throw new Error(`the console did not start:\n${d.log}`);
  return { d, url: m[1]! };
}

/** An htpasswd file with one bcrypt user (htpasswd -B, as an admin makes it). */
export function htpasswdFile(dir: string, user: string, password: string): string {
  const r = spawnSync('htpasswd', ['-nbB', '-C', '6', user, password], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
  mkdirSync(dir, { recursive: true });
  const f = join(dir, 'console.htpasswd');
  writeFileSync(f, r.stdout);
  return f;
}

export interface Browser {
  ctx: BrowserContext;
  page: Page;
  /** Console messages and page errors, for a failing test's message. */
  errors: string[];
  close(): Promise<void>;
}

export async function browser(): Promise<Browser> {
  const profile = mkdtempSync('/var/tmp/berth-chromium-');
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1360, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // A refused request (a wrong password's 401, the history API's 404 before it exists) is logged by the browser
  // too; those are answers the page handles. Anything else the page logs as an error is a defect.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return {
    ctx,
    page,
    errors,
    async close() {
      await ctx.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => { message?: string } & Record<string, unknown>;
}

/** A plain HTTP request to the console, headers exactly as given (Host and Origin included). */
export function call(url: string, method: string, path: string, o: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), method, path, headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        resolve({ status: res.statusCode ?? 0, headers, text, json: () => JSON.parse(text) });
      });
    });
    // A server that refuses a body early (413) answers and closes before the body is all sent: the answer counts.
    req.on('error', (err) => setTimeout(() => reject(err), 2000));
    req.end(o.body);
  });
}

/** Sign in over HTTP: the session cookie and its CSRF token. */
export async function signIn(url: string, user: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const r = await call(url, 'POST', '/console/login', {
    headers: { Origin: url, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, password }),
  });
  if (r.status !== 200) throw new Error(`sign-in: ${r.status} ${r.text}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { cookie, csrf: String(r.json().csrf) };
}

/** Open a console WebSocket: how it ended (close code and reason), or the HTTP status it was refused with. */
export function wsOutcome(url: string, path: string, headers: Record<string, string>): Promise<{ status?: number; code?: number; reason?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + path, { headers });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ reason: 'timeout' });
    }, 20_000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve({ status: res.statusCode });
      res.resume();
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
    ws.on('error', () => {});
  });
}
