/**
 * Container logs as conmon writes them (`-l k8s-file:<path>`), read the way
 * `docker logs` shows them.
 *
 * The k8s-file format is one record per line:
 *   `<RFC3339Nano time with offset> <stdout|stderr> <P|F> <content>`
 * P marks a piece of a longer line (conmon read it without its newline yet),
 * F the last piece of a line whose newline was dropped. We join P pieces with
 * the following pieces of the same stream until the F, so a reader sees whole
 * lines; a trailing P run with no F (output ended without a newline) comes out
 * as-is, without a newline, once the container has stopped.
 *
 * When `--log-size-max` is exceeded conmon starts the file over (observed on
 * conmon 2.1.6: same path, old content gone, size shrinks; the inode may or may
 * not change). A follower therefore checks inode, size and the file's first
 * bytes, and restarts from offset 0 when any of them says "new file".
 */
import { promises as fsp, watch, type FSWatcher } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { daysIn } from '../../core/go-time.js';
import { logFiles } from './logfiles.js';

export type LogStream = 'stdout' | 'stderr';

/** One line of output, joined from its k8s-file pieces. */
export interface LogRecord {
  stream: LogStream;
  /** UTC RFC3339 with 9 fraction digits, as `docker logs -t` prints it. */
  time: string;
  /** Nanoseconds since the Unix epoch (time of the line's last piece). */
  timeNs: bigint;
  /** Content; full lines end with '\n'. */
  line: Buffer;
}

/** One k8s-file line, unjoined. */
export interface K8sEntry {
  stream: LogStream;
  timeNs: bigint;
  /** true for P (the line continues in the next piece of this stream). */
  partial: boolean;
  /** The bytes after the tag, without any newline. */
  content: Buffer;
}

const NL = 0x0a;
const SP = 0x20;
const CHUNK = 64 * 1024;
const POLL_MS = 250;
/** Bytes of the file head remembered to spot an in-place restart: one timestamp's worth. */
const SIG_LEN = 36;

// ---------------------------------------------------------------------------
// Time

// Consecutive log lines share their second: cache its parse and its format.
let lastPrefix = Buffer.alloc(19);
let lastPrefixNs = -1n;
let lastFormatSec = NaN;
let lastFormatBase = '';

/** Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` into ns since the epoch. */
export function parseRFC3339Nano(s: string): bigint | null {
  const b = Buffer.from(s, 'latin1');
  return parseTime(b, b.length);
}

const digit = (c: number) => c - 48;
const twoDigits = (b: Buffer, i: number) => (isDigit(b[i]) && isDigit(b[i + 1]) ? digit(b[i]) * 10 + digit(b[i + 1]) : NaN);
const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;

/** parseRFC3339Nano on the bytes b[0, end), without making strings (it runs per log line). */
function parseTime(b: Buffer, end: number): bigint | null {
  if (end < 20 || b[4] !== 0x2d || b[7] !== 0x2d || (b[10] !== 0x54 && b[10] !== 0x74) || b[13] !== 0x3a || b[16] !== 0x3a) return null;
  if (lastPrefixNs < 0n || b.compare(lastPrefix, 0, 19, 0, 19) !== 0) {
    const y = twoDigits(b, 0) * 100 + twoDigits(b, 2);
    const [mo, d, h, mi, se] = [5, 8, 11, 14, 17].map((i) => twoDigits(b, i));
    if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h <= 23 && mi <= 59 && se <= 60)) return null;
    lastPrefixNs = BigInt(Date.UTC(y, mo - 1, d, h, mi, se) / 1000) * 1_000_000_000n;
    lastPrefix = Buffer.from(b.subarray(0, 19));
  }
  let i = 19;
  let frac = 0;
  if (b[i] === 0x2e /* . */) {
    let j = i + 1;
    for (; j < end && isDigit(b[j]); j++) {
      if (j - i <= 9) frac = frac * 10 + digit(b[j]); // digits past the 9th are below a nanosecond
    }
    if (j === i + 1) return null;
    frac *= 10 ** Math.max(0, 10 - (j - i));
    i = j;
  }
  let offsetNs = 0n;
  if (end !== i + 1 || (b[i] !== 0x5a && b[i] !== 0x7a) /* Z z */) {
    if (end !== i + 6 || b[i + 3] !== 0x3a || (b[i] !== 0x2b && b[i] !== 0x2d)) return null;
    const off = (twoDigits(b, i + 1) * 60 + twoDigits(b, i + 4)) * 60;
    if (Number.isNaN(off)) return null;
    if (off !== 0) offsetNs = BigInt(b[i] === 0x2d ? -off : off) * 1_000_000_000n;
  }
  return lastPrefixNs - offsetNs + BigInt(frac);
}

