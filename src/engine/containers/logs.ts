/**
 * Container logs as conmon writes them (runtime/k8s-file.ts has the line format),
 * read the way `docker logs` shows them: tail, stream and time filters, and
 * following the file as it grows, across rotations and restarts (the file
 * access itself, forward, backward and restart checks, is logsource.ts).
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { formatTimestamp, K8sJoiner, type K8sEntry, type LogRecord, type LogStream } from '../../runtime/k8s-file.js';
import { logFiles } from './logfiles.js';
import { SIG_LEN, type Source, checkReplaced, openSource, pread, readChunk, tailEntries } from './logsource.js';

const POLL_MS = 250;

// ---------------------------------------------------------------------------
// Reading

export interface ReadLogOptions {
  /** Keep reading new output until `stopped` resolves or `signal` aborts. */
  follow?: boolean;
  /** Last N lines (of the selected streams); -1 or undefined = all. */
  tail?: number;
  /** Only lines at or after this time (ns since epoch). */
  sinceNs?: bigint;
  /** Only lines at or before this time; reading ends at the first later line. */
  untilNs?: bigint;
  /** Stream selection; each defaults to true. */
  stdout?: boolean;
  stderr?: boolean;
  /** Ends the generator (without error). */
  signal?: AbortSignal;
  /** For follow: resolves when the container has stopped and no more output will come. */
  stopped?: Promise<void>;
  /** Emit each partial piece as it comes instead of joining a line's pieces (live attach: a prompt has no newline). */
  partial?: boolean;
  /**
   * Called once where reading starts is fixed (the end, for tail 0), or the
   * reader gave up: an attach feeds stdin only then, so the answer to its
   * first input is never written before the place reading starts from.
   */
  positioned?: () => void;
}

/**
 * Reads the log at `path` as `docker logs` would: optionally the last
 * `tail` lines, filtered by stream and time, then (with `follow`) new lines
 * as they are written, across conmon's file restarts, until `stopped`
 * resolves (the rest is drained first) or `signal` aborts.
 */
