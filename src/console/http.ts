/**
 * The console's HTTP basics: the security headers every answer carries (a
 * strict Content-Security-Policy, no framing, nosniff, no-store on API
 * answers; never a CORS header), JSON answers in Docker's `{"message"}`
 * shape, bounded request bodies, and the same-origin check every
 * state-changing request and WebSocket must pass.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Scripts only from the console's own files; styles too, plus the style attributes the terminal and charts set. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function securityHeaders(res: ServerResponse, api: boolean): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  if (api) res.setHeader('Cache-Control', 'no-store');
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

export function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { message }, headers);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The console's own bodies (sign-in, setup) are small JSON objects. */
export const SMALL_BODY = 16 * 1024;

/**
 * Past this many bytes an oversized body is not read to its end before the 413: the connection is
 * dropped instead. Below it the rest is read and discarded first, so the client finishes sending and
 * reads the answer (closing a socket with unread bytes makes the kernel reset it, and the client
 * would see EPIPE instead of the 413).
 */
const DRAIN_MAX = 16 << 20;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && !/^\d+$/.test(declared)) return Promise.reject(new HttpError(400, 'invalid Content-Length'));
  const tooLarge = () => new HttpError(413, `request body too large: at most ${limit} bytes are accepted`);
  if (declared !== undefined && Number(declared) > DRAIN_MAX) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = declared !== undefined && Number(declared) > limit;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) over = true;
      if (!over) chunks.push(c);
      else if (n > DRAIN_MAX) {
        req.off('data', onData);
        reject(tooLarge());
      }
    };
    req.on('data', onData);
    req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new HttpError(400, 'the request body ended early'));
    });
  });
}

/** A small JSON object with string fields, or a 400 that says what was wrong. */
export async function readForm(req: IncomingMessage, fields: string[]): Promise<Record<string, string>> {
  const raw = await readBody(req, SMALL_BODY);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid JSON body');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'a JSON object is expected');
  const out: Record<string, string> = {};
  for (const f of fields) {
    const x = (v as Record<string, unknown>)[f];
    if (typeof x !== 'string') throw new HttpError(400, `${f} must be a string`);
    out[f] = x;
  }
  return out;
}

/**
 * The origins the console answers as: its scheme and the Host the browser used, where a console bound to
 * a specific address accepts only the Hosts that name it (loopback: also localhost), so a DNS-rebound name
 * is refused. Undefined: this Host is not ours.
 */
export function ownOrigin(req: IncomingMessage, scheme: 'http' | 'https', hosts: Set<string> | undefined): string | undefined {
  const host = req.headers.host;
  if (!host || (hosts && !hosts.has(host.toLowerCase()))) return undefined;
  return `${scheme}://${host.toLowerCase()}`;
}

/** A state-changing request must come from a page of the console itself. */
export function sameOrigin(req: IncomingMessage, own: string | undefined): boolean {
  const origin = req.headers.origin;
  return own !== undefined && typeof origin === 'string' && origin.toLowerCase() === own;
}
