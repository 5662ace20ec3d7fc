/** HTTP plumbing of the registry: responses with the API version header, errors, ranges, bounded bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from './errors.js';

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' };

export function send(res: ServerResponse, status: number, headers: Record<string, string | number | string[]> = {}, body?: string | Buffer): void {
  const h: Record<string, string | number | string[]> = { ...API_VERSION_HEADER, ...headers };
  if (body === undefined && h['Content-Length'] === undefined) h['Content-Length'] = 0;
  if (body !== undefined && h['Content-Length'] === undefined) h['Content-Length'] = Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | number | string[]> = {}): void {
  send(res, status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }, JSON.stringify(value) + '\n');
}

export async function sendError(res: ServerResponse, err: RegistryError): Promise<void> {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const drained = await drain(res.req);
  sendJson(res, err.status, err.body(), drained ? err.headers : { ...err.headers, Connection: 'close' });
}

/** Bytes of an unwanted request body we read and drop so the client sees our answer instead of a reset. */
export const DRAIN_LIMIT = 64 << 20;

/**
 * Read and discard what is left of a request body (up to DRAIN_LIMIT), so an
 * error answered before the body was read reaches a client still sending it.
 * Resolves false when the body was too large to drain.
 */
export function drain(req: IncomingMessage): Promise<boolean> {
  if (req.complete || req.destroyed) return Promise.resolve(req.complete);
  return new Promise((resolve) => {
    let n = 0;
    const done = (ok: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onErr);
      req.off('close', onErr);
      if (!ok) req.pause();
      resolve(ok);
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > DRAIN_LIMIT) done(false);
    };
    const onEnd = () => done(true);
    const onErr = () => done(false);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onErr);
    req.once('close', onErr);
    req.resume();
  });
}

/** Read a request body of at most `limit` bytes; larger ones get 413 (after the rest is drained). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new RegistryError('SIZE_INVALID', `body larger than ${limit} bytes`, null, 413);
  const len = Number(req.headers['content-length'] ?? NaN);
  if (len > limit) throw tooLarge();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/** Whether a request carries a body (a non-zero length, or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return !!req.headers['transfer-encoding'];
}

/**
 * One byte range of RFC 9110 (`bytes=a-b`, `bytes=a-`, `bytes=-n`) within a
 * blob of `size` bytes. Several ranges, or a header we do not understand, are
 * ignored (the whole blob is sent), as the RFC allows.
 */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** `Content-Range` of a chunk upload: `start-end`, inclusive (a `bytes ` prefix is tolerated). */
export function parseContentRange(h: string | undefined): { start: number; end: number } | undefined | 'invalid' {
  if (!h) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  if (!m) return 'invalid';
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) return 'invalid';
  return { start, end };
}

/** The `Range` header of an upload holding `size` bytes (Distribution writes 0-0 for an empty one). */
export function uploadRange(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}
