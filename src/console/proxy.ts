/**
 * The browser's Engine API calls (`/console/api/<path>`) forwarded to berthd
 * over its private console socket, naming the signed-in user in the header
 * berthd trusts only there (core/console-user.ts), so its audit log records
 * `console:<user>`. Only the headers the API reads pass (never the cookie);
 * bodies are capped; answers stream through (logs, stats, events follow),
 * and a browser that goes away ends the upstream request, which releases
 * the stream in berthd.
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { CONSOLE_USER_HEADER } from '../core/console-user.js';
import { HttpError, readBody, sendError } from './http.js';

/** The largest body the console sends through (a create request, a tag): far below any upload's size. */
export const PROXY_BODY_LIMIT = 1 << 20;
const FORWARD = ['content-type', 'x-registry-auth', 'accept'];

export async function proxy(socketPath: string, user: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!path.startsWith('/') || path.startsWith('//')) throw new HttpError(400, 'invalid API path');
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, PROXY_BODY_LIMIT);
  const headers: Record<string, string> = { Host: 'console.berth.localhost', [CONSOLE_USER_HEADER]: user };
  for (const h of FORWARD) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  if (body) headers['content-length'] = String(body.length);
  await new Promise<void>((resolve) => {
    const up = request({ socketPath, method, path, headers }, (answer: IncomingMessage) => {
      const out: Record<string, string> = { 'Cache-Control': 'no-store' };
      const type = answer.headers['content-type'];
      if (type) out['Content-Type'] = type;
      res.writeHead(answer.statusCode ?? 502, out);
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('end', resolve);
    });
    // The browser left: drop the upstream request, so berthd ends the stream it was following.
    res.on('close', () => {
      up.destroy();
      resolve();
    });
    up.on('error', (err) => {
      if (!res.headersSent) sendError(res, 502, `the Berth daemon did not answer: ${err.message}`);
      else res.destroy();
      resolve();
    });
    up.end(body);
  });
}
