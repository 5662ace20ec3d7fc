/**
 * The websocket attach (GET /containers/{id}/attach/ws), as dockerd serves it
 * through golang.org/x/net/websocket: the handshake and its refusals (an
 * Origin is required), output as one binary message per write (text before
 * API 1.28), client messages to stdin, and the close as dockerd closes.
 * Object names start with `sw-`.
 */
import { scenario, type Recorder, type Side } from '../harness.js';
import { container, session, waitExit, wsClientFrame, wsFrames, wsKey, type SessionIO, type StreamAnswer } from './streams-wire.js';

const WS = 'GET /containers/{id}/attach/ws';
/** Headers whose values are the contract; of the others only their presence counts (Server, Api-Version). */
const CONTRACT = ['content-type', 'connection', 'upgrade', 'sec-websocket-version', 'sec-websocket-protocol'];

interface WsOptions {
  version?: string;
  origin?: boolean;
  headers?: Record<string, string>;
  talk?: (io: SessionIO) => Promise<void>;
  timeoutMs?: number;
}

/** A websocket attach on its own connection; `accept` is the Sec-WebSocket-Accept a correct server answers with. */
async function wsAttach(s: Side, path: string, o: WsOptions = {}): Promise<{ a: StreamAnswer; accept: string }> {
  const { key, accept } = wsKey();
  const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' };
  if (o.origin !== false) headers.Origin = 'http://localhost';
  const a = await session(s, 'GET', path, { version: o.version, headers: { ...headers, ...o.headers }, talk: o.talk, timeoutMs: o.timeoutMs });
  return { a, accept };
}

/** What a websocket client sees: the handshake's status and headers, then the messages by kind. */
function recordWs(rec: Recorder, label: string, { a, accept }: { a: StreamAnswer; accept: string }): void {
  const headers: Record<string, unknown> = {};
  for (const k of Object.keys(a.headers).sort()) {
    if (['date', 'keep-alive', 'content-length'].includes(k) || (k === 'connection' && !/upgrade/i.test(a.headers[k]!))) continue;
    headers[k] = k === 'sec-websocket-accept' ? a.headers[k] === accept : CONTRACT.includes(k) ? a.headers[k] : '(present)';
  }
  if (a.status !== 101) {
    rec.exact(label, { status: a.status, headers, body: a.body.toString(), timedOut: a.timedOut });
    return;
  }
  const frames = wsFrames(a.body);
  if (!frames) {
    rec.exact(label, { status: a.status, headers, body: 'not websocket frames', raw: a.body.toString() });
    return;
  }
  const data = frames.filter((f) => f.opcode !== 8);
  rec.exact(label, {
    status: a.status,
    headers,
    timedOut: a.timedOut,
    opcodes: [...new Set(data.map((f) => f.opcode))],
    text: data.map((f) => f.data).join(''),
    close: frames.filter((f) => f.opcode === 8).map((f) => [...Buffer.from(f.data)]),
  });
}

scenario({
  endpoints: [WS],
  name: 'websocket attach: the handshake, output as binary messages, input from a message',
  async run(s, rec) {
    // stderr only after the input, which waits for "ready": dockerd copies the two pipes independently, so their order is otherwise a race.
    const id = await container(s, 'sw-echo', { OpenStdin: true, Cmd: ['sh', '-c', 'echo ready; read x; echo "got $x" >&2'] }, false);
    recordWs(
      rec,
      'ws',
      await wsAttach(s, `/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`, {
        async talk(io) {
          await io.head;
          await s.api('POST', `/containers/${id}/start`);
          await io.until('ready');
          io.write(wsClientFrame(2, Buffer.from('hi\n')));
        },
      }),
    );
    // It has read its line and exited; a kill only matters where the input never arrived (it would wait on).
    await s.api('POST', `/containers/${id}/kill`);
    await waitExit(s, id);
    recordWs(rec, 'logs of a stopped container', await wsAttach(s, `/containers/${id}/attach/ws?logs=1&stdout=1`));
    recordWs(rec, 'stream of a stopped container', await wsAttach(s, `/containers/${id}/attach/ws?stream=1&stdout=1`, { timeoutMs: 3000 }));
  },
});

scenario({
  endpoints: [WS],
  name: 'websocket attach: a text message reaches stdin; text messages out before API 1.28; a TTY',
  async run(s, rec) {
    const id = await container(s, 'sw-text', { OpenStdin: true, Cmd: ['sh', '-c', 'echo ready; read x; echo "got $x"'] }, false);
    recordWs(
      rec,
      'api 1.27',
      await wsAttach(s, `/containers/${id}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`, {
        version: '1.27',
        async talk(io) {
          await io.head;
          await s.api('POST', `/containers/${id}/start`);
          await io.until('ready');
          io.write(wsClientFrame(1, Buffer.from('text\n')));
        },
      }),
    );
    const tty = await container(s, 'sw-tty', { OpenStdin: true, Tty: true, Cmd: ['sh', '-c', 'echo ready; read x; echo "got $x"'] }, false);
    recordWs(
      rec,
      'tty',
      await wsAttach(s, `/containers/${tty}/attach/ws?stream=1&stdin=1&stdout=1&stderr=1`, {
        async talk(io) {
          await io.head;
          await s.api('POST', `/containers/${tty}/start`);
          await io.until('ready');
          io.write(wsClientFrame(2, Buffer.from('tty\n')));
        },
      }),
    );
  },
});

scenario({
  endpoints: [WS],
  name: 'websocket attach: no Origin needed; refusals — not a websocket, a bad version, a missing container',
  async run(s, rec) {
    const id = await container(s, 'sw-refuse', { Cmd: ['sleep', '1000'] });
    const path = `/containers/${id}/attach/ws?stream=1&stdout=1`;
    recordWs(rec, 'no origin', await wsAttach(s, path, { origin: false, timeoutMs: 3000 }));
    recordWs(rec, 'bad version', await wsAttach(s, path, { headers: { 'Sec-WebSocket-Version': '12' }, timeoutMs: 3000 }));
    recordWs(rec, 'no key', await wsAttach(s, path, { headers: { 'Sec-WebSocket-Key': '' }, timeoutMs: 3000 }));
    rec.answer('plain GET', await s.api('GET', path, { timeoutMs: 3000 }), { exact: true });
    recordWs(rec, 'missing container', await wsAttach(s, '/containers/sw-none/attach/ws?stream=1&stdout=1', { timeoutMs: 3000 }));
    rec.answer('missing container, plain GET', await s.api('GET', '/containers/sw-none/attach/ws?stream=1&stdout=1'));
  },
});
