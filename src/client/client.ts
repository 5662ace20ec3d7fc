/**
 * A typed client for the Engine API over a unix socket. The CLI and the
 * tests use it; it knows nothing of the engine, only HTTP.
 */
import { request as httpRequest, Agent, type IncomingMessage, type RequestOptions as HttpRequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { API_VERSION } from '../core/version.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached at all. */
export class ConnectError extends Error {
  constructor(
    readonly host: string,
    readonly code: string | undefined,
  ) {
    super(`Cannot connect to the Berth daemon at ${host}. Is the berth daemon running?`);
  }
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface RequestOptions {
  query?: Query;
  /** A JSON value, a buffer, or a stream sent as the body. */
  body?: unknown;
  headers?: Record<string, string>;
}

function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else if (typeof v === 'boolean') {
      if (v) p.set(k, '1');
    } else p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/** Read an error answer's body and reject with it: Docker's `{"message": …}`, or the plain text itself. */
function rejectWithApiError(res: IncomingMessage, reject: (err: Error) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      /* plain text */
    }
    reject(new ApiError(res.statusCode ?? 500, message));
  });
}

export class Client {
  readonly socketPath: string;
  private readonly agent = new Agent({ keepAlive: true });
  /**
   * Called once, on the first refused connection, before that request is
   * retried (the CLI starts a daemon there). A request whose body is a
   * stream cannot be sent twice, so it pings first instead.
   */
  onUnreachable?: () => Promise<void>;

  constructor(
    readonly host: string,
    readonly apiVersion = API_VERSION,
  ) {
    this.socketPath = host.startsWith('unix://') ? host.slice(7) : host;
  }

  /** Send a request; resolves with the response once headers arrive. Errors (status ≥ 400) throw ApiError. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const streaming = opts.body !== undefined && typeof (opts.body as Readable).pipe === 'function';
    if (streaming && this.onUnreachable && !(await this.ping())) await this.unreachable();
    return this.reachable(() => this.send(method, path, opts));
  }

  /** Run a request, and once more after onUnreachable if the daemon refused the connection. */
  private async reachable<T>(send: () => Promise<T>): Promise<T> {
    let r: T;
    try {
      r = await send();
    } catch (err) {
      if (!(err instanceof ConnectError) || !this.onUnreachable) {
        this.onUnreachable = undefined;
        throw err;
      }
      await this.unreachable();
      r = await send();
    }
    // Reached once: a later refusal is an error (the daemon went away mid-command).
    this.onUnreachable = undefined;
    return r;
  }

  private async unreachable(): Promise<void> {
    const h = this.onUnreachable;
    this.onUnreachable = undefined;
    await h?.();
  }

  /** A refused or missing socket is a ConnectError (the daemon is not there); anything else stays as it is. */
  private connectError(err: NodeJS.ErrnoException): Error {
    return ['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(err.code ?? '') ? new ConnectError(this.host, err.code) : err;
  }

  private send(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      let payload: Buffer | undefined;
      const body = opts.body;
      const streaming = body !== undefined && typeof (body as Readable).pipe === 'function';
      if (body !== undefined && !streaming) {
        payload = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
        headers['Content-Type'] ??= Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json';
        headers['Content-Length'] = String(payload.length);
      }
      const req = httpRequest(
        {
          socketPath: this.socketPath,
          method,
          path: `/v${this.apiVersion}${path}${encodeQuery(opts.query)}`,
          headers: { Host: 'api.moby.localhost', 'User-Agent': 'berth-cli', ...headers },
          agent: this.agent,
          // No TLS over a unix socket: an empty server name spares the agent an IP-address check that costs milliseconds on first use.
          servername: '',
        } as HttpRequestOptions,
        (res) => {
          if ((res.statusCode ?? 500) < 400) return resolve(res);
          rejectWithApiError(res, reject);
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      if (streaming) (body as Readable).pipe(req);
      else req.end(payload);
    });
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await readAll(res);
    return (text.length ? JSON.parse(text.toString('utf8')) : undefined) as T;
  }

  /** Read a stream of JSON messages (progress, events), one callback each. */
  async stream(res: IncomingMessage, onMessage: (m: Record<string, unknown>) => void): Promise<void> {
    let buf = '';
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onMessage(JSON.parse(line) as Record<string, unknown>);
      }
    }
    if (buf.trim()) onMessage(JSON.parse(buf) as Record<string, unknown>);
  }

  /**
   * Ask for a raw stream (attach, exec start): the daemon answers 101 and the
   * connection becomes a plain byte pipe both ways.
   */
  hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Socket> {
    return this.reachable(() => this.sendHijack(method, path, opts));
  }

  private sendHijack(method: string, path: string, opts: RequestOptions): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
      const req = httpRequest({
        socketPath: this.socketPath,
        method,
        path: `/v${this.apiVersion}${path}${encodeQuery(opts.query)}`,
        headers: {
          Host: 'api.moby.localhost',
          'User-Agent': 'berth-cli',
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
        },
        servername: '',
      } as HttpRequestOptions);
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket as Socket);
      });
      req.on('response', (res) => rejectWithApiError(res, reject));
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err)));
      req.end(payload);
    });
  }

  async ping(): Promise<boolean> {
    try {
      const res = await this.send('GET', '/_ping', {});
      res.resume();
      return true;
    } catch (err) {
      if (err instanceof ConnectError) return false;
      throw err;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
