/** What a route handler gets: the request decoded, and helpers to answer in Docker's shapes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../core/errors.js';
import { parseFilters, type Filters } from '../core/filters.js';
import type { Engine } from '../engine/engine.js';
import { decodeBody, type Operation } from './wire/decode.js';

/** A JSON request body (a container config, say) is small; this bounds what one request can make the daemon hold. */
const JSON_BODY_LIMIT = 16 << 20;

export class Ctx {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly engine: Engine,
    readonly params: Record<string, string>,
    readonly query: URLSearchParams,
    /** API version the client asked for (from the /vX.Y prefix), or the daemon's own. */
    readonly version: string,
  ) {}

  /** Docker's boolean query parameter: absent, "", 0, false, no, none are false. */
  bool(name: string): boolean {
    const v = this.query.get(name);
    return v !== null && !['', '0', 'false', 'no', 'none'].includes(v.toLowerCase());
  }

  str(name: string): string | undefined {
    const v = this.query.get(name);
    return v === null ? undefined : v;
  }

  int(name: string, def: number): number {
    const v = this.query.get(name);
    if (v === null || v === '') return def;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
    return n;
  }

  /** A parameter dockerd reads with Go's strconv.Atoi: required, refused in Go's words. */
  atoi(name: string): number {
    const v = this.str(name) ?? '';
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  }

  filters(): Filters {
    return parseFilters(this.query.get('filters'));
  }

  /** The body of an upgrade request, read by the server before routing. */
  presetBody?: Buffer;

  /** The whole request body; past `limit` bytes a 400, so no client can make the daemon hold an unbounded body. */
  async body(limit = Infinity): Promise<Buffer> {
    if (this.presetBody) return this.presetBody;
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of this.req) {
      n += (c as Buffer).length;
      if (n > limit) throw new InvalidArgumentError(`request body is larger than the ${limit} bytes allowed`);
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async json<T>(): Promise<T> {
    const b = await this.body();
    if (b.length === 0) return {} as T;
    try {
      return JSON.parse(b.toString('utf8')) as T;
    } catch (e) {
      throw new InvalidArgumentError(`invalid JSON: ${(e as Error).message}`);
    }
  }

  /** The body of an Engine API operation, checked against its wire types (400 in Go's words when wrong). */
  async decode<T>(op: Operation): Promise<T> {
    return decodeBody<T>(op, await this.body(JSON_BODY_LIMIT));
  }

  send(status: number, value: unknown): void {
    const body = JSON.stringify(value) + '\n';
    this.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  noContent(status = 204): void {
    this.res.writeHead(status);
    this.res.end();
  }

  /** Whether the client asked to upgrade the connection (the docker CLI does; a plain POST gets the stream as its answer). */
  get upgrade(): boolean {
    return /upgrade/i.test(String(this.req.headers.connection ?? '')) && !!this.req.headers.upgrade;
  }

  /**
   * Take over the connection for a raw stream (attach, exec start): answer
   * 101 when the client asked to upgrade, 200 otherwise, and hand back the
   * socket with any bytes the client sent early. As dockerd: a multiplexed
   * stream is labelled so only on an upgraded answer (API ≥ 1.42); a plain
   * answer is always labelled raw. `daemonHeaders` adds the headers every
   * other answer carries (Api-Version, Server…), as dockerd's exec start does.
   */
  hijack(o: { multiplexed?: boolean; daemonHeaders?: boolean } = {}): import('node:net').Socket {
    const sock = this.req.socket;
    const upgrade = this.upgrade;
    const contentType = upgrade && o.multiplexed ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
    const extra = o.daemonHeaders
      ? Object.entries(this.res.getHeaders())
          .map(([k, v]) => `${headerName(k)}: ${String(v)}\r\n`)
          .join('')
      : '';
    sock.setTimeout(0);
    sock.setNoDelay?.(true);
    sock.write(
      upgrade
        ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${extra}\r\n`
        : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n${extra}\r\n`,
    );
    if (this.upgradeHead?.length) sock.unshift(this.upgradeHead);
    this.hijacked = true;
    return sock;
  }

  hijacked = false;
  upgradeHead?: Buffer;

  /** Start a stream of JSON messages (progress, events); each write is one line. */
  startStream(status = 200, contentType = 'application/json'): (msg: unknown) => void {
    this.res.writeHead(status, { 'Content-Type': contentType });
    this.res.flushHeaders();
    return (msg) => {
      this.res.write(JSON.stringify(msg) + '\r\n');
    };
  }
}

/** A header name as Go writes it (Api-Version, Ostype): node keeps names lower-cased. */
function headerName(k: string): string {
  return k
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('-');
}
