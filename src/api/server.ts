/**
 * The Engine API over HTTP: version prefix handling, routing, and mapping
 * thrown errors to `{"message": …}` with Docker's status codes.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { statusOf, messageOf } from '../core/errors.js';
import { log } from '../core/log.js';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION, compareApiVersions } from '../core/version.js';
import type { Engine } from '../engine/engine.js';
import { Ctx } from './context.js';
import { Router } from './router.js';
import { systemRoutes } from './routes/system.js';
import { imageRoutes } from './routes/images.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { distributionRoutes } from './routes/distribution.js';
import { networkRoutes } from './routes/networks.js';
import { volumeRoutes } from './routes/volumes.js';
import { fileRoutes } from './routes/files.js';
import { buildRoutes } from './routes/build.js';

const COMMON_HEADERS = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': `Berth/${BERTH_VERSION} (linux)`,
};

export function buildRouter(): Router {
  const r = new Router();
  systemRoutes(r);
  distributionRoutes(r);
  imageRoutes(r);
  containerRoutes(r);
  execRoutes(r);
  networkRoutes(r);
  volumeRoutes(r);
  fileRoutes(r);
  buildRoutes(r);
  return r;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    // Mid-stream: Docker's clients read an error message on the JSON stream.
    if (!res.writableEnded) res.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\r\n');
    return;
  }
  const body = JSON.stringify({ message }) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function createApiServer(engine: Engine): Server {
  const router = buildRouter();
  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    void handle(engine, router, req, res);
  });
  // Clients that want a raw stream (attach, exec) ask to upgrade: same routes, and the handler hijacks the socket.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    // Node does not read the body of an upgrade request: take Content-Length bytes off the socket ourselves.
    void readUpgradeBody(req, socket, head).then(({ body, rest }) => handle(engine, router, req, res, rest, body));
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  return server;
}

async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const want = Number(req.headers['content-length'] ?? 0);
  let buf = head;
  while (buf.length < want) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer) => { socket.off('end', onEnd); resolve(b); };
      const onEnd = () => { socket.off('data', onData); resolve(null); };
      socket.once('data', onData);
      socket.once('end', onEnd);
    });
    if (!chunk) break;
    buf = Buffer.concat([buf, chunk]);
  }
  socket.pause();
  return { body: buf.subarray(0, want), rest: buf.subarray(want) };
}

async function handle(engine: Engine, router: Router, req: IncomingMessage, res: ServerResponse, upgradeHead?: Buffer, upgradeBody?: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://berth');
  let path = url.pathname;
  let version = API_VERSION;
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  if (m) {
    version = m[1];
    path = m[2];
    if (compareApiVersions(version, API_VERSION) > 0) {
      return sendError(res, 400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
    }
    if (compareApiVersions(version, MIN_API_VERSION) < 0) {
      return sendError(res, 400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
  }
  const method = req.method === 'HEAD' && path !== '/_ping' && !path.includes('/archive') ? 'GET' : req.method ?? 'GET';
  const hit = router.match(method, path);
  if (hit === undefined || hit === 'methodMismatch') {
    req.resume();
    return sendError(res, 404, 'page not found');
  }
  const started = Date.now();
  const ctx = new Ctx(req, res, engine, hit.params, url.searchParams, version);
  ctx.upgradeHead = upgradeHead;
  ctx.presetBody = upgradeBody;
  try {
    await hit.handler(ctx);
  } catch (err) {
    const status = statusOf(err);
    if (ctx.hijacked) {
      log.warn('hijacked stream failed', { path, error: messageOf(err) });
      req.socket.destroy();
      return;
    }
    if (status >= 500) log.error('handler failed', { method: req.method, path, error: messageOf(err) });
    req.resume();
    sendError(res, status, messageOf(err));
  } finally {
    log.debug('request', { method: req.method, path: url.pathname, ms: Date.now() - started });
  }
}