/**
 * Formats ns since the epoch as UTC RFC3339. `fixed` keeps all 9 fraction
 * digits (Docker's RFC3339NanoFixed, used by `logs -t`); otherwise trailing
 * zeros are trimmed as Go's RFC3339Nano does (json-file's "time").
 */
export function formatTimestamp(ns: bigint, fixed = true): string {
  let sec = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) { frac += 1_000_000_000n; sec -= 1n; }
  const secNum = Number(sec);
  if (secNum !== lastFormatSec) {
    lastFormatBase = new Date(secNum * 1000).toISOString().slice(0, 19);
    lastFormatSec = secNum;
  }
  const base = lastFormatBase;
  let f = frac.toString().padStart(9, '0');
  if (!fixed) f = f.replace(/0+$/, '');
  return f ? `${base}.${f}Z` : `${base}Z`;
}

// ---------------------------------------------------------------------------
// Parsing and joining

/** Parses one k8s-file line (without its '\n'); null when it is not one. */
export function parseK8sLine(line: string | Buffer): K8sEntry | null {
  const b = typeof line === 'string' ? Buffer.from(line) : line;
  const sp1 = b.indexOf(SP);
  if (sp1 < 20) return null;
  const sp2 = b.indexOf(SP, sp1 + 1);
  if (sp2 < 0) return null;
  // "stdout" or "stderr", compared as bytes.
  if (sp2 - sp1 !== 7 || b[sp1 + 1] !== 0x73 || b[sp1 + 2] !== 0x74 || b[sp1 + 3] !== 0x64) return null;
  const tail3 = b.toString('latin1', sp1 + 4, sp2);
  const streamName: LogStream | null = tail3 === 'out' ? 'stdout' : tail3 === 'err' ? 'stderr' : null;
  if (!streamName) return null;
  const tag = b[sp2 + 1];
  if (tag !== 0x50 /* P */ && tag !== 0x46 /* F */) return null;
  // conmon writes "F " before the content; tolerate a bare tag for an empty piece.
  if (sp2 + 2 < b.length && b[sp2 + 2] !== SP) return null;
  const timeNs = parseTime(b, sp1);
  if (timeNs === null) return null;
  let end = b.length;
  if (end > 0 && b[end - 1] === NL) end--; // tolerate a caller passing the newline
  return { stream: streamName, timeNs, partial: tag === 0x50, content: b.subarray(Math.min(sp2 + 3, end), end) };
}

/** Joins P pieces with the rest of their line, per stream. */
export class K8sJoiner {
  private pending = new Map<LogStream, { parts: Buffer[]; timeNs: bigint }>();

  /** Feeds one entry; returns the record it completes, if any. */
  push(e: K8sEntry): LogRecord | undefined {
    const p = this.pending.get(e.stream);
    if (e.partial) {
      // Copy: the entry's content may point into a reused read buffer.
      if (p) { p.parts.push(Buffer.from(e.content)); p.timeNs = e.timeNs; }
      else this.pending.set(e.stream, { parts: [Buffer.from(e.content)], timeNs: e.timeNs });
      return undefined;
    }
    let line: Buffer;
    if (p) {
      this.pending.delete(e.stream);
      line = Buffer.concat([...p.parts, e.content, NL_BUF]);
    } else {
      line = Buffer.allocUnsafe(e.content.length + 1);
      e.content.copy(line);
      line[e.content.length] = NL;
    }
    return makeRecord(e.stream, e.timeNs, line);
  }

