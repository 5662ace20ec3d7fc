/**
 * Wire helpers for the stream scenarios (exec, attach, logs): a hijacked or
 * plain request on its own connection that a scenario can talk into while it
 * reads, and a recording of what a client sees on it — status line, the
 * headers that carry the contract, and the body as frames or raw bytes.
 * Registers no scenario itself.
 */
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { REFERENCE_API, dechunk, splitHttp, streams, type Recorder, type Side } from '../harness.js';

export interface StreamAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The connection was still open when the session gave up on it. */
  timedOut: boolean;
}

export interface SessionIO {
  /** Resolves once the status line and headers have arrived. */
  head: Promise<{ status: number; headers: Record<string, string> }>;
  write(data: string | Buffer): void;
  /** Half-close: the client has no more input. */
  end(): void;
  /** Body bytes received so far. */
  received(): Buffer;
  /** Resolves when the body so far contains `text`. */
  until(text: string): Promise<void>;
}

export interface SessionOptions {
  /** Ask to upgrade (the docker CLI does); otherwise a plain request whose answer is the stream. */
  upgrade?: boolean;
  body?: unknown;
  version?: string;
  /** Bytes sent right after the request, in the same write (input typed before the answer). */
  early?: string | Buffer;
  /** Extra request headers. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Talks to the stream while it is read. */
  talk?: (io: SessionIO) => Promise<void>;
}

/** One request on its own connection, read until the daemon closes it (or timeoutMs). */
export function session(s: Side, method: string, path: string, o: SessionOptions = {}): Promise<StreamAnswer> {
  const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(o.body));
  const head =
    [
      `${method} /v${o.version ?? REFERENCE_API}${path} HTTP/1.1`,
      'Host: api',
      ...(o.upgrade ? ['Connection: Upgrade', 'Upgrade: tcp'] : []),
      ...(o.body === undefined ? [] : ['Content-Type: application/json']),
      `Content-Length: ${body.length}`,
      ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ].join('\r\n') + '\r\n\r\n';
  return new Promise((resolve) => {
    const sock = connect(s.socket);
    let buf = Buffer.alloc(0);
    let headEnd = -1;
    let timedOut = false;
    let waiters: Array<() => void> = [];
    let onHead!: (h: { status: number; headers: Record<string, string> }) => void;
    const headP = new Promise<{ status: number; headers: Record<string, string> }>((r) => {
      onHead = r;
    });
    const bodyNow = () => (headEnd < 0 ? Buffer.alloc(0) : buf.subarray(headEnd + 4));
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      const h = splitHttp(buf);
      if (headEnd < 0) onHead({ status: h.status, headers: h.headers });
      for (const w of waiters) w();
      resolve({ ...h, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      done();
    }, o.timeoutMs ?? 10_000);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (headEnd < 0) {
        headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd >= 0) {
          const h = splitHttp(buf);
          onHead({ status: h.status, headers: h.headers });
        }
      }
      const pending = waiters;
      waiters = [];
      for (const w of pending) w();
    });
    sock.on('close', done);
    sock.on('error', done);
    sock.on('connect', () => {
      sock.write(Buffer.concat([Buffer.from(head), body, Buffer.from(o.early ?? '')]));
      const io: SessionIO = {
        head: headP,
        write: (d) => {
          if (!sock.destroyed) sock.write(d);
        },
        end: () => {
          if (!sock.destroyed) sock.end();
        },
        received: bodyNow,
        until: (text) =>
          new Promise<void>((r) => {
            const check = () => {
              if (bodyNow().includes(text) || sock.destroyed) r();
              else waiters.push(check);
            };
            check();
          }),
      };
      o.talk?.(io).catch(() => sock.destroy());
    });
  });
}

/** Headers whose names and values are the contract of a stream answer (Date and the server's name aside). */
const CONTRACT = ['content-type', 'connection', 'upgrade', 'transfer-encoding', 'content-length', 'docker-experimental', 'ostype'];

/**
 * Record a stream answer: status, contract headers, which other headers are
 * present, and the body — per stream when it is multiplexed, as raw text
 * otherwise (`raw` says which it was).
 */
