/**
 * The page shell and the bundled assets (dist/console/, made by
 * scripts/bundle-console.js from src/console/web/). Every page path answers
 * with the same shell, which loads one script and one stylesheet (no inline
 * script: the CSP forbids it); the script routes in the browser.
 */
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { sendError } from './http.js';

const ASSETS = fileURLToPath(new URL('../../console/', import.meta.url));
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', png: 'image/png', svg: 'image/svg+xml' };

const SHELL = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Berth console</title><link rel="icon" href="/assets/favicon.svg"><link rel="stylesheet" href="/assets/app.css">
</head><body><div id="app"></div><script type="module" src="/assets/app.js"></script></body></html>
`;

/** Every path a page of the front end may have (web/routes.ts decides which exist): a lowercase first segment, then anything. */
const PAGES = /^\/(?:[a-z][a-z0-9-]*(?:\/[^/?#]+)*\/?)?$/;

export function isPage(path: string): boolean {
  return PAGES.test(path);
}

export function servePage(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(SHELL), 'Cache-Control': 'no-store' });
  res.end(SHELL);
}

const cache = new Map<string, { raw: Buffer; gz: Buffer }>();

export async function serveAsset(path: string, res: ServerResponse, acceptGzip = true): Promise<void> {
  const name = path.slice('/assets/'.length);
  const ext = name.split('.').pop() ?? '';
  if (!/^[A-Za-z0-9-]+\.[a-z]+$/.test(name) || !TYPES[ext]) return sendError(res, 404, 'page not found');
  let file = cache.get(name);
  if (!file) {
    let raw: Buffer;
    try {
      raw = await readFile(ASSETS + name);
    } catch {
      return sendError(res, 404, 'page not found');
    }
    file = { raw, gz: gzipSync(raw, { level: 9 }) };
    cache.set(name, file);
  }
  const gz = acceptGzip && file.gz.length < file.raw.length;
  const body = gz ? file.gz : file.raw;
  res.writeHead(200, {
    'Content-Type': TYPES[ext]!,
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
    ...(gz ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
  });
  res.end(body);
}
