/**
 * Registry errors: the distribution spec's `{"errors":[{code,message}]}`
 * bodies turned into typed errors with the words Docker prints.
 */
import { BerthError } from '../core/errors.js';

export interface RegistryErrorItem {
  code?: string;
  message?: string;
  detail?: unknown;
}

/** A registry answered with an error status. `transient` errors are worth retrying. */
export class RegistryError extends BerthError {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly codes: string[] = [],
    status = httpStatus === 401 || httpStatus === 403 ? 401 : httpStatus === 404 ? 404 : 500,
  ) {
    super(message, status);
  }

  get transient(): boolean {
    return this.httpStatus === 429 || this.httpStatus >= 500;
  }
}

/** A registry wants Basic credentials and the client gave none. */
export class NoCredentialsError extends RegistryError {}

/** A connection-level failure (refused, reset, TLS handshake): retried, or a reason to try the next endpoint. */
export class TransportError extends BerthError {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message, 500);
  }
  get transient(): boolean {
    return true;
  }
}

/** `unauthorized: …` / `manifest unknown: …` as Docker joins registry error items. */
export function describeErrors(items: RegistryErrorItem[]): string {
  return items
    .map((e) => {
      const code = (e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ');
      return e.message ? `${code}: ${e.message}` : code;
    })
    .join('; ');
}

/** Parse an error body; falls back to the HTTP status text. */
export function parseErrorBody(status: number, statusText: string, body: string): { items: RegistryErrorItem[]; text: string } {
  try {
    const j = JSON.parse(body) as { errors?: RegistryErrorItem[]; details?: string };
    if (Array.isArray(j.errors) && j.errors.length) return { items: j.errors, text: describeErrors(j.errors) };
    if (typeof j.details === 'string') return { items: [], text: j.details };
  } catch {
    /* not JSON */
  }
  // No error body on a 401 (a HEAD): the distribution client's words for it.
  if (status === 401 && !body.trim())
    return { items: [{ code: 'UNAUTHORIZED', message: 'authentication required' }], text: 'unauthorized: authentication required' };
  const trimmed = body.trim();
  return { items: [], text: trimmed && trimmed.length < 200 && !trimmed.startsWith('<') ? trimmed : `${status} ${statusText}`.trim() };
}

export function isTransient(err: unknown): boolean {
  return (err instanceof RegistryError || err instanceof TransportError) && err.transient;
}