  /** Unterminated lines still held, as records without a trailing newline. */
  flush(): LogRecord[] {
    const out = [...this.pending].map(([stream, p]) => makeRecord(stream, p.timeNs, Buffer.concat(p.parts)));
    this.pending.clear();
    return out.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  }
}

const NL_BUF = Buffer.from('\n');

function makeRecord(stream: LogStream, timeNs: bigint, line: Buffer): LogRecord {
  return { stream, timeNs, time: formatTimestamp(timeNs), line };
}

/** Docker's json-file line for a record: `{"log":"hi\n","stream":"stdout","time":"…Z"}\n`. */
export function writeDockerJsonLine(r: LogRecord): string {
  return `{"log":${goJsonString(r.line.toString('utf8'))},"stream":"${r.stream}","time":"${formatTimestamp(r.timeNs, false)}"}\n`;
}

/** JSON string escaped the way Go's encoder does (HTML-safe, \u00XX controls). */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029\b\f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

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
  try { fh = await fsp.open(path, 'r'); } catch (e) {
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
  try { st = await fsp.stat(path); } catch { return { src, changed: false }; }
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
      if (lastByte !== NL) { offset = start; continue; }
    }
    if (n <= 0) break;
    const e = parseK8sLine(line);
    if (!e) continue;
    if (open.has(e.stream)) {
      if (e.partial) { entries.push(copyEntry(e)); continue; }
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
  const positioned = () => { const f = unpositioned; unpositioned = undefined; f?.(); };
  if (signal?.aborted) { positioned(); return; }
  const joiner = new K8sJoiner();
  const push = opts.partial
    ? (e: K8sEntry): LogRecord => ({ stream: e.stream, timeNs: e.timeNs, time: formatTimestamp(e.timeNs), line: e.partial ? e.content : Buffer.concat([e.content, Buffer.from('\n')]) })
    : (e: K8sEntry) => joiner.push(e);
  /** 'yield' | 'skip' | 'end' for one record. */
  const verdict = (r: LogRecord) =>
    !want(r.stream) || (sinceNs !== undefined && r.timeNs < sinceNs) ? 'skip' : untilNs !== undefined && r.timeNs > untilNs ? 'end' : 'yield';

  let src = await openSource(path).catch((e: unknown) => { positioned(); throw e; });
  // Files rotated away (container.log.N … .1), oldest first. Opened after the current
  // file, and skipped when they are that same file (a rotation just happened).
  const older: Source[] = [];
  for (const p of (await logFiles(path)).slice(0, -1)) {
    const o = await openSource(p).catch(() => null);
    if (!o) continue;
    if (src && o.ino === src.ino && o.dev === src.dev) { await o.fh.close(); continue; }
    older.push(o);
  }
  if (!src && !older.length && !opts.follow) { positioned(); return; }

  // Wake-ups for follow: file events, the poll timer, stop and abort.
  let stopped = false;
  let dirty = false;
  let wakeUp: (() => void) | null = null;
  const wake = () => { dirty = true; wakeUp?.(); };
  let watcher: FSWatcher | undefined;
  const onAbort = () => wake();
  if (opts.follow) {
    opts.stopped?.then(() => { stopped = true; wake(); }, () => { stopped = true; wake(); });
    signal?.addEventListener('abort', onAbort);
    // Watch the directory, not the file: conmon may replace the file, and a
    // watch on the old inode would then go silent.
    try {
      const name = basename(path);
      watcher = watch(dirname(path), { persistent: false }, (_ev, f) => { if (!f || f === name) wake(); });
      watcher.on('error', () => { watcher?.close(); watcher = undefined; });
    } catch { /* the poll timer alone will do */ }
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
      try { if (!(yield* drain(o))) return; } finally { await o.fh.close(); }
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
          wakeUp = () => { clearTimeout(timer); resolve(); };
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
