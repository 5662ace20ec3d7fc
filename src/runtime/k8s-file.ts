/**
 * conmon's k8s-file log format (`-l k8s-file:<path>`, started by the shim beside
 * this file): parse a line, join its pieces into whole lines, format timestamps,
 * and the json-file line Docker would write for the same record.
 * Pure functions over bytes; reading and following the file is the engine's
 * (engine/containers/logs.ts).
 *
 * The k8s-file format is one record per line:
 *   `<RFC3339Nano time with offset> <stdout|stderr> <P|F> <content>`
 * P marks a piece of a longer line (conmon read it without its newline yet),
 * F the last piece of a line whose newline was dropped. We join P pieces with
 * the following pieces of the same stream until the F, so a reader sees whole
 * lines; a trailing P run with no F (output ended without a newline) comes out
 * as-is, without a newline, once the container has stopped.
 */
import { daysIn } from '../core/go-time.js';

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
  if (frac < 0n) {
    frac += 1_000_000_000n;
    sec -= 1n;
  }
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
      if (p) {
        p.parts.push(Buffer.from(e.content));
        p.timeNs = e.timeNs;
      } else this.pending.set(e.stream, { parts: [Buffer.from(e.content)], timeNs: e.timeNs });
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
