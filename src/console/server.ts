/**
 * The web console's server: one HTTP(S) listener that serves the page shell
 * and its bundled assets, signs users in (auth/), and forwards the browser's
 * Engine API calls to berthd over the private console socket (proxy.ts) and
 * terminals over WebSockets (exec-ws.ts). Every request is handled inside one
 * error boundary; state-changing requests need the session's CSRF token and
 * the console's own Origin; nothing answers with CORS headers.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { log } from '../core/log.js';
import { CONSOLE_USER_NAME } from '../core/console-user.js';
import { HttpError, ownOrigin, readForm, sameOrigin, securityHeaders, sendError, sendJson } from './http.js';
import { csrfMatches, type Session, Sessions, type SessionLimits, sessionCookie } from './auth/sessions.js';
import { SetupToken } from './auth/setup.js';
import { SignInLimiter } from './auth/ratelimit.js';
import { UserStore } from './auth/users.js';
import { proxy } from './proxy.js';
import { execSession } from './exec-ws.js';
import { isPage, serveAsset, servePage } from './static.js';
import { RegistryRoutes } from './registries/routes.js';

export interface ConsoleOptions {
  host: string;
  port: number;
  /** berthd's private console socket (0600): where API calls go. */
  apiSocket: string;
  /** htpasswd file (bcrypt), or undefined: users set up through the setup link, stored under dataRoot. */
  htpasswd?: string;
  dataRoot: string;
  tls?: { cert: Buffer; key: Buffer };
  limits?: SessionLimits;
}

export interface ConsoleServer {
  /** The console's base URL, e.g. http://127.0.0.1:9000 */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 1 << 20 });