export function recordStream(rec: Recorder, label: string, a: StreamAnswer, o: { chunked?: boolean } = {}): void {
  const headers: Record<string, string> = {};
  for (const k of Object.keys(a.headers).sort()) headers[k] = CONTRACT.includes(k) ? a.headers[k]! : '(present)';
  delete headers['date'];
  // Keep-alive on an ordinary answer is HTTP plumbing (Node says it, Go leaves it implied), not the stream's contract.
  delete headers['keep-alive'];
  if (headers['connection'] && !/upgrade/i.test(headers['connection'])) delete headers['connection'];
  const body = o.chunked && a.headers['transfer-encoding'] === 'chunked' ? dechunk(a.body) : a.body;
  const s = streams(body);
  rec.exact(label, {
    status: a.status,
    headers,
    timedOut: a.timedOut,
    body: a.status >= 400 || s === 'raw' ? { raw: body.toString() } : s,
  });
}

/** Create (and start) a container; its ID. */
export async function container(s: Side, name: string, cfg: Record<string, unknown>, start = true): Promise<string> {
  const c = await s.api('POST', `/containers/create?name=${name}`, { body: { Image: 'busybox', ...cfg } });
  const id = (c.json as { Id?: string })?.Id;
  if (!id) throw new Error(`${s.name}: create ${name}: ${c.status} ${c.text}`);
  if (start) {
    const st = await s.api('POST', `/containers/${id}/start`);
    if (st.status !== 204) throw new Error(`${s.name}: start ${name}: ${st.status} ${st.text}`);
  }
  return id;
}

/** Create an exec; its ID (throws when create fails: use s.api to see a refusal). */
export async function execCreate(s: Side, cid: string, cfg: Record<string, unknown>): Promise<string> {
  const e = await s.api('POST', `/containers/${cid}/exec`, { body: cfg });
  const id = (e.json as { Id?: string })?.Id;
  if (!id) throw new Error(`${s.name}: exec create: ${e.status} ${e.text}`);
  return id;
}

/** Exec inspect with its Pid reduced to its type (pids are the host's). */
export async function execInspect(s: Side, id: string): Promise<unknown> {
  const j = (await s.api('GET', `/exec/${id}/json`)).json as Record<string, unknown>;
  return j && typeof j === 'object' && 'Pid' in j ? { ...j, Pid: typeof j.Pid } : j;
}

/** Type keys one at a time, as a person does (dockerd's escape proxy matches a sequence only across single-byte reads). */
export async function typeKeys(io: SessionIO, keys: string): Promise<void> {
  for (const k of keys) {
    io.write(k);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Wait until a container (or an exec) reports it no longer runs, through the API's own wait. */
export async function waitExit(s: Side, cid: string): Promise<number> {
  const w = await s.api('POST', `/containers/${cid}/wait`);
  return (w.json as { StatusCode: number }).StatusCode;
}

/** The WebSocket handshake key and the accept value a server must answer with (RFC 6455 §4.2.2). */
export function wsKey(): { key: string; accept: string } {
  const key = randomBytes(16).toString('base64');
  return {
    key,
    accept: createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64'),
  };
}

/** A masked client frame (RFC 6455 §5.2): clients must mask what they send. */
export function wsClientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}

/** Server frames: their opcodes and payloads; null when the bytes are not WebSocket frames. */
export function wsFrames(buf: Buffer): Array<{ opcode: number; data: string }> | null {
  const out: Array<{ opcode: number; data: string }> = [];
  let i = 0;
  while (i < buf.length) {
    if (buf.length - i < 2) return null;
    const opcode = buf[i]! & 0x0f;
    const masked = (buf[i + 1]! & 0x80) !== 0;
    let len = buf[i + 1]! & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    const mask = masked ? buf.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (p + len > buf.length) return null;
    const data = Buffer.from(buf.subarray(p, p + len));
    if (mask) for (let k = 0; k < data.length; k++) data[k]! ^= mask[k % 4]!;
    out.push({ opcode, data: data.toString() });
    i = p + len;
  }
  return out;
}
