/**
 * Accepting a WebSocket (RFC 6455) on an Engine API request, as dockerd does
 * through golang.org/x/net/websocket's Server with no Handshake hook: no
 * Origin is required; a request that is not a version-13 websocket upgrade is
 * refused on the bare connection in that package's words (a status line, no
 * headers but Sec-WebSocket-Version for a bad version, the reason as the body,
 * then close). Framing is the `ws` package's; this module only decides what
 * dockerd would accept and how the connection ends.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Ctx } from './context.js';
import { drained } from './backpressure.js';

const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });

/** x/net/websocket's handshake checks in its order; the refusal (status, extra header, text) or null. */
function refusal(ctx: Ctx): { status: number; header?: string; text: string } | null {
  const h = ctx.req.headers;
  if (ctx.req.method !== 'GET') return { status: 405, text: 'bad method' };
  if (
    String(h.upgrade ?? '').toLowerCase() !== 'websocket' ||
    !String(h.connection ?? '')
      .toLowerCase()
      .includes('upgrade')
  ) {
    return { status: 400, text: 'not websocket protocol' };
  }
  if (!h['sec-websocket-key']) return { status: 400, text: 'mismatch challenge/response' };
  if (h['sec-websocket-version'] !== '13') return { status: 400, header: 'Sec-WebSocket-Version: 13\r\n', text: 'missing or bad WebSocket Version' };
  // With more than one subprotocol offered and none chosen, x/net cannot answer: a bare 400.
  if (
    String(h['sec-websocket-protocol'] ?? '')
      .split(',')
      .filter((p) => p.trim()).length > 1
  )
    return { status: 400, text: '' };
  return null;
}

/**
 * Upgrade the request to a WebSocket, or refuse it as dockerd does (then null:
 * the connection is closed). The answer carries none of the daemon's usual
 * headers: x/net writes its handshake on the hijacked connection.
 */
export function acceptWebSocket(ctx: Ctx): Promise<WebSocket | null> {
  const sock = ctx.req.socket as Socket;
  ctx.hijacked = true;
  const no = refusal(ctx);
  if (no) {
    sock.end(`HTTP/1.1 ${no.status} ${STATUS_CODES[no.status] ?? ''}\r\n${no.header ?? ''}\r\n${no.text}`);
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    let done = false;
    sock.once('close', () => {
      if (!done) resolve(null);
    });
    server.handleUpgrade(ctx.req, sock, ctx.upgradeHead ?? Buffer.alloc(0), (ws) => {
      done = true;
      resolve(ws);
    });
    // The server paused the socket to read the upgrade body; ws reads from it only once it flows.
    sock.resume();
  });
}

/** Send one message; resolves false once the client is gone. */
export async function sendMessage(ws: WebSocket, sock: Socket, data: Buffer, binary: boolean): Promise<boolean> {
  if (ws.readyState !== ws.OPEN) return false;
  ws.send(data, { binary });
  return sock.writableNeedDrain ? drained(sock) : true;
}

/** End as x/net's Conn.Close does: a close frame (1000, normal), then the connection closed at once, not waiting for the client's reply. */
export function closeWebSocket(ws: WebSocket, sock: Socket): void {
  if (ws.readyState === ws.OPEN) ws.close(1000);
  sock.end();
}
