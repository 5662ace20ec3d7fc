/**
 * Docker's JSON progress messages, as `docker pull`/`docker push` and
 * docker-py read them: `{status, id, progressDetail:{current,total}, progress}`.
 */
import { progressSize } from '../../core/human-size.js';

export interface JsonMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  aux?: Record<string, unknown>;
  error?: string;
  errorDetail?: { message: string };
}

export type Emit = (m: JsonMessage) => void;

/** The bar Docker's daemon puts in `progress` (clients that do not draw their own show it). */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return `${progressSize(current).padStart(8)}`;
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = filled >= width ? '='.repeat(width) : '='.repeat(filled) + '>' + ' '.repeat(width - filled - 1);
  return `[${bar}] ${progressSize(current).padStart(8)}/${progressSize(total)}`;
}

export function progressMessage(id: string, status: string, current: number, total: number): JsonMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** A layer's progress as Docker shows it: 12 hex characters of a digest. */
export function shortDigest(d: string): string {
  return d.slice(d.indexOf(':') + 1, d.indexOf(':') + 13);
}

/** Rate-limit progress updates per id (every 256 KiB or 100 ms, and always the last). */
export class Throttle {
  private last = new Map<string, { t: number; n: number }>();
  due(id: string, current: number, total: number): boolean {
    const prev = this.last.get(id);
    const now = Date.now();
    if (prev && current < total && current - prev.n < 256 * 1024 && now - prev.t < 100) return false;
    this.last.set(id, { t: now, n: current });
    return true;
  }
}
