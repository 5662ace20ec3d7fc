/**
 * The browser terminal: a WebSocket per exec session. The console creates an
 * exec with a TTY in the container (`POST /containers/{id}/exec`), or takes
 * an exec the page created, starts it hijacked (`POST /exec/{id}/start`)
 * over berthd's private console socket, and pipes bytes both ways; resize
 * messages become `POST /exec/{id}/resize`. A container or exec that does
 * not exist closes the socket with the API's words (code 4404); a browser
 * that goes away ends the shell (^D, as a closed terminal) and drops the exec stream.
 *
 * Browser → console: binary frames or `{"type":"input","data":…}` are
 * keystrokes, `{"type":"resize","cols":…,"rows":…}` resizes.
 * Console → browser: binary frames of terminal output.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { ApiError, Client } from '../client/client.js';
import { CONSOLE_USER_HEADER } from '../core/console-user.js';
import { log } from '../core/log.js';

const HIGH_WATER = 1 << 20;

/** A close reason fits in 123 bytes. */
function reason(text: string): string {
  let r = text;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

function dimension(v: string | null, def: number): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n <= 1000 ? n : def;
}

export async function execSession(ws: WebSocket, socketPath: string, user: string, params: URLSearchParams): Promise<void> {
  const client = new Client(`unix://${socketPath}`);
  const headers = { [CONSOLE_USER_HEADER]: user };
  let stream: Socket | undefined;
  let closed = false;
  ws.on('close', () => {
    closed = true;
    // As a closed terminal window: the shell at its prompt gets end-of-input (^D) and exits, so berthd's
    // exec session ends too; then the connection is dropped either way.
    if (stream?.writable) {
      const s = stream;
      s.end('\x04');
      setTimeout(() => s.destroy(), 2000).unref();
    } else stream?.destroy();
    client.close();
  });
  ws.on('error', () => ws.terminate());
  const fail = (code: number, text: string) => {
    if (!closed) ws.close(code, reason(text));
  };
  try {
    const cols = dimension(params.get('cols'), 80);
    const rows = dimension(params.get('rows'), 24);
    let execId = params.get('exec') ?? '';
    const container = params.get('container') ?? '';
    if (!execId) {
      if (!container) return fail(4400, 'container or exec is required');
      const cmd = params.get('cmd') || '/bin/sh';
      const made = await client.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(container)}/exec`, {
        headers,
        body: { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Cmd: [cmd], ConsoleSize: [rows, cols], Env: ['TERM=xterm-256color'] },
      });
      execId = made.Id;
    }
    if (closed) return;
    stream = await client.hijack('POST', `/exec/${encodeURIComponent(execId)}/start`, {
      headers,
      body: { Detach: false, Tty: true, ConsoleSize: [rows, cols] },
    });
    if (closed) {
      stream.destroy();
      return;
    }
    const s = stream;
    s.on('data', (b: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(b, { binary: true });
      if (ws.bufferedAmount > HIGH_WATER) {
        s.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount < HIGH_WATER / 4 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            s.resume();
          }
        }, 20);
      }
    });
    s.on('end', () => fail(1000, 'the process exited'));
    s.on('error', () => fail(1011, 'the exec stream failed'));
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (binary) return void s.write(data);
      let m: { type?: unknown; data?: unknown; cols?: unknown; rows?: unknown };
      try {
        m = JSON.parse(data.toString('utf8')) as typeof m;
      } catch {
        return fail(4400, 'messages are JSON: {"type":"input"|"resize",…}');
      }
      if (m.type === 'input' && typeof m.data === 'string') s.write(m.data);
      else if (m.type === 'resize') {
        const w = dimension(String(m.cols), 0);
        const h = dimension(String(m.rows), 0);
        if (!w || !h) return fail(4400, 'resize needs cols and rows between 1 and 1000');
        client.json('POST', `/exec/${encodeURIComponent(execId)}/resize`, { headers, query: { h, w } }).catch((err: Error) => {
          log.debug('console: exec resize failed', { exec: execId, error: err.message });
        });
      } else fail(4400, 'unknown message type');
    });
  } catch (err) {
    if (err instanceof ApiError) return fail(err.status === 404 ? 4404 : 4000 + Math.min(err.status, 599), err.message);
    fail(1011, (err as Error).message);
  }
}
