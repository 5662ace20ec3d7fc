/**
 * HTTP to registries: one keep-alive agent per endpoint (each with its own
 * TLS settings), redirects followed for reads (blob storage often lives on
 * another host; credentials are not sent there), and connection failures
 * turned into TransportError.
 */
import { getServers } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { TransportError } from './errors.js';

export interface TlsSettings {
  /** Skip certificate verification (an insecure registry). */
  insecure?: boolean;
  /** Extra CA certificates (PEM), from certs.d. */
  ca?: string[];
  /** Client certificate and key (PEM), from certs.d. */
  cert?: string;
  key?: string;
}

export interface HttpOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string | Readable;
  /** Follow 3xx for GET/HEAD (default true). */
  follow?: boolean;
  /** Abort when no byte moves for this long (ms). */
  idleTimeoutMs?: number;
  /** Abort the request (and its response body) when this aborts. */
  signal?: AbortSignal;
}

const agents = new Map<string, HttpAgent>();

function agentFor(url: URL, tls: TlsSettings): HttpAgent {
  const key = `${url.protocol}//${url.host}|${tls.insecure ? 1 : 0}|${tls.ca?.length ?? 0}|${tls.cert ? 1 : 0}`;
  let a = agents.get(key);
  if (!a) {
    a =
      url.protocol === 'https:'
        ? new HttpsAgent({
            keepAlive: true,
            maxSockets: 16,
            rejectUnauthorized: !tls.insecure,
            ...(tls.ca?.length ? { ca: tls.ca } : {}),
            ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
          })
        : new HttpAgent({ keepAlive: true, maxSockets: 16 });
    agents.set(key, a);
  }
  return a;
}

/** Drop every pooled connection (tests, daemon shutdown). */
export function closeAgents(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

/** The name server Go's resolver names in a failed lookup ("lookup h on 10.0.0.53:53"), from the host's resolver list. */
function nameServer(): string {
  const first = getServers()[0];
  if (!first) return '127.0.0.1:53';
  if (/^\[.*\]:\d+$|^[\d.]+:\d+$/.test(first)) return first;
  return first.includes(':') ? `[${first}]:53` : `${first}:53`;
}

/** A socket failure in Go's net/http words: `Get "url": dial tcp 127.0.0.1:1: connect: connection refused`. */
function describeSocketError(method: string, url: URL, err: NodeJS.ErrnoException & { address?: string; port?: number }): string {
  const what = `${method.charAt(0)}${method.slice(1).toLowerCase()} "${url.href}"`;
  switch (err.code) {
    case 'ECONNREFUSED': {
      // Go dials the resolved address and names it; Node tells which one it tried.
      const addr = err.address ? (err.address.includes(':') ? `[${err.address}]:${err.port}` : `${err.address}:${err.port}`) : url.host;
      return `${what}: dial tcp ${addr}: connect: connection refused`;
    }
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${what}: dial tcp: lookup ${url.hostname} on ${nameServer()}: no such host`;
    case 'EINVAL':
      // getaddrinfo refuses a name no DNS can hold (over 253 bytes); Go's resolver calls it no such host without asking a server.
      if ((err as { syscall?: string }).syscall === 'getaddrinfo') return `${what}: dial tcp: lookup ${url.hostname}: no such host`;
      return `${what}: ${err.message}`;
    case 'ECONNRESET':
      return `${what}: connection reset by peer`;
    case 'ETIMEDOUT':
      return `${what}: i/o timeout`;
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `${what}: http: server gave HTTP response to HTTPS client`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `${what}: tls: failed to verify certificate: x509: certificate signed by unknown authority`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `${what}: tls: failed to verify certificate: x509: certificate is not valid for ${url.hostname}`;
    default:
      return `${what}: ${err.message}`;
  }
}

/** One request; resolves once headers arrive. The caller consumes or discards the body. */
export function send(url: URL, tls: TlsSettings, opts: HttpOptions = {}, hops = 0): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const method = opts.method ?? 'GET';
    const headers: OutgoingHttpHeaders = { 'User-Agent': 'berth/0.1 (linux) distribution-client', ...(opts.headers ?? {}) };
    const body = opts.body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) headers['Content-Length'] = Buffer.byteLength(body);
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = fn(url, { method, headers, agent: agentFor(url, tls), ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      const loc = res.headers.location;
      if (opts.follow !== false && loc && [301, 302, 303, 307, 308].includes(status) && (method === 'GET' || method === 'HEAD')) {
        res.resume();
        if (hops >= 10) {
          reject(new TransportError(`Get "${url.href}": stopped after 10 redirects`));
          return;
        }
        const next = new URL(loc, url);
        const h = { ...(opts.headers ?? {}) };
        // Credentials are for the registry, not for whatever storage it redirects to.
        if (next.host !== url.host) delete (h as Record<string, unknown>).Authorization;
        send(next, next.host === url.host ? tls : {}, { ...opts, headers: h }, hops + 1).then(resolve, reject);
        return;
      }
      if (opts.idleTimeoutMs) res.setTimeout(opts.idleTimeoutMs, () => res.destroy(new TransportError(`Get "${url.href}": read timeout`, 'ETIMEDOUT')));
      resolve(res);
    });
    if (opts.idleTimeoutMs) req.setTimeout(opts.idleTimeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err instanceof TransportError ? err : new TransportError(describeSocketError(method, url, err), err.code)),
    );
    if (body && typeof body !== 'string' && !Buffer.isBuffer(body)) {
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    } else {
      req.end(body);
    }
  });
}

export async function readBody(res: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n > limit) {
        res.destroy();
        throw new TransportError(`response from ${res.url ?? 'registry'} is larger than ${limit} bytes`);
      }
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (err instanceof TransportError) throw err;
    throw new TransportError(`reading response: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code);
  }
  return Buffer.concat(chunks);
}
