/**
 * The browser side of the console's API: Engine API calls through the
 * console's proxy (`/console/api/…`) with the session's CSRF token on every
 * state-changing call, and the sign-in endpoints. A 401 anywhere means the
 * session ended: back to the sign-in page.
 */

let csrf = '';
let user = '';

export function session(): { user: string; csrf: string } {
  return { user, csrf };
}

export function setSession(s: { user: string; csrf: string }): void {
  user = s.user;
  csrf = s.csrf;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let message = text.trim() || res.statusText;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    /* plain text */
  }
  return new ApiError(res.status, message);
}

function signInAgain(): void {
  if (location.pathname !== '/login') location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
}

/** One call to the console itself (sign-in, setup, logout, session). */
export async function consoleCall<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** An Engine API call; the raw Response (for streams) once it answered 2xx. */
export async function raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const res = await fetch(`/console/api${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(method !== 'GET' ? { 'X-CSRF-Token': csrf } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal,
  });
  if (res.status === 401) {
    signInAgain();
    throw await errorOf(res);
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

/** An Engine API call answering JSON (or nothing). */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await raw(method, path, body);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Read a newline-delimited JSON stream (events, stats, progress) until it ends or `signal` aborts. */
export async function jsonLines(path: string, onMessage: (m: Record<string, unknown>) => void, signal: AbortSignal): Promise<void> {
  const res = await raw('GET', path, undefined, signal);
  await lines(res, signal, (line) => {
    if (line.trim()) onMessage(JSON.parse(line) as Record<string, unknown>);
  });
}

/** Read a body line by line. */
export async function lines(res: Response, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i = buf.indexOf('\n');
      while (i >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    }
    if (buf) onLine(buf);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    reader.cancel().catch(() => {});
  }
}
