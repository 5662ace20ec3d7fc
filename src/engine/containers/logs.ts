/**
 * Container logs as conmon writes them (runtime/k8s-file.ts has the line format),
 * read the way `docker logs` shows them: tail, stream and time filters, and
 * following the file as it grows.
 *
 * When `--log-size-max` is exceeded conmon starts the file over (observed on
 * conmon 2.1.6: same path, old content gone, size shrinks; the inode may or may
 * not change). A follower therefore checks inode, size and the file's first
 * bytes, and restarts from offset 0 when any of them says "new file".
 */
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { formatTimestamp, K8sJoiner, parseK8sLine, type K8sEntry, type LogRecord, type LogStream } from '../../runtime/k8s-file.js';
import { logFiles } from './logfiles.js';

const NL = 0x0a;
const CHUNK = 64 * 1024;
const POLL_MS = 250;
/** Bytes of the file head remembered to spot an in-place restart: one timestamp's worth. */
const SIG_LEN = 36;

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

/** An open log file and how far we have read it. */
interface Source {
  fh: FileHandle;
  dev: number;
  ino: number;
  offset: number;
  /** Bytes after the last newline read so far (a line still being written). */
  rest: Buffer;
  /** The file's first bytes, once known, to recognise a restarted file. */
  sig: Buffer | null;
}

async function openSource(path: string, offset = 0): Promise<Source | null> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = await fh.stat();
  return { fh, dev: st.dev, ino: st.ino, offset, rest: Buffer.alloc(0), sig: null };
}

async function pread(fh: FileHandle, len: number, pos: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  return buf.subarray(0, bytesRead);
}

/** Reads one chunk onward from src.offset; returns the parsed entries, or null at EOF. */
async function readChunk(src: Source): Promise<K8sEntry[] | null> {
  const buf = await pread(src.fh, CHUNK, src.offset);
  if (buf.length === 0) return null;
  // Remember the head of the file as we first read it, to notice a restart.
  if (src.offset === 0 && buf.length >= SIG_LEN) src.sig = Buffer.from(buf.subarray(0, SIG_LEN));
  src.offset += buf.length;
  const data = src.rest.length ? Buffer.concat([src.rest, buf]) : buf;
  const out: K8sEntry[] = [];
  let start = 0;
  for (let nl = data.indexOf(NL); nl >= 0; nl = data.indexOf(NL, start)) {
    const e = parseK8sLine(data.subarray(start, nl));
    if (e) out.push(e);
    start = nl + 1;
  }
  // Copy the remainder so the (possibly large) chunk can be freed.
  src.rest = Buffer.from(data.subarray(start));
  return out;
}

/**
 * Has the file at `path` been replaced or restarted since `src` was opened?
 * `changed` says the caller must read `src` (possibly a new one) from 0 on.
 * A vanished path keeps what we hold: the container may just be removed.
 */
async function checkReplaced(path: string, src: Source | null): Promise<{ src: Source | null; changed: boolean }> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch {
    return { src, changed: false };
  }
  if (!src || st.ino !== src.ino || st.dev !== src.dev) {
    const fresh = await openSource(path);
    return { src: fresh ?? src, changed: fresh !== null };
  }
  let restarted = st.size < src.offset;
  if (!restarted && src.sig) restarted = !(await pread(src.fh, SIG_LEN, 0)).equals(src.sig);
  if (restarted) {
    src.offset = 0;
    src.rest = Buffer.alloc(0);
    src.sig = null;
    return { src, changed: true };
  }
  // A file first read while shorter than SIG_LEN: remember its head now.
  if (!src.sig && src.offset >= SIG_LEN) src.sig = await pread(src.fh, SIG_LEN, 0);
  return { src, changed: false };
}

/**
 * Lines of the file before `end`, last first, with the offset each starts at.
 * Reads backwards in chunks so a tail never loads the whole file.
 */
async function* linesBackward(fh: FileHandle, end: number): AsyncGenerator<{ line: Buffer; start: number }> {
  let pos = end;
  let carry: Buffer = Buffer.alloc(0);
  while (pos > 0) {
    const n = Math.min(CHUNK, pos);
    pos -= n;
    const buf = await pread(fh, n, pos);
    const data = carry.length ? Buffer.concat([buf, carry]) : buf;
    let stop = data.length;
    for (let nl = data.lastIndexOf(NL, stop - 1); nl >= 0; nl = stop > 0 ? data.lastIndexOf(NL, stop - 1) : -1) {
      yield { line: data.subarray(nl + 1, stop), start: pos + nl + 1 };
      stop = nl;
    }
    carry = data.subarray(0, stop);
  }
  if (carry.length) yield { line: carry, start: 0 };
}

/**
 * The entries that make up the last `n` records of the log, whichever their
 * stream (dockerd counts the tail before it picks streams, so `--tail 2` of
 * stdout may show one line), oldest first, and the offset where forward
 * reading goes on (after the last complete line).
 */
async function tailEntries(src: Source, n: number): Promise<{ entries: K8sEntry[]; offset: number }> {
  const size = (await src.fh.stat()).size;
  const entries: K8sEntry[] = [];
  // A last line without its newline is still being written: leave it for
  // the forward reader, which goes on from `offset`.
  let offset = size;
  const lastByte = size > 0 ? (await pread(src.fh, 1, size - 1))[0] : NL;
  let first = true;
  // Walking backwards, an F closes a record (it is the record's last piece)
  // and the P pieces before it, up to the previous F of the same stream,
  // belong to it. `open` holds streams whose earliest counted record may
  // still have pieces further back.
  let count = 0;
  const open = new Set<LogStream>();
  for await (const { line, start } of linesBackward(src.fh, size)) {
    if (first) {
      first = false;
      if (lastByte !== NL) {
        offset = start;
        continue;
      }
    }
    if (n <= 0) break;
    const e = parseK8sLine(line);
    if (!e) continue;
    if (open.has(e.stream)) {
      if (e.partial) {
        entries.push(copyEntry(e));
        continue;
      }
      if (count >= n) {
        // This F ends an older record: this stream is complete.
        open.delete(e.stream);
        if (open.size === 0) break;
        continue;
      }
      count++;
      entries.push(copyEntry(e));
      continue;
    }
    // First line seen of this stream: a record (or a trailing unterminated run).
    if (count >= n) continue;
    count++;
    open.add(e.stream);
    entries.push(copyEntry(e));
  }
  return { entries: entries.reverse(), offset };
}

function copyEntry(e: K8sEntry): K8sEntry {
  return { ...e, content: Buffer.from(e.content) };
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