export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  const scheme = o.tls ? 'https' : 'http';
  const secure = !!o.tls;
  const users = new UserStore(o.htpasswd, join(o.dataRoot, 'console', 'users.json'));
  const sessions = new Sessions(o.limits);
  const setup = new SetupToken();
  const limiter = new SignInLimiter();
  const registries = new RegistryRoutes(join(o.dataRoot, 'console', 'registries.json'));

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status >= 500) log.error('console: request failed', { method: req.method, url: req.url, error: (err as Error).message });
      sendError(res, status, (err as Error).message);
    });
  };
  const server: Server = o.tls ? createHttpsServer({ ...o.tls, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
  server.headersTimeout = 20_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 100;
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `${scheme}://${hostPart}:${port}`;
  // The Host names this console answers to (anti DNS rebinding); a wildcard bind answers to any.
  const wildcard = o.host === '0.0.0.0' || o.host === '::' || o.host === '';
  const hosts = wildcard ? undefined : new Set([`${hostPart}:${port}`.toLowerCase()]);
  if (hosts && LOOPBACK.has(o.host)) for (const h of ['127.0.0.1', '[::1]', 'localhost']) hosts.add(`${h}:${port}`);

  if (users.needsSetup()) {
    const token = setup.issue();
    log.warn(`Console setup link (single use, expires in 1 hour): ${url}/setup?token=${token}`);
  }

  const sessionOf = (req: IncomingMessage): Session | undefined => sessions.get(sessionCookie(req.headers.cookie));

  /** A session, or the 401 every API call without one gets. */
  const signedIn = (req: IncomingMessage): Session => {
    const s = sessionOf(req);
    if (!s) throw new HttpError(401, 'sign in required: no session, or it expired');
    return s;
  };
  /** Every state-changing request: the console's Origin and the session's CSRF token. */
  const checkAction = (req: IncomingMessage, s: Session | undefined): void => {
    if (!sameOrigin(req, ownOrigin(req, scheme, hosts))) throw new HttpError(403, 'forbidden: the request does not come from the console (Origin mismatch)');
    const token = req.headers['x-csrf-token'];
    if (s && !csrfMatches(s, typeof token === 'string' ? token : undefined)) throw new HttpError(403, 'forbidden: missing or invalid CSRF token');
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const api = path.startsWith('/console/');
    securityHeaders(res, api);
    if (ownOrigin(req, scheme, hosts) === undefined) throw new HttpError(421, 'this console does not answer to that Host name');
    const method = req.method ?? 'GET';
    const safe = method === 'GET' || method === 'HEAD';
    if (path.startsWith('/assets/')) return serveAsset(path, res, /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')));
    if (!api) {
      if (!safe || !isPage(path)) return sendError(res, 404, 'page not found');
      const s = sessionOf(req);
      if (path === '/setup') {
        if (!users.needsSetup()) return redirect(res, '/login');
        return servePage(res);
      }
      if (path === '/login') return s ? redirect(res, '/') : servePage(res);
      if (!s) return redirect(res, `/login?next=${encodeURIComponent(path)}`);
      return servePage(res);
    }
    if (path === '/console/session' && safe) {
      const s = sessionOf(req);
      if (!s) return sendJson(res, 401, { message: 'sign in required', setup: users.needsSetup() });
      return sendJson(res, 200, { user: s.user, csrf: s.csrf });
    }
    if (path === '/console/login' && method === 'POST') return login(req, res);
    if (path === '/console/setup' && method === 'POST') return firstUser(req, res);
    if (path === '/console/logout' && method === 'POST') {
      const s = signedIn(req);
      checkAction(req, s);
      sessions.end(s.id);
      return sendJson(res, 200, { message: 'signed out' }, { 'Set-Cookie': Sessions.clearCookie(secure) });
    }
    if (path.startsWith('/console/api/')) {
      const s = signedIn(req);
      if (!safe) checkAction(req, s);
      return proxy(o.apiSocket, s.user, (req.url ?? '/').slice('/console/api'.length), req, res);
    }
    if (path === '/console/registries' || path.startsWith('/console/registries/')) {
      const s = signedIn(req);
      if (!safe) checkAction(req, s);
      const query = new URL(req.url ?? '/', 'http://console').searchParams;
      return registries.handle(s.user, method, path.slice('/console/registries'.length), query, req, res);
    }
    return sendError(res, 404, 'page not found');
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkAction(req, undefined);
    const from = req.socket.remoteAddress ?? '?';
    const wait = limiter.retryAfter(from);
    if (wait) return sendError(res, 429, `too many sign-in attempts: try again in ${wait} s`, { 'Retry-After': String(wait) });
    const f = await readForm(req, ['user', 'password']);
    if (await users.verify(f.user!, f.password!)) {
      limiter.succeed(from);
      const s = sessions.create(f.user!);
      log.info('console: signed in', { user: f.user, remote: from });
      return sendJson(res, 200, { user: s.user, csrf: s.csrf }, { 'Set-Cookie': sessions.cookie(s, secure) });
    }
    limiter.fail(from);
    log.warn('console: sign-in refused', { remote: from });
    // A small delay on every failure, on top of bcrypt's own cost.
    await new Promise((r) => setTimeout(r, 400));
    return sendError(res, 401, 'invalid user name or password');
  }

  async function firstUser(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkAction(req, undefined);
    const f = await readForm(req, ['token', 'user', 'password']);
    if (!users.needsSetup() || !setup.check(f.token)) throw new HttpError(403, 'the setup link is invalid, used or expired: restart berthd for a new one');
    if (!CONSOLE_USER_NAME.test(f.user!)) throw new HttpError(400, 'user name: 1 to 64 letters, digits, ".", "_", "@" or "-"');
    if (f.password!.length < 8 || f.password!.length > 72) throw new HttpError(400, 'password: 8 to 72 characters');
    if (!setup.check(f.token, true)) throw new HttpError(403, 'the setup link is invalid, used or expired: restart berthd for a new one');
    await users.add(f.user!, f.password!);
    const s = sessions.create(f.user!);
    log.info('console: first user created', { user: f.user });
    return sendJson(res, 200, { user: s.user, csrf: s.csrf }, { 'Set-Cookie': sessions.cookie(s, secure) });
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      const body = JSON.stringify({ message: text });
      socket.end(
        `HTTP/1.1 ${status} ${text.split(':')[0]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    try {
      const u = new URL(req.url ?? '/', 'http://console');
      if (u.pathname !== '/console/ws/exec') return refuse(404, 'page not found');
      const s = sessionOf(req);
      if (!s) return refuse(401, 'sign in required: no session, or it expired');
      if (!sameOrigin(req, ownOrigin(req, scheme, hosts))) return refuse(403, 'forbidden: the request does not come from the console (Origin mismatch)');
      if (!csrfMatches(s, u.searchParams.get('csrf') ?? undefined)) return refuse(403, 'forbidden: missing or invalid CSRF token');
      wss.handleUpgrade(req, socket, head, (ws) => {
        execSession(ws, o.apiSocket, s.user, u.searchParams).catch((err: Error) => {
          log.error('console: terminal failed', { error: err.message });
          ws.terminate();
        });
      });
    } catch (err) {
      refuse(400, `bad request: ${(err as Error).message}`);
    }
  });

  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(302, { Location: to, 'Content-Length': 0, 'Cache-Control': 'no-store' });
  res.end();
}
