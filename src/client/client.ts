/**
 * A typed client for the Engine API over a unix socket or TCP (HTTPS when
 * given TLS settings, as the docker CLI's --tls/--tlsverify). The CLI and
 * the tests use it; it knows nothing of the engine, only HTTP.
 */
import { request as httpRequest, Agent, type IncomingMessage, type ClientRequest, type RequestOptions as HttpRequestOptions } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
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

/** TLS towards a tcp:// host: `verify` checks the daemon's certificate against `ca` (or the system's CAs); cert/key are ours. */
export interface ClientTls {
  verify: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Where requests go: a unix socket path, or a TCP address. */
type Endpoint = { socketPath: string } | { host: string; port: number };

/** A `-H`/BERTH_HOST value as the docker CLI reads it: unix:///path (or a bare path), tcp://HOST[:PORT] (2376 with TLS, else 2375). */
function endpointOf(host: string, tls: boolean): Endpoint {
  if (host.startsWith('unix://')) return { socketPath: host.slice(7) };
  const m = /^(?:tcp|https?):\/\/(\[[^\]]*\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
  if (!m) return { socketPath: host };
  return { host: m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', port: m[2] ? Number(m[2]) : tls ? 2376 : 2375 };
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
  private readonly endpoint: Endpoint;
  private readonly agent: Agent;
  /**
   * Called once, on the first refused connection, before that request is
   * retried (the CLI starts a daemon there). A request whose body is a
   * stream cannot be sent twice, so it pings first instead.
   */
  onUnreachable?: () => Promise<void>;

  constructor(
    readonly host: string,
    readonly apiVersion = API_VERSION,
    readonly tls?: ClientTls,
  ) {
    this.endpoint = endpointOf(host, !!tls);
    this.agent = this.secure() ? new HttpsAgent({ keepAlive: true }) : new Agent({ keepAlive: true });
  }

  private secure(): boolean {
    return !!this.tls && 'host' in this.endpoint;
  }

  /** The connection part of a request's options, and the request function for it. */
  private target(): { opts: HttpRequestOptions; send: (o: HttpRequestOptions, cb?: (res: IncomingMessage) => void) => ClientRequest } {
    const e = this.endpoint;
    if ('socketPath' in e) {
      // No TLS over a unix socket: an empty server name spares the agent an IP-address check that costs milliseconds on first use.
      return { opts: { socketPath: e.socketPath, servername: '', headers: { Host: 'api.moby.localhost' } } as HttpRequestOptions, send: httpRequest };
    }
    const hostHeader = { Host: `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}` };
    if (!this.tls) return { opts: { host: e.host, port: e.port, headers: hostHeader }, send: httpRequest };
    const t = this.tls;
    return {
      opts: {
        host: e.host,
        port: e.port,
        headers: hostHeader,
        ca: t.verify ? t.ca : undefined,
        cert: t.cert,
        key: t.key,
        rejectUnauthorized: t.verify,
        minVersion: 'TLSv1.2',
      } as HttpRequestOptions,
      send: httpsRequest as (o: HttpRequestOptions, cb?: (res: IncomingMessage) => void) => ClientRequest,
    };
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
      const t = this.target();
      const req = t.send(
        {
          ...t.opts,
          method,
          path: `/v${this.apiVersion}${path}${encodeQuery(opts.query)}`,
          headers: { ...t.opts.headers, 'User-Agent': 'berth-cli', ...headers },
          agent: this.agent,
        },
        (res) => {
          if ((res.statusCode ?? 500) < 400) return resolve(res);
          rejectWithApiError(res, reject);
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err, method, path)));
      if (streaming) (body as Readable).pipe(req);
      else req.end(payload);
    });
  }

  /** A failed connection in the docker CLI's words: unreachable, or `error during connect: …` with the TLS reason. */
  private connectError(err: NodeJS.ErrnoException, method: string, path: string): Error {
    if (['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(err.code ?? '')) return new ConnectError(this.host, err.code);
    if ('socketPath' in this.endpoint) return err;
    const e = this.endpoint;
    const url = `${this.secure() ? 'https' : 'http'}://${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}/v${this.apiVersion}${path}`;
    // OpenSSL's text is "…:SSL routines:<function>:<reason>:<file>:<line>:…"; the reason is what a user can act on.
    const reason = /SSL routines:[^:]*:([^:]+):/.exec(err.message)?.[1] ?? err.message;
    const verb = method.charAt(0) + method.slice(1).toLowerCase();
    return new Error(`error during connect: ${verb} "${url}": ${reason}`);
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
      const t = this.target();
      const req = t.send({
        ...t.opts,
        // A connection of its own: one that answered an upgrade with an error must never go back to a pool.
        agent: false,
        method,
        path: `/v${this.apiVersion}${path}${encodeQuery(opts.query)}`,
        headers: {
          ...t.opts.headers,
          'User-Agent': 'berth-cli',
          ...opts.headers,
          Connection: 'Upgrade',
          Upgrade: 'tcp',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
        },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket as Socket);
      });
      req.on('response', (res) => rejectWithApiError(res, reject));
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectError(err, method, path)));
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