export async function* readLogs(path: string, opts: ReadLogOptions = {}): AsyncGenerator<LogRecord> {
  const want = (s: LogStream) => (s === 'stdout' ? opts.stdout !== false : opts.stderr !== false);
  const { signal, sinceNs, untilNs } = opts;
  let unpositioned = opts.positioned;
  const positioned = () => {
    const f = unpositioned;
    unpositioned = undefined;
    f?.();
  };
  if (signal?.aborted) {
    positioned();
    return;
  }
  const joiner = new K8sJoiner();
  const push = opts.partial
    ? (e: K8sEntry): LogRecord => ({
        stream: e.stream,
        timeNs: e.timeNs,
        time: formatTimestamp(e.timeNs),
        line: e.partial ? e.content : Buffer.concat([e.content, Buffer.from('\n')]),
      })
    : (e: K8sEntry) => joiner.push(e);
  /** 'yield' | 'skip' | 'end' for one record. */
  const verdict = (r: LogRecord) =>
    !want(r.stream) || (sinceNs !== undefined && r.timeNs < sinceNs) ? 'skip' : untilNs !== undefined && r.timeNs > untilNs ? 'end' : 'yield';

  let src = await openSource(path).catch((e: unknown) => {
    positioned();
    throw e;
  });
  // Files rotated away (container.log.N … .1), oldest first. Opened after the current
  // file, and skipped when they are that same file (a rotation just happened).
  const older: Source[] = [];
  for (const p of (await logFiles(path)).slice(0, -1)) {
    const o = await openSource(p).catch(() => null);
    if (!o) continue;
    if (src && o.ino === src.ino && o.dev === src.dev) {
      await o.fh.close();
      continue;
    }
    older.push(o);
  }
  if (!src && !older.length && !opts.follow) {
    positioned();
    return;
  }

  // Wake-ups for follow: file events, the poll timer, stop and abort.
  let stopped = false;
  let dirty = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => {
    dirty = true;
    wakeUp?.();
  };
  let watcher: FSWatcher | undefined;
  const onAbort = () => wake();
  if (opts.follow) {
    opts.stopped?.then(
      () => {
        stopped = true;
        wake();
      },
      () => {
        stopped = true;
        wake();
      },
    );
    signal?.addEventListener('abort', onAbort);
    // Watch the directory, not the file: conmon may replace the file, and a
    // watch on the old inode would then go silent.
    try {
      const name = basename(path);
      watcher = watch(dirname(path), { persistent: false }, (_ev, f) => {
        if (!f || f === name) wake();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      /* the poll timer alone will do */
    }
  }

  /** Yields the records `rs` complete that pass the filters; false once reading should end. */
  async function* emit(rs: Iterable<LogRecord | undefined>): AsyncGenerator<LogRecord, boolean> {
    for (const r of rs) {
      if (!r) continue;
      const v = verdict(r);
      if (v === 'end') return false;
      if (v === 'yield') yield r;
      if (signal?.aborted) return false;
    }
    return true;
  }
  /** Reads `s` to its current end (emit's loop inlined: this is the hot path). */
  async function* drain(s: Source | null): AsyncGenerator<LogRecord, boolean> {
    for (let entries = s && (await readChunk(s)); entries; entries = await readChunk(s!)) {
      for (const e of entries) {
        const r = push(e);
        if (!r) continue;
        const v = verdict(r);
        if (v === 'end') return false;
        if (v === 'yield') yield r;
        if (signal?.aborted) return false;
      }
    }
    return true;
  }

  try {
    if (opts.tail !== undefined && opts.tail >= 0) {
      let entries: K8sEntry[] = [];
      if (src) {
        const t = await tailEntries(src, opts.tail);
        entries = t.entries;
        src.offset = t.offset;
        if (t.offset >= SIG_LEN) src.sig = await pread(src.fh, SIG_LEN, 0);
      }
      // Not enough lines in the current file: go on back through the rotated ones.
      let count = entries.filter((e) => !e.partial).length;
      for (const o of [...older].reverse()) {
        if (count >= opts.tail) break;
        const t = await tailEntries(o, opts.tail - count);
        count += t.entries.filter((e) => !e.partial).length;
        entries = [...t.entries, ...entries];
      }
      for (const o of older.splice(0)) await o.fh.close();
      if (!(yield* emit(entries.map((e) => push(e))))) return;
      // Without follow the answer is the last `tail` lines as the file stood when they were
      // counted, as dockerd reads up to the size it saw: reading on to the end would add any
      // line written since (tail 1 answering two lines while the container writes).
      if (!opts.follow) {
        if (!signal?.aborted) yield* emit(joiner.flush());
        return;
      }
    }
    positioned();
    while (older.length) {
      const o = older.shift()!;
      try {
        if (!(yield* drain(o))) return;
      } finally {
        await o.fh.close();
      }
    }

    for (;;) {
      const last = stopped; // drain once more after the stop was seen
      if (!(yield* drain(src))) return;
      if (!opts.follow) break;
      // Replaced or restarted? Read the new file from its start; lines
      // written to a replaced file just before the switch are drained first.
      for (let next = await checkReplaced(path, src); next.changed; next = await checkReplaced(path, src)) {
        if (next.src !== src && src) {
          if (!(yield* drain(src))) return;
          await src.fh.close();
        }
        src = next.src;
        if (!(yield* drain(src))) return;
      }
      if (last || signal?.aborted) break;
      if (untilNs !== undefined && nowNs() > untilNs) break;
      if (!dirty) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wakeUp = null;
      }
      dirty = false;
      if (signal?.aborted) return;
    }
    if (signal?.aborted) return;
    yield* emit(joiner.flush());
  } finally {
    positioned();
    watcher?.close();
    signal?.removeEventListener('abort', onAbort);
    for (const o of older) await o.fh.close().catch(() => {});
    await src?.fh.close();
  }
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
