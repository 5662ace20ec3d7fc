/**
 * Docker's JSON progress stream (pull, push) read live and shown as the
 * docker CLI shows it: one row per layer with its status and a bar from
 * progressDetail, the other messages as lines below; an `error` message
 * ends it with Docker's words. The request carries the session's CSRF token
 * and an X-Registry-Auth header.
 */
import type { JSX } from 'preact';
import { ApiError, lines, session } from './api.js';
import { bytes } from './format.js';

export interface ProgressMessage {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: Record<string, unknown>;
}

export interface ProgressState {
  layers: { id: string; status: string; current?: number; total?: number }[];
  lines: string[];
  done: boolean;
  error?: string;
}

export const EMPTY_PROGRESS: ProgressState = { layers: [], lines: [], done: false };

/** One message folded into the state (a new object: Preact re-renders). */
export function fold(s: ProgressState, m: ProgressMessage): ProgressState {
  if (m.error || m.errorDetail) return { ...s, error: m.errorDetail?.message ?? m.error };
  if (!m.status) return s;
  // Layer rows: ids that are short hex digests; everything else ("latest: Pulling from …") is a line.
  if (m.id && /^[a-f0-9]{12}$/.test(m.id)) {
    const d = m.progressDetail ?? {};
    const i = s.layers.findIndex((l) => l.id === m.id);
    // A finished step carries no sizes: keep the layer's known size, shown as all done.
    const total = d.total ?? s.layers[i]?.total;
    const finished = /complete|exists|Pushed|Mounted/i.test(m.status);
    const row = { id: m.id, status: m.status, current: d.current ?? (finished ? total : s.layers[i]?.current), total };
    const layers = i < 0 ? [...s.layers, row] : s.layers.map((l, j) => (j === i ? row : l));
    return { ...s, layers };
  }
  return { ...s, lines: [...s.lines, m.id ? `${m.id}: ${m.status}` : m.status] };
}

/** POST a progress-streaming API call; `onState` sees every step; resolves with the last state. */
export async function runProgress(path: string, auth: string, onState: (s: ProgressState) => void, signal: AbortSignal): Promise<ProgressState> {
  const res = await fetch(`/console/api${path}`, {
    method: 'POST',
    headers: { 'X-CSRF-Token': session().csrf, 'X-Registry-Auth': auth },
    credentials: 'same-origin',
    signal,
  });
  if (!res.ok) {
    const text = await res.text();
    let message = text.trim() || res.statusText;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      /* plain text */
    }
    if (res.status === 401) location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new ApiError(res.status, message);
  }
  let state: ProgressState = EMPTY_PROGRESS;
  await lines(res, signal, (line) => {
    if (!line.trim()) return;
    try {
      state = fold(state, JSON.parse(line) as ProgressMessage);
    } catch {
      state = { ...state, lines: [...state.lines, line] };
    }
    onState(state);
  });
  state = { ...state, done: true };
  onState(state);
  return state;
}

export function ProgressView(p: { state: ProgressState }): JSX.Element {
  const s = p.state;
  return (
    <div class="progress" aria-live="polite">
      {s.layers.length > 0 && (
        <ul class="layers">
          {s.layers.map((l) => {
            const pct = l.total ? Math.min(100, (100 * (l.current ?? 0)) / l.total) : /complete|exists|Pushed|Mounted|Layer already/i.test(l.status) ? 100 : 0;
            return (
              <li key={l.id} data-layer={l.id}>
                <span class="mono">{l.id}</span>
                <span class="layer-status">{l.status}</span>
                <span class="bar" role="progressbar" aria-valuenow={Math.round(pct)} aria-valuemin={0} aria-valuemax={100}>
                  <span style={{ width: `${pct}%` }} />
                </span>
                <span class="mono small dim">{l.total ? `${bytes(l.current ?? 0)} / ${bytes(l.total)}` : ''}</span>
              </li>
            );
          })}
        </ul>
      )}
      {s.lines.length > 0 && <pre class="progress-lines">{s.lines.slice(-12).join('\n')}</pre>}
    </div>
  );
}
