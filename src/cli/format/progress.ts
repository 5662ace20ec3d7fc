/**
 * Docker's rendering of a JSON progress stream: on a terminal each layer id
 * keeps its own line, redrawn in place with its progress bar; elsewhere
 * only the status lines are printed (progress updates are dropped), one per
 * message, exactly as `docker pull | cat` shows.
 */
import { progressSize } from '../../core/human-size.js';

export interface StreamMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: Record<string, unknown>;
}

export class StreamError extends Error {}

/** The bar docker's client draws from progressDetail, sized for the terminal. */
function bar(current: number, total: number, columns: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return progressSize(current).padStart(8);
  const numbers = `${progressSize(current).padStart(8)}/${progressSize(total)}`;
  const width = Math.max(0, Math.min(50, columns - numbers.length - 40));
  if (width < 10) return numbers;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const b = filled >= width ? '='.repeat(width) : '='.repeat(filled) + '>' + ' '.repeat(width - filled - 1);
  return `[${b}] ${numbers}`;
}

export class ProgressRenderer {
  private lines = new Map<string, number>();
  private count = 0;

  constructor(
    private readonly write: (s: string) => void,
    private readonly tty: boolean,
    private readonly columns = 80,
  ) {}

  /** Render one message; throws StreamError for an error message. */
  render(m: StreamMessage): void {
    if (m.error || m.errorDetail?.message) throw new StreamError(m.errorDetail?.message ?? m.error ?? 'unknown error');
    if (m.aux && !m.status && !m.stream) return;
    const detail = m.progressDetail;
    const hasProgress = !!detail && ((detail.current ?? 0) > 0 || (detail.total ?? 0) > 0);
    if (!this.tty) {
      if (hasProgress) return;
      if (m.stream !== undefined) {
        this.write(m.stream);
        return;
      }
      this.write(`${m.id ? `${m.id}: ` : ''}${m.status ?? ''}\n`);
      return;
    }
    let text = `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}`;
    if (hasProgress) text += ' ' + bar(detail!.current ?? 0, detail!.total ?? 0, this.columns);
    if (m.stream !== undefined) {
      this.write(m.stream);
      return;
    }
    if (!m.id) {
      this.write(text + '\n');
      this.lines.clear();
      this.count = 0;
      return;
    }
    const line = this.lines.get(m.id);
    if (line === undefined) {
      this.lines.set(m.id, this.count++);
      this.write(`\x1b[2K\r${text}\n`);
      return;
    }
    const up = this.count - line;
    this.write(`\x1b[${up}A\x1b[2K\r${text}\x1b[${up}B\r`);
  }
}
