/**
 * The Engine API over HTTP: version prefix handling, routing, and mapping
 * thrown errors to `{"message": …}` with Docker's status codes.
 *
 * One error boundary: everything a client sends — the request line and
 * headers (Node's parser, `clientError`), the target, the upgrade body, the
 * route's decoding and the engine's answer — is handled inside `handle()`'s
 * try or the parser's error hook, so a malformed request is a 4xx and never
 * takes the daemon down.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { InvalidArgumentError, statusOf, messageOf } from '../core/errors.js';
import { log } from '../core/log.js';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION, compareApiVersions } from '../core/version.js';
import type { Engine } from '../engine/engine.js';
import { Ctx } from './context.js';
import { Router } from './router.js';
import { parseTarget } from '../core/target.js';
import { systemRoutes } from './routes/system.js';
import { imageRoutes } from './routes/images.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { distributionRoutes } from './routes/distribution.js';
import { networkRoutes } from './routes/networks.js';
import { volumeRoutes } from './routes/volumes.js';
import { fileRoutes } from './routes/files.js';
import { buildRoutes } from './routes/build.js';
import { swarmRoutes } from './routes/swarm.js';
import { pluginRoutes } from './routes/plugins.js';
import { sessionRoutes } from './routes/session.js';
import { auditRoutes } from './routes/audit.js';
import { historyRoutes } from './routes/history.js';
import type { AuditGate, GateCall } from '../engine/audit/gate.js';
import { gateCall } from './guard.js';
import { identityOf } from '../engine/audit/identity.js';
import { CONSOLE_USER_HEADER } from '../core/console-user.js';

const COMMON_HEADERS = {
  'Api-Version': API_VERSION,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': `Berth/${BERTH_VERSION} (linux)`,
};

/** `gate`: the audit log and policy (berthd's); without it every call passes and nothing is recorded. */
export function buildRouter(gate?: AuditGate): Router {
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
  swarmRoutes(r);
  pluginRoutes(r);
  sessionRoutes(r);
  auditRoutes(r, gate);
  historyRoutes(r);
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

export function createApiServer(engine: Engine, gate?: AuditGate): Server {
  const router = buildRouter(gate);
  const server = createServer({ keepAlive: true }, (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    handle(engine, router, gate, req, res).catch((err) => lastResort(req, err));
  });
  // Bytes Node's HTTP parser refuses (bad request line, header syntax, lengths): Docker's JSON error shape, then close.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, text] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const body = JSON.stringify({ message: `${text.toLowerCase()}: ${err.code ?? err.message}` }) + '\n';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  // Clients that want a raw stream (attach, exec) ask to upgrade: same routes, and the handler hijacks the socket.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    // Node does not read the body of an upgrade request: take Content-Length bytes off the socket ourselves.
    // A reset on a socket taken over from Node must not surface as an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    readUpgradeBody(req, socket, head)
      .then(
        ({ body, rest }) => handle(engine, router, gate, req, res, rest, body),
        (err) => {
          sendError(res, statusOf(err), messageOf(err));
        },
      )
      .catch((err) => lastResort(req, err));
  });
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  return server;
}

/** A failure outside every handler's reach: logged, and the connection dropped rather than the daemon. */
function lastResort(req: IncomingMessage, err: unknown): void {
  log.error('request failed outside its handler', { method: req.method, url: req.url, error: messageOf(err) });
  req.socket.destroy();
}

/** The most an upgrade request (attach, exec start) may carry as a body: a small JSON object. */
const UPGRADE_BODY_LIMIT = 1 << 20;

async function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const raw = req.headers['content-length'] ?? '0';
  if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`invalid Content-Length: ${JSON.stringify(raw)}`);
  const want = Number(raw);
  if (want > UPGRADE_BODY_LIMIT) throw new InvalidArgumentError(`request body of ${raw} bytes is larger than the ${UPGRADE_BODY_LIMIT} bytes allowed`);
  let buf = head;
  while (buf.length < want) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (b: Buffer) => {
        socket.off('end', onEnd);
        resolve(b);
      };
      const onEnd = () => {
        socket.off('data', onData);
        resolve(null);
      };
      socket.once('data', onData);
      socket.once('end', onEnd);
    });
    if (!chunk) break;
    buf = Buffer.concat([buf, chunk]);
  }
  socket.pause();
  return { body: buf.subarray(0, want), rest: buf.subarray(want) };
}

async function handle(
  engine: Engine,
  router: Router,
  gate: AuditGate | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  upgradeHead?: Buffer,
  upgradeBody?: Buffer,
): Promise<void> {
  const started = performance.now();
  // Only berthd's private console socket may name a console user (engine/audit/identity.ts).
  if (!identityOf(req.socket).console) delete req.headers[CONSOLE_USER_HEADER];
  let path = req.url ?? '/';
  let ctx: Ctx | undefined;
  let call: GateCall | undefined;
  let denied = false;
  let recorded = false;
  /** The route template the router matched, for the metrics ("unmatched" for a 404 of the router). */
  let route = 'unmatched';
  // The audit line is written before the answer's last bytes leave: a client that has its answer finds its line.
  const record = (): void => {
    if (!gate || recorded) return;
    recorded = true;
    const status = ctx?.hijacked ? (ctx.upgrade ? 101 : 200) : res.statusCode;
    gate.done(call ?? gateCall(req, (req.url ?? '/').split('?')[0]!), status, started, denied);
  };
  if (gate) {
    const end = res.end;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      record();
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.end;
  }
  try {
    const target = parseTarget(req.url ?? '/');
    path = target.path;
    let version = API_VERSION;
    const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
    if (m) {
      version = m[1]!;
      path = m[2]!;
      if (compareApiVersions(version, API_VERSION) > 0) {
        throw new InvalidArgumentError(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      if (compareApiVersions(version, MIN_API_VERSION) < 0) {
        throw new InvalidArgumentError(
          `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
        );
      }
    }
    const method = req.method === 'HEAD' && path !== '/_ping' && !path.includes('/archive') ? 'GET' : (req.method ?? 'GET');
    const hit = router.match(method, path);
    if (hit === undefined || hit === 'methodMismatch') {
      req.resume();
      return sendError(res, 404, 'page not found');
    }
    route = hit.pattern;
    // The policy judges the route the router resolved, never the raw path.
    if (gate) {
      call = gateCall(req, target.path, { method, pattern: hit.pattern, params: hit.params }, target.query);
      const verdict = gate.decide(call);
      if (!verdict.allowed) {
        denied = true;
        req.resume();
        return sendError(res, 403, verdict.message);
      }
    }
    ctx = new Ctx(req, res, engine, hit.params, target.query, version);
    ctx.upgradeHead = upgradeHead;
    ctx.presetBody = upgradeBody;
    await hit.handler(ctx);
  } catch (err) {
    const status = statusOf(err);
    if (ctx?.hijacked) {
      log.warn('hijacked stream failed', { path, error: messageOf(err) });
      req.socket.destroy();
      return;
    }
    if (status >= 500) log.error('handler failed', { method: req.method, path, error: messageOf(err) });
    req.resume();
    sendError(res, status, messageOf(err));
  } finally {
    log.debug('request', { method: req.method, path, ms: Math.round(performance.now() - started) });
    record();
    const status = ctx?.hijacked ? (ctx.upgrade ? 101 : 200) : res.statusCode;
    engine.metrics.observeRequest(route, req.method ?? 'GET', status, (performance.now() - started) / 1000);
  }
}
