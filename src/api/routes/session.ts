/**
 * POST /session: the long-lived connection a BuildKit client opens beside a
 * build. dockerd's session manager checks the upgrade (h2c only) and the
 * session ID, answers 101, and holds the connection while the client is there.
 * Berth has no BuildKit, so nothing ever calls back over the session: it is
 * accepted in dockerd's words and held idle until the client closes it (the
 * engine's Sessions refuses a second one with the same ID).
 */
import type { Ctx } from '../context.js';
import type { Router } from '../router.js';

async function session(ctx: Ctx): Promise<void> {
  const id = String(ctx.req.headers['x-docker-expose-session-uuid'] ?? '');
  const proto = String(ctx.req.headers.upgrade ?? '');
  const release = ctx.engine.sessions.open(id, proto);
  const sock = ctx.req.socket;
  ctx.hijacked = true;
  sock.setTimeout(0);
  sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  await new Promise<void>((resolve) => {
    const done = () => {
      release();
      resolve();
    };
    sock.once('close', done);
    sock.on('error', () => sock.destroy());
    sock.resume();
  });
}

export function sessionRoutes(r: Router): void {
  r.post('/session', session);
}
